"""Experiment configs: YAML files that say what to evaluate, on what, and how.

A config is a mapping with these keys (all but ``models`` and ``experiments`` optional)::

    name: quick                    # shown in the report
    out: painzoo-results           # output folder
    image_size: 64                 # input side or [height, width] (default: the model's own)
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
      - songnet: {recipe: {optimizer: rmsprop, learning_rate: 1.0e-4}, image_size: 64}
    experiments:                   # which protocols run on which data
      - {data: ratspain, protocols: [loso]}
      - {data: paindb, protocols: [image_kfold, subject_kfold]}
      - {data: paindb+cppain, protocols: [{cross_dataset: {test_sources: cppain, repeats: 5}}]}

Inside a model entry, ``recipe`` (recipe overrides), ``image_size`` (the input size for this model,
in place of the top-level one) and ``label`` (name in reports) are not passed to the model builder.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import inspect
import itertools
import math
import os
from importlib import resources
from pathlib import Path

__all__ = [
    "ConfigError",
    "apply_overrides",
    "bundled_configs",
    "check_config",
    "expand_models",
    "load_config",
    "BenchmarkConfig",
    "DataEntry",
    "Experiment",
    "ModelEntry",
]


def bundled_configs() -> list[str]:
    """Names of the configs shipped with painzoo."""
    folder = resources.files("painzoo.benchmark") / "configs"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_config(name_or_path: str | os.PathLike | dict) -> BenchmarkConfig:
    """Read a config by bundled name (``"quick"``) or YAML path, check it and parse it once.

    Every key is checked against the schema (an unknown key's error names the closest valid one),
    every value against its type and range; recipes and protocols are built. :func:`check_config`
    then checks model names and data files (:func:`~painzoo.benchmark.run` calls it).

    Args:
        name_or_path: Bundled name, a path to a ``.yaml`` file, or a dict.

    Returns:
        The :class:`BenchmarkConfig`; ``config_dir`` is the folder relative
        data paths resolve against, ``config_file`` the YAML file.

    Raises:
        FileNotFoundError: If neither a bundled name nor an existing file.
        ConfigError: (a ``ValueError``) for invalid YAML or a config that
            breaks the schema; the message reads
            ``my.yaml, line 7: unknown key 'recipie' in the top level; did you mean 'recipe'?``.
    """
    import yaml

    if isinstance(name_or_path, dict):
        config = copy.deepcopy(name_or_path)
        config.setdefault("name", "custom")
        return _parse(config)
    text = str(name_or_path)
    path = Path(text)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise FileNotFoundError(f"Config file {path} does not exist.")
        source = path.read_text(encoding="utf-8")
        base = path.resolve().parent
        default_name = path.stem
        shown = str(path)
    else:
        names = bundled_configs()
        if text not in names:
            close = difflib.get_close_matches(text, names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise FileNotFoundError(
                f"No bundled config named {text!r} and no such file.{hint} Bundled configs: "
                f"{', '.join(names)} (or pass a path to a .yaml file)."
            )
        bundled = resources.files("painzoo.benchmark") / "configs" / f"{text}.yaml"
        source = bundled.read_text(encoding="utf-8")
        base = Path.cwd()
        default_name = text
        shown = str(bundled)
    try:
        config = yaml.safe_load(source)
    except yaml.YAMLError as err:
        raise ConfigError(_yaml_error(shown, err)) from None
    if not isinstance(config, dict):
        raise ConfigError(
            f"{shown}: a config must be a YAML mapping (key: value lines); "
            f"received {type(config).__name__}."
        )
    config.setdefault("name", default_name)
    config.setdefault("config_dir", str(base))
    config.setdefault("config_file", shown)
    return _parse(config, source)


class ConfigError(ValueError):
    """A config that breaks the schema; the message names the file and line."""


# -- the records a config is parsed into ----------------------------------------------
@dataclasses.dataclass(frozen=True)
class DataEntry:
    """One data set of a config: ``spec`` as written (what ``load_entry`` reads) and
    ``resolved``, with the names under ``concat`` replaced by their entries."""

    name: str
    spec: dict
    resolved: dict

    def parts(self, spec=None) -> list[dict]:
        """The entries this one is made of: itself, or the leaves of its ``concat``."""
        spec = self.resolved if spec is None else spec
        if not isinstance(spec, dict):  # a name left unresolved (a concat cycle)
            return []
        if "concat" not in spec:
            return [spec]
        return [leaf for part in spec["concat"] for leaf in self.parts(part)]

    @property
    def synthetic(self) -> bool:
        """Whether any part is rendered by the generator (too slow to build in a check)."""
        return any("synthetic" in part for part in self.parts())


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """One model a config trains (:func:`expand_models`): its registry ``name``, ``label``
    (a swept variant adds ``[param=value]``), builder ``kwargs``, ``recipe`` (the config's
    :class:`~painzoo.training.recipe.Recipe` with the entry's overrides), ``image_size``
    (a side or ``(height, width)``: the entry's, else the config's; ``None``: the model's
    own) and ``sweep`` (the swept values among ``kwargs``)."""

    name: str
    label: str
    kwargs: dict
    recipe: object
    image_size: int | tuple[int, int] | None = None
    sweep: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Experiment:
    """The built :class:`~painzoo.evaluation.protocols.Protocol` objects run on data
    ``data``, and the labels of the models trained there (all unless it names some)."""

    data: str
    protocols: tuple
    models: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class BenchmarkConfig:
    """A config checked and parsed once (:func:`load_config`) for planning and running.

    The top-level keys hold their values with defaults filled in (``out``, ``seed``, ``repeats``,
    ``deterministic``; ``recipe`` built), ``data`` maps names to :class:`DataEntry`, ``models`` and
    ``experiments`` hold :class:`ModelEntry` and :class:`Experiment` records in config order, and
    ``raw`` is the config as written (after overrides), which :meth:`to_dict` returns.
    """

    name: str
    out: str
    image_size: int | tuple[int, int] | None
    seed: int
    repeats: int
    deterministic: bool
    recipe: object
    face_crop: dict | None
    data: dict[str, DataEntry]
    models: tuple[ModelEntry, ...]
    experiments: tuple[Experiment, ...]
    config_dir: str | None
    config_file: str | None
    raw: dict = dataclasses.field(repr=False, compare=False)

    def to_dict(self) -> dict:
        """The config as written, for ``OUT/config.json`` and :func:`apply_overrides`."""
        return copy.deepcopy(self.raw)

    @property
    def data_specs(self) -> dict:
        """The ``data`` section as written: name → entry."""
        return {name: entry.spec for name, entry in self.data.items()}

    def experiment_models(self, experiment: Experiment) -> list[ModelEntry]:
        """The models ``experiment`` trains, in config order."""
        return [m for m in self.models if m.label in experiment.models]

    def model(self, wanted: str) -> ModelEntry | None:
        """The model labelled ``wanted``, else the unswept one named so, else ``None``."""
        wanted = str(wanted).lower()
        by_label = [m for m in self.models if m.label.lower() == wanted]
        by_name = [m for m in self.models if m.name == wanted and not m.sweep]
        return next(iter(by_label + by_name), None)


def resolve_data_spec(name, data: dict, seen=()):
    """The entry ``name`` of ``data`` with names inside ``concat`` replaced by their entries."""
    if isinstance(name, str):
        if name not in data or name in seen:
            return name
        return resolve_data_spec(data[name], data, (*seen, name))
    spec = dict(name)
    if "concat" in spec:
        spec["concat"] = [resolve_data_spec(s, data, seen) for s in spec["concat"]]
    return spec


def _parse(config: dict, source: str | None = None) -> BenchmarkConfig:
    """Check a config dict, build its recipes and protocols: the :class:`BenchmarkConfig`."""
    from painzoo.evaluation.protocols import get_protocol
    from painzoo.preprocess.spec import input_size
    from painzoo.training.recipe import Recipe

    c = _Checker(config, source)
    _validate(c, config)
    try:
        recipe = Recipe.from_config(config.get("recipe"))
    except (TypeError, ValueError) as err:
        c.fail(("recipe",), f"the recipe does not build: {err}")
    image_size = input_size(config.get("image_size"))
    models = []
    for i, entry in enumerate(config["models"]):
        try:
            models += expand_models([entry], recipe=recipe, image_size=image_size)
        except (TypeError, ValueError) as err:
            c.fail(("models", i), f"the recipe of this model does not build: {err}")
    labels = [m.label for m in models]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        c.fail(("models",), f"two model entries share the label(s) {dupes}; give one a 'label:'.")
    experiments = []
    for i, exp in enumerate(config["experiments"]):
        protocols = []
        for j, spec in enumerate(exp["protocols"]):
            try:
                protocols.append(get_protocol(spec))
            except (TypeError, ValueError) as err:
                c.fail(
                    ("experiments", i, "protocols", j), f"protocol {spec!r} does not build: {err}"
                )
        # A name selects a model by its registry name (every swept variant) or its label.
        wanted = {str(n).lower() for n in exp.get("models") or ()}
        chosen = [m.label for m in models if not wanted or {m.name, m.label.lower()} & wanted]
        experiments.append(Experiment(exp["data"], tuple(protocols), tuple(chosen)))
    face_crop = config.get("face_crop")
    return BenchmarkConfig(
        name=config.get("name", "custom"),
        out=str(config.get("out") or "painzoo-results"),
        image_size=image_size,
        seed=int(config.get("seed", 0)),
        repeats=int(config.get("repeats", 1)),
        deterministic=bool(config.get("deterministic", True)),
        recipe=recipe,
        face_crop=None if face_crop is False else face_crop,
        data={
            name: DataEntry(name, spec, resolve_data_spec(name, config["data"]))
            for name, spec in config["data"].items()
        },
        models=tuple(models),
        experiments=tuple(experiments),
        config_dir=config.get("config_dir"),
        config_file=config.get("config_file"),
        raw=config,
    )


def _yaml_error(shown: str, err) -> str:
    mark = getattr(err, "problem_mark", None)
    where = f"{shown}, line {mark.line + 1}, column {mark.column + 1}" if mark else shown
    problem = " ".join(
        str(p) for p in (getattr(err, "context", None), getattr(err, "problem", None)) if p
    )
    return f"{where}: invalid YAML: {problem or err}. Check the indentation and the quotes there."


def _key_lines(source: str) -> dict[tuple, int]:
    """Line (1-based) of every key path of a YAML document, e.g. ``("data", "x", "args")``."""
    import yaml

    lines: dict[tuple, int] = {}

    def walk(node, path):
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, str(key.value))
                lines.setdefault(sub, key.start_mark.line + 1)
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines.setdefault((*path, i), item.start_mark.line + 1)
                walk(item, (*path, i))

    try:
        root = yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    if root is not None:
        walk(root, ())
    return lines


# -- the schema -------------------------------------------------------------------
#: Top-level keys of a config and what each holds (``config_dir``/``config_file``
#: are filled in by :func:`load_config`).
TOP_LEVEL_KEYS = {
    "name": "name shown in the report",
    "out": "output folder",
    "image_size": "input side or [height, width] for every model (or null)",
    "seed": "base training seed (int >= 0)",
    "repeats": "repeats of K-fold protocols (int >= 1)",
    "deterministic": "deterministic ops (true, the default) or false for speed",
    "recipe": "a recipe preset name or {preset: ..., field: value}",
    "face_crop": "null or FaceCropper arguments (+ on_error: error|skip)",
    "data": "named datasets",
    "models": "list of model names or {name: {overrides}}",
    "experiments": "list of {data: name, protocols: [...], models: [names] (optional)}",
    "config_dir": "folder relative paths resolve against (set by load_config)",
    "config_file": "the YAML file (set by load_config)",
}
#: Keys of a ``data:`` entry besides its kind.
DATA_KINDS = ("synthetic", "manifest", "loader", "concat")
DATA_KEYS = (
    *DATA_KINDS,
    "args",
    "sample_subjects",
    "sample_seed",
    "balance",
    "on_bad_image",
    "duplicates",
)
#: ``balance`` of a data entry: ``per_subject`` keeps, within each subject, a
#: random subset of its larger class as large as its smaller class.
BALANCE = ("per_subject",)
#: What a data entry does with an image that cannot be decoded.
ON_BAD_IMAGE = ("error", "skip")
#: What a data entry does with a repeated image path or one image under two subjects.
DUPLICATES = ("error", "warn", "ignore")
#: Keys of a model entry that painzoo reads itself (not passed to the builder).
MODEL_RESERVED = ("recipe", "image_size", "label")


class _Checker:
    """Schema checks with messages that name the file and line of a key path."""

    def __init__(self, config: dict, source: str | None = None):
        self.file = config.get("config_file")
        self.name = config.get("name", "custom")
        if source is None and self.file and Path(self.file).is_file():
            try:
                source = Path(self.file).read_text(encoding="utf-8")
            except OSError:
                source = None
        self.lines = _key_lines(source) if source else {}

    def where(self, path: tuple) -> str:
        head = self.file or f"config {self.name!r}"
        for n in range(len(path), 0, -1):
            line = self.lines.get(tuple(path[:n]))
            if line is not None:
                return f"{head}, line {line}"
        return head

    def fail(self, path: tuple, message: str):
        raise ConfigError(f"{self.where(path)}: {message}")

    def keys(self, mapping: dict, path: tuple, allowed, what: str) -> None:
        allowed = list(allowed)
        for key in mapping:
            if key in allowed:
                continue
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else f"valid keys are {', '.join(repr(k) for k in allowed)}."
            )
            self.fail((*path, key), f"unknown key {key!r} in {what}; {hint}")

    def mapping(self, value, path: tuple, what: str) -> dict:
        if not isinstance(value, dict):
            self.fail(path, f"{what} must be a mapping (key: value); received {_show(value)}.")
        return value

    def integer(self, value, path, what, *, minimum=None, none=False):
        if value is None and none:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(
                path,
                f"{what} must be an integer{' or null' if none else ''}"
                f"{f' >= {minimum}' if minimum is not None else ''}; received {_show(value)}.",
            )
        if minimum is not None and value < minimum:
            self.fail(path, f"{what} must be >= {minimum}; received {value}.")

    def number(
        self,
        value,
        path,
        what,
        *,
        low=None,
        high=None,
        low_open=False,
        high_open=False,
        none=False,
    ):
        from painzoo.utils.numbers import describe_range

        if value is None and none:
            return
        allowed = describe_range(low, high, low_open=low_open, high_open=high_open)
        allowed += " or null" if none else ""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(path, f"{what} must be {allowed}; received {_show(value)}.")
        if (
            not math.isfinite(value)
            or (low is not None and (value < low or (low_open and value == low)))
            or (high is not None and (value > high or (high_open and value == high)))
        ):
            self.fail(path, f"{what} must be {allowed}; received {value}.")

    def image_size(self, value, path, what) -> None:
        """A side (a square), a two-item ``[height, width]``, or null."""
        if not isinstance(value, list):
            return self.integer(value, path, what, minimum=1, none=True)
        if len(value) != 2 or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
            self.fail(
                path,
                f"{what} must be a side or [height, width] (two integers); "
                f"received {_show(value)}.",
            )
        if min(value) < 1:
            self.fail(path, f"{what} must be [height, width] with both >= 1; received {value}.")

    def string(self, value, path, what, *, choices=None):
        if not isinstance(value, str) or not value:
            self.fail(path, f"{what} must be a non-empty string; received {_show(value)}.")
        if choices is not None and value not in choices:
            hint = _did_you_mean(value, choices)
            self.fail(path, f"{what} {value!r} is unknown; {hint}choose one of {list(choices)}.")

    def named(self, entry, path, kind: str, options: str) -> tuple:
        """``(name, options)`` of a ``name`` or one-key ``{name: {options}}`` entry."""
        if isinstance(entry, str):
            return entry, None
        if not isinstance(entry, dict) or len(entry) != 1:
            self.fail(
                path,
                f"a {kind} entry must be a name or a one-key mapping {{name: {{{options}}}}}; "
                f"received {_show(entry)}.",
            )
        ((name, opts),) = entry.items()
        if not isinstance(name, str):
            self.fail(path, f"a {kind} name must be a string; received {_show(name)}.")
        return name, opts

    def nonempty_list(self, value, path, what: str, example: str = "") -> list:
        if not isinstance(value, list) or not value:
            self.fail(path, f"{what} must be a non-empty list{example}; received {_show(value)}.")
        return value

    def defined_data(self, name, data: dict, path, phrase: str) -> None:
        """Fail unless ``name`` is defined under 'data'; ``phrase`` leads the message."""
        if not isinstance(name, str) or name not in data:
            self.fail(
                path,
                f"{phrase} {name!r}, which is not defined under 'data'; "
                f"{_did_you_mean(str(name), data)}defined: {sorted(data)}.",
            )


def _did_you_mean(value: str, choices) -> str:
    """``"did you mean 'x'? "`` for the closest of ``choices``, or ``""``."""
    close = difflib.get_close_matches(value, list(choices), n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def _show(value) -> str:
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _parameters(fn, skip=()) -> tuple[list[str], bool]:
    """Keyword names ``fn`` accepts, and whether it also takes ``**kwargs``."""
    import inspect

    params = inspect.signature(fn).parameters.values()
    names = [
        p.name
        for p in params
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in skip
    ]
    return names, any(p.kind == p.VAR_KEYWORD for p in params)


def _validate(c: _Checker, config: dict) -> None:
    """Check every key, type and range of a config dict (the schema); no file is read."""
    c.keys(config, (), TOP_LEVEL_KEYS, "the top level")
    for key in ("name", "out", "config_dir", "config_file"):
        if config.get(key) is not None and not isinstance(config[key], (str, os.PathLike)):
            c.fail((key,), f"{key!r} must be a string; received {_show(config[key])}.")
    c.image_size(config.get("image_size"), ("image_size",), "image_size")
    c.integer(config.get("seed", 0), ("seed",), "seed", minimum=0)
    c.integer(config.get("repeats", 1), ("repeats",), "repeats", minimum=1)
    if not isinstance(config.get("deterministic", True), bool):
        c.fail(
            ("deterministic",),
            f"deterministic must be true or false; received {_show(config['deterministic'])}.",
        )
    _check_recipe(c, config.get("recipe"), ("recipe",), "the recipe", top=True)
    _check_face_crop(c, config.get("face_crop"))
    for key in ("data", "models", "experiments"):
        if not config.get(key):
            c.fail(
                (key,) if key in config else (),
                f"the config lacks {key!r} (or it is empty); see "
                "painzoo/benchmark/configs/quick.yaml for a complete example.",
            )
    data = c.mapping(config["data"], ("data",), "'data'")
    for name, entry in data.items():
        _check_data_entry(c, entry, ("data", name), f"data {name!r}", data)
    _check_models(c, config["models"])
    _check_experiments(c, config["experiments"], data, config["models"])


def _check_recipe(c: _Checker, spec, path, what, *, top: bool) -> None:
    from painzoo.training.recipe import PRESETS, REMOVED_FIELDS, Recipe

    if spec is None:
        return
    if isinstance(spec, str) and top:
        c.string(spec, path, "recipe preset", choices=sorted(PRESETS))
        return
    spec = c.mapping(spec, path, what if not top else "'recipe' (a preset name or a mapping)")
    for key in spec:
        if key in REMOVED_FIELDS:
            c.fail((*path, key), f"{key!r} is no longer a recipe field; delete it from {what}.")
    fields = [f.name for f in dataclasses.fields(Recipe)]
    c.keys(spec, path, (["preset"] if top else []) + fields, what)
    if "preset" in spec:
        c.string(spec["preset"], (*path, "preset"), "recipe preset", choices=sorted(PRESETS))
    # Recipe's numeric fields and ranges; a config's learning rate must be > 0 (0 trains nothing).
    for key, (low, high, low_open, high_open, integer, none) in Recipe._NUMBERS.items():
        if key not in spec:
            continue
        if integer:
            c.integer(spec[key], (*path, key), key, minimum=low, none=none)
            if high is not None and spec[key] is not None and spec[key] > high:
                c.fail(
                    (*path, key),
                    f"{key} must be an integer in [{low}, {high}]; received {spec[key]}.",
                )
        else:
            c.number(
                spec[key],
                (*path, key),
                key,
                low=low,
                high=high,
                low_open=low_open or key == "learning_rate",
                high_open=high_open,
                none=none,
            )
    for key in ("optimizer", "precision"):
        if key in spec:
            c.string(spec[key], (*path, key), key)


def _check_face_crop(c: _Checker, spec) -> None:
    if spec is None or spec is False:
        return
    spec = c.mapping(spec, ("face_crop",), "'face_crop' (null or FaceCropper arguments)")
    from painzoo.preprocess.face import FaceCropper

    names, _ = _parameters(FaceCropper.__init__, skip=("self",))
    c.keys(spec, ("face_crop",), [*names, "on_error"], "face_crop")
    if "on_error" in spec:
        c.string(
            spec["on_error"], ("face_crop", "on_error"), "face_crop on_error", choices=ON_BAD_IMAGE
        )
    if "size" in spec:
        c.integer(spec["size"], ("face_crop", "size"), "face_crop size", minimum=1)
    if "margin" in spec:
        c.number(spec["margin"], ("face_crop", "margin"), "face_crop margin", low=0)


def _check_data_entry(c: _Checker, entry, path, what, data) -> None:
    entry = c.mapping(entry, path, what)
    c.keys(entry, path, DATA_KEYS, what)
    kinds = [k for k in DATA_KINDS if k in entry]
    if len(kinds) != 1:
        c.fail(
            path,
            f"{what} needs exactly one of {list(DATA_KINDS)}; it has "
            f"{kinds or 'none'} (keys: {sorted(entry)}).",
        )
    kind = kinds[0]
    args = entry.get("args")
    if args is not None:
        c.mapping(args, (*path, "args"), f"the args of {what}")
    if kind == "synthetic":
        from painzoo.datasets.synthetic import PRESETS, make_synthetic

        c.string(
            entry["synthetic"], (*path, "synthetic"), "synthetic preset", choices=sorted(PRESETS)
        )
        names, _ = _parameters(make_synthetic, skip=("preset",))
        c.keys(args or {}, (*path, "args"), names, f"the args of {what} (make_synthetic)")
    elif kind == "manifest":
        c.string(entry["manifest"], (*path, "manifest"), "manifest (a CSV path)")
        if args:
            c.fail((*path, "args"), f"{what}: a manifest entry takes no args; remove 'args'.")
    elif kind == "loader":
        from painzoo.datasets import loaders

        names = [n for n in loaders.__all__ if callable(getattr(loaders, n))]
        c.string(entry["loader"], (*path, "loader"), "loader", choices=names)
        params, var_kw = _parameters(getattr(loaders, entry["loader"]))
        if not var_kw:
            c.keys(args or {}, (*path, "args"), params, f"the args of {what} ({entry['loader']})")
    else:
        parts = c.nonempty_list(entry["concat"], (*path, "concat"), f"'concat' of {what}")
        for i, part in enumerate(parts):
            if isinstance(part, str):
                c.defined_data(part, data, (*path, "concat", i), f"{what} concatenates")
            else:
                _check_data_entry(c, part, (*path, "concat", i), f"part {i} of {what}", data)
    for key in ("sample_subjects",):
        if key in entry:
            c.integer(entry[key], (*path, key), key, minimum=1, none=True)
    if "sample_seed" in entry:
        c.integer(entry["sample_seed"], (*path, "sample_seed"), "sample_seed", minimum=0)
    if "balance" in entry and entry["balance"] is not None:
        c.string(entry["balance"], (*path, "balance"), "balance", choices=BALANCE)
    if "on_bad_image" in entry:
        c.string(
            entry["on_bad_image"], (*path, "on_bad_image"), "on_bad_image", choices=ON_BAD_IMAGE
        )
    if "duplicates" in entry:
        c.string(entry["duplicates"], (*path, "duplicates"), "duplicates", choices=DUPLICATES)


def _check_models(c: _Checker, models) -> None:
    if not isinstance(models, list):
        c.fail(
            ("models",),
            f"'models' must be a list, e.g. 'models: [{models}]' or one '- name' line per model; "
            f"received {_show(models)}.",
        )
    for i, entry in enumerate(models):
        name, opts = c.named(entry, ("models", i), "model", "overrides")
        if opts is None:
            continue
        path = ("models", i, name)
        opts = c.mapping(opts, path, f"the overrides of model {name!r}")
        what = f"model {name!r}"
        if "recipe" in opts:
            _check_recipe(c, opts["recipe"], (*path, "recipe"), f"the recipe of {what}", top=False)
        if "image_size" in opts:
            c.image_size(opts["image_size"], (*path, "image_size"), f"image_size of {what}")
        if "label" in opts and opts["label"] is not None:
            c.string(opts["label"], (*path, "label"), f"label of {what}")


def _check_experiments(c: _Checker, experiments, data, models) -> None:
    from painzoo.evaluation.protocols import _ALIASES, PROTOCOLS

    if not isinstance(experiments, list):
        c.fail(
            ("experiments",),
            f"'experiments' must be a list of {{data: name, protocols: [...]}}; received {_show(experiments)}.",
        )
    known = sorted(PROTOCOLS)
    for i, exp in enumerate(experiments):
        path = ("experiments", i)
        what = f"experiments[{i}]"
        exp = c.mapping(exp, path, f"{what} (a mapping with 'data' and 'protocols')")
        c.keys(exp, path, ("data", "protocols", "models"), what)
        if "models" in exp:
            _check_experiment_models(c, exp["models"], (*path, "models"), what, models)
        for key in ("data", "protocols"):
            if key not in exp:
                c.fail(path, f"{what} lacks {key!r}; it needs 'data' and 'protocols'.")
        c.defined_data(exp["data"], data, (*path, "data"), f"{what} uses data")
        protocols = c.nonempty_list(
            exp["protocols"], (*path, "protocols"), f"'protocols' of {what}", ", e.g. [loso]"
        )
        for j, spec in enumerate(protocols):
            ppath = (*path, "protocols", j)
            nested = isinstance(spec, dict)
            spec, args = c.named(spec, ppath, "protocol", "args")
            ppath = (*ppath, spec) if nested else ppath
            args = c.mapping(args or {}, ppath, f"the args of protocol {spec!r}")
            key = _ALIASES.get(spec.lower(), spec.lower())
            c.string(key, ppath, "protocol", choices=known)
            params, var_kw = _parameters(PROTOCOLS[key].__init__, skip=("self",))
            if not var_kw:
                c.keys(args, ppath, params, f"the args of protocol {spec!r}")
            for arg in ("n_splits", "repeats"):
                if arg in args:
                    c.integer(args[arg], (*ppath, arg), arg, minimum=2 if arg == "n_splits" else 1)
            if "seed" in args:
                c.integer(args["seed"], (*ppath, "seed"), "seed", minimum=0, none=True)


def _check_experiment_models(c: _Checker, names, path, what, models) -> None:
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        c.fail(
            path,
            f"'models' of {what} must be a non-empty list of model names from the config's "
            f"'models', e.g. [resnet18]; received {_show(names)}.",
        )
    known = set()
    for entry in models if isinstance(models, list) else []:
        known |= _selectable_names(entry)
    for i, name in enumerate(names):
        if name.lower() not in known:
            c.fail(
                (*path, i),
                f"{what} names model {name!r}, which the config's 'models' does not list; "
                f"{_did_you_mean(name, sorted(known))}listed: {sorted(known)}.",
            )


def _selectable_names(entry) -> set[str]:
    """Lower-case names an experiment's ``models`` may use for a model entry: name and label."""
    names = {_entry_name(entry)}
    opts = next(iter(entry.values()), None) if isinstance(entry, dict) else None
    if isinstance(opts, dict) and isinstance(opts.get("label"), str):
        names.add(opts["label"].lower())
    return names


def apply_overrides(
    config: BenchmarkConfig | dict,
    *,
    out: str | None = None,
    models: list[str] | None = None,
    protocols: list[str] | None = None,
    epochs: int | None = None,
    repeats: int | None = None,
    image_size: int | tuple[int, int] | None = None,
    seed: int | None = None,
    deterministic: bool | None = None,
    **_ignored,
) -> BenchmarkConfig:
    """``config`` with command-line overrides applied, parsed again.

    Args:
        config: A loaded config (or a config dict).
        out: Output folder.
        models: Keep only these names (config entries keep overrides; others are added plainly).
        protocols: Keep only these protocol names (``loso``, ``image_kfold``, ``subject_kfold``,
            ``cross_dataset``); experiments left with none are dropped.
        epochs: Override the recipe's epochs.
        repeats: Override the K-fold repeats and every CrossDataset's repeats.
        image_size: Override the input size: a side or ``(height, width)``.
        seed: Override the base seed.
        deterministic: Override deterministic ops.

    Returns:
        A new :class:`BenchmarkConfig`; ``None`` arguments change nothing.

    Raises:
        ValueError: If a protocol filter leaves nothing to run.
    """
    hw = _check_numbers(epochs=epochs, repeats=repeats, image_size=image_size, seed=seed)
    config = config.to_dict() if isinstance(config, BenchmarkConfig) else copy.deepcopy(config)
    if deterministic is not None:
        config["deterministic"] = bool(deterministic)
    if out is not None:
        config["out"] = str(out)
    if hw is not None:
        config["image_size"] = hw[0] if hw[0] == hw[1] else list(hw)
        _render_at_least(config, max(hw))
    if seed is not None:
        config["seed"] = int(seed)
    if epochs is not None:
        recipe = config.get("recipe") or {}
        recipe = {"preset": recipe} if isinstance(recipe, str) else dict(recipe)
        config["recipe"] = {**recipe, "epochs": int(epochs)}
    if models:
        _keep_models(config, models)
    if protocols:
        _keep_protocols(config, protocols)
    if repeats is not None:
        config["repeats"] = int(repeats)
        for exp in config["experiments"]:
            exp["protocols"] = [_with_repeats(p, int(repeats)) for p in exp["protocols"]]
    return load_config(config)


def _check_numbers(*, image_size, **numbers) -> tuple[int, int] | None:
    """Check the numeric overrides (``--epochs`` …); return ``image_size`` as ``(h, w)``."""
    sides = () if image_size is None else image_size
    if not isinstance(sides, (list, tuple)):
        sides = (sides, sides)
    if len(sides) not in (0, 2):
        raise ConfigError(f"--image-size must be a side or [height, width]; received {sides!r}.")
    checks = [(k, v, 0 if k == "seed" else 1) for k, v in numbers.items()]
    for key, value, low in [*checks, *[("image_size", v, 1) for v in sides]]:
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < low
        ):
            raise ConfigError(
                f"--{key.replace('_', '-')} must be an integer >= {low}; received {value!r}."
            )
    return tuple(int(v) for v in sides) or None


def _keep_models(config: dict, models) -> None:
    """Keep only ``models`` (names not in the config are added plainly), and the
    experiments that still train one of them."""
    wanted = [m.lower() for m in models]
    kept = [e for e in config["models"] if _entry_name(e) in wanted]
    have = {_entry_name(e) for e in kept}
    config["models"] = kept + [m for m in wanted if m not in have]
    # An experiment that names its models (by name or label) keeps those still asked for.
    selectable = set().union(*(_selectable_names(e) for e in kept), wanted)
    experiments = []
    for exp in config["experiments"]:
        if exp.get("models"):
            keep = [m for m in exp["models"] if str(m).lower() in selectable]
            if not keep:
                continue
            exp = {**exp, "models": keep}
        experiments.append(exp)
    if not experiments:
        raise ValueError(
            f"No experiment of config {config.get('name')!r} trains the model(s) {models}."
        )
    config["experiments"] = experiments


def _keep_protocols(config: dict, protocols) -> None:
    """Keep only the experiments' ``protocols`` (by name); drop experiments left with none."""
    from painzoo.evaluation.protocols import get_protocol

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


def _render_at_least(config: dict, side: int) -> None:
    """Render synthetic data at least at ``side`` pixels, so that ``--image-size`` never trains on
    upsampled, blurred faces (a larger render is kept: shrinking loses nothing)."""
    from painzoo.datasets.synthetic import make_synthetic

    default = inspect.signature(make_synthetic).parameters["image_size"].default
    for entry in (config.get("data") or {}).values():
        if isinstance(entry, dict) and "synthetic" in entry:
            args = dict(entry.get("args") or {})
            if int(args.get("image_size", default)) < side:
                args["image_size"] = side
                entry["args"] = args


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


def expand_models(entries, *, recipe=None, image_size=None) -> list[ModelEntry]:
    """Model entries of a config → a flat list of :class:`ModelEntry`, sweeps expanded.

    A list value in an entry's keyword overrides gives one model per value (several lists: their
    Cartesian product); the label names the swept values, e.g. ``painseeker[prsc_weight=0.5]``.

    Args:
        entries: The config's ``models`` list.
        recipe: The config's recipe (a Recipe or config entry), changed by an entry's ``recipe``.
        image_size: The config's input size, for entries that set none.

    Raises:
        ValueError: For a malformed entry, or recipe overrides that do not build.
    """
    from painzoo.preprocess.spec import input_size
    from painzoo.training.recipe import Recipe

    base = Recipe.from_config(recipe)
    out: list[ModelEntry] = []
    for entry in entries:
        name = _entry_name(entry)
        opts = {} if isinstance(entry, str) else dict(next(iter(entry.values())) or {})
        overrides = opts.pop("recipe", None) or {}
        model_recipe = base.replace(**overrides) if overrides else base
        size = input_size(opts.pop("image_size", None)) or image_size
        label = opts.pop("label", None) or name
        swept = {k: v for k, v in opts.items() if isinstance(v, list)}
        fixed = {k: v for k, v in opts.items() if k not in swept}
        for combo in itertools.product(*swept.values()):
            values = dict(zip(swept, combo))
            tag = ",".join(f"{k}={v}" for k, v in values.items())
            full = label + (f"[{tag}]" if tag else "")
            out.append(ModelEntry(name, full, {**fixed, **values}, model_recipe, size, values))
    return out


# -- checks that need the registry and the data ---------------------------------------
def check_config(config: BenchmarkConfig | dict) -> None:
    """Check what a run needs beyond :func:`load_config`'s checks, before any training.

    Every model name resolves in the registry (or is an LBP baseline) and
    takes its keyword overrides; every data entry that reads files is built
    (tables, labels, files, duplicates, bad images). Synthetic data is not rendered.

    Args:
        config: A config from :func:`load_config` or :func:`apply_overrides` (a dict is loaded).

    Raises:
        ConfigError: Naming the file, line and key, and what would fix it.
    """
    from painzoo.datasets.entries import load_entry

    if not isinstance(config, BenchmarkConfig):
        config = load_config(config)
    c = _Checker(config.raw)
    _check_model_names(c, config.raw["models"])
    for name in dict.fromkeys(exp.data for exp in config.experiments):
        if config.data[name].synthetic:
            continue
        try:
            load_entry(name, config.data_specs, config_dir=config.config_dir)
        except (ValueError, FileNotFoundError, TypeError, OSError) as err:
            c.fail(("data", name), f"data {name!r} cannot be loaded: {err}")


def _check_model_names(c: _Checker, entries: list) -> None:
    from painzoo.models.lbp_svm import list_baselines
    from painzoo.registry import get_model, list_models, model_kind
    from painzoo.training.learner import learner_class

    for i, entry in enumerate(entries):
        name = _entry_name(entry)
        path = ("models", i) if isinstance(entry, str) else ("models", i, next(iter(entry)))
        opts = {} if isinstance(entry, str) else dict(next(iter(entry.values())) or {})
        kwargs = {k: v for k, v in opts.items() if k not in MODEL_RESERVED}
        if model_kind(name) is None:
            known = list_models() + list_baselines()
            close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(repr(x) for x in close)}? " if close else ""
            c.fail(
                path,
                f"unknown model {name!r}; {hint}`painzoo models` lists the zoo "
                "(baselines are named lbp_svm_r<R>p<P>_<G>x<G>).",
            )
        if not learner_class(name).trains_network:  # a baseline: build it with the overrides
            try:
                get_model(
                    name, **{k: v[0] if isinstance(v, list) else v for k, v in kwargs.items()}
                )
            except (TypeError, ValueError) as err:
                c.fail(path, f"baseline {name!r} does not accept these overrides: {err}")
            continue
        params, var_kw = builder_parameters(name)
        if not var_kw:
            allowed = [p for p in params if p not in ("num_classes", "input_shape")]
            c.keys(kwargs, path, [*allowed, *MODEL_RESERVED], f"the overrides of model {name!r}")


def builder_parameters(name: str) -> tuple[list[str], bool]:
    """Keyword names the builder of model ``name`` accepts, and whether it takes ``**kwargs``.

    A zoo builder (a ``"module:function"`` of :data:`painzoo.models.zoo.ZOO`) is read from its
    module's source, so checking a config imports no backend; a model registered from outside
    painzoo is inspected (its module, already imported, registered it). Keywords the zoo entry
    fixes are not the user's to set and are left out.
    """
    import ast
    import importlib.util

    from painzoo.registry import _entry, _lookup

    builder, _, fixed = _entry(name)
    if not isinstance(builder, str):
        return _parameters(builder)
    module, function = builder.split(":")
    source = importlib.util.find_spec(module).origin
    for node in ast.parse(Path(source).read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            args = node.args
            names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
            return [n for n in names if n not in fixed], args.kwarg is not None
    return _parameters(_lookup(name)[0])
