"""An optional progress bar on stderr."""

from __future__ import annotations

__all__ = ["progress_bar"]


def progress_bar(show: bool, *, total: int | None = None, desc: str, unit: str = "frame"):
    """A tqdm bar on stderr when ``show``, else a disabled one (same methods, prints nothing)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=unit, desc=desc, disable=not show)
