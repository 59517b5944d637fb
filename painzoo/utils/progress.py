"""An optional progress bar: tqdm on stderr when asked for, else a stand-in that does nothing."""

from __future__ import annotations

__all__ = ["progress_bar"]


class _NoBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def update(self, n: int = 1) -> None:
        return None

    def close(self) -> None:
        return None


def progress_bar(show: bool, *, total: int | None = None, desc: str, unit: str = "frame"):
    """A tqdm bar when ``show``, else an object with the same ``update``, ``close`` and ``with``."""
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=unit, desc=desc)
