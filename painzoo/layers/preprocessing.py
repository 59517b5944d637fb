"""Input scaling as a layer, so every zoo model takes RGB images in [0, 255]."""

from __future__ import annotations

import keras
from keras import ops

__all__ = ["ImageScaling"]

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
MODES = ("unit", "tf", "torch", "caffe")


@keras.saving.register_keras_serializable(package="painzoo")
class ImageScaling(keras.layers.Layer):
    """Scale RGB images in ``[0, 255]`` the way a network was trained to expect.

    Modes follow ``keras.applications.imagenet_utils.preprocess_input``:

    - ``"unit"``: ``x / 255`` (the from-scratch networks);
    - ``"tf"``: ``x / 127.5 - 1`` (InceptionV3, Xception, ResNet101V2);
    - ``"torch"``: ``(x / 255 - mean) / std`` with ImageNet statistics
      (ResNet-18 and PainSeeker, as torchvision);
    - ``"caffe"``: RGB → BGR, minus the ImageNet BGR means (VGG16/19, ResNet50).

    The layer has no weights, so parameter counts equal the papers'.

    Args:
        mode: One of ``"unit"``, ``"tf"``, ``"torch"``, ``"caffe"``.
    """

    def __init__(self, mode: str = "unit", **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}; received {mode!r}.")
        self.mode = mode

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
        mean = ops.convert_to_tensor(_CAFFE_MEAN_BGR, dtype=self.compute_dtype)
        return ops.flip(x, axis=-1) - mean

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        return config
