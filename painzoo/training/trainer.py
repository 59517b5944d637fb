"""Training and prediction under a :class:`~painzoo.training.Recipe`; the recipe's methods call these functions."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math

import keras
import numpy as np

import painzoo.training.aids as aids
from painzoo.datasets.labels import PAIN
from painzoo.preprocess.spec import InputSpec
from painzoo.training.optimizers import make_optimizer as _make_optimizer
from painzoo.training.pipeline import make_input

__all__ = [
    "fit",
    "predict",
    "compile_model",
    "make_optimizer",
    "make_loss",
    "learning_rate_schedule",
    "training_plan",
    "class_weights",
    "validation_split",
    "input_pipeline",
    "resolved_precision",
    "precision_scope",
    "distribution",
    "distribution_scope",
    "gpu_available",
    "SparseSmoothedCrossentropy",
    "TqdmEpochs",
]

_MIN_BATCH = 8  # smallest batch min_batches_per_epoch may shrink to (BatchNorm needs a few)
_PREDICT_BATCH = 64  # at least this many images per prediction batch (painzoo's choice)


# -- training ---------------------------------------------------------------------
def fit(
    recipe,
    model,
    dataset,
    *,
    input_spec: InputSpec | None = None,
    callbacks=None,
    progress: bool = False,
    compile: bool = True,
):
    """Train ``model`` on ``dataset`` under ``recipe`` (:meth:`Recipe.fit <painzoo.training.Recipe.fit>`).

    ``input_spec`` (default ``recipe.input_spec(model)``) says how images become inputs,
    ``callbacks`` are extra Keras callbacks, ``progress`` shows a tqdm bar over the epochs,
    ``compile=False`` keeps the model's own compilation. Returns the Keras ``History``.

    Raises:
        ValueError: With ``distribute``, for a model built outside ``recipe.scope()``.
    """
    keras.utils.set_random_seed(int(recipe.seed))
    _check_distributed(recipe, model)
    with distribution_scope(recipe):
        return _fit(recipe, model, dataset, callbacks, progress, compile, input_spec)


def _fit(recipe, model, dataset, callbacks, progress, compile, input_spec):
    train, val = validation_split(recipe, dataset)
    plan = training_plan(recipe, len(train))
    epochs, batch = plan["epochs"], plan["batch_size"]
    aids.set_bn_momentum(recipe, model)
    aids.normalize_inputs(recipe, model, train)
    aids.set_dropout(recipe, model)
    if compile:
        compile_model(recipe, model, total_steps=plan["total_steps"])
    if getattr(model, "optimizer", None) is not None and not model.optimizer.built:
        # Now, eagerly: TensorFlow would create the optimizer's slot variables while
        # tracing the first training step, about ten times slower.
        model.optimizer.build(model.trainable_variables)
    spec = input_spec or recipe.input_spec(model)
    x = input_pipeline(
        recipe,
        train,
        spec,
        augment=recipe.augment,
        shuffle=True,
        stratify=aids.stratifies(recipe, model),
        batch_size=batch,
    )
    weights = class_weights(recipe, train.labels)
    _build_compiled_metrics(model, x, weighted=weights is not None)
    kwargs = {}
    callbacks = list(callbacks or [])
    if val is not None:
        kwargs["validation_data"] = input_pipeline(
            recipe, val, spec, augment=None, shuffle=False, batch_size=batch
        )
        if recipe.early_stopping:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss",
                    patience=int(recipe.early_stopping),
                    restore_best_weights=True,
                )
            )
    if progress:
        callbacks.append(TqdmEpochs(epochs))
    return model.fit(
        x,
        epochs=epochs,
        shuffle=False,  # the pipeline reshuffles every epoch itself
        class_weight=weights,
        callbacks=callbacks,
        verbose=recipe.verbose,
        **kwargs,
    )


def _build_compiled_metrics(model, pipeline, *, weighted: bool) -> None:
    """Create the compiled metrics' variables before ``fit`` on TensorFlow.

    Keras creates them while tracing the first training step there, and
    TensorFlow then traces the whole step a second time (a ResNet-18 step
    takes seconds to trace). Built here from the pipeline's element
    spec, as Keras itself does under a distribution strategy.
    """
    metrics = getattr(model, "_compile_metrics", None)
    spec = getattr(pipeline, "element_spec", None)
    if metrics is None or metrics.built or spec is None or not hasattr(model, "_symbolic_build"):
        return
    import tensorflow as tf

    images, labels = spec[0], spec[1]
    weights = tf.TensorSpec(labels.shape[:1], "float32") if weighted else None
    model._symbolic_build(data_batch=(images, labels, weights))


def predict(recipe, model, dataset, input_spec: InputSpec | None = None) -> np.ndarray:
    """Probability of pain for every row of ``dataset``, float ``[N]`` (``input_spec``:
    default ``recipe.input_spec(model)``)."""
    if len(dataset) == 0:
        return np.zeros(0, np.float32)
    spec = input_spec or recipe.input_spec(model)
    # Inference keeps no activations for a backward pass: larger batches, fewer calls.
    batch = max(int(recipe.batch_size), _PREDICT_BATCH)
    x = input_pipeline(recipe, dataset, spec, augment=None, shuffle=False, batch_size=batch)
    with distribution_scope(recipe), _no_grad():
        # Batch by batch through one compiled call, not model.predict (see _inference_call).
        call = _inference_call(model)
        parts = [keras.ops.convert_to_numpy(call(images)) for images, _ in _batches(x)]
    probs = np.concatenate(parts).astype(np.float32)
    return probs[:, PAIN] if probs.ndim == 2 and probs.shape[1] > 1 else probs.ravel()


def validation_split(recipe, dataset):
    """``(train, validation)`` with ``validation_split`` of the subjects held out (``(dataset, None)`` at 0)."""
    if not recipe.validation_split:
        return dataset, None
    from sklearn.model_selection import GroupShuffleSplit

    splitter = GroupShuffleSplit(1, test_size=recipe.validation_split, random_state=recipe.seed)
    train, val = next(splitter.split(np.zeros(len(dataset)), groups=dataset.subjects))
    return dataset.subset(train), dataset.subset(val)


def input_pipeline(
    recipe, dataset, spec: InputSpec, *, augment, shuffle, stratify=False, batch_size=None
):
    """The :func:`~painzoo.training.pipeline.make_input` pipeline of ``dataset`` under ``recipe``.

    With ``augment``, random crops replace the test-time crop of ``spec``; ``shuffle``,
    ``stratify`` and ``batch_size`` (default the recipe's) go to ``make_input``.
    """
    if augment:  # random crops in training; the test-time crop is for evaluation only
        spec = dataclasses.replace(spec, test_resize=None)
    return make_input(
        dataset,
        input_spec=spec,
        batch_size=int(batch_size or recipe.batch_size),
        augment=augment,
        shuffle=shuffle,
        stratify=stratify,
        seed=int(recipe.seed),
    )


# -- what training is made of -----------------------------------------------------
def training_plan(recipe, n_train: int) -> dict:
    """``{"batch_size", "steps_per_epoch", "epochs", "total_steps"}`` for ``n_train`` images (``min_batches_per_epoch``, ``min_steps`` applied)."""
    n = max(int(n_train), 1)
    batch = int(recipe.batch_size)
    if recipe.min_batches_per_epoch:
        batch = min(batch, max(_MIN_BATCH, n // int(recipe.min_batches_per_epoch)))
    batch = max(1, min(batch, n))
    steps = math.ceil(n / batch)
    epochs = int(recipe.epochs)
    if recipe.min_steps:
        epochs = max(epochs, math.ceil(int(recipe.min_steps) / steps))
    return {
        "batch_size": batch,
        "steps_per_epoch": steps,
        "epochs": epochs,
        "total_steps": steps * epochs,
    }


def learning_rate_schedule(recipe, total_steps: int | None = None):
    """``learning_rate`` as a float (constant) or a warm-up + cosine schedule."""
    lr = float(recipe.learning_rate)
    if recipe.schedule == "constant" or not total_steps:
        return lr
    total = max(int(total_steps), 1)
    warmup = int(round(float(recipe.warmup_fraction) * total))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=lr / 100.0 if warmup else lr,
        decay_steps=max(total - warmup, 1),
        alpha=0.01,  # a fraction of the peak rate in Keras' CosineDecay
        warmup_target=lr if warmup else None,
        warmup_steps=warmup,
    )


def make_optimizer(recipe, total_steps=None, lr_multipliers=None, centralize=None):
    """The Keras optimizer ``recipe`` describes; see :meth:`Recipe.make_optimizer`."""
    lr = learning_rate_schedule(recipe, total_steps)
    wd = float(recipe.weight_decay or 0.0)
    if recipe.optimizer == "adamw":
        kind, kwargs = "adamw", {"weight_decay": wd}
    elif recipe.optimizer == "adam" and wd:
        # L2 added to the gradient, as torch.optim.Adam(weight_decay=…) does.
        kind, kwargs = "adam_l2", {"weight_decay": wd}
    elif recipe.optimizer == "adam":
        kind, kwargs = "adam", {}
    elif recipe.optimizer == "rmsprop":
        kind, kwargs = "rmsprop", {"weight_decay": wd or None}
    else:
        kind, kwargs = "sgd", {"momentum": 0.9, "weight_decay": wd or None}
    return _make_optimizer(kind, lr_multipliers, centralize=centralize, learning_rate=lr, **kwargs)


def make_loss(recipe):
    """Sparse cross-entropy, with ``label_smoothing`` when set."""
    if not recipe.label_smoothing:
        return "sparse_categorical_crossentropy"
    return SparseSmoothedCrossentropy(float(recipe.label_smoothing))


def class_weights(recipe, labels) -> dict | None:
    """The ``class_weight`` dict for ``model.fit`` given training labels."""
    if recipe.class_weight is None:
        return None
    if isinstance(recipe.class_weight, dict):
        return {int(k): float(v) for k, v in recipe.class_weight.items()}
    labels = np.asarray(labels, int)
    counts = np.bincount(labels, minlength=2)
    present = counts > 0
    return {
        int(c): float(len(labels) / (present.sum() * counts[c])) if counts[c] else 0.0
        for c in range(len(counts))
    }


def compile_model(recipe, model, total_steps: int | None = None):
    """Compile ``model`` with the recipe's optimizer (step limits, centred kernels) and loss."""
    model.compile(
        optimizer=make_optimizer(
            recipe,
            total_steps,
            aids.lr_multipliers(recipe, model),
            aids.centralized_kernels(recipe, model),
        ),
        loss=make_loss(recipe),
        weighted_metrics=["accuracy"],  # weighted by class_weight, as the loss
        jit_compile=recipe.jit_compile,
    )
    return model


# -- devices ----------------------------------------------------------------------
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


def resolved_precision(recipe) -> str:
    """The Keras dtype policy name that ``recipe.precision`` means on this machine."""
    if recipe.precision == "mixed":
        return "mixed_float16" if gpu_available() else "float32"
    return recipe.precision


@contextlib.contextmanager
def precision_scope(recipe):
    """Within the block, the recipe's dtype policy; the global policy is restored afterwards."""
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(resolved_precision(recipe))
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy(previous)


def distribution(recipe):
    """The backend's data-parallel object for ``recipe.distribute`` (made once), or ``None``.

    Raises:
        ValueError: For ``distribute="mirrored"`` on the PyTorch backend.
    """
    if recipe.distribute is None:
        return None
    made = getattr(recipe, "_distribution", None)
    if made is not None:
        return made
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
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
    recipe._distribution = made
    return made


@contextlib.contextmanager
def distribution_scope(recipe):
    """Within the block, the scope of :func:`distribution` (nothing without ``distribute``)."""
    made = distribution(recipe)
    if made is None:
        yield
        return
    with made.scope():
        yield


def _check_distributed(recipe, model):
    made = distribution(recipe)
    if made is None or keras.backend.backend() != "tensorflow":
        return
    if model.distribute_strategy is not made:
        raise ValueError(
            "This recipe trains with distribute='mirrored', but the model was built "
            "outside its strategy; build it inside `with recipe.scope():`."
        )


def traced_gradients() -> frozenset:
    """Names of the custom gradients TensorFlow holds now (empty on other backends)."""
    if keras.backend.backend() != "tensorflow":
        return frozenset()
    from tensorflow.python.framework import ops

    return frozenset(
        k for k in ops._gradient_registry._registry if k.startswith("CustomGradient-")
    )


def forget_traced_gradients(keep: frozenset) -> None:
    """Unregister the custom gradients TensorFlow registered since ``keep`` (:func:`traced_gradients`).

    Every traced training step registers one (the all-reduce of the gradients, even on one
    device) and TensorFlow never unregisters it; it holds the step's graph and with it the
    model's weights and optimizer slots (about 150 MB for a ResNet-18) after the model is
    gone. Call it once the models trained since ``keep`` will not be traced again.
    """
    if keras.backend.backend() != "tensorflow":
        return
    from tensorflow.python.framework import ops

    registry = ops._gradient_registry._registry
    for name in traced_gradients() - keep:
        registry.pop(name, None)


def _batches(pipeline):
    """The batches of a ``tf.data.Dataset`` or a ``keras.utils.PyDataset``, in order."""
    if isinstance(pipeline, keras.utils.PyDataset):
        return (pipeline[i] for i in range(len(pipeline)))
    return iter(pipeline)


def _inference_call(model):
    """``model(x, training=False)``, compiled where the backend compiles a graph.

    TensorFlow gets one ``tf.function`` per model, kept on the model and
    traced once for any batch size (``input_signature`` with an open batch
    dimension), of a ``functools.partial``, not of a lambda: TensorFlow counts
    traces per Python code object, and a benchmark builds one model per unit
    (``model.predict`` warned of retracing after five of them). JAX gets Keras'
    jitted ``predict_on_batch``; PyTorch runs eagerly under :func:`_no_grad`.
    """
    backend = keras.backend.backend()
    if backend == "jax":
        return model.predict_on_batch
    call = functools.partial(model, training=False)
    if backend != "tensorflow":
        return call
    compiled = getattr(model, "_painzoo_inference", None)
    if compiled is None:
        import tensorflow as tf

        shape = model.input_shape
        if isinstance(shape, list) or len(shape) != 4:  # not one image input: trace per shape
            compiled = tf.function(call, reduce_retracing=True)
        else:
            signature = [tf.TensorSpec((None, *shape[1:]), "float32")]  # make_input's batches
            compiled = tf.function(call, input_signature=signature)
        # Kept on the model (past Keras' attribute tracking), so it lives and dies with it.
        object.__setattr__(model, "_painzoo_inference", compiled)
    return compiled


def _no_grad():
    """No autograd graph while predicting on the PyTorch backend; nothing elsewhere."""
    if keras.backend.backend() == "torch":
        import torch

        return torch.no_grad()
    return contextlib.nullcontext()


# -- loss and progress ------------------------------------------------------------
@keras.saving.register_keras_serializable(package="painzoo")
class SparseSmoothedCrossentropy(keras.losses.Loss):
    """Cross-entropy of integer labels against one-hot targets smoothed by ``label_smoothing`` (Szegedy et al., 2016)."""

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
    """A tqdm bar over ``epochs`` labelled ``desc``, showing the training loss (removed when done)."""

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
