"""MkDocs hook: fill generated tables into pages at build time.

``<!-- painzoo:model-table -->`` in a page becomes the model-zoo table built
from the registry's table, ``painzoo/models/zoo.py``, so the table is never
maintained by hand. That module imports nothing; the hook loads it from its
file, not as part of painzoo, so the site builds with the ``docs`` extra alone,
without painzoo's dependencies, Keras or a backend.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

MODEL_TABLE = "<!-- painzoo:model-table -->"
ZOO_FILE = Path(__file__).resolve().parents[1] / "painzoo" / "models" / "zoo.py"


def _zoo(path: Path) -> dict[str, dict]:
    spec = importlib.util.spec_from_file_location("painzoo_zoo_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ZOO


def model_table(zoo_file: Path = ZOO_FILE) -> str:
    """The zoo's networks (``kind: keras``, as ``painzoo.list_models()``) as Markdown.

    Two tables, so that each fits the page: the figures (input, parameter
    counts, the paper's figure, weights, smallest input), then the reference of
    each network.
    """
    networks = [
        {"name": name, **entry}
        for name, entry in sorted(_zoo(zoo_file).items())
        if entry.get("kind", "keras") == "keras"
    ]
    figures = [
        "| model | input | parameters, 2\u00a0classes | parameters, 6\u00a0classes | paper | "
        "weights | smallest input |",
        "|---|---|---:|---:|---:|---|---:|",
    ]
    references = ["| model | reference |", "|---|---|"]
    for info in networks:
        shape = "×".join(str(s) for s in info["input_shape"][:2])
        p2 = f"{info['params']:,}" if info.get("params") else "–"
        p6 = f"{info['params_6']:,}" if info.get("params_6") else "–"
        weights = ", ".join(info.get("weights") or []) or "file path"
        smallest = (info.get("extra") or {}).get("min_input", "–")
        paper = (info.get("paper_params") or "–").replace(" ", "\u00a0")  # "184.9 M" on one line
        figures.append(
            f"| `{info['name']}` | {shape} | {p2} | {p6} | {paper} | {weights} | {smallest} |"
        )
        references.append(f"| `{info['name']}` | {info['citation'].split('. Used by')[0]} |")
    return "\n".join([*figures, "", "The reference of each network:", "", *references])


def on_page_markdown(markdown, page, config, files):  # noqa: ARG001 - MkDocs hook signature
    if MODEL_TABLE in markdown:
        markdown = markdown.replace(MODEL_TABLE, model_table())
    return markdown
