"""painzoo: recognise pain from face images with Keras 3.

The public API is small: build a network by name, list and describe the zoo. Subpackages
(``painzoo.datasets``, ``painzoo.evaluation``, ``painzoo.benchmark``, …) load on first use.

Example:
    >>> import painzoo
    >>> model = painzoo.get_model("painseeker")
    >>> painzoo.list_models("resnet*")
    ['resnet101v2', 'resnet18', 'resnet50']
"""

from __future__ import annotations

import importlib

from painzoo._version import __version__
from painzoo.registry import ModelInfo, get_model, list_models, model_info, register_model

# The registry reads the zoo's table without importing Keras; a model's module (and Keras with it)
# is imported when the model is built, so ``painzoo --help`` and ``import painzoo`` stay fast.

__all__ = [
    "ModelInfo",
    "get_model",
    "list_models",
    "model_info",
    "predict",
    "register_model",
    "train",
    "__version__",
]

_SUBPACKAGES = (
    "annotation",
    "benchmark",
    "datasets",
    "evaluation",
    "explain",
    "inference",
    "layers",
    "losses",
    "models",
    "preprocess",
    "training",
)


def train(config=None, **kwargs):
    """Train one model on all images of a data set and save it with a model card.

    With ``config`` (a bundled name, a YAML path or a dict), the model's settings and the data come
    from that evaluation config (:func:`painzoo.benchmark.final.train_from_config`); without,
    ``data`` is a :class:`~painzoo.datasets.Dataset` (:func:`painzoo.inference.train`).
    """
    if config is None:
        from painzoo.inference.train import train as _train

        return _train(**kwargs)
    from painzoo.benchmark.final import train_from_config

    return train_from_config(config, **kwargs)


def predict(model, inputs, **kwargs):
    """Probability of pain for images, folders, manifests and videos, as a DataFrame.

    See :func:`painzoo.inference.predict` (imported on first call).
    """
    from painzoo.inference.predict import predict as _predict

    return _predict(model, inputs, **kwargs)


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"painzoo.{name}")
    raise AttributeError(f"module 'painzoo' has no attribute {name!r}")
