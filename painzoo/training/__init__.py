"""Training: recipes (the papers' optimisers and schedules) and input pipelines."""

from painzoo.training.recipe import PRESETS, Recipe, TqdmEpochs  # noqa: F401
