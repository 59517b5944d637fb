"""Input scaling as a layer, so every zoo model takes RGB images in [0, 255]."""

from __future__ import annotations

import math

import keras
from keras import ops

__all__ = ["ImageScaling"]

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
MODES = ("unit", "tf", "torch", "caffe", "standardize")


@keras.saving.register_keras_serializable(package="painzoo")
class ImageScaling(keras.layers.Layer):
    """Scale RGB images in ``[0, 255]`` the way a network was trained to expect (no weights).

    The ``mode`` follows ``keras.applications.imagenet_utils.preprocess_input``: ``"unit"``
    (``x / 255``), ``"tf"`` (``x / 127.5 - 1``), ``"torch"`` (ImageNet mean/std after ``x / 255``),
    ``"caffe"`` (BGR minus ImageNet means) or ``"standardize"`` (``(x - mean) / std`` of a training
    set in pixel units, ``mean`` and ``std`` per channel; :meth:`standardize`).
    """

    def __init__(self, mode: str = "unit", mean=None, std=None, **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}; received {mode!r}.")
        self.mode = mode
        self.mean = self.std = None
        if mode == "standardize":
            self.standardize(mean, std)

    def standardize(self, mean, std) -> None:
        """Switch to ``(x - mean) / std`` with these per-channel statistics (pixel units); ``ValueError`` if one is not finite or a std not positive."""
        if mean is None or std is None:
            raise ValueError("ImageScaling('standardize') needs per-channel `mean` and `std`.")
        mean = [float(v) for v in mean]
        std = [float(v) for v in std]
        if len(mean) != len(std) or not all(map(math.isfinite, mean + std)) or min(std) <= 0:
            raise ValueError(
                f"ImageScaling('standardize') needs finite means and positive stds of equal "
                f"length (one per channel); received mean={mean}, std={std}."
            )
        self.mode, self.mean, self.std = "standardize", mean, std

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        if self.mode == "unit":
            return x / 255.0
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "torch":
            mean = ops.convert_to_tensor(_IMAGENET_MEAN, dtype=self.compute_dtype)
            std = ops.convert_to_tensor(_IMAGENET_STD, dtype=self.compute_dtype)
            return (x / 255.0 - mean) / std
        if self.mode == "standardize":
            mean = ops.convert_to_tensor(self.mean, dtype=self.compute_dtype)
            std = ops.convert_to_tensor(self.std, dtype=self.compute_dtype)
            return (x - mean) / std
        mean = ops.convert_to_tensor(_CAFFE_MEAN_BGR, dtype=self.compute_dtype)
        return ops.flip(x, axis=-1) - mean

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        if self.mode == "standardize":
            config.update({"mean": list(self.mean), "std": list(self.std)})
        return config
