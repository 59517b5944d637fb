"""The one atomic file write of painzoo: a temporary file, then a rename.

Every file painzoo writes for a reader that may look at it at any moment
(results, reports, model cards, face-crop metadata, converted weights) goes
through :func:`atomic_write_bytes`, so that reader sees the old file or the
new one, never half a file, and a failed write leaves the old file in place.
:mod:`painzoo.benchmark.storage` adds the run folder's error message on top.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text"]


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a local ``path`` through a temporary file and a rename.

    Missing parent folders are created. The file gets mode ``0666`` minus the
    umask, like a file made by ``open()`` (``tempfile.mkstemp`` would make it
    ``0600``). The temporary file sits next to ``path`` (a rename across file
    systems is not atomic) under a unique hidden name, so two writers never
    share it.

    Raises:
        OSError: From the file system (read-only, full, …); the old file, if
            any, is untouched and no temporary file is left behind.

    Example:
        >>> atomic_write_bytes("out/model.json", b"{}")  # doctest: +SKIP
    """
    path = Path(path)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to a local ``path`` atomically (:func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode("utf-8"))
