"""A dataset from a config's ``data`` entry (for ``painzoo benchmark`` and ``painzoo train``): built, shrunk and checked."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from painzoo.datasets.manifest import Dataset

__all__ = ["balanced_per_subject", "load_entry", "prepare_data", "resolve_path", "source_stamps"]

_CACHE: dict[str, Dataset] = {}
_SYNTHETIC: dict[str, Dataset] = {}


def load_entry(name: str, data: dict, *, config_dir: str | None = None) -> Dataset:
    """Build the dataset called ``name`` from a config's ``data`` section (cached per process).

    An entry is ``{synthetic: preset, args: {...}}``, ``{manifest: path.csv}``,
    ``{loader: name, args: {...}}`` or ``{concat: [names or entries]}``, optionally with
    ``sample_subjects: N``, ``balance: per_subject`` (:func:`balanced_per_subject`),
    ``sample_seed``, ``duplicates`` and ``on_bad_image`` (:func:`prepare_data`); relative paths
    resolve against ``config_dir``.

    Raises:
        ValueError: For an unknown name or entry kind.
    """
    # The stamps of manifest files make an edited manifest load afresh in a long-lived process.
    key = json.dumps(
        [name, data, config_dir, source_stamps(data, config_dir)], sort_keys=True, default=str
    )
    if key not in _CACHE:
        _CACHE[key] = prepare_data(_build_data(name, data, config_dir, set()), data, name)
    return _CACHE[key]


def _build_data(spec, data, config_dir, seen):
    if isinstance(spec, str):
        if spec not in data:
            raise ValueError(f"Unknown data {spec!r}; the config defines {sorted(data)}.")
        if spec in seen:
            raise ValueError(f"Data entry {spec!r} refers to itself through 'concat'.")
        entry = {"name": spec, **data[spec]} if isinstance(data[spec], dict) else data[spec]
        ds = _build_data(entry, data, config_dir, seen | {spec})
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
    if spec.get("balance") == "per_subject":
        ds = ds.subset(
            balanced_per_subject(ds.subjects, ds.labels, int(spec.get("sample_seed", 0)))
        )
    return ds


def balanced_per_subject(subjects, labels, seed: int = 0) -> np.ndarray:
    """Sorted row indices that balance the two classes within every subject.

    Each subject keeps its smaller class and a random subset of the same size of its larger class;
    a subject with one class is dropped. Under leave-one-subject-out a network then cannot carry a
    subject's pain prior over to a face that resembles it.

    Args:
        subjects, labels: Subject id and 0/1 label per image.
        seed: Seed of the random subsets.
    """
    subjects, labels = np.asarray(subjects), np.asarray(labels)
    rng = np.random.default_rng(seed)
    keep = []
    for subject in np.unique(subjects):
        rows = [np.flatnonzero((subjects == subject) & (labels == c)) for c in (0, 1)]
        k = min(len(r) for r in rows)
        keep += [np.sort(rng.choice(r, size=k, replace=False)) for r in rows if k]
    return np.sort(np.concatenate(keep)) if keep else np.array([], int)


def _build_entry(spec, data, config_dir, seen):
    args = dict(spec.get("args") or {})
    if "synthetic" in spec:
        from painzoo.datasets import synthetic

        # Drawn once per process: a concat of named entries draws its parts again.
        key = json.dumps([spec["synthetic"], args], sort_keys=True, default=str)
        if key not in _SYNTHETIC:
            _SYNTHETIC[key] = synthetic.make_synthetic(spec["synthetic"], **args)
        drawn = _SYNTHETIC[key]
        return drawn.subset(np.arange(len(drawn)))  # a copy: the caller names it
    if "manifest" in spec:
        # `name` is the config key: a manifest without a `source` column takes it as source.
        return Dataset.from_csv(resolve_path(spec["manifest"], config_dir), name=spec.get("name"))
    if "loader" in spec:
        from painzoo.datasets import loaders

        fn = getattr(loaders, spec["loader"], None)
        if fn is None or spec["loader"] not in loaders.__all__:
            raise ValueError(
                f"Unknown loader {spec['loader']!r}; choose one of {loaders.__all__}."
            )
        args = {
            k: resolve_path(v, config_dir) if isinstance(v, str) else v for k, v in args.items()
        }
        return fn(**args)
    if "concat" in spec:
        return Dataset.concat([_build_data(s, data, config_dir, seen) for s in spec["concat"]])
    raise ValueError(
        f"A data entry needs one of 'synthetic', 'manifest', 'loader' or 'concat'; received {spec!r}."
    )


def resolve_path(value: str, config_dir) -> str:
    """``value`` under ``config_dir`` when the file is there, else as given (``~`` expanded)."""
    p = Path(value).expanduser()
    if not p.is_absolute() and config_dir and (Path(config_dir) / p).exists():
        return str(Path(config_dir) / p)
    return str(p)


def source_stamps(data, config_dir) -> list:
    """``(path, size, mtime_ns)`` of every manifest and file argument of the data entries."""
    stamps = []
    for entry in (data or {}).values():
        if not isinstance(entry, dict):
            continue
        values = [entry.get("manifest")] + list((entry.get("args") or {}).values())
        for value in values:
            if isinstance(value, str) and value:
                path = resolve_path(value, config_dir)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                stamps.append([path, st.st_size, st.st_mtime_ns])
    return stamps


def prepare_data(ds, data: dict, name: str):
    """Apply a data entry's ``duplicates`` and ``on_bad_image`` checks to the dataset built from it.

    ``ds`` is the dataset built from ``data[name]``; it is returned checked (rows with bad images
    dropped under ``on_bad_image: skip``). A ``concat`` entry without its own setting takes its
    first part's.

    Raises:
        ValueError: For duplicate images under ``duplicates: error``.
        FileNotFoundError: Under ``on_bad_image: error``, for image files that do not exist
            (undecodable ones fail when read).
    """
    entry = data.get(name) if isinstance(name, str) else name
    where = f"data {name!r}"
    if isinstance(entry, dict) and "manifest" in entry:
        where += f" ({entry['manifest']})"
    duplicates = _data_option(data, entry, "duplicates") or "error"
    ds.check(duplicates=duplicates, where=where)
    if _data_option(data, entry, "on_bad_image") == "skip":
        kept = ds.drop_unreadable(on_bad_image="skip", where=where)
        kept.name = ds.name
        return kept
    listed = [str(p) for p in ds.frame["image"]]
    missing = [p for p, rel in zip(ds.image_paths, listed) if rel and not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"{where}: {len(missing)} image file(s) do not exist (first: {missing[0]}); fix "
            "the paths, or set on_bad_image: skip in this data entry to drop such rows."
        )
    return ds


def _data_option(data: dict, entry, key: str, seen=()):
    if isinstance(entry, str):
        if entry in seen or entry not in data:
            return None
        return _data_option(data, data[entry], key, (*seen, entry))
    if not isinstance(entry, dict):
        return None
    if entry.get(key) is not None:
        return entry[key]
    for part in entry.get("concat") or []:
        value = _data_option(data, part, key, seen)
        if value is not None:
            return value
    return None
