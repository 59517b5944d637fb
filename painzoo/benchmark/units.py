"""One unit of an evaluation: plan it, run it, write its files.

A *unit* is one model trained and tested on one split: a frozen
:class:`Unit` record (:func:`plan_units`) executed by :func:`run_unit`, a
pure function of ``(unit, out_dir)``, so any executor can run it anywhere the
data and ``out_dir`` are reachable. Its :attr:`Unit.key` hashes everything
that determines its result (:meth:`Unit.identity`), the data's content
included; its folder is ``OUT/runs/<readable slug>-<key>/``, so a changed
config or changed data makes new units and never relabels old ones. A unit writes:

- ``config.json`` — the unit itself (``Unit.to_dict()``, with ``unit_id``);
- ``predictions.csv`` — ``row, subject, source, y_true, p_pain, y_pred``;
- ``metrics.json`` — written last; its presence marks the unit finished.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from painzoo.benchmark.config import resolve_data_spec
from painzoo.benchmark.storage import RunStorage, json_text, safe_name
from painzoo.datasets.entries import load_entry, source_stamps
from painzoo.datasets.labels import predicted_label
from painzoo.preprocess.spec import InputSpec, input_size, resolve_input_spec

__all__ = [
    "Unit",
    "RESULTS_VERSION",
    "run_unit",
    "plan_units",
    "load_data",
    "data_fingerprint",
    "enable_determinism",
    "is_finished",
]

#: The version of everything in painzoo that decides a unit's numbers; part of
#: every unit's identity, bumped by a change that alters results.
RESULTS_VERSION = "10"

# Recipe fields that do not change a unit's result (they are left out of its identity).
_RECIPE_NOT_IN_IDENTITY = ("verbose",)

_CROPPED: dict[str, object] = {}
_FOLD_CACHE: dict[str, list] = {}


def _plain(obj):
    """``obj`` as plain JSON data (tuples → lists, NumPy scalars → Python)."""
    return json.loads(json_text(obj))


# -- the unit record ----------------------------------------------------------------
@dataclass(frozen=True, eq=True)
class Unit:
    """One model trained and tested on one fold: everything needed to run it.

    Build units with :func:`plan_units`; rebuild one from its ``config.json``
    with :meth:`from_dict`. Dict-valued fields are normalised to plain JSON
    data on construction, so the JSON round trip is exact.

    Attributes:
        data_name: Name of the dataset under the config's ``data``.
        data: The config's whole ``data`` section (to rebuild the dataset).
        data_fingerprint: Hash of the data's content (:func:`data_fingerprint`).
        protocol: The resolved protocol entry ``{name: {args}}``.
        protocol_name: ``loso``, ``image_kfold``, ``subject_kfold`` or ``cross_dataset``.
        protocol_label: Readable protocol label (``subject_kfold5``).
        aggregation: ``"pooled"`` or ``"mean"`` (how the report combines folds).
        model_name: Zoo or baseline name.
        model_label: Name in reports (sweeps add ``[param=value]``).
        model_kwargs: Keyword arguments of the model builder.
        sweep: The swept keyword values of this model (subset of ``model_kwargs``).
        recipe: The resolved :class:`~painzoo.training.recipe.Recipe` as a dict (this fold's seed).
        image_size: Input side (a square) or ``(height, width)``; ``None``: the model's own.
        base_seed, kfold_repeats: The config's ``seed`` and ``repeats``.
        repeat, fold, fold_name: Repeat, fold within it, readable fold name (LOSO: the subject).
        seed: This fold's training seed.
        face_crop: :class:`~painzoo.preprocess.FaceCropper` arguments or ``None``.
        config_name, config_dir: The config's name and the folder its relative paths
            resolve against (neither is part of the identity).
        backend: Keras backend the unit trains with.
        deterministic: Deterministic ops (:func:`enable_determinism`; not in the identity).
        results_version: :data:`RESULTS_VERSION` of the painzoo that planned it.
    """

    data_name: str
    protocol: dict
    protocol_name: str
    protocol_label: str
    aggregation: str
    model_name: str
    model_label: str
    recipe: dict
    fold: int
    repeat: int
    fold_name: str
    seed: int
    base_seed: int = 0
    kfold_repeats: int = 1
    data: dict = field(default_factory=dict)
    data_fingerprint: str = ""
    model_kwargs: dict = field(default_factory=dict)
    sweep: dict = field(default_factory=dict)
    image_size: int | tuple[int, int] | None = None
    face_crop: dict | None = None
    config_name: str = ""
    config_dir: str | None = None
    backend: str = ""
    deterministic: bool = True
    results_version: str = RESULTS_VERSION

    def __post_init__(self):
        for name in ("protocol", "recipe", "data", "model_kwargs", "sweep", "face_crop"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _plain(dict(value)))
        for name in ("fold", "repeat", "seed", "base_seed", "kfold_repeats"):
            object.__setattr__(self, name, int(getattr(self, name)))
        object.__setattr__(self, "image_size", input_size(self.image_size))
        object.__setattr__(self, "fold_name", str(self.fold_name))
        object.__setattr__(self, "deterministic", bool(self.deterministic))

    def __hash__(self) -> int:
        return hash(self.run_id)

    # -- identity -----------------------------------------------------------------------
    def identity(self) -> dict:
        """Everything that determines this unit's result (what :attr:`key` hashes).

        Labels, the config's name and folder, and ``deterministic`` are left out:
        renaming a config does not retrain, and deterministic ops change only the
        run-to-run noise, not what is computed.
        """
        recipe = {k: v for k, v in self.recipe.items() if k not in _RECIPE_NOT_IN_IDENTITY}
        return {
            "model": {"name": self.model_name, "kwargs": self.model_kwargs},
            "recipe": recipe,
            "image_size": self.image_size,
            "seeds": {"base": self.base_seed, "fold": self.seed},
            "split": {"repeat": self.repeat, "fold": self.fold, "repeats": self.kfold_repeats},
            "protocol": self.protocol,
            "data": {
                "spec": resolve_data_spec(self.data_name, self.data),
                "fingerprint": self.data_fingerprint,
            },
            "face_crop": self.face_crop,
            "backend": self.backend,
            "results_version": self.results_version,
        }

    @functools.cached_property
    def key(self) -> str:
        """A 10-hex-digit SHA-256 of :meth:`identity` (the ``unit_id`` column of results)."""
        text = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]

    @functools.cached_property
    def input_spec(self) -> InputSpec:
        """The resolved :class:`~painzoo.preprocess.InputSpec` the unit trains and tests
        with: the model's default, ``image_size`` and the recipe's ``test_resize``
        (derived from the identity's fields, so not hashed itself)."""
        return resolve_input_spec(self.model_name, image_size=self.image_size, recipe=self.recipe)

    @property
    def slug(self) -> str:
        """The readable part of the folder name: data, protocol, model, repeat and fold."""
        return safe_name(
            f"{self.data_name}__{self.protocol_label}__{self.model_label}"
            f"__r{self.repeat}f{self.fold}"
        )

    @property
    def run_id(self) -> str:
        """The unit's folder name under ``OUT/runs``: ``<slug>-<key>``."""
        return f"{self.slug}-{self.key}"

    # -- JSON -----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The unit as plain JSON data, plus its ``unit_id`` and ``run_id``."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {**_plain(out), "unit_id": self.key, "run_id": self.run_id}

    @classmethod
    def from_dict(cls, data: dict) -> Unit:
        """The unit :meth:`to_dict` wrote.

        Raises:
            ValueError: For unknown keys, or a ``unit_id`` that does not match the
                fields (the file was edited by hand or written by another painzoo).
        """
        data = dict(data)
        unit_id = data.pop("unit_id", None)
        data.pop("run_id", None)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"Unknown unit field(s) {unknown}; valid fields are {sorted(known)}.")
        unit = cls(**data)
        if unit_id is not None and unit_id != unit.key:
            raise ValueError(
                f"The unit's recorded unit_id {unit_id!r} does not match its fields "
                f"(they hash to {unit.key!r}); the record was changed after it was written."
            )
        return unit

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON text."""
        return json_text(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Unit:
        """The unit :meth:`to_json` wrote."""
        return cls.from_dict(json.loads(text))


def data_fingerprint(ds) -> str:
    """A SHA-256 over a dataset's content, cheap enough to compute at every plan.

    It hashes every row's label, subject and source, and for images on disk the
    resolved path with the file's size and ``st_mtime_ns`` (a missing file as
    missing); for images held in memory, the pixels.

    Args:
        ds: A :class:`~painzoo.datasets.Dataset`.

    Returns:
        64 hex digits.
    """
    h = hashlib.sha256()
    frame = ds.frame
    h.update(frame[["label", "subject", "source"]].to_csv(index=False).encode("utf-8"))
    for rel, path in zip(frame["image"], ds.image_paths):
        if not rel:
            continue
        try:
            st = os.stat(path)
            stamp = f"{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            stamp = "missing"
        h.update(f"{path}\t{stamp}\n".encode("utf-8", "surrogateescape"))
    if ds.images is not None:
        images = np.ascontiguousarray(ds.images)
        h.update(f"{images.shape}{images.dtype}".encode())
        h.update(memoryview(images).cast("B"))
    return h.hexdigest()


# -- determinism ----------------------------------------------------------------------
def enable_determinism(deterministic: bool = True) -> None:
    """Turn deterministic ops on (or off) for the backends of this process.

    Called at the start of every :func:`run_unit`: one config and one seed then
    give identical numbers on one machine and backend. TensorFlow: op determinism
    (``tf.data`` too) and ``TF_DETERMINISTIC_OPS``; PyTorch: deterministic
    algorithms and ``CUBLAS_WORKSPACE_CONFIG``; JAX: ``--xla_gpu_deterministic_ops``.

    Args:
        deterministic: ``False`` turns the same switches off (faster on GPUs).
    """
    os.environ["TF_DETERMINISTIC_OPS"] = "1" if deterministic else "0"
    flag = "--xla_gpu_deterministic_ops=true"
    xla = [f for f in os.environ.get("XLA_FLAGS", "").split() if f != flag]
    if deterministic:
        xla.append(flag)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    if xla:
        os.environ["XLA_FLAGS"] = " ".join(xla)
    else:
        os.environ.pop("XLA_FLAGS", None)
    # Only backends already imported are switched: importing one here would cost seconds.
    if "tensorflow" in sys.modules:
        from tensorflow.python.framework import config as tf_config

        if deterministic:
            tf_config.enable_op_determinism()
        else:
            tf_config.disable_op_determinism()
    if "torch" in sys.modules:
        import torch

        torch.use_deterministic_algorithms(deterministic, warn_only=True)


def keras_backend() -> str:
    """The Keras backend of this process, without importing Keras (which starts it).

    Keras' own rule: ``KERAS_BACKEND``, else ``backend`` in ``keras.json``
    (under ``KERAS_HOME`` or ``~/.keras``), else TensorFlow.
    """
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    name = os.environ.get("KERAS_BACKEND")
    if not name:
        home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
        try:
            with open(os.path.join(home, "keras.json"), encoding="utf-8") as f:
                name = json.load(f).get("backend")
        except (OSError, ValueError, AttributeError):
            name = None
    return name or "tensorflow"


# -- data -----------------------------------------------------------------------
def load_data(name: str, data: dict, *, config_dir: str | None = None, face_crop=None):
    """The dataset ``name`` of a config's ``data`` section, face-cropped if asked.

    Args:
        name: Key in ``data``.
        data: The config's ``data`` mapping (see
            :func:`painzoo.datasets.entries.load_entry`).
        config_dir: Folder that relative paths resolve against.
        face_crop: Optional :class:`painzoo.preprocess.FaceCropper` arguments;
            the dataset is cropped (with the on-disk crop cache).

    Returns:
        A :class:`~painzoo.datasets.Dataset` (cached per process).

    Raises:
        ValueError: For an unknown name or entry kind.
    """
    if not face_crop:
        return load_entry(name, data, config_dir=config_dir)
    key = json_text([name, data, config_dir, face_crop, source_stamps(data, config_dir)])
    if key not in _CROPPED:
        from painzoo.preprocess import FaceCropper, crop_dataset

        ds = load_entry(name, data, config_dir=config_dir)
        _CROPPED[key] = crop_dataset(ds, FaceCropper(**dict(face_crop)))
    return _CROPPED[key]


def built_data(units) -> dict:
    """The datasets, face crops and folds this process built for ``units`` (planning builds them).

    A worker process starts from them (:func:`adopt_built_data`) instead of building
    them again; they travel through a pipe, never to disk. Entries other runs of a
    long-lived process built, and units that are not :class:`Unit` objects, are left out.
    """
    from painzoo.datasets import entries

    wanted = set()
    for unit in units:
        if isinstance(unit, Unit):  # already built by the planner: found in the caches
            ds = load_data(unit.data_name, unit.data, config_dir=unit.config_dir,
                           face_crop=unit.face_crop)  # fmt: skip
            split = (unit.data_name, unit.data, unit.protocol, unit.kfold_repeats, unit.base_seed)
            wanted |= {id(ds), id(_folds(*split, unit.data_fingerprint, ds))}
    caches = {"entries": entries._CACHE, "cropped": _CROPPED, "folds": _FOLD_CACHE}
    return {k: {key: v for key, v in c.items() if id(v) in wanted} for k, c in caches.items()}


def adopt_built_data(built: dict) -> None:
    """Add what :func:`built_data` returned in another process to this process's caches."""
    from painzoo.datasets import entries

    entries._CACHE.update(built["entries"])
    _CROPPED.update(built["cropped"])
    _FOLD_CACHE.update(built["folds"])


def _folds(data_name, data, protocol, repeats, seed, fingerprint, ds):
    from painzoo.evaluation.protocols import get_protocol

    protocol = get_protocol(protocol)  # an entry (a unit's) or a Protocol (the planner's)
    key = json_text([data_name, data, _protocol_entry(protocol), repeats, seed, fingerprint])
    if key not in _FOLD_CACHE:
        _FOLD_CACHE[key] = protocol.folds(ds, repeats=repeats, seed=seed)
    return _FOLD_CACHE[key]


# -- planning ---------------------------------------------------------------------
def _protocol_entry(spec) -> dict:
    from painzoo.evaluation.protocols import get_protocol

    p = get_protocol(spec)
    return {p.name: dict(vars(p))}


def plan_units(config) -> list[Unit]:
    """Every unit of a config, in run order (experiment, protocol, model, repeat, fold).

    Loads each dataset once (to count folds and fingerprint its content); the
    units hold only plain data, so :func:`run_unit` can rebuild everything in
    another process.

    Args:
        config: A :class:`~painzoo.benchmark.config.BenchmarkConfig`.

    Raises:
        ValueError: If two units would share a folder (two models with one label).
    """
    data = config.data_specs
    backend = keras_backend()
    units = []
    for exp in config.experiments:
        # The fingerprint is of the source data; the crop settings enter the identity apart.
        fingerprint = data_fingerprint(load_data(exp.data, data, config_dir=config.config_dir))
        ds = load_data(exp.data, data, config_dir=config.config_dir, face_crop=config.face_crop)
        for protocol in exp.protocols:
            folds = _folds(exp.data, data, protocol, config.repeats, config.seed, fingerprint, ds)
            for model in config.experiment_models(exp):
                for f in folds:
                    units.append(
                        Unit(
                            config_name=config.name,
                            config_dir=config.config_dir,
                            data_name=exp.data,
                            data=data,
                            data_fingerprint=fingerprint,
                            face_crop=config.face_crop,
                            protocol=_protocol_entry(protocol),
                            protocol_name=protocol.name,
                            protocol_label=protocol.label,
                            aggregation=protocol.aggregation,
                            kfold_repeats=config.repeats,
                            base_seed=config.seed,
                            fold=f.fold,
                            repeat=f.repeat,
                            fold_name=f.name,
                            seed=f.seed,
                            model_name=model.name,
                            model_label=model.label,
                            model_kwargs=model.kwargs,
                            sweep=model.sweep,
                            image_size=model.image_size,
                            recipe=model.recipe.replace(seed=f.seed).to_dict(),
                            backend=backend,
                            deterministic=config.deterministic,
                        )
                    )
    ids = [u.run_id for u in units]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(
            f"Two units share a run id ({twice[0]}): the same data, protocol and model appear "
            "twice; drop the repeated experiment or give the duplicated models distinct labels."
        )
    return units


# -- one unit -----------------------------------------------------------------------
def is_finished(unit: Unit | str, out_dir) -> bool:
    """Whether ``unit``'s (a :class:`Unit` or a run id) ``metrics.json`` exists under
    ``out_dir`` (a path or URI)."""
    return RunStorage(out_dir).is_finished(unit if isinstance(unit, str) else unit.run_id)


def run_unit(unit: Unit, out_dir, *, progress: bool = False) -> dict:
    """Train and test one model on one split; write its files; return its metrics.

    Fits the model's :class:`~painzoo.training.learner.Learner` on the
    fold's training part and predicts the probability of pain on its test
    part, with deterministic ops set to ``unit.deterministic`` and every
    generator seeded with ``unit.seed``.

    Args:
        unit: A :class:`Unit` from :func:`plan_units` (or its ``to_dict()``).
        out_dir: The run's output folder or a pyarrow filesystem URI (files
            go to ``out_dir/runs/<unit.run_id>``; see :mod:`painzoo.benchmark.storage`).
        progress: Show a bar over epochs.

    Returns:
        The metrics dict also written to ``metrics.json`` (binary metrics,
        ``auc``, sizes, seconds per phase).
    """
    import keras

    from painzoo.benchmark.attention_report import save_unit_attention
    from painzoo.benchmark.stopping import StopOnSignal
    from painzoo.evaluation.metrics import binary_metrics, learning_record, training_fit
    from painzoo.training.learner import get_learner
    from painzoo.training.recipe import Recipe

    if isinstance(unit, dict):
        unit = Unit.from_dict(unit)
    enable_determinism(unit.deterministic)
    store = RunStorage(out_dir)
    folder = f"runs/{unit.run_id}"
    store.write_text(f"{folder}/config.json", unit.to_json())
    timing = {}
    t0 = time.perf_counter()
    ds = load_data(unit.data_name, unit.data, config_dir=unit.config_dir, face_crop=unit.face_crop)
    split = (unit.data_name, unit.data, unit.protocol, unit.kfold_repeats, unit.base_seed)
    folds = _folds(*split, unit.data_fingerprint, ds)
    fold = next(f for f in folds if f.fold == unit.fold and f.repeat == unit.repeat)
    train, test = ds.subset(fold.train), ds.subset(fold.test)
    learner = get_learner(
        unit.model_name,
        unit.model_kwargs,
        recipe=Recipe(**unit.recipe),
        input_spec=unit.input_spec,
    )
    keras.utils.set_random_seed(int(unit.seed))
    timing["data"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    learner.fit(train, progress=progress, callbacks=[StopOnSignal()])  # ends within a batch
    timing["training"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    p_pain = learner.predict_proba(test)
    if learner.trains_network:  # PainSeeker's attention over the test faces
        save_unit_attention(learner.model, test, store, folder, input_spec=unit.input_spec)
    fit = {}
    if learner.losses is not None:  # a network trained by epochs, not an LBP baseline
        fitted = predicted_label(np.asarray(learner.predict_proba(train), float))
        fit = training_fit(train.labels, fitted, learner.recipe.class_weights(train.labels))
    learner.close()
    losses = learner.losses  # the training loss per epoch (None for the LBP baselines)
    p_pain = np.asarray(p_pain, float)
    y_pred = predicted_label(p_pain)
    preds = pd.DataFrame(
        {
            "row": fold.test,
            "subject": test.subjects,
            "source": test.sources,
            "y_true": test.labels,
            "p_pain": np.round(p_pain, 6),
            "y_pred": y_pred,
        }
    )
    metrics = binary_metrics(test.labels, y_pred, y_score=p_pain)
    timing["evaluation"] = time.perf_counter() - t2
    metrics.update(
        run_id=unit.run_id,
        unit_id=unit.key,
        status="ok",
        n_train=len(train),
        n_train_pain=int(train.labels.sum()),
        n_test=len(test),
        model_kwargs=dict(learner.model_kwargs),
        model_aids=dict(learner.model_aids),
        seconds={k: round(v, 3) for k, v in timing.items()},
    )
    metrics.update(learning_record(test.labels, y_pred, losses, run_id=unit.run_id, **fit))
    store.write_text(f"{folder}/predictions.csv", preds.to_csv(index=False))
    store.remove(f"{folder}/error.json")
    store.write_text(f"{folder}/metrics.json", json_text(metrics))
    return metrics
