"""Pieces shared by the model builders."""

from __future__ import annotations

import os
from pathlib import Path

import keras

from painzoo.layers.preprocessing import ImageScaling

__all__ = [
    "classifier_head",
    "check_input_size",
    "conv_features",
    "from_scratch_input",
    "from_scratch_model",
    "load_weights_file",
    "zero_residual_branches",
]


def classifier_head(x, num_classes: int, name: str = "predictions"):
    """The softmax output layer every zoo model ends with."""
    return keras.layers.Dense(num_classes, activation="softmax", name=name)(x)


def check_input_size(model_name: str, input_shape, minimum: int) -> None:
    """Raise a clear error naming ``model_name`` if ``input_shape`` is below ``minimum``."""
    h, w = input_shape[:2]
    if h is not None and w is not None and (h < minimum or w < minimum):
        raise ValueError(
            f"{model_name} needs inputs of at least {minimum}×{minimum} pixels; received "
            f"input_shape={tuple(input_shape)}. Use a larger input_shape."
        )


def load_weights_file(model: keras.Model, path: str | os.PathLike) -> keras.Model:
    """Load a ``.weights.h5`` file saved by painzoo (``model.save_weights``).

    Raises:
        FileNotFoundError: If the path does not exist.
        ValueError: If the file is not a ``.weights.h5`` file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"Weights file {path} does not exist; pass weights=None for random "
            "initialisation or the path of a file saved with model.save_weights()."
        )
    if not path.name.endswith(".weights.h5"):
        raise ValueError(
            f"Cannot load weights from {path}: expected a '.weights.h5' file saved by "
            "painzoo (model.save_weights)."
        )
    model.load_weights(path)
    return model


def from_scratch_input(model_name: str, input_shape, weights):
    """``(inputs, x)`` of one of P2's from-scratch networks: ``keras.Input("image")`` and ``ImageScaling("unit")``.

    Raises:
        ValueError: If ``input_shape`` is empty or ``weights`` is ``"imagenet"``.
    """
    check_input_size(model_name, input_shape, 1)
    if isinstance(weights, str) and weights.lower() == "imagenet":
        raise ValueError(
            f"{model_name} is trained from scratch and has no pretrained 'imagenet' "
            "weights; pass weights=None or the path of a .weights.h5 file saved by painzoo."
        )
    inputs = keras.Input(shape=input_shape, name="image")
    return inputs, ImageScaling("unit", name="scaling")(inputs)


def conv_features(x, convs, pools, dropouts=(), **conv_kwargs):
    """P2's convolutions from scratch: ``conv<i>`` (ReLU, ``same``), then ``pool<i>`` and ``drop<i>`` where given; flattened.

    Args:
        x: The scaled input.
        convs: ``(filters, kernel)`` or ``(filters, kernel, strides)`` per conv.
        pools: ``{i: (size, stride)}``: a max-pool after ``conv<i>``.
        dropouts: ``{i: rate}``: a dropout after ``pool<i>``.
        **conv_kwargs: Further ``Conv2D`` arguments.
    """
    dropouts = dict(dropouts)
    for i, (filters, kernel, *strides) in enumerate(convs, 1):
        x = keras.layers.Conv2D(
            filters,
            kernel,
            strides=strides[0] if strides else 1,
            padding="same",
            activation="relu",
            name=f"conv{i}",
            **conv_kwargs,
        )(x)
        if i in pools:
            size, stride = pools[i]
            x = keras.layers.MaxPooling2D(size, strides=stride, padding="same", name=f"pool{i}")(x)
        if i in dropouts:
            x = keras.layers.Dropout(dropouts[i], name=f"drop{i}")(x)
    return keras.layers.Flatten(name="flatten")(x)


def from_scratch_model(model_name: str, inputs, x, num_classes: int, weights) -> keras.Model:
    """``inputs`` → ``x`` → softmax head as a ``keras.Model``, loading a ``.weights.h5`` file if given."""
    model = keras.Model(inputs, classifier_head(x, num_classes), name=model_name)
    return model if weights is None else load_weights_file(model, weights)


def zero_residual_branches(model: keras.Model) -> int:
    """Start every residual branch of ``model`` at zero (each block begins as the identity); returns how many.

    At each two-input ``Add``, the last weighted layer of the longer input
    (the residual branch) is zeroed: BatchNorm ``gamma = 0`` (Goyal et al.
    2017; torchvision's ``zero_init_residual``), or a zero kernel and bias.
    """
    count = 0
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if not isinstance(layer, keras.layers.Add) or len(layer._inbound_nodes) != 1:
            continue
        inputs = layer._inbound_nodes[0].input_tensors
        if len(inputs) != 2:
            continue
        distances = [_distances_back(t) for t in inputs]
        common = set(distances[0]) & set(distances[1])
        if not common:
            continue
        ancestor = min(common, key=lambda op: distances[0][op] + distances[1][op])
        depth = [d[ancestor] for d in distances]
        if depth[0] == depth[1]:
            continue
        branch = inputs[0] if depth[0] > depth[1] else inputs[1]
        count += _zero_last_weighted(branch)
    return count


def _producer(tensor):
    history = getattr(tensor, "_keras_history", None)
    return None if history is None else history.operation


def _parents(op) -> list:
    if not op._inbound_nodes:
        return []
    return [p for p in (_producer(t) for t in op._inbound_nodes[0].input_tensors) if p]


def _distances_back(tensor) -> dict:
    """Layer -> fewest layers from ``tensor`` back to it (its producer at 1)."""
    start = _producer(tensor)
    if start is None:
        return {}
    dist, frontier = {start: 1}, [start]
    while frontier:
        nxt = []
        for op in frontier:
            for parent in _parents(op):
                if parent not in dist:
                    dist[parent] = dist[op] + 1
                    nxt.append(parent)
        frontier = nxt
    return dist


def _zero_last_weighted(tensor) -> int:
    op = _producer(tensor)
    while op is not None and not op.weights:
        parents = _parents(op)
        op = parents[0] if len(parents) == 1 else None
    if isinstance(op, keras.layers.BatchNormalization) and op.gamma is not None:
        op.gamma.assign(keras.ops.zeros(op.gamma.shape, op.gamma.dtype))
        return 1
    kernel = getattr(op, "pointwise_kernel", None)
    if kernel is None:
        kernel = getattr(op, "kernel", None)
    if kernel is None:
        return 0
    kernel.assign(keras.ops.zeros(kernel.shape, kernel.dtype))
    if getattr(op, "bias", None) is not None:
        op.bias.assign(keras.ops.zeros(op.bias.shape, op.bias.dtype))
    return 1
