"""Pieces shared by the model builders."""

from __future__ import annotations

import os
from pathlib import Path

import keras

__all__ = [
    "P2_CITATION",
    "classifier_head",
    "check_input_size",
    "load_weights_file",
    "reject_named_weights",
]

P2_CITATION = (
    "Sabater-Gárriz, Gaya-Morey, Buades-Rubio, Manresa-Yee, Montoya, Riquelme. "
    "Automated facial recognition system using deep learning for pain assessment in "
    "adults with cerebral palsy. Digital Health 10, 2024. doi:10.1177/20552076241259664"
)


def classifier_head(x, num_classes: int, name: str = "predictions"):
    """The softmax output layer every zoo model ends with."""
    return keras.layers.Dense(num_classes, activation="softmax", name=name)(x)


def check_input_size(model_name: str, input_shape, minimum: int) -> None:
    """Raise a clear error if the input is too small for the network.

    Args:
        model_name: Registered name, used in the message.
        input_shape: ``(H, W, 3)``.
        minimum: Smallest height and width the network accepts.
    """
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


def reject_named_weights(model_name: str, weights) -> None:
    """Raise if a from-scratch model is asked for named pretrained weights.

    Raises:
        ValueError: If ``weights`` is a known weights name such as ``"imagenet"``.
    """
    if isinstance(weights, str) and weights.lower() == "imagenet":
        raise ValueError(
            f"{model_name} is trained from scratch and has no pretrained 'imagenet' "
            "weights; pass weights=None or the path of a .weights.h5 file saved by painzoo."
        )
