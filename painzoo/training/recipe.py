"""Training recipes: optimiser, schedule and augmentation as one object.

A :class:`Recipe` holds everything that decides how a zoo model is trained:
its fields, the named presets, their checks, and its plain-data form.
``recipe.fit(model, dataset)`` trains with ``model.fit`` and
``recipe.predict(model, dataset)`` returns the probability of pain
(:mod:`painzoo.training.trainer`); the aids it applies to a network are in
:mod:`painzoo.training.aids`.

The ``"p1"`` and ``"p2"`` presets follow the two papers where they state a
setting and fill in what they leave open (``docs/evaluation.md`` lists which
is which). ``"painzoo"`` is painzoo's own default, the one a config that names
no preset gets; it also builds some networks with painzoo's aids for
training from random weights (:data:`~painzoo.training.aids.MODEL_AIDS`),
where the papers' presets build every network exactly as published.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
from dataclasses import dataclass

from painzoo.preprocess.spec import InputSpec, resolve_input_spec
from painzoo.training.augment import RECIPES as _AUGMENTATIONS

__all__ = [
    "Recipe",
    "PRESETS",
    "DEFAULT_PRESET",
]

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
        # small shifts, mirroring, rotation and lighting changes that leave the
        # expression as it is, with enough optimiser steps to fit them
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
        # layers of networks without normalisation step at most 0.4 of their scale
        "max_step_ratio": 0.4,
        # for networks without normalisation layers, every batch holds the classes
        # in their proportion (BatchNorm re-centres a one-sided batch itself)
        "stratify_batches": "auto",
        # kernels of networks without normalisation layers step on their gradient
        # minus its mean over each unit's inputs
        "gradient_centralization": "auto",
        # networks built with the aids of MODEL_AIDS (He-normal VGG, zeroed
        # residual branches, InceptionV3's low-resolution stem below 152 px,
        # ResNet-18 and PainSeeker with Keras' default initialisers)
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

    Every field defaults to "off" (plain Adam, constant rate, no
    augmentation); :meth:`preset` fills them in. ``docs/evaluation.md``
    lists each preset's values and where they come from,
    ``docs/default-recipe.md`` explains the ``"painzoo"`` preset.

    Args:
        optimizer: ``"adam"``, ``"adamw"`` (Adam with decoupled weight decay),
            ``"rmsprop"`` or ``"sgd"`` (momentum 0.9).
        learning_rate: Peak learning rate (the constant one with
            ``schedule="constant"``).
        weight_decay: With ``"adam"``, an L2 term ``weight_decay · w`` added
            to the gradient before Adam's moments (coupled, as
            ``torch.optim.Adam(weight_decay=…)``;
            :class:`painzoo.training.optimizers.AdamL2`); with ``"adamw"``,
            ``"rmsprop"`` and ``"sgd"``, Keras's decoupled decay.
        batch_size: Images per step.
        epochs: Passes over the training set.
        augment: Augmentation preset of :mod:`painzoo.training.augment`
            (``"p1"``, ``"p2"``, ``"flip"``, ``"painzoo"``) or ``None``.
        test_resize: Test-time (and validation) geometry: ``None`` resizes the
            whole image to the model input; ``256`` resizes to 256 (for a
            224 input, scaled with the input size) and centre-crops the input
            size, so faces are as large as in ``"p1"``'s random crops (see
            :func:`painzoo.preprocess.spec.resize_before_crop`).
        class_weight: ``None``, ``"balanced"`` (weights ``n / (2 · n_c)``,
            scikit-learn's rule) or a ``{label: weight}`` dict.
        precision: ``"float32"``, ``"mixed"`` (``mixed_float16`` on a GPU,
            float32 on CPU where mixed precision only slows things down),
            ``"mixed_float16"`` or ``"mixed_bfloat16"``. It applies to models
            built inside :meth:`precision_scope`.
        jit_compile: Passed to ``model.compile`` (``"auto"``, True, False).
        seed: Seed for weights, shuffling and augmentation.
        validation_split: Fraction of *subjects* held out for validation
            (0 = none).
        verbose: ``model.fit`` verbosity.
        schedule: ``"constant"`` or ``"cosine"``: linear warm-up to
            ``learning_rate`` over ``warmup_fraction`` of the steps, then
            cosine decay to 1 % of it at the last step.
        warmup_fraction: Share of the optimiser steps spent warming up
            (``"cosine"`` only).
        min_steps: Least number of optimiser steps; when
            ``epochs × steps_per_epoch`` is smaller (a small training set),
            the number of epochs is raised until it is reached. 0 = off.
        min_batches_per_epoch: Shrink the batch (not below 8 images) so that
            an epoch has at least this many steps; 0 = keep ``batch_size``.
        label_smoothing: Cross-entropy against labels smoothed by this
            amount (0 = the plain cross-entropy).
        bn_momentum: Momentum given to every ``BatchNormalization`` layer of
            the model before training (``None`` = as built: 0.9 for ResNet-18,
            0.99 for the Keras applications).
        input_norm: ``None`` (as built) or ``"dataset"``: before training, a
            network whose input scaling is ``x / 255`` (the from-scratch
            AlexNet, SongNet, WeiNet, SilNet, and VGG16/19 built with
            ``he_init``) gets ``(x - mean) / std`` with the per-channel
            statistics of the training images instead
            (:meth:`normalize_inputs`). Pretrained scalings are left alone.
        dropout: ``None`` (as built) or the rate every ``Dropout`` layer of
            the model gets before training (:meth:`set_dropout`).
        max_step_ratio: ``None`` (one learning rate for every weight) or
            ``c``: in a network without normalisation layers, each hidden
            ``Dense`` or convolution kernel whose step ratio
            ``learning_rate × √fan_in / std(kernel)`` exceeds ``c`` learns at
            the rate that brings it to ``c`` (:meth:`lr_multipliers`).
        stratify_batches: Every training batch holds the classes in about
            their proportion in the training set (each epoch in a new order;
            :class:`~painzoo.training.batch_order.StratifiedOrder`) instead
            of as a plain shuffle draws them. ``True`` for every network,
            ``False`` for none, ``"auto"`` for networks without normalisation
            layers only (:meth:`stratifies`).
        gradient_centralization: Every ``Dense`` and convolution kernel
            steps on its gradient minus the gradient's mean over each
            unit's inputs (Yong et al., ECCV 2020;
            :func:`~painzoo.training.optimizers.centralize_gradient`,
            :meth:`centralized_kernels`). ``True`` for every network,
            ``False`` for none, ``"auto"`` for networks without
            normalisation layers only.
        model_aids: Build networks with painzoo's aids for training from
            random weights (:data:`~painzoo.training.aids.MODEL_AIDS`, :meth:`model_kwargs_for`):
            ``True`` in the ``"painzoo"`` preset, ``False`` (every network
            exactly as published) in the papers' presets. Model arguments
            given in a config or call win over the aids.
        early_stopping: With ``validation_split``, stop after this many
            epochs without a lower validation loss and restore the best
            weights; 0 = off.
        distribute: ``None`` (one device) or ``"mirrored"``: data-parallel
            training of one model on every local GPU (on a machine without
            GPUs, on every logical CPU device). TensorFlow uses
            ``tf.distribute.MirroredStrategy``, JAX
            ``keras.distribution.DataParallel``; PyTorch has no such path
            (a ``ValueError`` says what to use instead). ``batch_size`` stays
            the global batch, split across the devices. Build the model
            inside :meth:`scope`.

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
        """A named recipe with optional overrides.

        ``"p1"`` and ``"p2"`` follow the two papers where they state a
        setting (``docs/evaluation.md`` lists which fields are painzoo's
        choice); ``"painzoo"`` is painzoo's own default for small datasets.

        Raises:
            ValueError: For an unknown preset name.
        """
        key = str(name).lower()
        if key not in PRESETS:
            raise ValueError(f"Unknown recipe preset {name!r}; choose one of {sorted(PRESETS)}.")
        _refuse_removed(overrides)
        return cls(**{**PRESETS[key], **overrides})

    @classmethod
    def from_config(cls, spec) -> Recipe:
        """A recipe from a config entry: a preset name, a dict (``preset:`` + fields) or a Recipe.

        With no entry, or a dict that names no preset, the fields apply on
        top of the ``"painzoo"`` preset (:data:`DEFAULT_PRESET`).
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

        With ``model_aids`` the aids of :data:`~painzoo.training.aids.MODEL_AIDS` for ``name`` at
        ``input_shape`` (``None``: the model's default), with every key of
        ``kwargs`` (the user's model arguments) winning; without, ``kwargs``
        alone.

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
    def fit(self, model, dataset, *, callbacks=None, progress: bool = False, compile: bool = True):
        """Train ``model`` on a :class:`~painzoo.datasets.Dataset`.

        Images are resized to the model's input size and fed by
        :func:`painzoo.training.pipeline.make_input` (streaming, with
        augmentation).

        Args:
            model: A zoo model (built, ideally inside :meth:`precision_scope`).
            dataset: Training data.
            callbacks: Extra Keras callbacks.
            progress: Show a tqdm bar over epochs.
            compile: Compile the model first (set False to keep your own).

        Returns:
            The Keras ``History``.

        Raises:
            ValueError: With ``distribute``, for a model built outside :meth:`scope`.

        See :func:`~painzoo.training.trainer.fit`.
        """
        return _trainer().fit(
            self, model, dataset, callbacks=callbacks, progress=progress, compile=compile
        )

    def predict(self, model, dataset):
        """Probability of pain for every row of ``dataset``, float ``[N]``."""
        return _trainer().predict(self, model, dataset)

    def compile(self, model, total_steps: int | None = None):
        """Compile ``model`` with the recipe's optimizer and cross-entropy (Eq. 4).

        Args:
            model: The model.
            total_steps: Optimiser steps of the training to come (sizes a
                ``"cosine"`` schedule; a constant rate ignores it).
        """
        return _trainer().compile_model(self, model, total_steps)

    def training_plan(self, n_train: int) -> dict:
        """Batch size, epochs and optimiser steps for a training set of ``n_train`` images.

        The ``"p1"`` and ``"p2"`` presets leave ``min_batches_per_epoch``
        and ``min_steps`` off, so they train exactly ``epochs`` × ``batch_size``.
        See :func:`~painzoo.training.trainer.training_plan`.
        """
        return _trainer().training_plan(self, n_train)

    def learning_rate_schedule(self, total_steps: int | None = None):
        """``learning_rate`` as a float (constant) or a warm-up + cosine schedule."""
        return _trainer().learning_rate_schedule(self, total_steps)

    def make_optimizer(self, total_steps=None, lr_multipliers=None, centralize=None):
        """The Keras optimizer this recipe describes.

        Args:
            total_steps: Optimiser steps of the training (sizes the schedule).
            lr_multipliers: Per-variable learning-rate factors
                (:meth:`lr_multipliers`); empty or ``None`` = one rate for all.
            centralize: Paths of kernels whose gradients are centred
                (:meth:`centralized_kernels`); empty or ``None`` = none.
        """
        return _trainer().make_optimizer(self, total_steps, lr_multipliers, centralize)

    def make_loss(self):
        """Sparse cross-entropy, with ``label_smoothing`` when set."""
        return _trainer().make_loss(self)

    def class_weights(self, labels) -> dict | None:
        """The ``class_weight`` dict for ``model.fit`` given training labels."""
        return _trainer().class_weights(self, labels)

    def input_spec(self, model) -> InputSpec:
        """The :class:`~painzoo.preprocess.InputSpec` ``model`` is fed with under this recipe.

        Its size is the model's input (height and width may differ); its crop
        policy is :attr:`test_resize`.

        Raises:
            ValueError: If the model has no fixed height and width.
        """
        return resolve_input_spec(model, recipe=self)

    # -- devices -----------------------------------------------------------------------
    def resolved_precision(self) -> str:
        """The Keras dtype policy name that ``precision`` means on this machine."""
        return _trainer().resolved_precision(self)

    def precision_scope(self):
        """Build models inside this block to get the recipe's dtype policy.

        The global policy is restored afterwards, so models built later are
        unaffected.
        """
        return _trainer().precision_scope(self)

    @contextlib.contextmanager
    def scope(self):
        """Build models inside this block: the recipe's dtype policy and, with
        ``distribute``, the devices the model is placed on and trained across.

        Raises:
            ValueError: For ``distribute="mirrored"`` on the PyTorch backend.
        """
        with _trainer().precision_scope(self), _trainer().distribution_scope(self):
            yield

    def distribution(self):
        """The backend's data-parallel object for ``distribute`` (made once), or ``None``.

        See :func:`~painzoo.training.trainer.distribution`.

        Raises:
            ValueError: For ``distribute="mirrored"`` on the PyTorch backend.
        """
        return _trainer().distribution(self)
