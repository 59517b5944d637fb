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
    """The zoo's networks (``kind: keras``, as ``painzoo.list_models()``) as a Markdown table."""
    rows = json.loads(catalog.read_text(encoding="utf-8"))
    lines = [
        "| model | input | parameters, 2 classes | parameters, 6 classes | paper | "
        "weights | smallest input | reference |",
        "|---|---|---:|---:|---:|---|---:|---|",
    ]
    for info in sorted(rows, key=lambda row: row["name"]):
        if info.get("kind", "keras") != "keras":
            continue
        shape = "×".join(str(s) for s in info["input_shape"][:2])
        p2 = f"{info['params']:,}" if info.get("params") else "–"
        p6 = f"{info['params_6']:,}" if info.get("params_6") else "–"
        weights = ", ".join(info.get("weights") or []) or "file path"
        smallest = (info.get("extra") or {}).get("min_input", "–")
        reference = info["citation"].split(". Used by")[0]
        lines.append(
            f"| `{info['name']}` | {shape} | {p2} | {p6} | {info.get('paper_params') or '–'} "
            f"| {weights} | {smallest} | {reference} |"
        )
    return "\n".join(lines)


def on_page_markdown(markdown, page, config, files):  # noqa: ARG001 - MkDocs hook signature
    if MODEL_TABLE in markdown:
        markdown = markdown.replace(MODEL_TABLE, model_table())
    return markdown
