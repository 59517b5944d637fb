"""The figures of a benchmark report: Matplotlib without a display, one style, one save."""

from __future__ import annotations

from painzoo.benchmark.storage import save_figure

__all__ = ["STYLE", "pyplot", "save", "style"]

#: Font sizes of every figure (points at the saved size; nothing below 9).
STYLE = {
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.title_fontsize": 9,
    "figure.titlesize": 11,
}
_DPI = 100


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def style():
    """A context in which figures get the report's font sizes (:data:`STYLE`)."""
    return pyplot().rc_context(STYLE)


def save(fig, path) -> None:
    """Save with everything drawn inside the image (nothing cut off), then close."""
    save_figure(fig, path, dpi=_DPI, bbox_inches="tight")
    pyplot().close(fig)
