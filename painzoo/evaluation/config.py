"""Experiment configs: YAML files that say what to evaluate, on what, and how.

A config is a mapping with these keys (all but ``models`` and
``experiments`` optional)::

    name: quick                    # shown in the report
    out: painzoo-results           # output folder
    image_size: 64                 # input side for every model (default: the model's own)
    seed: 0                        # base training seed
    repeats: 1                     # repeats of K-fold protocols (reshuffled folds)
    recipe: {preset: p1, epochs: 3}
    face_crop: null                # or {detector: mtcnn, size: 224, margin: 0.2}
    data:                          # named datasets
      ratspain: {synthetic: ratspain, args: {scale: 0.1}}
      paindb:   {loader: paindb, args: {unbc: /data/UNBC, mintpain: /data/MInt, delaware: /data/dpd.csv}}
      cppain:   {manifest: /data/cppain/manifest.csv}
      paindb+cppain: {concat: [paindb, cppain]}
    models:
      - lbp_svm_r1p8_4x4           # a baseline or zoo name
      - painseeker: {top_k: 3}     # keyword overrides for get_model
      - painseeker: {prsc_weight: [0.05, 0.1, 0.5]}   # a list expands into a sweep
      - songnet: {recipe: {optimizer: rmsprop, learning_rate: 1.0e-4}, input_size: 64}
    experiments:                   # which protocols run on which data
      - {data: ratspain, protocols: [loso]}
      - {data: paindb, protocols: [image_kfold, subject_kfold]}
      - {data: paindb+cppain, protocols: [{cross_dataset: {test_sources: cppain, repeats: 5}}]}

Inside a model entry, ``recipe`` (recipe overrides), ``input_size`` (input
side) and ``label`` (name in reports) are not passed to the model builder.
"""

from __future__ import annotations

import copy
import itertools
import os
from importlib import resources
from pathlib import Path

__all__ = ["load_config", "apply_overrides", "expand_models", "bundled_configs", "ModelSpec"]

_RESERVED = ("recipe", "input_size", "label")


def bundled_configs() -> list[str]:
    """Names of the configs shipped with painzoo."""
    folder = resources.files("painzoo.evaluation") / "configs"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_config(name_or_path: str | os.PathLike | dict) -> dict:
    """Read a config by bundled name (``"quick"``) or YAML path.

    Args:
        name_or_path: Bundled name, a path to a ``.yaml`` file, or a dict
            (returned as a deep copy).

    Returns:
        The config as a dict, with ``name`` filled in and ``config_dir``
        set to the folder relative data paths resolve against.

    Raises:
        FileNotFoundError: If neither a bundled name nor an existing file.
        ValueError: If the YAML is not a mapping or lacks required keys.
    """
    import yaml

    if isinstance(name_or_path, dict):
        config = copy.deepcopy(name_or_path)
        config.setdefault("name", "custom")
        validate_config(config)
        return config
    text = str(name_or_path)
    path = Path(text)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise FileNotFoundError(f"Config file {path} does not exist.")
        source = path.read_text(encoding="utf-8")
        base = path.resolve().parent
        default_name = path.stem
    else:
        names = bundled_configs()
        if text not in names:
            raise FileNotFoundError(
                f"No bundled config named {text!r} and no such file; bundled configs: "
                f"{', '.join(names)} (or pass a path to a .yaml file)."
            )
        source = (resources.files("painzoo.evaluation") / "configs" / f"{text}.yaml").read_text(
            encoding="utf-8"
        )
        base = Path.cwd()
        default_name = text
    config = yaml.safe_load(source)
    if not isinstance(config, dict):
        raise ValueError(
            f"Config {name_or_path} must be a YAML mapping; received {type(config).__name__}."
        )
    config.setdefault("name", default_name)
    config.setdefault("config_dir", str(base))
    validate_config(config)
    return config


def validate_config(config: dict) -> None:
    """Check the keys a runner needs, with messages that say how to fix them."""
    for key in ("models", "experiments", "data"):
        if not config.get(key):
            raise ValueError(
                f"Config {config.get('name', '?')!r} lacks {key!r}; see "
                "painzoo/evaluation/configs/quick.yaml for a complete example."
            )
    data = config["data"]
    for i, exp in enumerate(config["experiments"]):
        if not isinstance(exp, dict) or "data" not in exp or "protocols" not in exp:
            raise ValueError(
                f"experiments[{i}] must be a mapping with 'data' and 'protocols'; received {exp!r}."
            )
        if exp["data"] not in data:
            raise ValueError(
                f"experiments[{i}] uses data {exp['data']!r}, which is not defined under 'data' "
                f"(defined: {sorted(data)})."
            )


def apply_overrides(
    config: dict,
    *,
    out: str | None = None,
    models: list[str] | None = None,
    protocols: list[str] | None = None,
    epochs: int | None = None,
    repeats: int | None = None,
    image_size: int | None = None,
    seed: int | None = None,
    **_ignored,
) -> dict:
    """A copy of ``config`` with command-line overrides applied.

    Args:
        config: A loaded config.
        out: Output folder.
        models: Keep only these model names (entries of the config keep
            their overrides; names not in the config are added plainly).
        protocols: Keep only these protocol names (``loso``, ``image_kfold``,
            ``subject_kfold``, ``cross_dataset``); experiments left with none
            are dropped.
        epochs: Override the recipe's epochs.
        repeats: Override the K-fold repeats and every CrossDataset's repeats.
        image_size: Override the input side.
        seed: Override the base seed.

    Returns:
        A new config dict; ``None`` arguments change nothing.

    Raises:
        ValueError: If a protocol filter leaves nothing to run.
    """
    from painzoo.evaluation.protocols import get_protocol

    config = copy.deepcopy(config)
    if out is not None:
        config["out"] = str(out)
    if image_size is not None:
        config["image_size"] = int(image_size)
    if seed is not None:
        config["seed"] = int(seed)
    if epochs is not None:
        recipe = config.get("recipe") or {}
        recipe = {"preset": recipe} if isinstance(recipe, str) else dict(recipe)
        recipe["epochs"] = int(epochs)
        config["recipe"] = recipe
    if models:
        wanted = [m.lower() for m in models]
        kept = [e for e in config["models"] if _entry_name(e) in wanted]
        have = {_entry_name(e) for e in kept}
        config["models"] = kept + [m for m in wanted if m not in have]
    if protocols:
        wanted = {get_protocol(p).name for p in protocols}
        experiments = []
        for exp in config["experiments"]:
            keep = [p for p in exp["protocols"] if get_protocol(p).name in wanted]
            if keep:
                experiments.append({**exp, "protocols": keep})
        if not experiments:
            raise ValueError(
                f"No experiment of config {config.get('name')!r} uses the protocol(s) {protocols}."
            )
        config["experiments"] = experiments
    if repeats is not None:
        config["repeats"] = int(repeats)
        for exp in config["experiments"]:
            exp["protocols"] = [_with_repeats(p, int(repeats)) for p in exp["protocols"]]
    return config


def _with_repeats(spec, repeats):
    from painzoo.evaluation.protocols import get_protocol

    if get_protocol(spec).name != "cross_dataset":
        return spec
    if isinstance(spec, dict):
        ((name, args),) = spec.items()
        return {name: {**(args or {}), "repeats": repeats}}
    return {spec: {"repeats": repeats}}


def _entry_name(entry) -> str:
    if isinstance(entry, str):
        return entry.lower()
    if isinstance(entry, dict) and len(entry) == 1:
        return str(next(iter(entry))).lower()
    raise ValueError(
        f"A model entry must be a name or a one-key mapping {{name: {{overrides}}}}; received {entry!r}."
    )


class ModelSpec(dict):
    """One model to evaluate: ``name``, ``kwargs``, ``recipe`` overrides, ``input_size``, ``label``."""


def expand_models(entries) -> list[ModelSpec]:
    """Model entries of a config → a flat list, sweeps expanded.

    A list value in an entry's keyword overrides expands into one model per
    value (several lists give their Cartesian product); the label then
    names the swept values, e.g. ``painseeker[prsc_weight=0.5]``.

    Raises:
        ValueError: For a malformed entry or two entries with one label.
    """
    out: list[ModelSpec] = []
    for entry in entries:
        name = _entry_name(entry)
        opts = {} if isinstance(entry, str) else dict(next(iter(entry.values())) or {})
        recipe = opts.pop("recipe", None) or {}
        input_size = opts.pop("input_size", None)
        label = opts.pop("label", None)
        swept = {k: v for k, v in opts.items() if isinstance(v, list)}
        fixed = {k: v for k, v in opts.items() if k not in swept}
        combos = list(itertools.product(*swept.values())) if swept else [()]
        for combo in combos:
            values = dict(zip(swept, combo))
            tag = ",".join(f"{k}={v}" for k, v in values.items())
            out.append(
                ModelSpec(
                    name=name,
                    kwargs={**fixed, **values},
                    recipe=dict(recipe),
                    input_size=input_size,
                    label=(label or name) + (f"[{tag}]" if tag else ""),
                    sweep=values,
                )
            )
    labels = [m["label"] for m in out]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise ValueError(f"Two model entries share the label(s) {dupes}; give one a 'label:'.")
    return out
