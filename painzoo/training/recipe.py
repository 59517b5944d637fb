"""Training recipes: optimiser, schedule and augmentation as one object.

The ``"p1"`` and ``"p2"`` presets follow the two papers where they state a setting
(``docs/evaluation.md`` lists which is which); ``"painzoo"`` is painzoo's own default, which also
builds some networks with the aids of :data:`~painzoo.training.aids.MODEL_AIDS`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
from dataclasses import dataclass

from painzoo.preprocess.spec import InputSpec, resolve_input_spec
from painzoo.training.augment import RECIPES as _AUGMENTATIONS

__all__ = ["Recipe", "PRESETS", "DEFAULT_PRESET"]

PRESETS: dict[str, dict] = {
    "p1": {
        "optimizer": "adam",
        "learning_rate": 1e-4,
        "weight_decay": 0.01,
        "batch_size": 64,
        "epochs": 30,
        "augment": "p1",
        "test_resize": None,  # the whole image resized to the input, as P1 tests
    },
    "p2": {
        "optimizer": "adam",
        "learning_rate": 1e-3,
        "weight_decay": 0.0,
        "batch_size": 32,
        "epochs": 30,
        "augment": "p2",
    },
    # painzoo's own default (not a paper's), for training from random weights on
    # 100-3,000 face images. Each choice is explained in docs/default-recipe.md.
    "painzoo": {
        "optimizer": "adamw",
        "learning_rate": 5e-4,
        "weight_decay": 0.05,
        "batch_size": 32,
        "epochs": 30,
        "augment": "painzoo",
        "class_weight": "balanced",
        "schedule": "cosine",
        "warmup_fraction": 0.1,
        "min_steps": 900,
        "min_batches_per_epoch": 8,
        "label_smoothing": 0.1,
        "bn_momentum": 0.9,
        "input_norm": "dataset",
        "dropout": 0.0,
        "max_step_ratio": 0.4,
        "stratify_batches": "auto",
        "gradient_centralization": "auto",
        "model_aids": True,
    },
}
DEFAULT_PRESET = "painzoo"


# Training code imports Keras, loaded with a recipe's first fit: checking a config and
# planning a benchmark build recipes without a backend.
def _aids():
    return importlib.import_module("painzoo.training.aids")


def _trainer():
    return importlib.import_module("painzoo.training.trainer")


#: Recipe fields that no longer exist; a config naming one is told to delete it.
REMOVED_FIELDS = ("batch_renorm", "data_init", "ema_momentum", "recompute_bn")

_CHOICES = {
    "optimizer": ("adam", "adamw", "rmsprop", "sgd"),
    "precision": ("float32", "mixed", "mixed_float16", "mixed_bfloat16"),
    "distribute": (None, "mirrored"),
    "schedule": ("constant", "cosine"),
    "input_norm": (None, "dataset"),
}


def _refuse_removed(keys) -> None:
    """Raise a ``ValueError`` naming any of ``keys`` that is in :data:`REMOVED_FIELDS`."""
    removed = sorted(set(keys) & set(REMOVED_FIELDS))
    if removed:
        raise ValueError(
            f"Recipe field(s) {removed} no longer exist; delete them from the recipe."
        )


#: Advice added to the message of a bad numeric recipe field.
_NUMBER_FIXES = {
    "test_resize": "It is the resize side for a 224 input before the centre crop (P1: 256); "
    "null resizes the whole image.",
    "verbose": "It is model.fit's verbosity: 0 silent, 1 bar, 2 a line per epoch.",
}


@dataclass
class Recipe:
    """How to train a zoo model.

    Every field defaults to "off" (plain Adam, constant rate, no augmentation); :meth:`preset`
    fills them in. ``docs/evaluation.md`` lists each preset's values, ``docs/default-recipe.md``
    explains ``"painzoo"`` and its aids.

    Args:
        optimizer: ``"adam"``, ``"adamw"``, ``"rmsprop"`` or ``"sgd"`` (momentum 0.9).
        learning_rate: Peak (or constant) learning rate.
        weight_decay: With ``"adam"``, coupled L2 added to the gradient
            (:class:`~painzoo.training.optimizers.AdamL2`); otherwise Keras's decoupled decay.
        batch_size, epochs: Images per step; passes over the training set.
        augment: Preset of :mod:`painzoo.training.augment` or ``None``.
        test_resize: ``None`` resizes the whole image to the input; ``256``
            resizes to 256 (scaled with the input size) and centre-crops.
        class_weight: ``None``, ``"balanced"`` (``n / (2 · n_c)``) or a dict.
        precision: ``"float32"``, ``"mixed"`` (``mixed_float16`` on a GPU,
            float32 on CPU), ``"mixed_float16"`` or ``"mixed_bfloat16"``.
        jit_compile, verbose: Passed to ``model.compile`` and ``model.fit``.
        seed: Seed for weights, shuffling and augmentation.
        validation_split: Fraction of *subjects* held out for validation.
        schedule, warmup_fraction: ``"constant"`` or ``"cosine"`` (linear
            warm-up over that share of the steps, then cosine decay to 1 %).
        min_steps: Least number of optimiser steps (more epochs); 0 = off.
        min_batches_per_epoch: Shrink the batch (down to 8) for this many steps per epoch; 0 = off.
        label_smoothing: Label smoothing of the cross-entropy.
        bn_momentum, dropout: Set on every ``BatchNormalization`` and
            ``Dropout`` layer (``None``: as built).
        input_norm: ``"dataset"``: an ``x / 255`` network standardises with
            the training images' statistics (:meth:`normalize_inputs`).
        max_step_ratio: Cap on ``learning_rate × √fan_in / std(kernel)`` in
            networks without normalisation layers (:meth:`lr_multipliers`).
        stratify_batches: Batches hold the classes in their training-set
            proportion; ``True``, ``False`` or ``"auto"`` (:meth:`stratifies`).
        gradient_centralization: Centred kernel gradients (Yong et al., ECCV
            2020; :meth:`centralized_kernels`); ``True``, ``False`` or ``"auto"``.
        model_aids: Apply :data:`~painzoo.training.aids.MODEL_AIDS` (:meth:`model_kwargs_for`).
        early_stopping: With ``validation_split``, patience in epochs on the
            validation loss (best weights restored); 0 = off.
        distribute: ``None`` or ``"mirrored"``: data-parallel on every local GPU (TensorFlow and
            JAX); ``batch_size`` is the global batch. Build the model inside :meth:`scope`.

    Example:
        >>> recipe = Recipe.preset("p1", epochs=5, class_weight="balanced")
        >>> with recipe.precision_scope():
        ...     model = painzoo.get_model("painseeker")
        >>> recipe.fit(model, train_ds)
        >>> p_pain = recipe.predict(model, test_ds)

    Reference:
        Liu et al., Front. Vet. Sci. 2025, "Comparison methods and
        implementation detail" (P1); Sabater-Gárriz et al., Digital Health
        2024, "Deep learning pain recognition: Procedure" (P2).
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int = 32
    epochs: int = 30
    augment: str | None = None
    test_resize: int | None = None
    class_weight: str | dict | None = None
    precision: str = "float32"
    jit_compile: bool | str = "auto"
    seed: int = 0
    validation_split: float = 0.0
    verbose: int = 0
    distribute: str | None = None
    schedule: str = "constant"
    warmup_fraction: float = 0.0
    min_steps: int = 0
    min_batches_per_epoch: int = 0
    label_smoothing: float = 0.0
    bn_momentum: float | None = None
    input_norm: str | None = None
    dropout: float | None = None
    early_stopping: int = 0
    max_step_ratio: float | None = None
    stratify_batches: bool | str = False
    gradient_centralization: bool | str = False
    model_aids: bool = False

    def __post_init__(self):
        for key, choices in _CHOICES.items():
            if getattr(self, key) not in choices:
                raise ValueError(
                    f"{key} must be one of {choices}; received {getattr(self, key)!r}."
                )
        self._check_numbers()
        if isinstance(self.augment, str) and self.augment.lower() not in _AUGMENTATIONS:
            raise ValueError(
                f"augment must be one of {list(_AUGMENTATIONS)}, null or (in Python) Keras "
                f"layers; received {self.augment!r}."
            )
        if not isinstance(self.model_aids, bool):
            raise ValueError(f"model_aids must be true or false; received {self.model_aids!r}.")
        for key in ("stratify_batches", "gradient_centralization"):
            value = getattr(self, key)
            if not (isinstance(value, bool) or value == "auto"):
                raise ValueError(
                    f"{key} must be true, false or 'auto' (networks without "
                    f"normalisation layers only); received {value!r}."
                )
        if isinstance(self.class_weight, str) and self.class_weight != "balanced":
            raise ValueError(
                f"class_weight must be None, 'balanced' or a dict; received {self.class_weight!r}."
            )

    #: Every numeric field: ``(low, high, low_open, high_open, integer, none)``.
    _NUMBERS = {
        "learning_rate": (0, None, False, False, False, False),
        "weight_decay": (0, None, False, False, False, False),
        "batch_size": (1, None, False, False, True, False),
        "epochs": (1, None, False, False, True, False),
        "test_resize": (224, None, False, False, True, True),
        "seed": (0, None, False, False, True, False),
        "validation_split": (0, 1, False, True, False, False),
        "verbose": (0, 2, False, False, True, False),
        "warmup_fraction": (0, 1, False, True, False, False),
        "min_steps": (0, None, False, False, True, False),
        "min_batches_per_epoch": (0, None, False, False, True, False),
        "label_smoothing": (0, 1, False, True, False, False),
        "bn_momentum": (0, 1, False, True, False, True),
        "dropout": (0, 1, False, True, False, True),
        "early_stopping": (0, None, False, False, True, False),
        "max_step_ratio": (0, None, True, False, False, True),
    }

    def _check_numbers(self) -> None:
        """Every numeric field finite and in range; the message names the field and range."""
        from painzoo.utils.numbers import check_number

        names = ("low", "high", "low_open", "high_open", "integer", "none")
        for key, spec in self._NUMBERS.items():
            limits = dict(zip(names, spec))
            value = check_number(getattr(self, key), key, **limits, fix=_NUMBER_FIXES.get(key))
            setattr(self, key, value)
        if isinstance(self.class_weight, dict):
            for label, weight in self.class_weight.items():
                check_number(weight, f"class_weight[{label!r}]", low=0)

    # -- construction -------------------------------------------------------------
    @classmethod
    def preset(cls, name: str, **overrides) -> Recipe:
        """A named recipe with optional overrides; ``ValueError`` for an unknown name."""
        key = str(name).lower()
        if key not in PRESETS:
            raise ValueError(f"Unknown recipe preset {name!r}; choose one of {sorted(PRESETS)}.")
        _refuse_removed(overrides)
        return cls(**{**PRESETS[key], **overrides})

    @classmethod
    def from_config(cls, spec) -> Recipe:
        """A recipe from a config entry: a preset name, a dict (``preset:`` + fields) or a Recipe.

        Fields with no preset apply on top of :data:`DEFAULT_PRESET`.
        """
        if isinstance(spec, Recipe):
            return spec
        if spec is None:
            return cls.preset(DEFAULT_PRESET)
        if isinstance(spec, str):
            return cls.preset(spec)
        spec = dict(spec)
        preset = spec.pop("preset", None)
        _refuse_removed(spec)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ValueError(
                f"Unknown recipe field(s) {unknown}; valid fields are {sorted(known)}."
            )
        return cls.preset(preset or DEFAULT_PRESET, **spec)

    def model_kwargs_for(self, name: str, input_shape=None, kwargs: dict | None = None) -> dict:
        """The builder arguments for network ``name``: this recipe's aids, then ``kwargs``.

        Example:
            >>> Recipe.preset("painzoo").model_kwargs_for("inceptionv3", (112, 112, 3))
            {'low_resolution_stem': True}
            >>> Recipe.preset("p2").model_kwargs_for("vgg16")
            {}
        """
        extra = _aids().model_aids_for(name, input_shape) if self.model_aids else {}
        return {**extra, **dict(kwargs or {})}

    def updated(self, spec) -> Recipe:
        """This recipe changed by ``spec``: ``None`` keeps it; a Recipe, a preset name or
        a dict naming a ``preset`` replaces it; any other dict changes its fields."""
        if spec is None:
            return self
        if isinstance(spec, (Recipe, str)) or "preset" in dict(spec):
            return Recipe.from_config(spec)
        return self.replace(**dict(spec))

    def replace(self, **changes) -> Recipe:
        """A copy with some fields changed."""
        _refuse_removed(changes)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The recipe as plain data (for the resolved config of a run)."""
        return dataclasses.asdict(self)

    # -- the model aids: each method calls painzoo.training.aids' function of that name -
    def stratifies(self, model) -> bool:
        """Whether training ``model`` draws stratified batches."""
        return _aids().stratifies(self, model)

    def lr_multipliers(self, model) -> dict[str, float]:
        """Per-kernel learning-rate factors of ``max_step_ratio`` (variable path → factor)."""
        return _aids().lr_multipliers(self, model)

    def centralized_kernels(self, model) -> list[str]:
        """Paths of the kernels whose gradients ``gradient_centralization`` centres."""
        return _aids().centralized_kernels(self, model)

    def set_bn_momentum(self, model) -> int:
        """Give every ``BatchNormalization`` layer ``bn_momentum``; returns how many changed."""
        return _aids().set_bn_momentum(self, model)

    def set_dropout(self, model) -> int:
        """Give every ``Dropout`` layer the rate ``dropout``; returns how many changed."""
        return _aids().set_dropout(self, model)

    def normalize_inputs(self, model, dataset) -> int:
        """With ``input_norm="dataset"``, standardise an ``x / 255`` network's inputs."""
        return _aids().normalize_inputs(self, model, dataset)

    # -- training: the methods call painzoo.training.trainer --------------------------
    def fit(
        self,
        model,
        dataset,
        *,
        callbacks=None,
        progress: bool = False,
        compile: bool = True,
        input_spec: InputSpec | None = None,
    ):
        """Train ``model`` (ideally built inside :meth:`precision_scope`) on a Dataset; returns the Keras ``History``.

        ``compile=False`` keeps your own compilation; ``progress`` shows a tqdm bar over epochs;
        ``input_spec`` defaults to :meth:`input_spec` (:func:`~painzoo.training.trainer.fit`).

        Raises:
            ValueError: With ``distribute``, for a model built outside :meth:`scope`.
        """
        return _trainer().fit(
            self,
            model,
            dataset,
            callbacks=callbacks,
            progress=progress,
            compile=compile,
            input_spec=input_spec,
        )

    def predict(self, model, dataset, input_spec: InputSpec | None = None):
        """Probability of pain for every row of ``dataset``, float ``[N]`` (``input_spec``
        defaults to :meth:`input_spec`)."""
        return _trainer().predict(self, model, dataset, input_spec)

    def compile(self, model, total_steps: int | None = None):
        """Compile ``model`` with the recipe's optimizer and cross-entropy (Eq. 4); ``total_steps`` sizes the schedule."""
        return _trainer().compile_model(self, model, total_steps)

    def training_plan(self, n_train: int) -> dict:
        """Batch size, epochs and steps for ``n_train`` images (:func:`~painzoo.training.trainer.training_plan`)."""
        return _trainer().training_plan(self, n_train)

    def learning_rate_schedule(self, total_steps: int | None = None):
        """``learning_rate`` as a float (constant) or a warm-up + cosine schedule."""
        return _trainer().learning_rate_schedule(self, total_steps)

    def make_optimizer(self, total_steps=None, lr_multipliers=None, centralize=None):
        """The Keras optimizer this recipe describes, with the rate factors and centred kernels given."""
        return _trainer().make_optimizer(self, total_steps, lr_multipliers, centralize)

    def make_loss(self):
        """Sparse cross-entropy, with ``label_smoothing`` when set."""
        return _trainer().make_loss(self)

    def class_weights(self, labels) -> dict | None:
        """The ``class_weight`` dict for ``model.fit`` given training labels."""
        return _trainer().class_weights(self, labels)

    def input_spec(self, model) -> InputSpec:
        """The :class:`~painzoo.preprocess.InputSpec` ``model`` is fed with; ``ValueError`` without a fixed size."""
        return resolve_input_spec(model, recipe=self)

    # -- devices -----------------------------------------------------------------------
    def resolved_precision(self) -> str:
        """The Keras dtype policy name that ``precision`` means on this machine."""
        return _trainer().resolved_precision(self)

    def precision_scope(self):
        """Build models inside this block to get the recipe's dtype policy (restored afterwards)."""
        return _trainer().precision_scope(self)

    @contextlib.contextmanager
    def scope(self):
        """Build models inside this block: the dtype policy and, with ``distribute``, the devices (not PyTorch)."""
        with _trainer().precision_scope(self), _trainer().distribution_scope(self):
            yield

    def distribution(self):
        """The backend's data-parallel object for ``distribute`` (made once), or ``None``."""
        return _trainer().distribution(self)
