"""Training: recipes (the papers' optimisers and schedules) and input pipelines."""

from painzoo.training.augment import Augmentation, get_augmentation  # noqa: F401
from painzoo.training.pipeline import make_input  # noqa: F401
from painzoo.training.recipe import PRESETS, Recipe, TqdmEpochs  # noqa: F401
