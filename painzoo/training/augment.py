"""The two papers' augmentation recipes as Keras preprocessing layers.

- ``"p1"`` (P1 "Comparison methods and implementation detail"): resize to 256, random 224 crop
  (scaled to the training size), horizontal flip (with probability ½: painzoo's reading of P1's
  flipping "to double the training samples").
- ``"p2"`` (P2 "Procedure"): random rotation, mirroring and contrast. P2 gives no magnitudes;
  painzoo uses ±10° rotation (reflect fill) and ±0.2 contrast.
- ``"flip"`` (painzoo's own): horizontal flip only.
- ``"painzoo"`` (painzoo's own): load at 1.1 × and crop, flip, rotation up
  to ±8°, brightness and contrast up to ±15 %.

Layers apply to one image at a time, each with a seed derived from the
augmentation's ``seed``, and keep float pixels in [0, 255].
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Augmentation", "AugmentSpec", "get_augmentation", "OWN_PRESETS", "PRESETS", "RECIPES"]


@dataclass(frozen=True)
class AugmentSpec:
    """What a named augmentation preset does: rotate, crop, flip, then scale the contrast.

    Attributes:
        load_ratio: Load size / training size; ``> 1`` means a random crop.
        flip: Random horizontal flip (probability 0.5).
        rotation_degrees: Angles drawn uniformly from ``±rotation_degrees``.
        rotation_fill: Fill mode outside the rotated image (Keras names).
        contrast: Factor from ``[1 − contrast, 1 + contrast]`` about each channel's mean; 0 = none.
    """

    load_ratio: float = 1.0
    flip: bool = False
    rotation_degrees: float = 0.0
    rotation_fill: str = "reflect"
    contrast: float = 0.0

    def load_size(self, image_size) -> tuple[int, int]:
        """``(height, width)`` to load images at for training size ``image_size``."""
        h, w = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        return int(round(h * self.load_ratio)), int(round(w * self.load_ratio))


#: The papers' presets (P1 "Comparison methods and implementation detail"; P2 gives no
#: magnitudes: painzoo uses ±10° and ±0.2).
PRESETS = {
    "p1": AugmentSpec(load_ratio=256 / 224, flip=True),
    "p2": AugmentSpec(flip=True, rotation_degrees=10.0, rotation_fill="reflect", contrast=0.2),
}
#: painzoo's own presets described by a spec (not a paper's).
OWN_PRESETS = {"flip": AugmentSpec(flip=True)}
#: painzoo's own augmentation, `augment="painzoo"` (Keras layers; the host pipelines run it).
_PAINZOO_LOAD = 1.1
_PAINZOO_ROTATION_DEGREES = 8.0
_PAINZOO_PHOTOMETRIC = 0.15
RECIPES = (*PRESETS, *OWN_PRESETS, "painzoo")


class Augmentation:
    """Keras preprocessing layers (or callables ``image -> image``) applied in training mode.

    Args:
        layers: Keras layers or callables.
        load_size: ``(height, width)`` to load images at; ``None`` = the training size.
        name: Shown in reports.
        spec: The :class:`AugmentSpec` of a named preset, else ``None``.
    """

    def __init__(
        self,
        layers: Sequence,
        load_size: tuple | None = None,
        name: str = "custom",
        spec: AugmentSpec | None = None,
    ):
        self.layers = list(layers)
        self.load_size = load_size
        self.name = name
        self.spec = spec

    def __call__(self, image):
        import keras  # Keras loads with the first augmented image, not with the presets

        for layer in self.layers:
            if isinstance(layer, keras.layers.Layer):
                image = layer(image, training=True)
            else:
                image = layer(image)
        return image

    def reseed(self, key: Sequence[int]) -> None:
        """Restart every Keras random layer from a state derived from ``key`` (e.g. ``(seed, epoch, batch)``)."""
        import keras

        for i, layer in enumerate(self.layers):
            generator = getattr(layer, "generator", None)
            if isinstance(generator, keras.random.SeedGenerator):
                state = _derived_seeds((*key, i), 2)
                generator.state.assign(state.astype(generator.state.dtype))

    def __repr__(self) -> str:
        names = [getattr(la, "name", type(la).__name__) for la in self.layers]
        return f"Augmentation({self.name!r}, layers={names}, load_size={self.load_size})"


def get_augmentation(augment, image_size, *, seed: int | None = 0) -> Augmentation | None:
    """Resolve ``augment`` for an input pipeline at ``image_size`` (a side or ``(height, width)``).

    ``augment`` is ``None``, a :data:`RECIPES` name, Keras preprocessing layer(s), a callable
    ``image -> image`` or an :class:`Augmentation`; ``seed`` seeds the random layers.

    Raises:
        ValueError: For an unknown recipe name.

    Example:
        >>> get_augmentation("p1", 112).load_size
        (128, 128)

    Reference:
        P1 (Liu et al. 2025), "Comparison methods and implementation
        detail"; P2 (Sabater-Gárriz et al. 2024), "Procedure".
    """
    import keras

    if augment is None:
        return None
    if isinstance(augment, Augmentation):
        return augment
    h, w = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if isinstance(augment, str):
        key = augment.lower()
        spec = PRESETS.get(key) or OWN_PRESETS.get(key)
        if spec is not None:
            return _from_spec(spec, (h, w), seed, key)
        if key == "painzoo":
            load = (int(round(h * _PAINZOO_LOAD)), int(round(w * _PAINZOO_LOAD)))
            return Augmentation(
                [
                    keras.layers.Resizing(*load, name="painzoo_resize"),
                    keras.layers.RandomCrop(h, w, seed=_layer_seed(seed, 1), name="painzoo_crop"),
                    keras.layers.RandomFlip(
                        "horizontal", seed=_layer_seed(seed, 2), name="painzoo_flip"
                    ),
                    keras.layers.RandomRotation(
                        _PAINZOO_ROTATION_DEGREES / 360.0,
                        fill_mode="reflect",
                        seed=_layer_seed(seed, 0),
                        name="painzoo_rotate",
                    ),
                    keras.layers.RandomBrightness(
                        _PAINZOO_PHOTOMETRIC,
                        value_range=(0, 255),
                        seed=_layer_seed(seed, 3),
                        name="painzoo_brightness",
                    ),
                    keras.layers.RandomContrast(
                        (_PAINZOO_PHOTOMETRIC, _PAINZOO_PHOTOMETRIC),
                        value_range=(0, 255),
                        seed=_layer_seed(seed, 4),
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
        f"augment must be None, one of {list(RECIPES)}, a Keras layer, a list of layers or a "
        f"callable; received {type(augment).__name__}."
    )


def _layer_seed(seed: int | None, index: int) -> int | None:
    """A seed of its own for the ``index``-th random layer of an augmentation."""
    if seed is None:
        return None
    return int(_derived_seeds((seed, index))[0])


def _derived_seeds(key: Sequence[int], n: int = 1) -> np.ndarray:
    """``n`` non-negative seeds below 2**31 derived from the integers of ``key``."""
    return np.random.SeedSequence([int(k) for k in key]).generate_state(n) >> 1


def _from_spec(spec: AugmentSpec, image_size: tuple[int, int], seed, name: str) -> Augmentation:
    """Keras layers (one image at a time) doing what ``spec`` describes."""
    import keras

    h, w = image_size
    layers = []
    if spec.rotation_degrees:
        layers.append(
            keras.layers.RandomRotation(
                spec.rotation_degrees / 360.0,
                fill_mode=spec.rotation_fill,
                seed=_layer_seed(seed, 0),
                name=f"{name}_rotate",
            )
        )
    load = None
    if spec.load_ratio != 1.0:
        load = spec.load_size((h, w))
        layers.append(keras.layers.Resizing(*load, name=f"{name}_resize"))
        layers.append(
            keras.layers.RandomCrop(h, w, seed=_layer_seed(seed, 1), name=f"{name}_crop")
        )
    if spec.flip:
        layers.append(
            keras.layers.RandomFlip("horizontal", seed=_layer_seed(seed, 2), name=f"{name}_flip")
        )
    if spec.contrast:
        # A (lower, upper) pair: Keras reads a single number c as the range
        # [1, 1 + c] (its lower bound is clipped at 0), never lowering contrast.
        c = float(spec.contrast)
        layers.append(
            keras.layers.RandomContrast(
                (c, c), value_range=(0, 255), seed=_layer_seed(seed, 4), name=f"{name}_contrast"
            )
        )
    return Augmentation(layers, load_size=load, name=name, spec=spec)
