"""The two papers' augmentation recipes as Keras preprocessing layers.

- ``"p1"`` (PainSeeker, P1 "Training"): resize to 256, random 224 crop,
  horizontal flip — scaled to the training size: the image is loaded at
  ``round(image_size · 256/224)`` and a random ``image_size`` square is cut.
- ``"p2"`` (CP-PAIN, P2 "Training"): random rotation, mirroring and
  contrast. P2 gives no magnitudes; painzoo uses ±10° rotation (reflect
  fill) and a contrast factor of ±0.2.

- ``"painzoo"`` (painzoo's own, used by the ``"painzoo"`` recipe preset;
  not a paper's): load at 1.1 × the training size and cut a random square
  (small shifts and scale), horizontal flip, rotation up to ±8°, brightness
  and contrast up to ±15 %. Mild on purpose: the face crops are aligned, and
  a network that must learn from a hundred images cannot also learn to
  undo strong distortions.

All apply Keras 3 preprocessing layers to **one image at a time** (so every
image draws its own crop, flip, angle), work inside ``tf.data`` on the
TensorFlow backend and on NumPy arrays on the others, and keep float pixels
in [0, 255].
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras

__all__ = ["Augmentation", "get_augmentation", "RECIPES"]

RECIPES = ("p1", "p2", "painzoo")
_P2_ROTATION_DEGREES = 10.0
_P2_CONTRAST = 0.2
_PAINZOO_LOAD = 1.1
_PAINZOO_ROTATION_DEGREES = 8.0
_PAINZOO_PHOTOMETRIC = 0.15


class Augmentation:
    """A sequence of Keras preprocessing layers (or callables) applied in training mode.

    Args:
        layers: Keras layers or callables ``image -> image``.
        load_size: ``(height, width)`` the input pipeline should load images
            at before the layers run (``p1`` loads larger and crops);
            ``None`` = the training size.
        name: Shown in reports.
    """

    def __init__(self, layers: Sequence, load_size: tuple | None = None, name: str = "custom"):
        self.layers = list(layers)
        self.load_size = load_size
        self.name = name

    def __call__(self, image):
        for layer in self.layers:
            if isinstance(layer, keras.layers.Layer):
                image = layer(image, training=True)
            else:
                image = layer(image)
        return image

    def __repr__(self) -> str:
        names = [getattr(la, "name", type(la).__name__) for la in self.layers]
        return f"Augmentation({self.name!r}, layers={names}, load_size={self.load_size})"


def get_augmentation(augment, image_size, *, seed: int | None = 0) -> Augmentation | None:
    """Resolve ``augment`` for an input pipeline at ``image_size``.

    Args:
        augment: ``None``, ``"p1"``, ``"p2"``, ``"painzoo"``, a Keras preprocessing layer
            (e.g. ``keras.layers.RandomZoom(0.1)``, or a keras-cv layer when
            that extra is installed), a list of layers, a callable
            ``image -> image``, or an :class:`Augmentation`.
        image_size: Side of the images the model receives, or ``(height, width)``.
        seed: Seed of the random layers.

    Returns:
        An :class:`Augmentation`, or ``None`` for no augmentation.

    Raises:
        ValueError: For an unknown recipe name.

    Example:
        >>> aug = get_augmentation("p1", 112)
        >>> aug.load_size
        (128, 128)

    Reference:
        P1 (Liu et al. 2025), "Implementation details"; P2 (Sabater-Gárriz
        et al. 2024), "Training".
    """
    if augment is None:
        return None
    if isinstance(augment, Augmentation):
        return augment
    h, w = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if isinstance(augment, str):
        key = augment.lower()
        if key == "p1":
            load = (int(round(h * 256 / 224)), int(round(w * 256 / 224)))
            return Augmentation(
                [
                    keras.layers.Resizing(*load, name="p1_resize"),
                    keras.layers.RandomCrop(h, w, seed=seed, name="p1_crop"),
                    keras.layers.RandomFlip("horizontal", seed=seed, name="p1_flip"),
                ],
                load_size=load,
                name="p1",
            )
        if key == "p2":
            return Augmentation(
                [
                    keras.layers.RandomRotation(
                        _P2_ROTATION_DEGREES / 360.0,
                        fill_mode="reflect",
                        seed=seed,
                        name="p2_rotate",
                    ),
                    keras.layers.RandomFlip("horizontal", seed=seed, name="p2_flip"),
                    keras.layers.RandomContrast(
                        _P2_CONTRAST, value_range=(0, 255), seed=seed, name="p2_contrast"
                    ),
                ],
                name="p2",
            )
        if key == "painzoo":
            load = (int(round(h * _PAINZOO_LOAD)), int(round(w * _PAINZOO_LOAD)))
            return Augmentation(
                [
                    keras.layers.Resizing(*load, name="painzoo_resize"),
                    keras.layers.RandomCrop(h, w, seed=seed, name="painzoo_crop"),
                    keras.layers.RandomFlip("horizontal", seed=seed, name="painzoo_flip"),
                    keras.layers.RandomRotation(
                        _PAINZOO_ROTATION_DEGREES / 360.0,
                        fill_mode="reflect",
                        seed=seed,
                        name="painzoo_rotate",
                    ),
                    keras.layers.RandomBrightness(
                        _PAINZOO_PHOTOMETRIC,
                        value_range=(0, 255),
                        seed=seed,
                        name="painzoo_brightness",
                    ),
                    keras.layers.RandomContrast(
                        _PAINZOO_PHOTOMETRIC,
                        value_range=(0, 255),
                        seed=seed,
                        name="painzoo_contrast",
                    ),
                ],
                load_size=load,
                name="painzoo",
            )
        raise ValueError(
            f"Unknown augmentation recipe {augment!r}; use one of {list(RECIPES)}, a Keras "
            "preprocessing layer, a list of layers or a callable."
        )
    if isinstance(augment, list | tuple):
        return Augmentation(augment)
    if isinstance(augment, keras.layers.Layer) or isinstance(augment, Callable):
        return Augmentation([augment], name=getattr(augment, "name", "custom"))
    raise ValueError(
        f"augment must be None, 'p1', 'p2', a Keras layer, a list of layers or a callable; "
        f"received {type(augment).__name__}."
    )
