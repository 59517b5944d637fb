"""ResNet-18 (He et al., 2016) in torchvision's layout: the ``resnet18`` builder."""

from __future__ import annotations

import keras
from keras import layers

from painzoo.models._common import check_input_size, zero_residual_branches
from painzoo.models.resnet_backbone import (
    MIN_INPUT,
    check_flag,
    classifier,
    resnet18_features,
    torch_linear_initializers,
)

__all__ = ["resnet18", "resnet18_features", "torch_linear_initializers"]


def load_resnet_weights(model: keras.Model, weights, num_classes: int) -> keras.Model:
    """Load ``weights``: None, ``"imagenet"`` (:func:`~painzoo.models.torch_weights.load_imagenet_resnet18`) or a file path."""
    if weights is None:
        return model
    from painzoo.models import torch_weights

    if isinstance(weights, str) and weights.lower() == "imagenet":
        return torch_weights.load_imagenet_resnet18(model)
    return torch_weights.load_weights(model, weights, num_classes=num_classes)


def resnet18(
    num_classes=2,
    input_shape=(224, 224, 3),
    weights=None,
    zero_init_residual=False,
    keras_init=False,
):
    """ResNet-18 with a global-average-pooling + softmax head, initialised as torchvision's.

    Args:
        num_classes: Output classes.
        input_shape: ``(H, W, 3)``; at least 32×32.
        weights: ``None``, ``"imagenet"`` (torchvision's; the head stays random), a ``.weights.h5``
            saved by painzoo, or a torchvision/timm checkpoint (``.pth`` or ``.safetensors``).
        zero_init_residual: From random weights, each block's last BatchNorm γ starts at 0.
        keras_init: Keras' default initialisers instead of torchvision's.

    Raises:
        ValueError: If the input is smaller than 32×32 or a flag is not true or false.

    Reference:
        He et al., CVPR 2016; used by P1 (Liu et al., 2025) as baseline.
    """
    check_input_size("resnet18", input_shape, MIN_INPUT)
    zero_init_residual = check_flag("resnet18", "zero_init_residual", zero_init_residual)
    keras_init = check_flag("resnet18", "keras_init", keras_init)
    inputs = keras.Input(shape=input_shape, name="image")
    x = resnet18_features(inputs, keras_init=keras_init)
    x = layers.GlobalAveragePooling2D(name="avgpool")(x)
    outputs = classifier(x, num_classes, keras_init=keras_init)
    model = keras.Model(inputs, outputs, name="resnet18")
    if weights is None and zero_init_residual:
        zero_residual_branches(model)
    return load_resnet_weights(model, weights, num_classes)
