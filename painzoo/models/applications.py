"""The six ``keras.applications`` networks of P2, with a new softmax head.

P2 took VGG16, VGG19, ResNet50, ResNet101V2, InceptionV3 and Xception with ImageNet weights,
dropped the top and added ``GlobalAveragePooling2D`` + ``Dense(num_classes, softmax)``. painzoo
moves each network's ``preprocess_input`` inside the model (:class:`~painzoo.layers.ImageScaling`),
so all zoo models take RGB in [0, 255].
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import keras
from keras import layers
from keras.utils import get_file

from painzoo.layers.preprocessing import ImageScaling
from painzoo.models._common import (
    check_input_size,
    classifier_head,
    load_weights_file,
    zero_residual_branches,
)
from painzoo.models.zoo import ZOO

__all__ = [
    "vgg16",
    "vgg19",
    "resnet50",
    "resnet101v2",
    "inceptionv3",
    "xception",
    "imagenet_weights_path",
    "imagenet_cache_file",
    "APPLICATIONS",
    "Application",
    "build_application",
    "he_initialize",
    "LOW_RESOLUTION_SIDE",
    "with_stride_one_stem",
]

_KERAS_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class Application:
    """How painzoo builds one ``keras.applications`` network.

    Attributes:
        constructor: Name of the constructor in ``keras.applications``.
        scaling: :class:`ImageScaling` mode the ImageNet weights expect.
        min_input: Smallest height/width whose last feature map is non-empty.
        weights_file: File name of the no-top ImageNet weights in Keras' cache.
        weights_url: Where Keras downloads that file from.
        weights_hash: The MD5 hash Keras checks the file against.
    """

    constructor: str
    scaling: str
    min_input: int
    weights_file: str
    weights_url: str
    weights_hash: str


def _application(name: str, constructor: str, folder: str, file_hash: str) -> Application:
    extra = ZOO[name]["extra"]  # the table's min_input, scaling and weights file
    file_name = extra["imagenet_file"]
    return Application(
        constructor=constructor,
        scaling=extra["scaling"],
        min_input=extra["min_input"],
        weights_file=file_name,
        weights_url=f"{_KERAS_WEIGHTS_URL}{folder}/{file_name}",
        weights_hash=file_hash,
    )


APPLICATIONS: dict[str, Application] = {
    "vgg16": _application("vgg16", "VGG16", "vgg16", "6d6bbae143d832006294945121d1f1fc"),
    "vgg19": _application("vgg19", "VGG19", "vgg19", "253f8cb515780f3b799900260a226db6"),
    "resnet50": _application("resnet50", "ResNet50", "resnet", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101v2": _application(
        "resnet101v2", "ResNet101V2", "resnet", "c0ed64b8031c3730f411d2eb4eea35b5"
    ),
    "inceptionv3": _application(
        "inceptionv3", "InceptionV3", "inception_v3", "bcbd6486424b2319ff4ef7d526e38f63"
    ),
    "xception": _application(
        "xception", "Xception", "xception", "b0042744bf5b25fce3cb969f33bebb97"
    ),
}


def _keras_cache_dir() -> Path:
    """Keras' cache folder, read at call time (``$KERAS_HOME`` or ``~/.keras``)."""
    home = os.environ.get("KERAS_HOME")
    return Path(home) if home else Path.home() / ".keras"


def imagenet_cache_file(name: str) -> Path:
    """Where Keras keeps the ImageNet weights of application ``name``; ``ValueError`` for another name."""
    if name not in APPLICATIONS:
        raise ValueError(
            f"No ImageNet weights for {name!r}; expected one of {sorted(APPLICATIONS)}."
        )
    return _keras_cache_dir() / "models" / APPLICATIONS[name].weights_file


def imagenet_weights_path(name: str) -> str:
    """Path of the no-top ImageNet weights of ``name``, downloading them (as Keras does) if needed.

    Raises:
        RuntimeError: If the file is not cached and cannot be downloaded (e.g. offline); the
            message names the file to place by hand.
    """
    spec = APPLICATIONS[name]
    target = imagenet_cache_file(name)
    try:
        return get_file(
            spec.weights_file,
            spec.weights_url,
            cache_subdir="models",
            file_hash=spec.weights_hash,
            cache_dir=str(target.parent.parent),
        )
    except Exception as err:
        raise RuntimeError(
            f"Could not get the ImageNet weights of {name}: {spec.weights_file} is not in "
            f"Keras' cache and downloading it failed ({type(err).__name__}: {err}). "
            f"Offline, download {spec.weights_url} on a machine with internet access and "
            f"place it at {target} (the folder is $KERAS_HOME/models, or ~/.keras/models "
            "when KERAS_HOME is unset); or pass weights=None to start from random weights."
        ) from err


def build_application(
    name: str,
    num_classes: int,
    input_shape,
    weights,
    zero_init_residual: bool = False,
    he_init: bool = False,
) -> keras.Model:
    """Build application ``name`` (a key of :data:`APPLICATIONS`): scaling → base network → global average pooling → softmax.

    ``num_classes``, ``input_shape`` and ``weights`` are as for :func:`vgg16`. With
    ``weights=None``, ``zero_init_residual`` starts every residual branch at zero
    (:func:`~painzoo.models._common.zero_residual_branches`) and ``he_init`` draws He-normal
    kernels with zero biases (:func:`he_initialize`) and scales inputs as ``x / 255``.

    Raises:
        ValueError: If the input is too small, ``weights`` is another name or an aid not a bool.
        RuntimeError: If ImageNet weights are requested but unavailable offline.
    """
    zero_init_residual = _check_flag(name, "zero_init_residual", zero_init_residual)
    he_init = _check_flag(name, "he_init", he_init)
    spec = APPLICATIONS[name]
    check_input_size(name, input_shape, spec.min_input)
    if isinstance(weights, str) and weights.lower() == "imagenet":
        base_weights = imagenet_weights_path(name)
    elif weights is None or os.path.exists(str(weights)) or str(weights).endswith(".h5"):
        base_weights = None
    else:
        raise ValueError(
            f"weights must be None, 'imagenet' or the path of a .weights.h5 file for "
            f"{name}; received {weights!r}."
        )
    from_scratch_he = weights is None and he_init
    inputs = keras.Input(shape=input_shape, name="image")
    x = ImageScaling("unit" if from_scratch_he else spec.scaling, name="scaling")(inputs)
    constructor = getattr(keras.applications, spec.constructor)
    # input_tensor joins the base's layers to this graph: the model is flat, convs found by name.
    base = constructor(include_top=False, weights=base_weights, input_tensor=x)
    x = layers.GlobalAveragePooling2D(name="global_pool")(base.output)
    outputs = classifier_head(x, num_classes)
    model = keras.Model(inputs, outputs, name=name)
    if weights is None and zero_init_residual:
        zero_residual_branches(model)
    if from_scratch_he:
        he_initialize(model)
    if weights is not None and base_weights is None:
        load_weights_file(model, weights)
    return model


#: The largest input side at which the ``"painzoo"`` recipe asks for InceptionV3's
#: low-resolution stem (``low_resolution_stem=True``, a stride-1 first convolution). At 151 px
#: that convolution (3×3, valid) gives the 149 × 149 maps of the 299 px input at stride 2:
#: Szegedy et al. (2016), section 9, kept its ImageNet accuracy at "151 × 151 receptive field
#: with stride 1 and maximum pooling after the first layer" at almost the same cost as at 299 px.
LOW_RESOLUTION_SIDE = 151


def with_stride_one_stem(model: keras.Model) -> keras.Model:
    """A copy of functional ``model`` whose first ``Conv2D`` has stride 1, same weights.

    Raises:
        ValueError: If ``model`` has no ``Conv2D`` layer.
    """
    config = model.get_config()
    for layer in config["layers"]:
        if layer["class_name"] == "Conv2D":
            layer["config"]["strides"] = [1, 1]
            break
    else:
        raise ValueError(f"{model.name} has no Conv2D layer whose stride could be changed.")
    rebuilt = model.__class__.from_config(config)
    rebuilt.set_weights(model.get_weights())
    return rebuilt


def _check_flag(model_name: str, key: str, value) -> bool:
    """``value`` as a bool; a clear error for anything but True / False."""
    if not isinstance(value, bool):
        raise ValueError(
            f"{model_name}: {key} must be true or false; received {value!r}. With false "
            f"(the default) the network is the one keras.applications builds."
        )
    return value


def he_initialize(model: keras.Model) -> int:
    """Redraw every ``Conv2D`` kernel of ``model`` He-normal (He et al., ICCV 2015), biases at 0; returns how many."""
    count = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D) and not isinstance(
            layer, keras.layers.DepthwiseConv2D | keras.layers.SeparableConv2D
        ):
            # a new initializer per layer: one seeded instance repeats its draw
            layer.kernel.assign(keras.initializers.HeNormal()(layer.kernel.shape))
            if layer.bias is not None:
                layer.bias.assign(keras.ops.zeros(layer.bias.shape, layer.bias.dtype))
            count += 1
    return count


def vgg16(num_classes=2, input_shape=(224, 224, 3), weights=None, he_init=False):
    """VGG16 (``keras.applications``) + global average pooling + softmax (``"caffe"`` scaling inside).

    Args:
        num_classes: Output classes.
        input_shape: ``(H, W, 3)``, at least 32×32.
        weights: ``None`` (random), ``"imagenet"`` (:func:`imagenet_cache_file` says where to place
            it offline) or a ``.weights.h5`` file saved by painzoo.
        he_init: From random weights, He-normal kernels and ``x / 255`` inputs.

    Raises:
        ValueError: If the input is too small or ``weights`` is unknown.
        RuntimeError: If ImageNet weights are not cached and cannot be downloaded.

    Example:
        >>> vgg16(num_classes=2).count_params()  # P2 Table 3: 14.7 M
        14715714

    Reference:
        Simonyan and Zisserman, ICLR 2015; P2 (Sabater-Gárriz et al., 2024), Table 3.
    """
    return build_application("vgg16", num_classes, input_shape, weights, he_init=he_init)


def vgg19(num_classes=2, input_shape=(224, 224, 3), weights=None, he_init=False):
    """VGG19: :func:`vgg16` with three more convolutions (the same arguments and scaling).

    With 2 classes it has 20,025,410 parameters (P2 Table 3: 20 M).

    Reference:
        Simonyan and Zisserman, ICLR 2015; P2 (Sabater-Gárriz et al., 2024), Table 3.
    """
    return build_application("vgg19", num_classes, input_shape, weights, he_init=he_init)


def resnet50(num_classes=2, input_shape=(224, 224, 3), weights=None, zero_init_residual=False):
    """ResNet50 (``keras.applications``) + global average pooling + softmax.

    The arguments of :func:`vgg16` (``num_classes``, ``input_shape``, ``weights``; ``"caffe"``
    scaling), with ``zero_init_residual`` instead of ``he_init``: every residual branch starts at
    zero from random weights.

    Example:
        >>> resnet50(num_classes=2).count_params()  # P2 Table 3: 23.6 M
        23591810

    Reference:
        He et al., CVPR 2016; P2 (Sabater-Gárriz et al., 2024), Table 3.
    """
    return build_application("resnet50", num_classes, input_shape, weights, zero_init_residual)


def resnet101v2(num_classes=2, input_shape=(224, 224, 3), weights=None, zero_init_residual=False):
    """ResNet101V2: :func:`resnet50`'s arguments on Keras' 101-layer pre-activation ResNet.

    Inputs scaled to [-1, 1] (``"tf"``); 2 classes: 42,630,658 parameters (P2 Table 3: 42.6 M).

    Reference:
        He et al., ECCV 2016; P2 (Sabater-Gárriz et al., 2024), Table 3.
    """
    return build_application("resnet101v2", num_classes, input_shape, weights, zero_init_residual)


def inceptionv3(num_classes=2, input_shape=(224, 224, 3), weights=None, low_resolution_stem=False):
    """InceptionV3 (``keras.applications``) + global average pooling + softmax.

    The arguments of :func:`vgg16` (``num_classes``, ``input_shape`` at least 75×75, scaled to
    [-1, 1]; ``weights``), with ``low_resolution_stem`` instead of ``he_init``: the first
    convolution at stride 1 (:func:`with_stride_one_stem`), as Szegedy et al. do for small inputs;
    the ``"painzoo"`` recipe asks for it up to :data:`LOW_RESOLUTION_SIDE` (151) px.

    Example:
        >>> inceptionv3(num_classes=2).count_params()  # P2 Table 3: 21.8 M
        21806882
        >>> small = dict(input_shape=(112, 112, 3))
        >>> inceptionv3(**small, low_resolution_stem=True).get_layer("mixed10").output.shape
        (None, 5, 5, 2048)

    Reference:
        Szegedy et al., CVPR 2016 (section 9); P2 (Sabater-Gárriz et al., 2024), Table 3.
    """
    stem = _check_flag("inceptionv3", "low_resolution_stem", low_resolution_stem)
    model = build_application("inceptionv3", num_classes, input_shape, weights)
    if stem:
        model = with_stride_one_stem(model)
    return model


def xception(num_classes=2, input_shape=(224, 224, 3), weights=None):
    """Xception (``keras.applications``) + global average pooling + softmax.

    The arguments of :func:`vgg16` but no aid (inputs at least 7×7, scaled to [-1, 1]).

    Example:
        >>> xception(num_classes=2).count_params()  # P2 Table 3: 20.9 M
        20865578

    Reference:
        Chollet, CVPR 2017; P2 (Sabater-Gárriz et al., 2024), Table 3.
    """
    return build_application("xception", num_classes, input_shape, weights)
