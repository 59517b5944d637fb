"""The model card ``model.json`` and loading a trained painzoo model.

The card never holds a subject id or a file name from the training data.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from painzoo._version import __version__
from painzoo.datasets.labels import CLASS_NAMES, DECISION_THRESHOLD, POSITIVE_CLASS
from painzoo.explain.files import load_model as load_keras
from painzoo.preprocess.spec import InputSpec, resolve_input_spec
from painzoo.utils.files import atomic_write_text

__all__ = [
    "CARD_FORMAT",
    "CLASS_NAMES",
    "PainModel",
    "benchmark_metrics",
    "data_summary",
    "load_model",
    "make_card",
    "read_card",
]

CARD_FORMAT = "painzoo-model-card"
CARD_VERSION = 1
MODEL_FILE = "model.keras"
CARD_FILE = "model.json"


def data_summary(dataset) -> dict:
    """Counts of a training :class:`~painzoo.datasets.Dataset` (images, subjects, per class, sources), without any id."""
    labels = np.asarray(dataset.labels, int)
    subjects = np.asarray(dataset.subjects)
    per_class = {}
    for value, name in enumerate(CLASS_NAMES):
        mask = labels == value
        per_class[name] = {
            "images": int(mask.sum()),
            "subjects": int(len(np.unique(subjects[mask]))),
        }
    sources, counts = np.unique(np.asarray(dataset.sources), return_counts=True)
    return {
        "name": str(getattr(dataset, "name", "dataset")),
        "images": int(len(labels)),
        "subjects": int(len(np.unique(subjects))),
        "per_class": per_class,
        "sources": {str(s): int(c) for s, c in zip(sources, counts)},
        "image_size": image_size_summary(dataset),
    }


def image_size_summary(dataset, sample: int = 64) -> dict | None:
    """Median and range of the image sides (``[height, width]``) of up to ``sample`` images; ``None`` if none is readable."""
    from PIL import Image

    if getattr(dataset, "images", None) is not None:
        h, w = (int(v) for v in dataset.images.shape[1:3])
        return {"median": [h, w], "min": [h, w], "max": [h, w]}
    paths = dataset.image_paths
    if not paths:
        return None
    picks = np.unique(np.linspace(0, len(paths) - 1, min(sample, len(paths))).astype(int))
    sizes = []
    for i in picks:
        try:
            with Image.open(paths[i]) as im:
                sizes.append((im.height, im.width))
        except (OSError, ValueError):
            continue
    if not sizes:
        return None
    arr = np.asarray(sizes)
    return {
        "median": [int(v) for v in np.median(arr, axis=0)],
        "min": [int(v) for v in arr.min(axis=0)],
        "max": [int(v) for v in arr.max(axis=0)],
    }


def benchmark_metrics(results: str | os.PathLike, *, model: str, data: str) -> list[dict]:
    """Rows of a benchmark's ``results/summary.csv`` for one ``model`` (label or zoo name) on ``data``, one dict per protocol.

    Raises:
        FileNotFoundError: If ``results/summary.csv`` does not exist.
        ValueError: If the summary has no row for this model and data.
    """
    import pandas as pd

    path = Path(results) / "summary.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist; --results must be the output folder of a finished "
            "`painzoo benchmark` run (it writes summary.csv)."
        )
    table = pd.read_csv(path)
    by_model = (table.get("model") == model) | (table.get("model_name") == model)
    rows = table[by_model & (table.get("data") == data)]
    if rows.empty:
        have = sorted({f"{m} on {d}" for m, d in zip(table.get("model"), table.get("data"))})
        raise ValueError(
            f"{path} has no result of model {model!r} on data {data!r}; it holds: "
            f"{', '.join(have) or 'nothing'}. Pass the results folder of the same model and data."
        )
    out = []
    for _, row in rows.iterrows():
        clean = {}
        for key, value in row.items():
            if isinstance(value, float) and np.isnan(value):
                continue
            clean[str(key)] = value.item() if isinstance(value, np.generic) else value
        out.append(clean)
    return out


def make_card(
    *,
    model_name: str,
    model_kwargs: dict,
    keras_model,
    face_crop: dict | None,
    dataset,
    input_spec: InputSpec | None = None,
    recipe: dict,
    data_name: str,
    config_name: str | None = None,
    benchmark: list[dict] | None = None,
    threshold: float = DECISION_THRESHOLD,
    training: dict | None = None,
) -> dict:
    """The model card of a freshly trained model, as a JSON-ready dict.

    ``face_crop`` is the cropper settings that made the training images (``None``: none); the
    ``dataset``'s ``preprocessing`` record and image sizes go in too; ``training`` is
    :func:`painzoo.evaluation.metrics.learning_record`'s; ``input_spec`` is the one the
    model was trained with (default: resolved from ``keras_model`` and ``recipe``).
    """
    import keras

    spec = input_spec or resolve_input_spec(keras_model, recipe=recipe)
    return {
        "format": CARD_FORMAT,
        "card_version": CARD_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "painzoo_version": __version__,
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
        "model": {
            "name": model_name,
            "kwargs": dict(model_kwargs or {}),
            "file": MODEL_FILE,
            "params": int(keras_model.count_params()),
        },
        "input": {
            "image_size": [spec.height, spec.width],
            "channels": spec.channels,
            "color": "RGB",
            "dtype": "float32",
            "value_range": list(spec.value_range),
            "interpolation": spec.interpolation,
            "test_resize": spec.test_resize,
        },
        "face_crop": None if not face_crop else dict(face_crop),
        "preprocessing": getattr(dataset, "preprocessing", None),
        "class_names": list(CLASS_NAMES),
        "positive_class": POSITIVE_CLASS,
        "threshold": float(threshold),
        "training_data": {**data_summary(dataset), "name": data_name},
        "config": config_name,
        "recipe": dict(recipe),
        "benchmark": benchmark,
        "training": None if training is None else dict(training),
    }


def read_card(path: str | os.PathLike) -> dict:
    """Read and check a ``model.json``.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it is not JSON or not a painzoo model card.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Model card {path} does not exist.")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not a painzoo model card: it is not JSON ({err}).") from None
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise ValueError(
            f'{path} is not a painzoo model card (no "format": "{CARD_FORMAT}"); '
            "pass the folder written by `painzoo train`."
        )
    for key in ("input", "class_names"):
        if key not in card:
            raise ValueError(
                f"Model card {path} lacks the key {key!r}; retrain with painzoo train."
            )
    return card


@dataclass
class PainModel:
    """A trained network (``keras_model``, on RGB float32 in [0, 255]) with its model ``card`` and ``path``."""

    keras_model: object
    card: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def input_size(self) -> tuple[int, int]:
        """``(height, width)`` of the network input."""
        return self.input_spec.size

    @property
    def input_spec(self) -> InputSpec:
        """How a face becomes the network input; a card without ``input.test_resize`` takes the recipe's."""
        info = self.card["input"]
        h, w = info["image_size"]
        recipe = self.card.get("recipe") or {}
        return InputSpec(
            int(h),
            int(w),
            channels=int(info.get("channels", 3)),
            interpolation=info.get("interpolation", "auto"),
            value_range=tuple(info.get("value_range", (0, 255))),
            test_resize=info.get("test_resize", recipe.get("test_resize")),
        )

    @property
    def threshold(self) -> float:
        """Decision threshold on ``p_pain`` (0.5 unless the card says otherwise)."""
        return float(self.card.get("threshold", DECISION_THRESHOLD))

    @property
    def class_names(self) -> list[str]:
        return list(self.card.get("class_names", CLASS_NAMES))

    @property
    def face_crop(self) -> dict | None:
        """The face-crop settings used for the training images (``None`` = no cropping)."""
        return self.card.get("face_crop")

    @property
    def training_image_size(self) -> tuple[int, int] | None:
        """Median ``(height, width)`` of the training images, when the card records it."""
        size = ((self.card.get("training_data") or {}).get("image_size") or {}).get("median")
        return None if not size else (int(size[0]), int(size[1]))

    @classmethod
    def from_keras(cls, keras_model, *, face_crop: dict | None = None) -> PainModel:
        """Wrap a Keras model that has no card (input spec read from the model)."""
        shape = keras_model.input_shape
        if isinstance(shape, list):
            shape = shape[0]
        if len(shape) != 4 or shape[1] is None or shape[2] is None:
            raise ValueError(
                f"The model takes inputs of shape {shape}; painzoo.predict needs images "
                "[batch, height, width, channels] with a fixed height and width."
            )
        card = {
            "format": CARD_FORMAT,
            "input": {
                "image_size": [int(shape[1]), int(shape[2])],
                "channels": int(shape[3]),
                "value_range": [0, 255],
            },
            "face_crop": face_crop,
            "class_names": list(CLASS_NAMES),
            "threshold": DECISION_THRESHOLD,
        }
        return cls(keras_model, card)


def load_model(path: str | os.PathLike) -> PainModel:
    """Load a model written by ``painzoo train`` (its folder, ``model.json`` or ``model.keras``).

    A ``.keras`` file without a ``model.json`` beside it loads with a warning and no face cropping.

    Raises:
        FileNotFoundError: If nothing is found at ``path``.
        ValueError: If the file is not a painzoo model (the message names it).
    """
    import warnings

    path = Path(path)
    if path.is_dir():
        card_path, model_path = path / CARD_FILE, path / MODEL_FILE
        if not card_path.is_file():
            raise ValueError(
                f"{path} is not a painzoo model folder: it has no {CARD_FILE}. Pass the "
                "output folder of `painzoo train` (model.keras + model.json)."
            )
    elif path.suffix == ".json":
        card_path = path
        model_path = path.parent / MODEL_FILE
    elif path.is_file():
        card_path, model_path = path.parent / CARD_FILE, path
    else:
        raise FileNotFoundError(f"Model {path} does not exist.")
    card = read_card(card_path) if card_path.is_file() else None
    if card is not None:
        model_path = card_path.parent / card.get("model", {}).get("file", MODEL_FILE)
    if not model_path.is_file():
        raise FileNotFoundError(
            f"Model file {model_path} does not exist (the card {card_path} points to it)."
        )
    try:
        keras_model = load_keras(model_path)
    except Exception as err:  # Keras raises many kinds for a foreign file
        raise ValueError(
            f"{model_path} is not a painzoo model: Keras cannot load it "
            f"({type(err).__name__}: {str(err)[:200]}). Pass the output folder of "
            "`painzoo train`."
        ) from None
    _check_output(keras_model, model_path)
    if card is None:
        warnings.warn(
            f"{model_path} has no {CARD_FILE} beside it; predicting without face cropping "
            f"and with threshold {DECISION_THRESHOLD:g}. Models written by `painzoo train` carry "
            "a card.",
            stacklevel=2,
        )
        model = PainModel.from_keras(keras_model)
        model.path = model_path
        return model
    return PainModel(keras_model, card, model_path)


def _check_output(keras_model, path) -> None:
    shape = keras_model.output_shape
    if isinstance(shape, list) or shape[-1] != len(CLASS_NAMES):
        raise ValueError(
            f"{path} is not a painzoo pain model: its output has shape {shape}, not "
            f"[batch, {len(CLASS_NAMES)}] class probabilities."
        )


def write_card(card: dict, folder: str | os.PathLike) -> Path:
    """Write ``card`` atomically as strict JSON ``folder/model.json`` (non-finite numbers as ``null``).

    Raises:
        TypeError: For a value that is not JSON data (the message names it).
    """
    target = Path(folder) / CARD_FILE
    text = json.dumps(_finite(card), indent=2, default=_json_default, allow_nan=False)
    atomic_write_text(target, text + "\n")
    return target


def _finite(value):
    """``value`` with NumPy scalars and arrays made plain and every NaN or ±inf made ``None``."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_finite(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _json_default(o):
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
