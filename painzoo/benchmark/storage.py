"""Where a run's files live: a local folder or a URI of a pyarrow filesystem.

The runner and every executor write a unit's files through :class:`RunStorage`, so ``OUT`` may
be a plain path (shared when units run on several machines) or any URI that
``pyarrow.fs.FileSystem.from_uri`` understands: ``file:///shared/runs``, ``s3://bucket/runs``,
``gs://bucket/runs``, ``hdfs://namenode/runs``.

A file is written to a temporary name and renamed where renames are atomic (local disks, NFS,
HDFS); object stores publish an object only when its upload completes, so there it is written in
place. :class:`OutputLock` keeps two runs off one folder; a read-only or full folder raises
:class:`OutputWriteError`.
"""

from __future__ import annotations

import datetime
import errno
import io
import json
import os
import re
import socket
import time
import uuid
import warnings
from pathlib import Path

import numpy as np

from painzoo.utils import files

__all__ = [
    "RunStorage",
    "is_uri",
    "atomic_write_bytes",
    "atomic_write_text",
    "save_figure",
    "OutputLock",
    "OutputLockedError",
    "OutputWriteError",
]

# Filesystems on which a rename is atomic; on the others a rename is copy + delete.
_RENAME_ATOMIC = ("local", "hdfs")


#: What :func:`json_text` writes other types as.
_JSON_TYPES = {
    np.integer: int,
    np.floating: float,
    np.bool_: bool,
    np.ndarray: np.ndarray.tolist,
    Path: str,
}


def json_text(obj) -> str:
    """``obj`` as indented, key-sorted JSON text, as every run file is written.

    NumPy scalars and arrays, paths and records with a ``to_dict()`` become plain JSON.

    Raises:
        TypeError: For any other object JSON cannot hold.
    """

    def default(o):
        for kind, plain in _JSON_TYPES.items():
            if isinstance(o, kind):
                return plain(o)
        if callable(getattr(o, "to_dict", None)):
            return o.to_dict()
        raise TypeError(f"not JSON serialisable: {type(o).__name__}")

    return json.dumps(obj, indent=2, sort_keys=True, default=default)


def safe_name(text: str) -> str:
    """``text`` as a file or folder name: runs of other characters than
    letters, digits and ``_.=,+-`` become one ``-``."""
    return re.sub(r"[^A-Za-z0-9_.=,+-]+", "-", str(text)).strip("-")


def is_uri(out) -> bool:
    """Whether ``out`` is a URI (``scheme://…``) rather than a local path."""
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]+://", str(out)) is not None


# Errors that mean "this folder cannot take more files", not "this unit is wrong".
_OUTPUT_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT}


class OutputWriteError(OSError):
    """The output folder cannot be written: read-only, not permitted, or full.

    Args:
        path: The file or folder that could not be written.
        cause: The original ``OSError``.
        out: The run's output folder, if known (named in the message).
    """

    def __init__(self, path, cause: OSError, out=None):
        super().__init__(cause.errno, cause.strerror, str(path))
        self.path, self.out = str(path), None if out is None else str(out)
        if cause.errno in (errno.ENOSPC, errno.EDQUOT):
            why, fix = "the disk (or your quota) is full", "free some space"
        else:
            why = "the folder is read-only or not yours to write"
            fix = "make it writable (chmod u+w) or pass another --out"
        where = self.out or str(Path(self.path).parent)
        self.message = (
            f"Cannot write {self.path}: {why} ({cause.strerror or cause}). "
            f"Finished units are kept under {where}; {fix}, then rerun the same command: "
            "finished units are reused, the others run."
        )

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # picklable across processes (worker and Ray executors)
        return (_rebuild_output_error, (self.path, self.errno, self.strerror, self.out))


def _rebuild_output_error(path, code, strerror, out):
    return OutputWriteError(path, OSError(code, strerror), out=out)


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to a local ``path`` atomically (:func:`painzoo.utils.files.atomic_write_bytes`).

    Raises:
        OutputWriteError: If the folder is read-only, not permitted or full.
    """
    try:
        files.atomic_write_bytes(path, data)
    except OSError as err:
        if err.errno in _OUTPUT_ERRNOS and not isinstance(err, OutputWriteError):
            raise OutputWriteError(path, err) from err
        raise


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` (UTF-8) to a local ``path`` atomically (:func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def save_figure(fig, path, **kwargs) -> None:
    """Save a Matplotlib figure to ``path`` atomically (:func:`atomic_write_bytes`).

    Args:
        fig: A ``matplotlib.figure.Figure``.
        path: Target file; its suffix picks the format (``.png``, ``.pdf`` …).
        **kwargs: More ``Figure.savefig`` arguments (``dpi`` …).
    """
    buf = io.BytesIO()
    fig.savefig(buf, format=Path(path).suffix.lstrip(".") or "png", **kwargs)
    atomic_write_bytes(path, buf.getvalue())


# -- one run per folder -------------------------------------------------------------------
class OutputLockedError(OSError):
    """Another live run holds the lock of an output folder."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else super().__str__()


def _age(path) -> float:
    try:
        return time.time() - os.stat(path).st_mtime
    except OSError:
        return 0.0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except PermissionError:  # another user's live process
        return True
    except OSError:  # no such process (ProcessLookupError), or no pid at all
        return False
    return True


def _write_new(path, info: dict) -> None:
    """Write ``info`` as JSON to ``path``; raises ``FileExistsError`` if it exists."""
    with open(path, "x", encoding="utf-8") as f:
        json.dump(info, f)


class OutputLock:
    """``OUT/.lock``: one run at a time per output folder (a context manager).

    The lock file holds the process id, host and start time of its run. A second run on the
    folder fails at once with :class:`OutputLockedError` naming the other process; a lock left by
    a dead process of this host is taken over with a warning, one of another host never.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.path = self.folder / ".lock"
        self._token = None

    def _info(self) -> dict:
        return {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "token": uuid.uuid4().hex,
        }

    def _create(self, info: dict) -> bool:
        """Create the lock file with ``info`` in one step; ``False`` if it exists."""
        tmp = self.folder / f".lock.{info['token']}.tmp"
        _write_new(tmp, info)
        try:
            os.link(tmp, self.path)  # fails if the lock exists: atomic create-with-content
        except FileExistsError:
            return False
        except OSError:  # no hard links here (FAT, some network file systems)
            try:
                _write_new(self.path, info)
            except FileExistsError:
                return False
        finally:
            tmp.unlink(missing_ok=True)
        return True

    def _read(self) -> dict | None:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return None

    def acquire(self) -> OutputLock:
        """Take the lock.

        Raises:
            OutputLockedError: If a live run holds it.
            OutputWriteError: If the folder cannot be written.
        """
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for _ in range(5):
                info = self._info()
                if self._create(info):
                    self._token = info["token"]
                    return self
                other = self._read()
                if other == {}:  # released between our attempt and the read
                    continue
                if other is None and _age(self.path) < 5:  # being written right now
                    time.sleep(0.5)
                    continue
                if other is None:
                    warnings.warn(
                        f"{self.path} is unreadable or corrupt; taking it over.", stacklevel=2
                    )
                    self.path.unlink(missing_ok=True)
                    continue
                pid, host = int(other.get("pid", -1)), str(other.get("host", "?"))
                if host == socket.gethostname() and not _pid_alive(pid):
                    warnings.warn(
                        f"Taking over the stale lock {self.path} of process {pid} "
                        f"(started {other.get('started', '?')}), which no longer runs.",
                        stacklevel=2,
                    )
                    self.path.unlink(missing_ok=True)
                    continue
                raise OutputLockedError(
                    f"Another painzoo run (process {pid} on host {host}, started "
                    f"{other.get('started', '?')}) is writing to {self.folder}. Wait for it to "
                    f"end, stop it (kill {pid}), or pass another --out. If no such process "
                    f"runs any more, delete {self.path} and rerun."
                )
        except OSError as err:
            if err.errno in _OUTPUT_ERRNOS and not isinstance(err, OutputWriteError):
                raise OutputWriteError(self.path, err, out=self.folder) from err
            raise
        raise OutputLockedError(f"Could not take the lock {self.path}; rerun the command.")

    def release(self) -> None:
        """Drop the lock if this object still holds it."""
        if self._token is None:
            return
        other = self._read()
        self._token, token = None, self._token
        if other and other.get("token") == token:
            try:
                self.path.unlink(missing_ok=True)
            except OSError:  # a folder that turned read-only keeps a stale lock
                pass

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


class RunStorage:
    """Read and write the files of one output folder, local or remote.

    Args:
        out: A local folder or a pyarrow filesystem URI.
        filesystem: Optional ``pyarrow.fs.FileSystem`` in which ``out`` is a path (no URI).

    Raises:
        ImportError: For a URI when pyarrow is not installed.
        ValueError: For a URI pyarrow cannot resolve.
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
        data, path = text.encode("utf-8"), self._path(rel)
        if self._fs is None or self._fs.type_name not in _RENAME_ATOMIC:
            return self._put(path, data)
        parent, name = path.rsplit("/", 1)
        tmp = f"{parent}/.{name}.{uuid.uuid4().hex}"
        try:
            self._put(tmp, data)
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

    def is_finished(self, run_id: str) -> bool:
        """Whether the unit ``run_id`` finished: its ``runs/<run_id>/metrics.json`` exists
        (written last, so its presence marks a complete unit)."""
        return self.exists(f"runs/{run_id}/metrics.json")

    def remove(self, rel: str) -> None:
        """Delete ``rel`` if it exists."""
        if self._fs is None:
            Path(self._path(rel)).unlink(missing_ok=True)
        elif self._exists(self._path(rel)):
            self._fs.delete_file(self._path(rel))

    # -- mirroring (reports of remote runs are computed on a local copy) -----------------
    def download(self, rels, dest) -> int:
        """Copy those of ``rels`` that exist to the same paths under ``dest``; return how many."""
        n = 0
        for rel in rels:
            if self.exists(rel):
                atomic_write_text(Path(dest) / rel, self.read_text(rel))
                n += 1
        return n

    def upload(self, src, rels) -> None:
        """Copy ``src/<rel>`` for every ``rel`` (text or binary) to the folder."""
        for rel in rels:
            self._put(self._path(rel), (Path(src) / rel).read_bytes())

    def _put(self, path: str, data: bytes) -> None:
        """Write ``data`` to ``path``: atomically on a local folder, in place through pyarrow."""
        if self._fs is None:
            return atomic_write_bytes(Path(path), data)
        self._fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        with self._fs.open_output_stream(path) as f:
            f.write(data)

    def __repr__(self) -> str:
        return f"RunStorage({self.out!r})"
