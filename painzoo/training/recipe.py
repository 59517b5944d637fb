"""Training recipes: optimiser, schedule and augmentation as one object.

A :class:`Recipe` holds everything that decides how a zoo model is trained.
``recipe.fit(model, dataset)`` trains with ``model.fit`` (so it runs on the
TensorFlow, JAX and PyTorch backends and on a GPU when Keras sees one) and
``recipe.predict(model, dataset)`` returns the probability of pain.

``Recipe.preset("p1")`` and ``Recipe.preset("p2")`` follow the two papers
where they state a setting and fill in what they leave open;
``Recipe.preset("painzoo")`` is painzoo's own default (the one a config that
names no preset gets). Which field of which preset comes from which paper,
and which is painzoo's choice, is listed once, in ``docs/evaluation.md``
(*Training recipes*); ``docs/default-recipe.md`` explains the ``painzoo``
preset. The ``painzoo`` preset also builds some networks with painzoo's
aids for training from random weights (``model_aids=True``,
:data:`MODEL_AIDS`); the papers' presets build every network exactly as
published.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from dataclasses import dataclass

import keras
import numpy as np

from painzoo.datasets.labels import PAIN
from painzoo.preprocess.spec import InputSpec, resolve_input_spec
from painzoo.training.augment import RECIPES as _AUGMENTATIONS
from painzoo.training.batch_renorm import renormalizing
from painzoo.training.optimizers import make_optimizer
from painzoo.training.pipeline import make_input

__all__ = [
    "Recipe",
    "PRESETS",
    "DEFAULT_PRESET",
    "MODEL_AIDS",
    "model_aids_for",
    "SparseSmoothedCrossentropy",
    "TqdmEpochs",
    "gpu_available",
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
        # the networks start as Keras initialises them
        "data_init": False,
        # networks built with the aids of MODEL_AIDS (He-normal VGG, zeroed
        # residual branches, InceptionV3's low-resolution stem below 152 px,
        # ResNet-18 and PainSeeker with Keras' default initialisers)
        "model_aids": True,
    },
}
DEFAULT_PRESET = "painzoo"

#: The builder arguments a recipe with ``model_aids=True`` (the ``"painzoo"``
#: preset) passes to :func:`painzoo.get_model`, per network:
#: ``name -> (kwargs, applies(input_shape))``. Every network is exact by
#: default; these are painzoo's aids for training from random weights on a
#: few hundred images (docs/default-recipe.md). Arguments the user gives win.
MODEL_AIDS: dict[str, tuple[dict, str]] = {
    # He-normal kernels and x / 255 inputs: under Keras' Glorot kernels VGG19 did not learn
    "vgg16": ({"he_init": True}, "always"),
    "vgg19": ({"he_init": True}, "always"),
    # every residual branch starts at zero: ResNet50 75.6 % with it, 59.6 % without
    "resnet50": ({"zero_init_residual": True}, "always"),
    "resnet101v2": ({"zero_init_residual": True}, "always"),
    # stride-1 first convolution when both sides are at most 151 px: 82.6 % against 70.7 %
    "inceptionv3": ({"low_resolution_stem": True}, "low_resolution"),
    # Keras' default initialisers, with which the preset was tuned on these networks
    "resnet18": ({"keras_init": True}, "always"),
    "painseeker": ({"keras_init": True}, "always"),
    "painseeker_no_prsc": ({"keras_init": True}, "always"),
}


def model_aids_for(name: str, input_shape=None) -> dict:
    """The aids of :data:`MODEL_AIDS` for network ``name`` at ``input_shape``.

    Args:
        name: Registered model name (case-insensitive).
        input_shape: ``(H, W, 3)`` the network is built at; ``None`` for the
            model's default input shape.

    Returns:
        The builder keyword arguments (empty for a network without aids, or
        for InceptionV3 with a side above 151 px).
    """
    key = str(name).lower()
    if key not in MODEL_AIDS:
        return {}
    kwargs, when = MODEL_AIDS[key]
    if when == "low_resolution":
        from painzoo.models.applications import LOW_RESOLUTION_SIDE

        if input_shape is None:
            import painzoo

            input_shape = painzoo.model_info(key).input_shape
        h, w = tuple(input_shape)[:2]
        if h is None or w is None or max(h, w) > LOW_RESOLUTION_SIDE:
            return {}
    return dict(kwargs)


_SCHEDULES = ("constant", "cosine")
_MIN_BATCH = 8  # smallest batch min_batches_per_epoch may shrink to (BatchNorm needs a few)
_OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")
_PRECISIONS = ("float32", "mixed", "mixed_float16", "mixed_bfloat16")
_DISTRIBUTE = (None, "mirrored")
_INPUT_NORMS = (None, "dataset")
_INIT_SAMPLE = 64  # images that set the data-dependent initialisation
_NORMS = (
    keras.layers.BatchNormalization,
    keras.layers.LayerNormalization,
    keras.layers.GroupNormalization,
)
_WEIGHTED = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
_BN_PASS_BATCH = 64  # images per forward pass when recomputing BatchNorm statistics
_NORM_SAMPLE = 512  # images read to estimate the per-channel statistics (plenty for 6 numbers)


def gpu_available() -> bool:
    """Whether the active Keras backend sees a GPU."""

    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            return bool(tf.config.list_physical_devices("GPU"))
        if backend == "torch":
            import torch

            return bool(torch.cuda.is_available())
        if backend == "jax":
            import jax

            return any(d.platform == "gpu" for d in jax.devices())
    except Exception:  # a broken driver means "no GPU", not a crash
        return False
    return False


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
            the rate that brings it to ``c`` (:meth:`lr_multipliers`). A
            classifier at zero (after ``data_init``) is capped too.
        recompute_bn: After training, set the moving mean and variance of
            every trainable ``BatchNormalization`` layer to the statistics of
            the un-augmented training images, from one pass over them in
            training mode with dropout off (:meth:`recompute_bn_statistics`;
            "precise BN", as ``torch.optim.swa_utils.update_bn``). Networks
            without BatchNorm are unchanged.
        data_init: Before training a network without normalisation layers
            as built from random weights (its ``ImageScaling`` still at
            ``x / 255``), standardise each unit's input on the training
            images and start the classifier at zero (:meth:`init_from_data`).
        stratify_batches: Every training batch holds the classes in about
            their proportion in the training set (each epoch in a new order;
            :class:`~painzoo.training.batch_order.StratifiedOrder`) instead
            of as a plain shuffle draws them. ``True`` for every network,
            ``False`` for none, ``"auto"`` for networks without normalisation
            layers only (:meth:`stratifies`).
        ema_momentum: ``None`` (the weights of the last step) or ``m``:
            the model ends training with the exponential moving average of
            its trainable weights over the steps, ``w̄ ← m · w̄ + (1 − m) · w``
            (Keras's ``use_ema``). A network with BatchNorm then gets its
            moving statistics recomputed for the averaged weights (as
            ``recompute_bn``). Cannot be combined with ``early_stopping``.
        gradient_centralization: Every ``Dense`` and convolution kernel
            steps on its gradient minus the gradient's mean over each
            unit's inputs (Yong et al., ECCV 2020;
            :func:`~painzoo.training.optimizers.centralize_gradient`,
            :meth:`centralized_kernels`). ``True`` for every network,
            ``False`` for none, ``"auto"`` for networks without
            normalisation layers only.
        batch_renorm: Train every ``BatchNormalization`` layer with batch
            renormalization (Ioffe, NeurIPS 2017;
            :mod:`painzoo.training.batch_renorm`): each batch is normalised
            by its own statistics and then corrected towards the moving ones
            (``r = σ_B / σ`` clipped to [1/3, 3], ``d = (μ_B − μ) / σ`` to
            [−5, 5], no gradient through either). The layers, their weights
            and their config stay those of BatchNorm.
        model_aids: Build networks with painzoo's aids for training from
            random weights (:data:`MODEL_AIDS`, :meth:`model_kwargs_for`):
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
    recompute_bn: bool = False
    data_init: bool = False
    stratify_batches: bool | str = False
    ema_momentum: float | None = None
    gradient_centralization: bool | str = False
    batch_renorm: bool = False
    model_aids: bool = False

    def __post_init__(self):
        if self.optimizer not in _OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {_OPTIMIZERS}; received {self.optimizer!r}."
            )
        if self.precision not in _PRECISIONS:
            raise ValueError(
                f"precision must be one of {_PRECISIONS}; received {self.precision!r}."
            )
        self._check_numbers()
        if self.distribute not in _DISTRIBUTE:
            raise ValueError(
                f"distribute must be one of {_DISTRIBUTE}; received {self.distribute!r}."
            )
        if self.schedule not in _SCHEDULES:
            raise ValueError(f"schedule must be one of {_SCHEDULES}; received {self.schedule!r}.")
        if self.ema_momentum is not None and self.early_stopping:
            raise ValueError(
                "ema_momentum and early_stopping cannot be combined: early stopping restores "
                "its best epoch's weights over the average when training ends, so the average "
                "would be lost. Set one of them to null / 0."
            )
        if isinstance(self.augment, str) and self.augment.lower() not in _AUGMENTATIONS:
            raise ValueError(
                f"augment must be one of {list(_AUGMENTATIONS)}, null or (in Python) Keras "
                f"layers; received {self.augment!r}."
            )
        if self.input_norm not in _INPUT_NORMS:
            raise ValueError(
                f"input_norm must be one of {_INPUT_NORMS}; received {self.input_norm!r}."
            )
        for key in ("data_init", "recompute_bn", "batch_renorm", "model_aids"):
            if not isinstance(getattr(self, key), bool):
                raise ValueError(f"{key} must be true or false; received {getattr(self, key)!r}.")
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
        "ema_momentum": (0, 1, True, True, False, True),
    }

    def _check_numbers(self) -> None:
        """Every numeric field finite and in range; the message names the field and range."""
        from painzoo.utils.numbers import check_number

        for key, (low, high, low_open, high_open, integer, none) in self._NUMBERS.items():
            value = check_number(
                getattr(self, key),
                key,
                low=low,
                high=high,
                low_open=low_open,
                high_open=high_open,
                integer=integer,
                none=none,
                fix=_NUMBER_FIXES.get(key),
            )
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
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ValueError(
                f"Unknown recipe field(s) {unknown}; valid fields are {sorted(known)}."
            )
        return cls.preset(preset or DEFAULT_PRESET, **spec)

    def model_kwargs_for(self, name: str, input_shape=None, kwargs: dict | None = None) -> dict:
        """The builder arguments for network ``name``: this recipe's aids, then ``kwargs``.

        With ``model_aids`` the aids of :data:`MODEL_AIDS` for ``name`` at
        ``input_shape`` (``None``: the model's default), with every key of
        ``kwargs`` (the user's model arguments) winning; without, ``kwargs``
        alone.

        Example:
            >>> Recipe.preset("painzoo").model_kwargs_for("inceptionv3", (112, 112, 3))
            {'low_resolution_stem': True}
            >>> Recipe.preset("p2").model_kwargs_for("vgg16")
            {}
        """
        aids = model_aids_for(name, input_shape) if self.model_aids else {}
        return {**aids, **dict(kwargs or {})}

    def replace(self, **changes) -> Recipe:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The recipe as plain data (for the resolved config of a run)."""
        return dataclasses.asdict(self)

    # -- pieces -------------------------------------------------------------------
    def training_plan(self, n_train: int) -> dict:
        """Batch size, epochs and optimiser steps for a training set of ``n_train`` images.

        Applies ``min_batches_per_epoch`` (smaller batches for small sets)
        and ``min_steps`` (more epochs for small sets); the ``"p1"`` and
        ``"p2"`` presets leave both off, so they train exactly ``epochs``
        × ``batch_size``.

        Returns:
            ``{"batch_size", "steps_per_epoch", "epochs", "total_steps"}``.
        """
        n = max(int(n_train), 1)
        batch = int(self.batch_size)
        if self.min_batches_per_epoch:
            batch = min(batch, max(_MIN_BATCH, n // int(self.min_batches_per_epoch)))
        batch = max(1, min(batch, n))
        steps = math.ceil(n / batch)
        epochs = int(self.epochs)
        if self.min_steps:
            epochs = max(epochs, math.ceil(int(self.min_steps) / steps))
        return {
            "batch_size": batch,
            "steps_per_epoch": steps,
            "epochs": epochs,
            "total_steps": steps * epochs,
        }

    def learning_rate_schedule(self, total_steps: int | None = None):
        """``learning_rate`` as a float (constant) or a warm-up + cosine schedule."""
        lr = float(self.learning_rate)
        if self.schedule == "constant" or not total_steps:
            return lr
        total = max(int(total_steps), 1)
        warmup = int(round(float(self.warmup_fraction) * total))
        return keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=lr / 100.0 if warmup else lr,
            decay_steps=max(total - warmup, 1),
            alpha=0.01,  # a fraction of the peak rate in Keras' CosineDecay
            warmup_target=lr if warmup else None,
            warmup_steps=warmup,
        )

    def lr_multipliers(self, model) -> dict[str, float]:
        """Per-kernel learning-rate factors of ``max_step_ratio`` for ``model`` (variable path → factor).

        Adam and RMSprop move every weight by about the learning rate per
        step, whatever its gradient's size. When the updates of a unit's
        ``fan_in`` weights line up with its inputs (ReLU outputs are all
        ≥ 0, so they often do), its input ``z = w · x`` moves by about
        ``learning_rate × fan_in × mean |x|`` while ``z`` itself is about
        ``std(w) × √fan_in × rms(x)``: one step changes it by the *step ratio*
        ``learning_rate × √fan_in / std(w)`` (with SGD the step also grows
        with ``fan_in``). In a network without normalisation layers nothing
        undoes a large jump, and from random weights a few of them silence
        ReLUs or swing every image to one class. Each hidden ``Dense`` or
        convolution kernel whose ratio, at the recipe's peak rate and the
        kernel's current weights, exceeds ``max_step_ratio`` gets the factor
        that brings it down to ``max_step_ratio``. A classifier whose kernel
        is zero (:meth:`init_from_data` starts it there) has no weights to
        measure against; its inputs are then standardised ReLU outputs, of
        mean ``1/√(2π)``, and its outputs logits of size 1, so its ratio is
        ``learning_rate × fan_in / √(2π)``: at full rate every step would
        swing all images' outputs together. Biases, the softmax
        classifier as built and every layer of a network with a
        ``BatchNormalization``, ``LayerNormalization`` or ``GroupNormalization``
        layer (which re-centres and re-scales what a layer passes on) keep
        the full rate.

        Returns:
            ``{}`` when ``max_step_ratio`` is ``None`` or nothing is scaled.
        """
        if self.max_step_ratio is None:
            return {}
        if _layers_of(model, _NORMS):
            return {}
        lr = float(self.learning_rate)
        out = {}
        for layer in _layers_of(model, _WEIGHTED):
            if getattr(layer, "kernel", None) is None:
                continue
            kernel = keras.ops.convert_to_numpy(layer.kernel).astype(np.float64)
            if _is_classifier(layer) and np.any(kernel):
                continue  # the classifier as built: no ReLU after it to silence
            fan_in = kernel[..., 0].size
            scale = float(kernel.std())
            if scale <= 0:
                # a kernel at zero (the classifier after init_from_data): its inputs are
                # standardised ReLU outputs (mean 1/sqrt(2 pi)), its outputs logits of scale 1
                ratio = lr * fan_in / math.sqrt(2.0 * math.pi)
            else:
                ratio = lr * math.sqrt(fan_in) / scale
            if ratio > float(self.max_step_ratio):
                out[layer.kernel.path] = float(self.max_step_ratio) / ratio
        return out

    def centralized_kernels(self, model) -> list[str]:
        """Paths of the kernels whose gradients ``gradient_centralization`` centres in ``model``.

        Every ``Dense`` and convolution kernel (the classifier's included) of
        a network the option applies to: ``True`` every network, ``"auto"``
        a network without ``BatchNormalization``, ``LayerNormalization`` or
        ``GroupNormalization`` layers (which re-centre what a layer passes
        on themselves), ``False`` none.
        """
        if not self.gradient_centralization:
            return []
        if self.gradient_centralization == "auto" and _layers_of(model, _NORMS):
            return []
        return [
            layer.kernel.path
            for layer in _layers_of(model, _WEIGHTED)
            if getattr(layer, "kernel", None) is not None
        ]

    def make_optimizer(
        self,
        total_steps: int | None = None,
        lr_multipliers: dict | None = None,
        centralize=None,
    ):
        """The Keras optimizer this recipe describes.

        Args:
            total_steps: Optimiser steps of the training (sizes the schedule).
            lr_multipliers: Per-variable learning-rate factors
                (:meth:`lr_multipliers`); empty or ``None`` = one rate for all.
            centralize: Paths of kernels whose gradients are centred
                (:meth:`centralized_kernels`); empty or ``None`` = none.
        """
        lr = self.learning_rate_schedule(total_steps)
        wd = float(self.weight_decay or 0.0)
        if self.optimizer == "adamw":
            kind, kwargs = "adamw", {"weight_decay": wd}
        elif self.optimizer == "adam" and wd:
            # L2 added to the gradient, as torch.optim.Adam(weight_decay=…) does.
            kind, kwargs = "adam_l2", {"weight_decay": wd}
        elif self.optimizer == "adam":
            kind, kwargs = "adam", {}
        elif self.optimizer == "rmsprop":
            kind, kwargs = "rmsprop", {"weight_decay": wd or None}
        else:
            kind, kwargs = "sgd", {"momentum": 0.9, "weight_decay": wd or None}
        if self.ema_momentum is not None:
            # Keras keeps the average beside each weight and writes it into the
            # model when fit ends (Optimizer.finalize_variable_values)
            kwargs.update(use_ema=True, ema_momentum=float(self.ema_momentum))
        return make_optimizer(
            kind, lr_multipliers, centralize=centralize, learning_rate=lr, **kwargs
        )

    def resolved_precision(self) -> str:
        """The Keras dtype policy name that ``precision`` means on this machine."""
        if self.precision == "mixed":
            return "mixed_float16" if gpu_available() else "float32"
        return self.precision

    @contextlib.contextmanager
    def precision_scope(self):
        """Build models inside this block to get the recipe's dtype policy.

        The global policy is restored afterwards, so models built later are
        unaffected.
        """
        previous = keras.mixed_precision.dtype_policy()
        keras.mixed_precision.set_dtype_policy(self.resolved_precision())
        try:
            yield
        finally:
            keras.mixed_precision.set_dtype_policy(previous)

    @contextlib.contextmanager
    def scope(self):
        """Build models inside this block: the recipe's dtype policy and, with
        ``distribute``, the devices the model is placed on and trained across.

        Raises:
            ValueError: For ``distribute="mirrored"`` on the PyTorch backend.
        """
        with self.precision_scope(), self._distribution_scope():
            yield

    def distribution(self):
        """The backend's data-parallel object for ``distribute`` (made once), or ``None``.

        Returns:
            ``tf.distribute.MirroredStrategy`` (TensorFlow),
            ``keras.distribution.DataParallel`` (JAX) or ``None``.

        Raises:
            ValueError: For ``distribute="mirrored"`` on the PyTorch backend.
        """
        if self.distribute is None:
            return None
        made = getattr(self, "_distribution", None)
        if made is not None:
            return made
        backend = keras.backend.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices(
                "CPU"
            )
            made = tf.distribute.MirroredStrategy([d.name for d in devices])
        elif backend == "jax":
            made = keras.distribution.DataParallel()
        else:
            raise ValueError(
                f"distribute='mirrored' needs the TensorFlow or JAX backend; the {backend!r} "
                "backend has no multi-device training in Keras. Set KERAS_BACKEND=tensorflow "
                "(or jax), or keep distribute=None and run one unit per GPU with "
                "`painzoo benchmark --executor ray --gpus-per-unit 1`."
            )
        self._distribution = made
        return made

    @contextlib.contextmanager
    def _distribution_scope(self):
        made = self.distribution()
        if made is None:
            yield
            return
        with made.scope():
            yield

    def _check_distributed(self, model):
        made = self.distribution()
        if made is None or keras.backend.backend() != "tensorflow":
            return
        if model.distribute_strategy is not made:
            raise ValueError(
                "This recipe trains with distribute='mirrored', but the model was built "
                "outside its strategy; build it inside `with recipe.scope():`."
            )

    def class_weights(self, labels) -> dict | None:
        """The ``class_weight`` dict for ``model.fit`` given training labels."""
        if self.class_weight is None:
            return None
        if isinstance(self.class_weight, dict):
            return {int(k): float(v) for k, v in self.class_weight.items()}
        labels = np.asarray(labels, int)
        counts = np.bincount(labels, minlength=2)
        present = counts > 0
        return {
            int(c): float(len(labels) / (present.sum() * counts[c])) if counts[c] else 0.0
            for c in range(len(counts))
        }

    def compile(self, model, total_steps: int | None = None):
        """Compile ``model`` with the recipe's optimizer and cross-entropy (Eq. 4).

        Args:
            model: The model.
            total_steps: Optimiser steps of the training to come (sizes a
                ``"cosine"`` schedule; a constant rate ignores it).
        """
        model.compile(
            optimizer=self.make_optimizer(
                total_steps, self.lr_multipliers(model), self.centralized_kernels(model)
            ),
            loss=self.make_loss(),
            weighted_metrics=["accuracy"],  # weighted by class_weight, as the loss
            jit_compile=self.jit_compile,
        )
        return model

    def make_loss(self):
        """Sparse cross-entropy, with ``label_smoothing`` when set."""
        if not self.label_smoothing:
            return "sparse_categorical_crossentropy"
        return SparseSmoothedCrossentropy(float(self.label_smoothing))

    def set_bn_momentum(self, model) -> int:
        """Give every ``BatchNormalization`` layer ``bn_momentum``; returns how many changed."""
        if self.bn_momentum is None:
            return 0
        return _set_on_layers(model, keras.layers.BatchNormalization, "momentum", self.bn_momentum)

    def set_dropout(self, model) -> int:
        """Give every ``Dropout`` layer the rate ``dropout``; returns how many changed.

        The layer list and parameter count stay as built; only the rate used
        in training mode changes (inference never drops).
        """
        if self.dropout is None:
            return 0
        count = _set_on_layers(model, keras.layers.Dropout, "rate", self.dropout)
        if count:
            _forget_traced_steps(model)
        return count

    def normalize_inputs(self, model, dataset) -> int:
        """With ``input_norm="dataset"``, standardise the inputs of an ``x / 255`` network.

        Every :class:`~painzoo.layers.ImageScaling` layer of ``model`` in mode
        ``"unit"`` switches to ``"standardize"`` with the per-channel mean and
        standard deviation of (up to 512 of) ``dataset``'s images at the
        model's input size. Layers already standardised (a model trained
        before) and pretrained networks' scalings are left alone, so the
        statistics are those of the first training set, saved with the model.

        Returns:
            How many layers changed.
        """
        if self.input_norm is None or len(dataset) == 0:
            return 0
        layers = _unit_scalings(model)
        if not layers:
            return 0
        images = self._sample_images(model, dataset, _NORM_SAMPLE)
        pixels = np.asarray(images, np.float64).reshape(-1, images.shape[-1])
        mean, std = pixels.mean(axis=0), pixels.std(axis=0)
        std = np.maximum(std, 1.0)  # a constant channel: keep it finite, at x / 1 scale
        for layer in layers:
            layer.standardize(mean, std)
        _forget_traced_steps(model)
        return len(layers)

    def _sample_images(self, model, dataset, n: int):
        """Up to ``n`` of ``dataset``'s images (drawn with ``seed``, in order) at ``model``'s input size."""
        rows = np.arange(len(dataset))
        if len(rows) > n:
            rows = np.sort(np.random.default_rng(self.seed).choice(rows, n, False))
        return dataset.subset(rows).load_images(self.input_spec(model).size)

    def init_from_data(self, model, dataset) -> int:
        """Data-dependent initialisation of a network without normalisation layers.

        Layer by layer, from the input on, every hidden ``Dense`` or
        convolution's kernel and bias are rescaled and shifted so that each
        unit's input (before its activation) has mean 0 and standard
        deviation 1 over (up to 64 of) ``dataset``'s un-augmented images, and
        the softmax classifier starts at zero (every image at the prior).
        Krähenbühl et al. (2016) and Mishkin & Matas (2016, LSUV) trained
        AlexNet-like networks from scratch this way. A network whose
        layers only see ReLU outputs, which are all >= 0, otherwise passes on
        mostly what every face shares.

        Returns:
            How many layers changed (0 for a network with normalisation layers).
        """
        if _layers_of(model, _NORMS) or len(dataset) == 0:
            return 0
        weighted = [la for la in _layers_of(model, _WEIGHTED) if la.built]
        images = self._sample_images(model, dataset, _INIT_SAMPLE)
        images = keras.ops.convert_to_tensor(np.asarray(images, "float32"))
        changed = 0
        for layer in weighted:
            kernel = keras.ops.convert_to_numpy(layer.kernel)
            if _is_classifier(layer):
                layer.kernel.assign(np.zeros_like(kernel))
                if layer.use_bias:
                    layer.bias.assign(np.zeros(layer.bias.shape, kernel.dtype))
                changed += 1
                continue
            inputs = keras.Model(model.inputs, layer.input)([images], training=False)
            activation, layer.activation = layer.activation, keras.activations.linear
            try:
                z = keras.ops.convert_to_numpy(layer(inputs, training=False))
            finally:
                layer.activation = activation
            z = z.reshape(-1, z.shape[-1])
            mean, std = z.mean(axis=0, dtype=np.float64), z.std(axis=0, dtype=np.float64)
            scale = np.where(std > 1e-8, 1.0 / np.maximum(std, 1e-8), 1.0)
            layer.kernel.assign((kernel * scale).astype(kernel.dtype))
            if layer.use_bias:
                bias = keras.ops.convert_to_numpy(layer.bias).astype(np.float64)
                layer.bias.assign(((bias - mean) * scale).astype(kernel.dtype))
            changed += 1
        _forget_traced_steps(model)
        return changed

    # -- training -----------------------------------------------------------------
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
        """
        keras.utils.set_random_seed(int(self.seed))
        self._check_distributed(model)
        with self._distribution_scope():
            return self._fit(model, dataset, callbacks, progress, compile)

    def _fit(self, model, dataset, callbacks, progress, compile):
        train, val = self._validation_split(dataset)
        plan = self.training_plan(len(train))
        epochs, batch = plan["epochs"], plan["batch_size"]
        self.set_bn_momentum(model)
        from_scratch = bool(_unit_scalings(model))  # as built from random weights, not yet trained
        self.normalize_inputs(model, train)
        if self.data_init and from_scratch:
            self.init_from_data(model, train)
        self.set_dropout(model)
        if compile:
            self.compile(model, total_steps=plan["total_steps"])
        size = self.input_spec(model)
        x = self._input(
            train,
            size,
            augment=self.augment,
            shuffle=True,
            stratify=self.stratifies(model),
            batch_size=batch,
        )
        kwargs = {}
        callbacks = list(callbacks or [])
        if val is not None:
            kwargs["validation_data"] = self._input(
                val, size, augment=None, shuffle=False, batch_size=batch
            )
            if self.early_stopping:
                callbacks.append(
                    keras.callbacks.EarlyStopping(
                        monitor="val_loss",
                        patience=int(self.early_stopping),
                        restore_best_weights=True,
                    )
                )
        if progress:
            callbacks.append(TqdmEpochs(epochs))
        renorm = _layers_of(model, keras.layers.BatchNormalization) if self.batch_renorm else []
        with renormalizing(renorm):
            history = model.fit(
                x,
                epochs=epochs,
                shuffle=False,  # the pipeline reshuffles every epoch itself
                class_weight=self.class_weights(train.labels),
                callbacks=callbacks,
                verbose=self.verbose,
                **kwargs,
            )
        if renorm:
            _forget_traced_steps(model)  # the traced step holds the renormalizing layers
        if self.recompute_bn or self.ema_momentum is not None:
            # averaged weights never produced the moving statistics BatchNorm holds
            self.recompute_bn_statistics(model, train)
        return history

    def stratifies(self, model) -> bool:
        """Whether training ``model`` draws stratified batches (``stratify_batches``).

        ``"auto"`` stratifies a network without ``BatchNormalization``,
        ``LayerNormalization`` or ``GroupNormalization`` layers only.
        """
        if self.stratify_batches == "auto":
            return not _layers_of(model, _NORMS)
        return bool(self.stratify_batches)

    def recompute_bn_statistics(self, model, dataset) -> int:
        """Set BatchNorm's moving statistics to those of ``dataset``'s un-augmented images.

        Every trainable ``BatchNormalization`` layer of ``model`` gets the mean
        and (biased) variance of its inputs over all of ``dataset``, with the
        model called in training mode (each batch normalised by its own
        statistics, as in training) and dropout off (as at inference). The
        moments of the batches are combined exactly (law of total variance);
        only the layers after the first BatchNorm see their inputs
        normalised batch by batch, so the images go in near-equal batches of
        at least 32 (all at once up to 64 or ``batch_size``). Weights other
        than the moving statistics do not change. Frozen layers
        (``trainable=False``) keep theirs.

        Args:
            model: A trained model.
            dataset: The images to take the statistics of (the training set).

        Returns:
            How many layers were recomputed (0 for a network without BatchNorm).
        """
        layers = [
            la
            for la in _layers_of(model, keras.layers.BatchNormalization)
            if la.trainable and la.built
        ]
        if not layers or len(dataset) == 0:
            return 0
        dropouts = _layers_of(model, keras.layers.Dropout)
        rates = [la.rate for la in dropouts]
        momenta = [la.momentum for la in layers]
        sums = [[0.0, 0.0] for _ in layers]  # per layer: sum of n * mean, n * (var + mean^2)
        count = 0
        # near-equal batches (66 images: 33 + 33, not 64 + 2): each is normalised by its own
        # statistics on the way to the later layers, which a tiny last batch would distort
        passes = math.ceil(len(dataset) / max(int(self.batch_size), _BN_PASS_BATCH))
        x = self._input(
            dataset,
            self.input_spec(model),
            augment=None,
            shuffle=False,
            batch_size=math.ceil(len(dataset) / passes),
        )
        try:
            for layer in layers:
                layer.momentum = 0.0  # the moving statistics become the batch's own
            for layer in dropouts:
                layer.rate = 0.0
            with self._distribution_scope(), _no_grad():
                for images, _ in _batches(x):
                    n = int(keras.ops.shape(images)[0])
                    model(images, training=True)
                    for acc, layer in zip(sums, layers):
                        mean = keras.ops.convert_to_numpy(layer.moving_mean).astype(np.float64)
                        var = keras.ops.convert_to_numpy(layer.moving_variance).astype(np.float64)
                        acc[0] = acc[0] + n * mean
                        acc[1] = acc[1] + n * (var + mean**2)
                    count += n
        finally:
            for layer, momentum in zip(layers, momenta):
                layer.momentum = momentum
            for layer, rate in zip(dropouts, rates):
                layer.rate = rate
        for (first, second), layer in zip(sums, layers):
            mean = first / count
            var = np.maximum(second / count - mean**2, 0.0)
            layer.moving_mean.assign(mean.astype(layer.moving_mean.dtype))
            layer.moving_variance.assign(var.astype(layer.moving_variance.dtype))
        return len(layers)

    def predict(self, model, dataset) -> np.ndarray:
        """Probability of pain for every row of ``dataset``, float ``[N]``."""
        if len(dataset) == 0:
            return np.zeros(0, np.float32)
        x = self._input(dataset, self.input_spec(model), augment=None, shuffle=False)
        with self._distribution_scope(), _no_grad():
            # The model is called batch by batch, not through model.predict: every
            # unit builds a new model whose predict function would be traced once
            # and called a few times, and after a handful of units in one process
            # TensorFlow warns of "tf.function retracing" (it counts the traces of
            # Keras' one predict step across models).
            parts = [
                keras.ops.convert_to_numpy(model(images, training=False))
                for images, _ in _batches(x)
            ]
        probs = np.concatenate(parts).astype(np.float32)
        return probs[:, PAIN] if probs.ndim == 2 and probs.shape[1] > 1 else probs.ravel()

    def _validation_split(self, dataset):
        if not self.validation_split:
            return dataset, None
        from sklearn.model_selection import GroupShuffleSplit

        splitter = GroupShuffleSplit(1, test_size=self.validation_split, random_state=self.seed)
        train, val = next(splitter.split(np.zeros(len(dataset)), groups=dataset.subjects))
        return dataset.subset(train), dataset.subset(val)

    def input_spec(self, model) -> InputSpec:
        """The :class:`~painzoo.preprocess.InputSpec` ``model`` is fed with under this recipe.

        Its size is the model's input (height and width may differ); its crop
        policy is :attr:`test_resize`.

        Raises:
            ValueError: If the model has no fixed height and width.
        """
        return resolve_input_spec(model, recipe=self)

    def _input(
        self, dataset, spec: InputSpec, *, augment, shuffle, stratify=False, batch_size=None
    ):
        if augment:  # random crops in training; the test-time crop is for evaluation only
            spec = dataclasses.replace(spec, test_resize=None)
        return make_input(
            dataset,
            input_spec=spec,
            batch_size=int(batch_size or self.batch_size),
            augment=augment,
            shuffle=shuffle,
            stratify=stratify,
            seed=int(self.seed),
        )


def _unit_scalings(model) -> list:
    """``model``'s ``ImageScaling`` layers still at ``x / 255``: a zoo network as built from random weights."""
    from painzoo.layers.preprocessing import ImageScaling

    return [la for la in _layers_of(model, ImageScaling) if la.mode == "unit"]


def _is_classifier(layer) -> bool:
    """Whether ``layer`` ends in a softmax or sigmoid (the classifier of a zoo model)."""
    return getattr(layer.activation, "__name__", "") in ("softmax", "sigmoid")


def _layers_of(model, layer_type) -> list:
    """Every ``layer_type`` layer inside ``model``, nested ones included."""
    return [
        la
        for la in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(la, layer_type)
    ]


def _set_on_layers(model, layer_type, attr: str, value) -> int:
    """Set ``attr = float(value)`` on every ``layer_type`` layer of ``model``; return how many."""
    layers = _layers_of(model, layer_type)
    for layer in layers:
        setattr(layer, attr, float(value))
    return len(layers)


def _forget_traced_steps(model) -> None:
    # a train/predict step traced before a layer changed would still hold the old layer
    for attr in ("train_function", "test_function", "predict_function"):
        if getattr(model, attr, None) is not None:
            setattr(model, attr, None)


def _batches(pipeline):
    """The batches of a ``tf.data.Dataset`` or a ``keras.utils.PyDataset``, in order."""
    if isinstance(pipeline, keras.utils.PyDataset):
        return (pipeline[i] for i in range(len(pipeline)))
    return iter(pipeline)


def _no_grad():
    """No autograd graph while predicting on the PyTorch backend; nothing elsewhere."""
    if keras.backend.backend() == "torch":
        import torch

        return torch.no_grad()
    return contextlib.nullcontext()


@keras.saving.register_keras_serializable(package="painzoo")
class SparseSmoothedCrossentropy(keras.losses.Loss):
    """Cross-entropy of integer labels against smoothed one-hot targets.

    Keras' ``SparseCategoricalCrossentropy`` has no ``label_smoothing``; this
    one-hot encodes the labels (width = the model's number of outputs) and
    uses ``categorical_crossentropy(..., label_smoothing=...)``.

    Args:
        label_smoothing: Mass moved from the true class to all classes
            uniformly (Szegedy et al., 2016).
    """

    def __init__(self, label_smoothing: float = 0.1, name: str = "smoothed_crossentropy", **kw):
        super().__init__(name=name, **kw)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        classes = keras.ops.shape(y_pred)[-1]
        y = keras.ops.reshape(keras.ops.cast(y_true, "int32"), (-1,))
        onehot = keras.ops.one_hot(y, classes, dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            onehot, y_pred, label_smoothing=self.label_smoothing
        )

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


class TqdmEpochs(keras.callbacks.Callback):
    """A tqdm bar over epochs showing the training loss (removed when done).

    Args:
        epochs: Number of epochs (the bar's length).
        desc: Label of the bar.
    """

    def __init__(self, epochs: int, desc: str = "epochs"):
        super().__init__()
        self.epochs = epochs
        self.desc = desc
        self.bar = None

    def on_train_begin(self, logs=None):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.epochs, desc=self.desc, leave=False, unit="ep")

    def on_epoch_end(self, epoch, logs=None):
        if self.bar is not None:
            loss = (logs or {}).get("loss")
            if loss is not None:
                self.bar.set_postfix(loss=f"{loss:.3f}")
            self.bar.update(1)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()
