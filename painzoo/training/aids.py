"""The model aids a :class:`~painzoo.training.Recipe` applies to a network.

Each function applies (or lists) one aid for training from random weights; each is off unless the
recipe asks for it (the papers' presets ask for none).
"""

from __future__ import annotations

import math

import keras
import numpy as np

__all__ = [
    "MODEL_AIDS",
    "model_aids_for",
    "set_bn_momentum",
    "set_dropout",
    "normalize_inputs",
    "stratifies",
    "lr_multipliers",
    "centralized_kernels",
]

#: The builder arguments a recipe with ``model_aids=True`` (the ``"painzoo"`` preset) passes to
#: :func:`painzoo.get_model`, per network: ``name -> (kwargs, applies(input_shape))``. Every
#: network is exact by default; these are painzoo's aids for training from random weights on a few
#: hundred images (docs/default-recipe.md). Arguments the user gives win.
MODEL_AIDS: dict[str, tuple[dict, str]] = {
    # He-normal kernels and x / 255 inputs
    "vgg16": ({"he_init": True}, "always"),
    "vgg19": ({"he_init": True}, "always"),
    # every residual branch starts at zero, so each block begins as the identity
    "resnet50": ({"zero_init_residual": True}, "always"),
    "resnet101v2": ({"zero_init_residual": True}, "always"),
    # stride-1 first convolution when both sides are at most 151 px
    "inceptionv3": ({"low_resolution_stem": True}, "low_resolution"),
    # Keras' default initialisers
    "resnet18": ({"keras_init": True}, "always"),
    "painseeker": ({"keras_init": True}, "always"),
    "painseeker_no_prsc": ({"keras_init": True}, "always"),
}

NORMS = (
    keras.layers.BatchNormalization,
    keras.layers.LayerNormalization,
    keras.layers.GroupNormalization,
)
WEIGHTED = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
_NORM_SAMPLE = 512  # images read to estimate the per-channel statistics (plenty for 6 numbers)


def model_aids_for(name: str, input_shape=None) -> dict:
    """The builder arguments of :data:`MODEL_AIDS` for network ``name`` at ``input_shape`` (``None``: default)."""
    key = str(name).lower()
    if key not in MODEL_AIDS:
        return {}
    kwargs, when = MODEL_AIDS[key]
    if when == "low_resolution":
        from painzoo.models.applications import LOW_RESOLUTION_SIDE

        if input_shape is None:
            from painzoo.registry import model_info

            input_shape = model_info(key).input_shape
        h, w = tuple(input_shape)[:2]
        if h is None or w is None or max(h, w) > LOW_RESOLUTION_SIDE:
            return {}
    return dict(kwargs)


def set_bn_momentum(recipe, model) -> int:
    """Give every ``BatchNormalization`` layer ``recipe.bn_momentum``; returns how many changed."""
    if recipe.bn_momentum is None:
        return 0
    return _set_on_layers(model, keras.layers.BatchNormalization, "momentum", recipe.bn_momentum)


def set_dropout(recipe, model) -> int:
    """Give every ``Dropout`` layer the rate ``recipe.dropout``; returns how many changed."""
    if recipe.dropout is None:
        return 0
    count = _set_on_layers(model, keras.layers.Dropout, "rate", recipe.dropout)
    if count:
        forget_traced_steps(model)
    return count


def normalize_inputs(recipe, model, dataset) -> int:
    """With ``recipe.input_norm="dataset"``, standardise the inputs of an ``x / 255`` ``model``.

    Every ``"unit"`` :class:`~painzoo.layers.ImageScaling` layer becomes ``"standardize"`` with the
    per-channel statistics of (up to 512 of) ``dataset``'s images; layers already standardised are
    left alone. Returns how many layers changed.
    """
    if recipe.input_norm is None or len(dataset) == 0:
        return 0
    from painzoo.layers.preprocessing import ImageScaling

    layers = [la for la in layers_of(model, ImageScaling) if la.mode == "unit"]
    if not layers:
        return 0
    rows = np.arange(len(dataset))
    if len(rows) > _NORM_SAMPLE:
        rows = np.sort(np.random.default_rng(recipe.seed).choice(rows, _NORM_SAMPLE, False))
    images = dataset.subset(rows).load_images(recipe.input_spec(model).size)
    pixels = np.asarray(images, np.float64).reshape(-1, images.shape[-1])
    mean, std = pixels.mean(axis=0), pixels.std(axis=0)
    std = np.maximum(std, 1.0)  # a constant channel: keep it finite, at x / 1 scale
    for layer in layers:
        layer.standardize(mean, std)
    forget_traced_steps(model)
    return len(layers)


def stratifies(recipe, model) -> bool:
    """Whether ``recipe`` trains ``model`` on stratified batches (``"auto"``: no normalisation layers)."""
    if recipe.stratify_batches == "auto":
        return not layers_of(model, NORMS)
    return bool(recipe.stratify_batches)


def lr_multipliers(recipe, model) -> dict[str, float]:
    """``model``'s per-kernel learning-rate factors of ``recipe.max_step_ratio`` (variable path → factor).

    A step changes a unit's input ``z = w · x`` by about ``learning_rate × √fan_in / std(w)`` of
    its size. In a network without normalisation layers, each hidden kernel whose ratio exceeds
    ``max_step_ratio`` gets the factor bringing it down to it; biases, the classifier and constant
    kernels keep the full rate. ``{}`` when off.
    """
    if recipe.max_step_ratio is None or layers_of(model, NORMS):
        return {}
    lr, cap = float(recipe.learning_rate), float(recipe.max_step_ratio)
    out = {}
    for layer in layers_of(model, WEIGHTED):
        if getattr(layer, "kernel", None) is None or _is_classifier(layer):
            continue
        kernel = keras.ops.convert_to_numpy(layer.kernel).astype(np.float64)
        scale = float(kernel.std())
        if scale <= 0:
            continue  # no spread of weights to measure a step against
        ratio = lr * math.sqrt(kernel[..., 0].size) / scale
        if ratio > cap:
            out[layer.kernel.path] = cap / ratio
    return out


def centralized_kernels(recipe, model) -> list[str]:
    """``model``'s ``Dense``/convolution kernel paths that ``recipe.gradient_centralization`` centres."""
    if not recipe.gradient_centralization:
        return []
    if recipe.gradient_centralization == "auto" and layers_of(model, NORMS):
        return []
    return [
        layer.kernel.path
        for layer in layers_of(model, WEIGHTED)
        if getattr(layer, "kernel", None) is not None
    ]


def layers_of(model, layer_type) -> list:
    """Every ``layer_type`` layer inside ``model``, nested ones included."""
    return [
        la
        for la in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(la, layer_type)
    ]


def forget_traced_steps(model) -> None:
    """Drop ``model``'s traced train/test/predict steps, which would still hold changed layers."""
    for attr in ("train_function", "test_function", "predict_function"):
        if getattr(model, attr, None) is not None:
            setattr(model, attr, None)


def _is_classifier(layer) -> bool:
    """Whether ``layer`` ends in a softmax or sigmoid (the classifier of a zoo model)."""
    return getattr(layer.activation, "__name__", "") in ("softmax", "sigmoid")


def _set_on_layers(model, layer_type, attr: str, value) -> int:
    """Set ``attr = float(value)`` on every ``layer_type`` layer of ``model``; return how many."""
    layers = layers_of(model, layer_type)
    for layer in layers:
        setattr(layer, attr, float(value))
    return len(layers)
