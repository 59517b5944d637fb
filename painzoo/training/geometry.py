"""Test-time geometry: resize larger, then take the centre crop (P1's 256 → 224).

P1 trains on random 224×224 crops of images resized to 256×256. Testing on
the whole image resized to 224 would show faces about 12.5 % smaller
(224/256) than in training; the usual counterpart of random-crop training,
and painzoo's reading of P1 (which does not describe its test transform), is
to resize to 256 and cut the central 224 square.
"""

from __future__ import annotations

import numpy as np

__all__ = ["center_crop", "resize_before_crop"]

#: The input side P1's 256 → 224 geometry is stated for.
_REFERENCE_SIDE = 224


def resize_before_crop(image_size: tuple[int, int], test_resize: int | None) -> tuple[int, int]:
    """The side(s) an image is resized to before the test-time centre crop.

    ``test_resize`` is the resize side for a 224-pixel model input (P1: 256)
    and scales with the input like the ``"p1"`` augmentation does, so the
    face has the same size at test as in the random training crops:
    ``round(side · test_resize / 224)``.

    Args:
        image_size: ``(height, width)`` the model receives.
        test_resize: Resize side at a 224 input, or ``None`` (no crop).

    Returns:
        ``(height, width)`` to resize to (``image_size`` when ``None``).

    Raises:
        ValueError: If the resize would be smaller than the model input.

    Example:
        >>> resize_before_crop((224, 224), 256), resize_before_crop((112, 112), 256)
        ((256, 256), (128, 128))
    """
    h, w = image_size
    if test_resize is None:
        return (h, w)
    if test_resize < _REFERENCE_SIDE:
        raise ValueError(
            f"test_resize must be at least {_REFERENCE_SIDE} (it is the resize side for a "
            f"{_REFERENCE_SIDE}-pixel input, cropped back to the input); received {test_resize}."
        )
    scale = float(test_resize) / _REFERENCE_SIDE
    return (int(round(h * scale)), int(round(w * scale)))


def center_crop(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The central ``size = (height, width)`` window of ``image`` ``[H, W, C]``.

    The window starts at ``((H − h) // 2, (W − w) // 2)``.

    Raises:
        ValueError: If the image is smaller than ``size``.
    """
    h, w = size
    top, left = (image.shape[0] - h) // 2, (image.shape[1] - w) // 2
    if top < 0 or left < 0:
        raise ValueError(f"Cannot centre-crop a {image.shape[:2]} image to {size}.")
    return image[top : top + h, left : left + w]
