"""ResNet-18's layers (He et al., 2016) in torchvision's layout, written with ``keras.layers``.

Layer names follow torchvision's state-dict keys with ``_`` for ``.`` so checkpoints convert
exactly (:mod:`painzoo.models.torch_weights`); padding is explicit (``ZeroPadding2D`` + ``valid``)
because Keras' ``same`` pads stride-2 convolutions unlike PyTorch. By default the layers are
initialised as torchvision's ``resnet18()``: He-normal (``fan_out``) kernels, BatchNorm γ = 1,
β = 0, and ``fc`` as ``torch.nn.Linear``.
"""

from __future__ import annotations

import keras
from keras import layers

from painzoo.layers.preprocessing import ImageScaling
from painzoo.models.zoo import ZOO

__all__ = [
    "MIN_INPUT",
    "check_flag",
    "classifier",
    "resnet18_features",
    "torch_linear_initializers",
]

_BN_EPSILON = 1e-5  # torchvision's BatchNorm2d default
_BN_MOMENTUM = 0.9  # Keras' convention for PyTorch's momentum=0.1
_STAGES = ((64, 1), (128, 2), (256, 2), (512, 2))
MIN_INPUT = ZOO["resnet18"]["extra"]["min_input"]


def _conv_initializer(keras_init: bool):
    """torchvision's ``kaiming_normal_(mode="fan_out", nonlinearity="relu")``:
    N(0, 2 / fan_out), fan_out = k·k·filters; or Keras' default."""
    if keras_init:
        return "glorot_uniform"
    return keras.initializers.VarianceScaling(
        scale=2.0, mode="fan_out", distribution="untruncated_normal"
    )


def torch_linear_initializers(fan_in: int) -> dict:
    """``Dense`` initialisers of a ``torch.nn.Linear`` with ``fan_in`` inputs: weight and bias uniform in ±1/√fan_in."""
    bound = 1.0 / float(fan_in) ** 0.5
    return {
        "kernel_initializer": keras.initializers.VarianceScaling(
            scale=1.0 / 3.0, mode="fan_in", distribution="uniform"
        ),
        "bias_initializer": keras.initializers.RandomUniform(-bound, bound),
    }


def _conv_bn(x, filters, kernel, stride, name, bn_name, keras_init):
    pad = kernel // 2
    if pad:
        x = layers.ZeroPadding2D(pad, name=f"{name}_pad")(x)
    x = layers.Conv2D(
        filters,
        kernel,
        strides=stride,
        use_bias=False,
        kernel_initializer=_conv_initializer(keras_init),
        name=name,
    )(x)
    return layers.BatchNormalization(epsilon=_BN_EPSILON, momentum=_BN_MOMENTUM, name=bn_name)(x)


def _basic_block(x, filters, stride, prefix, keras_init):
    shortcut = x
    y = _conv_bn(x, filters, 3, stride, f"{prefix}_conv1", f"{prefix}_bn1", keras_init)
    y = layers.ReLU(name=f"{prefix}_relu1")(y)
    y = _conv_bn(y, filters, 3, 1, f"{prefix}_conv2", f"{prefix}_bn2", keras_init)
    if stride != 1 or x.shape[-1] != filters:
        shortcut = _conv_bn(
            x, filters, 1, stride, f"{prefix}_downsample_0", f"{prefix}_downsample_1", keras_init
        )
    y = layers.Add(name=f"{prefix}_add")([y, shortcut])
    return layers.ReLU(name=f"{prefix}_out")(y)


def check_flag(model_name: str, key: str, value) -> bool:
    """``value`` as a bool; a clear error for anything but True / False."""
    if not isinstance(value, bool):
        raise ValueError(
            f"{model_name}: {key} must be true or false; received {value!r}. With false "
            "(the default) the network is initialised as torchvision initialises ResNet-18."
        )
    return value


def resnet18_features(inputs, keras_init: bool = False):
    """Apply ResNet-18's convolutional part to RGB images in [0, 255] (``[B, 7, 7, 512]`` at 224 px).

    Scales the input as torchvision does (ImageNet mean/std), then runs
    conv1 → max pool → four stages of two basic blocks (11,186,112 parameters).

    Args:
        inputs: A Keras tensor ``[B, H, W, 3]``.
        keras_init: Keras' default (Glorot-uniform) kernels, not torchvision's He-normal.
    """
    x = ImageScaling("torch", name="scaling")(inputs)
    x = _conv_bn(x, 64, 7, 2, "conv1", "bn1", keras_init)
    x = layers.ReLU(name="relu")(x)
    x = layers.ZeroPadding2D(1, name="maxpool_pad")(x)  # zeros == -inf after ReLU
    x = layers.MaxPooling2D(3, strides=2, name="maxpool")(x)
    for stage, (filters, stride) in enumerate(_STAGES, start=1):
        x = _basic_block(x, filters, stride, f"layer{stage}_0", keras_init)
        x = _basic_block(x, filters, 1, f"layer{stage}_1", keras_init)
    return x


def classifier(x, num_classes: int, keras_init: bool = False):
    """The softmax layer ``fc``: initialised as ``torch.nn.Linear``, or Keras' default."""
    init = {} if keras_init else torch_linear_initializers(int(x.shape[-1]))
    return layers.Dense(num_classes, activation="softmax", name="fc", **init)(x)
