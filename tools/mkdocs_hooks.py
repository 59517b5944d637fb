"""MkDocs hook: fill generated tables into pages at build time.

``<!-- painzoo:model-table -->`` in a page becomes the model-zoo table built
from ``painzoo/catalog.json`` (the registry's metadata, which a test keeps equal
to the registry), so the table is never maintained by hand. The hook reads
that file as JSON and imports nothing of painzoo: the site builds with the
``docs`` extra alone, without Keras or a backend.
"""

from __future__ import annotations

import json
from pathlib import Path

MODEL_TABLE = "<!-- painzoo:model-table -->"
CATALOG = Path(__file__).resolve().parents[1] / "painzoo" / "catalog.json"


def model_table(catalog: Path = CATALOG) -> str:
    """The zoo's networks (``kind: keras``, as ``painzoo.list_models()``) as Markdown.

    Two tables, so that each fits the page: the figures (input, parameter
    counts, the paper's figure, weights, smallest input), then the reference of
    each network.
    """
    rows = json.loads(catalog.read_text(encoding="utf-8"))
    networks = [
        info
        for info in sorted(rows, key=lambda row: row["name"])
        if info.get("kind", "keras") == "keras"
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
