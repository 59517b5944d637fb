"""One unit of an evaluation: plan it, run it, write its files.

A *unit* is one model trained and tested on one split. It is described by a
plain JSON-serialisable dict (:func:`plan_units`) and executed by
:func:`run_unit`, a pure function of ``(unit, out_dir)``, so any executor (in
this process, Ray) can run it anywhere the data and ``out_dir`` are reachable.
A unit writes into ``OUT/runs/<run_id>/``:

- ``config.json`` — the resolved unit (model, kwargs, recipe, split, seed);
- ``predictions.csv`` — ``row, subject, source, y_true, p_pain, y_pred``;
- ``metrics.json`` — written last; its presence marks the unit finished.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

from painzoo.evaluation.storage import RunStorage

__all__ = ["run_unit", "plan_units", "load_data", "is_finished", "protocol_label"]

_DATA_CACHE: dict[str, object] = {}
_FOLD_CACHE: dict[str, list] = {}


# -- files ----------------------------------------------------------------------
def _json(obj) -> str:
    def default(o):
        if isinstance(o, np.integer):
            return int(o)
        if isinstance(o, np.floating):
            return float(o)
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, Path):
            return str(o)
        raise TypeError(f"not JSON serialisable: {type(o).__name__}")

    return json.dumps(obj, indent=2, sort_keys=True, default=default)


# -- data -----------------------------------------------------------------------
def load_data(name: str, data: dict, *, config_dir: str | None = None, face_crop=None):
    """Build the dataset called ``name`` from a config's ``data`` section.

    Args:
        name: Key in ``data``.
        data: The config's ``data`` mapping. An entry is one of
            ``{synthetic: preset, args: {...}}`` (:func:`make_synthetic`),
            ``{manifest: path.csv}``, ``{loader: load_unbc|paindb|…, args: {...}}``
            (:mod:`painzoo.datasets.loaders`) or ``{concat: [names or entries]}``;
            any entry may add ``sample_subjects: N`` (keep N random subjects,
            ``sample_seed``) to shrink it.
        config_dir: Folder that relative paths resolve against.
        face_crop: Optional :class:`painzoo.preprocess.FaceCropper` arguments;
            the dataset is cropped (with the on-disk crop cache).

    Returns:
        A :class:`~painzoo.datasets.Dataset` (cached per process).

    Raises:
        ValueError: For an unknown name or entry kind.
    """
    key = _json([name, data, config_dir, face_crop])
    if key not in _DATA_CACHE:
        ds = _build_data(name, data, config_dir, set())
        if face_crop:
            from painzoo import preprocess

            cropper = preprocess.FaceCropper(**dict(face_crop))
            ds = preprocess.crop_dataset(ds, cropper)
        _DATA_CACHE[key] = ds
    return _DATA_CACHE[key]


def _build_data(spec, data, config_dir, seen):

    if isinstance(spec, str):
        if spec not in data:
            raise ValueError(f"Unknown data {spec!r}; the config defines {sorted(data)}.")
        if spec in seen:
            raise ValueError(f"Data entry {spec!r} refers to itself through 'concat'.")
        ds = _build_data(data[spec], data, config_dir, seen | {spec})
        ds.name = spec
        return ds
    spec = dict(spec)
    ds = _build_entry(spec, data, config_dir, seen)
    n_subjects = spec.get("sample_subjects")
    if n_subjects:
        # A random subset of subjects (all their images) keeps every protocol meaningful.
        subjects = np.unique(ds.subjects)
        rng = np.random.default_rng(int(spec.get("sample_seed", 0)))
        keep = rng.choice(subjects, size=min(int(n_subjects), len(subjects)), replace=False)
        ds = ds.subset(np.isin(ds.subjects, keep))
    return ds


def _build_entry(spec, data, config_dir, seen):
    from painzoo.datasets import Dataset

    args = dict(spec.get("args") or {})
    if "synthetic" in spec:
        from painzoo.datasets import synthetic

        return synthetic.make_synthetic(spec["synthetic"], **args)
    if "manifest" in spec:
        return Dataset.from_csv(_resolve(spec["manifest"], config_dir))
    if "loader" in spec:
        from painzoo.datasets import loaders

        fn = getattr(loaders, spec["loader"], None)
        if fn is None or spec["loader"] not in loaders.__all__:
            raise ValueError(
                f"Unknown loader {spec['loader']!r}; choose one of {loaders.__all__}."
            )
        args = {k: _resolve(v, config_dir) if isinstance(v, str) else v for k, v in args.items()}
        return fn(**args)
    if "concat" in spec:
        return Dataset.concat([_build_data(s, data, config_dir, seen) for s in spec["concat"]])
    raise ValueError(
        f"A data entry needs one of 'synthetic', 'manifest', 'loader' or 'concat'; received {spec!r}."
    )


def _resolve(value: str, config_dir) -> str:
    p = Path(value).expanduser()
    if not p.is_absolute() and config_dir and (Path(config_dir) / p).exists():
        return str(Path(config_dir) / p)
    return str(p)


def _unit_data(unit):
    return load_data(
        unit["data_name"],
        unit["data"],
        config_dir=unit.get("config_dir"),
        face_crop=unit.get("face_crop"),
    )


def _unit_folds(unit, ds):
    from painzoo.evaluation.protocols import get_protocol

    key = _json(
        [
            unit["data_name"],
            unit["data"],
            unit["protocol"],
            unit["kfold_repeats"],
            unit["base_seed"],
        ]
    )
    if key not in _FOLD_CACHE:
        protocol = get_protocol(unit["protocol"])
        _FOLD_CACHE[key] = protocol.folds(
            ds, repeats=unit["kfold_repeats"], seed=unit["base_seed"]
        )
    return _FOLD_CACHE[key]


# -- planning ---------------------------------------------------------------------
def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=,+-]+", "-", str(text)).strip("-")


def protocol_label(spec) -> str:
    """A readable label of a protocol entry (``loso``, ``cross_dataset(cppain)``)."""
    from painzoo.evaluation.protocols import get_protocol

    p = get_protocol(spec)
    if p.name == "cross_dataset":
        return f"cross_dataset({'+'.join(p._test_set())})"
    if p.name in ("image_kfold", "subject_kfold"):
        return f"{p.name}{p.n_splits}"
    return p.name


def _protocol_entry(spec) -> dict:
    from painzoo.evaluation.protocols import get_protocol

    p = get_protocol(spec)
    args = {k: v for k, v in vars(p).items()}
    return {p.name: args}


def plan_units(config: dict) -> list[dict]:
    """Every unit of a config, in run order (experiment, protocol, model, repeat, fold).

    Loads each dataset once (to count folds); the unit dicts hold only plain
    data, so :func:`run_unit` can rebuild everything in another process.
    """
    from painzoo.evaluation.config import expand_models
    from painzoo.evaluation.protocols import get_protocol
    from painzoo.training.recipe import Recipe

    models = expand_models(config["models"])
    base_recipe = Recipe.from_config(config.get("recipe"))
    seed = int(config.get("seed", 0))
    repeats = int(config.get("repeats", 1))
    image_size = config.get("image_size")
    units = []
    for exp in config["experiments"]:
        data_name = exp["data"]
        ds = load_data(
            data_name,
            config["data"],
            config_dir=config.get("config_dir"),
            face_crop=config.get("face_crop"),
        )
        for pspec in exp["protocols"]:
            protocol = get_protocol(pspec)
            entry = _protocol_entry(pspec)
            plabel = protocol_label(pspec)
            probe = {
                "data_name": data_name,
                "data": config["data"],
                "protocol": entry,
                "kfold_repeats": repeats,
                "base_seed": seed,
            }
            folds = _unit_folds(probe, ds)
            for model in models:
                recipe = base_recipe.replace(**model["recipe"]) if model["recipe"] else base_recipe
                for f in folds:
                    run_id = _slug(
                        f"{data_name}__{plabel}__{model['label']}__r{f.repeat}f{f.fold}"
                    )
                    units.append(
                        {
                            "run_id": run_id,
                            "config_name": config.get("name", ""),
                            "config_dir": config.get("config_dir"),
                            "data_name": data_name,
                            "data": config["data"],
                            "face_crop": config.get("face_crop"),
                            "protocol": entry,
                            "protocol_name": protocol.name,
                            "protocol_label": plabel,
                            "aggregation": protocol.aggregation,
                            "kfold_repeats": repeats,
                            "base_seed": seed,
                            "fold": f.fold,
                            "repeat": f.repeat,
                            "fold_name": f.name,
                            "seed": f.seed,
                            "model": dict(model),
                            "image_size": model.get("input_size") or image_size,
                            "recipe": recipe.replace(seed=f.seed).to_dict(),
                        }
                    )
    ids = [u["run_id"] for u in units]
    if len(set(ids)) != len(ids):
        raise ValueError("Two units share a run id; give the duplicated models distinct labels.")
    return units


# -- one unit -----------------------------------------------------------------------
def is_finished(unit: dict, out_dir) -> bool:
    """Whether ``unit``'s ``metrics.json`` exists under ``out_dir`` (a path or URI)."""

    return RunStorage(out_dir).exists(f"runs/{unit['run_id']}/metrics.json")


def run_unit(unit: dict, out_dir, *, progress: bool = False) -> dict:
    """Train and test one model on one split; write its files; return its metrics.

    Args:
        unit: A dict from :func:`plan_units`.
        out_dir: The run's output folder or a pyarrow filesystem URI (files
            go to ``out_dir/runs/<run_id>``; see :mod:`painzoo.evaluation.storage`).
        progress: Show a bar over epochs.

    Returns:
        The metrics dict also written to ``metrics.json`` (binary metrics,
        ``auc``, sizes, seconds per phase).
    """
    import keras

    from painzoo.evaluation.attention_report import save_unit_attention
    from painzoo.evaluation.baselines import get_baseline, is_baseline
    from painzoo.evaluation.metrics import binary_metrics
    from painzoo.training.recipe import Recipe

    store = RunStorage(out_dir)
    folder = f"runs/{unit['run_id']}"
    store.write_text(f"{folder}/config.json", _json(unit))
    timing = {}
    t0 = time.perf_counter()
    ds = _unit_data(unit)
    folds = _unit_folds(unit, ds)
    fold = next(f for f in folds if f.fold == unit["fold"] and f.repeat == unit["repeat"])
    train, test = ds.subset(fold.train), ds.subset(fold.test)
    model_spec = unit["model"]
    name, kwargs = model_spec["name"], dict(model_spec.get("kwargs") or {})
    size = unit.get("image_size")
    recipe = Recipe(**unit["recipe"])
    keras.utils.set_random_seed(int(unit["seed"]))
    if is_baseline(name):
        x_train = train.load_images(size)
        x_test = test.load_images(size)
        timing["data"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        if recipe.class_weight == "balanced":
            kwargs.setdefault("class_weight", "balanced")
        clf = get_baseline(name, **kwargs).fit(x_train, train.labels)
        timing["training"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        p_pain = clf.predict_proba(x_test)[:, 1]
    else:
        import painzoo

        timing["data"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        shape = None if size is None else (int(size), int(size), 3)
        with recipe.scope():
            model = painzoo.get_model(name, input_shape=shape, **kwargs)
        recipe.fit(model, train, progress=progress)
        timing["training"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        p_pain = recipe.predict(model, test)
        save_unit_attention(model, test, store, folder, image_size=size)
        del model
        keras.backend.clear_session()
    p_pain = np.asarray(p_pain, float)
    y_pred = (p_pain >= 0.5).astype(int)
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
        run_id=unit["run_id"],
        status="ok",
        n_train=len(train),
        n_train_pain=int(train.labels.sum()),
        n_test=len(test),
        seconds={k: round(v, 3) for k, v in timing.items()},
    )
    store.write_text(f"{folder}/predictions.csv", preds.to_csv(index=False))
    store.remove(f"{folder}/error.json")
    store.write_text(f"{folder}/metrics.json", _json(metrics))
    return metrics


# -- the run --------------------------------------------------------------------------
