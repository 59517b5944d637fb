"""What a model's input is: :class:`InputSpec` and the test-time geometry.

An :class:`InputSpec` says how an image becomes the array a model receives: height and width (not
necessarily square), channels, interpolation (:func:`painzoo.datasets.io.resize_image`'s policy),
value range and crop policy. Every :class:`~painzoo.registry.ModelInfo` carries its model's
default; :func:`painzoo.preprocess.resolve_input_spec` applies a config to it.

Crop policy (``test_resize``): ``None`` resizes the whole image to the input, P1's test transform
(its images "were changed the size to 224 × 224 pixels") and every zoo model's default.
``test_resize=256`` resizes to 256 and cuts the central 224 square, the usual counterpart of
random-crop training (painzoo's option, not P1's).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from painzoo.datasets.io import INTERPOLATIONS, resize_image

__all__ = ["InputSpec", "as_hw", "center_crop", "input_size", "resize_before_crop"]

#: The input side a ``test_resize`` is stated for (256 → 224 as in P1's training crops).
_REFERENCE_SIDE = 224


def resize_before_crop(image_size: tuple[int, int], test_resize: int | None) -> tuple[int, int]:
    """The side(s) an image is resized to before the test-time centre crop.

    ``test_resize`` is stated for a 224-pixel input and scales with the input
    like the ``"p1"`` augmentation: ``round(side · test_resize / 224)``.

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


@dataclass(frozen=True)
class InputSpec:
    """How an image becomes a model input.

    Args:
        height, width: Rows and columns of the model input.
        channels: 3 (RGB).
        interpolation: Resize policy of :func:`painzoo.datasets.io.resize_image` (``"auto"``: area
            when shrinking, bilinear when enlarging).
        value_range: Pixel range the model takes (painzoo models: ``(0, 255)``, rescaled inside).
        test_resize: Crop policy at test time: ``None`` resizes the whole image to
            ``(height, width)``; a side such as ``256`` (for a 224 input, scaled with the input)
            resizes larger and cuts the centre (:func:`resize_before_crop`).

    Example:
        >>> spec = InputSpec(48, 64, test_resize=256)
        >>> spec.size, spec.load_size, spec.crop
        ((48, 64), (55, 73), 'center')
    """

    height: int
    width: int
    channels: int = 3
    interpolation: str = "auto"
    value_range: tuple[float, float] = (0.0, 255.0)
    test_resize: int | None = None

    def __post_init__(self):
        for name in ("height", "width", "channels"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or int(value) < 1:
                raise ValueError(
                    f"InputSpec.{name} must be a positive integer; received {value!r}."
                )
            object.__setattr__(self, name, int(value))
        if self.channels != 3:
            raise ValueError(
                f"painzoo models take RGB images (channels=3); received channels={self.channels}."
            )
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"InputSpec.interpolation must be one of {INTERPOLATIONS}; "
                f"received {self.interpolation!r}."
            )
        low, high = (float(v) for v in self.value_range)
        if not low < high:
            raise ValueError(
                f"InputSpec.value_range must be (low, high); received {self.value_range}."
            )
        object.__setattr__(self, "value_range", (low, high))
        if self.test_resize is not None:
            object.__setattr__(self, "test_resize", int(self.test_resize))
            resize_before_crop(self.size, self.test_resize)  # validates

    @property
    def size(self) -> tuple[int, int]:
        """``(height, width)`` of the model input."""
        return (self.height, self.width)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(height, width, channels)``: the ``input_shape`` to build the model with."""
        return (self.height, self.width, self.channels)

    @property
    def crop(self) -> str:
        """The test-time crop policy: ``"none"`` or ``"center"``."""
        return "none" if self.test_resize is None else "center"

    @property
    def load_size(self) -> tuple[int, int]:
        """``(height, width)`` an image is resized to before the test-time crop."""
        return resize_before_crop(self.size, self.test_resize)

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """One image (uint8 ``[H, W, 3]``) → the test-time model input (uint8 ``[h, w, 3]``).

        Resizes to :attr:`load_size` with :attr:`interpolation`, then
        centre-crops to :attr:`size` when the crop policy says so.
        """
        image = resize_image(image, self.load_size, self.interpolation)
        if self.test_resize is None:
            return image
        return np.ascontiguousarray(center_crop(image, self.size))

    def to_dict(self) -> dict:
        """Plain JSON data (:meth:`from_dict` reads it back)."""
        out = dataclasses.asdict(self)
        out["value_range"] = list(self.value_range)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> InputSpec:
        """An InputSpec from :meth:`to_dict`'s output.

        Raises:
            ValueError: For an unknown key or a bad value.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"Unknown InputSpec field(s) {unknown}; valid fields are {sorted(known)}."
            )
        data = dict(data)
        if "value_range" in data:
            data["value_range"] = tuple(data["value_range"])
        return cls(**data)


def as_hw(image_size) -> tuple[int, int]:
    """``(height, width)`` of a side (a square) or a ``(height, width)`` pair."""
    if isinstance(image_size, int | np.integer):
        return (int(image_size), int(image_size))
    h, w = image_size
    return (int(h), int(w))


def input_size(image_size) -> int | tuple[int, int] | None:
    """An ``image_size`` in one form: ``None``, a side for a square, else ``(height, width)``.

    Example:
        >>> input_size([64, 64]), input_size((48, 64)), input_size(None)
        (64, (48, 64), None)
    """
    if image_size is None:
        return None
    h, w = as_hw(image_size)
    return h if h == w else (h, w)
