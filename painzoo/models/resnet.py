"""ResNet-18 (He et al., 2016) in torchvision's layout: the ``resnet18`` builder.

The layers, their names and their initialisation are those of
:mod:`painzoo.models.resnet_backbone`; the network adds global average
pooling and the softmax layer ``fc``. From random weights it is initialised
as torchvision initialises its ``resnet18()``; ``keras_init=True`` keeps
Keras' default initialisers instead and ``zero_init_residual=True`` zeroes
the last BatchNorm γ of each block, as torchvision's argument of that name;
both are off by default. Checkpoints load through
:mod:`painzoo.models.torch_weights`.
"""

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
    """Load ``weights``: None, ``"imagenet"`` or a ``.weights.h5``/``.pth``/``.safetensors`` path.

    ``"imagenet"`` is torchvision's ImageNet ResNet-18, downloaded once into
    Keras' cache (:func:`painzoo.models.torch_weights.load_imagenet_resnet18`).
    """
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
    """ResNet-18 with a global-average-pooling + softmax head, as torchvision builds it.

    With default arguments the layers and the initialisation are those of
    torchvision's ``resnet18(num_classes=num_classes)``: He-normal
    (``fan_out``) convolution kernels, BatchNorm γ = 1, β = 0, and the
    ``fc`` layer initialised as ``torch.nn.Linear``.

    Args:
        num_classes: Output classes.
        input_shape: ``(H, W, 3)``; at least 32×32.
        weights: ``None``, ``"imagenet"`` (torchvision's ImageNet weights,
            downloaded once into Keras' cache; the head stays random), a
            ``.weights.h5`` saved by painzoo, or a torchvision/timm ResNet-18
            checkpoint (``.pth`` or ``.safetensors``).
        zero_init_residual: ``False`` (default, as torchvision). ``True``:
            from random weights, the last BatchNorm γ of each basic block
            starts at 0, so each block begins as the identity (torchvision's
            argument of that name).
        keras_init: ``False`` (default): torchvision's initialisation.
            ``True``: Keras' default initialisers (Glorot-uniform kernels,
            zero biases), which the ``"painzoo"`` recipe was tuned with and
            asks for (:data:`painzoo.training.recipe.MODEL_AIDS`).

    Returns:
        A ``keras.Model`` on RGB images in [0, 255].

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
