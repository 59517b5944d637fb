"""Where a run's files live: a local folder or a URI of a pyarrow filesystem.

The runner and every executor write a unit's files through
:class:`RunStorage`, so ``OUT`` may be a plain path (on a shared file
system when units run on several machines) or any URI that
``pyarrow.fs.FileSystem.from_uri`` understands: ``file:///shared/runs``,
``s3://bucket/runs``, ``gs://bucket/runs``, ``hdfs://namenode/runs``.

A file is written to a temporary name and renamed where the file system
renames atomically (local disks, NFS, HDFS), so a reader never sees half a
file; object stores (S3, GCS, Azure) publish an object only when its upload
completes, so there the file is written in place.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from pathlib import Path

__all__ = ["RunStorage", "is_uri"]

# Filesystems on which a rename is atomic; on the others a rename is copy + delete.
_RENAME_ATOMIC = ("local", "hdfs")


def is_uri(out) -> bool:
    """Whether ``out`` is a URI (``scheme://…``) rather than a local path."""
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]+://", str(out)) is not None


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a local ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to a local ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


class RunStorage:
    """Read and write the files of one output folder, local or remote.

    Args:
        out: A local folder or a pyarrow filesystem URI.
        filesystem: Optional ``pyarrow.fs.FileSystem`` to use with ``out``
            as a path inside it (instead of resolving a URI).

    Raises:
        ImportError: For a URI when pyarrow is not installed.
        ValueError: For a URI pyarrow cannot resolve.

    Example:
        >>> store = RunStorage("file:///shared/painzoo-results")
        >>> store.write_text("runs/a/metrics.json", "{}")
        >>> store.exists("runs/a/metrics.json")
        True
    """

    def __init__(self, out, *, filesystem=None):
        self.out = str(out)
        self._fs = filesystem
        if filesystem is not None:
            self._base = str(out).rstrip("/")
        elif is_uri(out):
            try:
                from pyarrow import fs as pafs
            except ImportError as err:  # pragma: no cover - pyarrow ships with ray
                raise ImportError(
                    f'Writing results to the URI {out!r} needs pyarrow: pip install "painzoo[ray]" '
                    "(or pip install pyarrow)."
                ) from err
            try:
                self._fs, base = pafs.FileSystem.from_uri(str(out))
            except Exception as err:
                raise ValueError(
                    f"pyarrow cannot open the output URI {out!r} ({err}); use a local path or a "
                    "URI such as file:///path, s3://bucket/path or gs://bucket/path."
                ) from err
            self._base = base.rstrip("/")
        else:
            self._base = str(Path(out).expanduser().resolve())

    # -- where ------------------------------------------------------------------------
    @property
    def is_local(self) -> bool:
        """Whether the files are on a local (or locally mounted) file system."""
        return self._fs is None or self._fs.type_name == "local"

    @property
    def local_path(self) -> Path | None:
        """The folder as a local path, or ``None`` on a remote file system."""
        return Path(self._base) if self.is_local else None

    @property
    def location(self) -> str:
        """An absolute form of ``out`` that other machines can use (path or URI)."""
        return self.out if self._fs is not None else self._base

    def _path(self, rel: str) -> str:
        return f"{self._base}/{rel}" if rel else self._base

    # -- files ------------------------------------------------------------------------
    def write_text(self, rel: str, text: str) -> None:
        """Write ``text`` to ``rel`` (a ``/``-separated path under the folder), atomically
        where the file system renames atomically."""
        data = text.encode("utf-8")
        if self._fs is None:
            atomic_write_bytes(Path(self._path(rel)), data)
            return
        path = self._path(rel)
        parent = path.rsplit("/", 1)[0]
        self._fs.create_dir(parent, recursive=True)
        if self._fs.type_name not in _RENAME_ATOMIC:
            with self._fs.open_output_stream(path) as f:
                f.write(data)
            return
        name = path.rsplit("/", 1)[1]
        tmp = f"{parent}/.{name}.{uuid.uuid4().hex}"
        try:
            with self._fs.open_output_stream(tmp) as f:
                f.write(data)
            self._fs.move(tmp, path)
        except BaseException:
            if self._exists(tmp):
                self._fs.delete_file(tmp)
            raise

    def read_text(self, rel: str) -> str:
        """The text of ``rel``."""
        if self._fs is None:
            return Path(self._path(rel)).read_text(encoding="utf-8")
        with self._fs.open_input_stream(self._path(rel)) as f:
            return f.read().decode("utf-8")

    def exists(self, rel: str) -> bool:
        """Whether ``rel`` is an existing file."""
        if self._fs is None:
            return Path(self._path(rel)).is_file()
        return self._exists(self._path(rel))

    def _exists(self, path: str) -> bool:
        from pyarrow import fs as pafs

        return self._fs.get_file_info(path).type == pafs.FileType.File

    def remove(self, rel: str) -> None:
        """Delete ``rel`` if it exists."""
        if self._fs is None:
            Path(self._path(rel)).unlink(missing_ok=True)
        elif self._exists(self._path(rel)):
            self._fs.delete_file(self._path(rel))

    # -- mirroring (reports of remote runs are computed on a local copy) -----------------
    def download(self, rels, dest) -> int:
        """Copy the existing files among ``rels`` to the same relative paths under ``dest``.

        Returns:
            How many files were copied.
        """
        n = 0
        for rel in rels:
            if self.exists(rel):
                target = Path(dest) / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(self.read_text(rel), encoding="utf-8")
                n += 1
        return n

    def upload(self, src, rels) -> None:
        """Copy ``src/<rel>`` for every ``rel`` (text or binary) to the folder."""
        for rel in rels:
            data = (Path(src) / rel).read_bytes()
            if self._fs is None:
                target = Path(self._path(rel))
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                continue
            path = self._path(rel)
            self._fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
            with self._fs.open_output_stream(path) as f:
                f.write(data)

    def __repr__(self) -> str:
        return f"RunStorage({self.out!r})"
