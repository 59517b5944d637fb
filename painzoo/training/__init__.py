"""Training: recipes and input pipelines (:class:`Recipe` imports no Keras; the rest loads on first use)."""

import importlib

from painzoo.training.recipe import PRESETS, Recipe  # noqa: F401

_LAZY = {
    "Augmentation": "augment",
    "get_augmentation": "augment",
    "make_input": "pipeline",
    "TqdmEpochs": "trainer",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"painzoo.training.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'painzoo.training' has no attribute {name!r}")
