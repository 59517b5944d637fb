"""The zoo's metadata as a table, without importing Keras or building a model.

``painzoo models`` prints the zoo in well under a second; importing the
model modules would import Keras and its backend (TensorFlow: seconds). So
the :class:`~painzoo.registry.ModelInfo` of every zoo model is also stored in
``catalog.json`` beside this file. A test compares it with the registry;
after changing a model's ``ModelInfo``, rewrite it with::

    python -m painzoo.catalog
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from painzoo.registry import ModelInfo

__all__ = ["CATALOG_FILE", "build_catalog", "load_catalog", "write_catalog"]

#: Where the table is stored (shipped with the package).
CATALOG_FILE = Path(__file__).with_name("catalog.json")


def _to_plain(info: ModelInfo) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(info)))


def load_catalog(path: str | Path = CATALOG_FILE) -> list[ModelInfo]:
    """The stored :class:`ModelInfo` of every zoo model (every kind), sorted by name."""
    rows = json.loads(Path(path).read_text(encoding="utf-8"))
    out = []
    for row in rows:
        for key in ("input_shape", "weights", "tags"):
            row[key] = tuple(row[key])
        out.append(ModelInfo(**row))
    return out


def build_catalog() -> list[dict]:
    """The registry's metadata of every zoo model as plain data (imports the zoo).

    Models registered from outside painzoo (a user's or a test's plug-in) are
    not part of the shipped catalog.
    """
    import painzoo.models  # noqa: F401  (registers the zoo)
    from painzoo.registry import _REGISTRY, list_models, model_info

    return [
        _to_plain(model_info(name))
        for name in list_models(kind=None)  # every kind: the networks and the LBP baselines
        if _REGISTRY[name][0].__module__.startswith("painzoo.")
    ]


def write_catalog(path: str | Path = CATALOG_FILE) -> Path:
    """Write :func:`build_catalog` to ``path`` (default: the shipped file)."""
    path = Path(path)
    rows = [json.dumps(row, ensure_ascii=False) for row in build_catalog()]
    path.write_text("[\n" + ",\n".join(rows) + "\n]\n", encoding="utf-8")  # a line a model
    return path


if __name__ == "__main__":  # pragma: no cover
    print(write_catalog())
