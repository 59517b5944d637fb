"""MkDocs hook: fill generated tables into pages at build time.

``<!-- painzoo:model-table -->`` in a page becomes the model-zoo table built
from the registry, so the table is never maintained by hand.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

MODEL_TABLE = "<!-- painzoo:model-table -->"


def model_table() -> str:
    """The zoo as a Markdown table, from ``painzoo.list_models`` / ``model_info``."""
    import painzoo

    lines = [
        "| model | input | parameters, 2 classes | parameters, 6 classes | paper | "
        "weights | smallest input | reference |",
        "|---|---|---:|---:|---:|---|---:|---|",
    ]
    for name in painzoo.list_models():
        info = painzoo.model_info(name)
        shape = "×".join(str(s) for s in info.input_shape[:2])
        p2 = f"{info.params:,}" if info.params else "–"
        p6 = f"{info.params_6:,}" if info.params_6 else "–"
        weights = ", ".join(info.weights) or "file path"
        smallest = info.extra.get("min_input", "–")
        reference = info.citation.split(". Used by")[0]
        lines.append(
            f"| `{name}` | {shape} | {p2} | {p6} | {info.paper_params or '–'} | {weights} "
            f"| {smallest} | {reference} |"
        )
    return "\n".join(lines)


def on_page_markdown(markdown, page, config, files):  # noqa: ARG001 - MkDocs hook signature
    if MODEL_TABLE in markdown:
        markdown = markdown.replace(MODEL_TABLE, model_table())
    return markdown
