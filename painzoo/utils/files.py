"""How painzoo writes files: never over its own inputs, never half a file.

:func:`check_outputs` refuses an output that is or lies in an input; every output is written under
a temporary name beside its target and renamed, so an interrupted write leaves the old file.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "check_outputs",
    "open_replacing",
    "replace_when_complete",
]


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a local ``path`` through a temporary file and a rename (parents created).

    The file gets mode ``0666`` minus the umask, like ``open()``.

    Raises:
        OSError: From the file system; any old file is untouched and no temporary file is left.
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


def _temporary_beside(path: Path) -> Path:
    """A unique hidden name next to ``path`` that keeps its suffix (``.keras``, ``.png``)."""
    return path.parent / f".{path.stem}.{uuid.uuid4().hex[:12]}.tmp{path.suffix}"


@contextlib.contextmanager
def replace_when_complete(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); move it onto ``path`` when the block ends.

    For writers that take a path (``model.save``). When the block raises, the temporary file is
    removed and ``path`` keeps its old content.

    Example:
        >>> with replace_when_complete("out/model.keras") as tmp:  # doctest: +SKIP
        ...     model.save(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_beside(path)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"Nothing was written for {_shown(path)}.")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def open_replacing(path: str | os.PathLike, mode: str = "w", **open_kwargs):
    """Open a temporary file beside ``path``; it replaces ``path`` when the block ends.

    ``mode`` and ``**open_kwargs`` go to :func:`open` (e.g. ``"w"``, ``newline``, ``encoding``).
    When the block raises, the temporary file is removed and ``path`` is left as it was.
    """
    if not any(c in mode for c in "wx"):
        raise ValueError(
            f"open_replacing writes a new file; mode must be 'w' or 'wb', not {mode!r}."
        )
    mode = mode.replace("x", "w")
    with replace_when_complete(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, mode, **open_kwargs) as handle:
            yield handle


# -- outputs that would replace inputs ------------------------------------------------
def _shown(path) -> str:
    """A path as printable text, whatever bytes its name holds (``\\xNN`` escapes)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _real(path) -> str:
    return os.path.normcase(os.path.realpath(os.path.abspath(os.fspath(path))))


def _inside(child: str, folder: str) -> bool:
    """Whether the resolved path ``child`` lies strictly inside the resolved ``folder``."""
    try:
        return os.path.commonpath([child, folder]) == folder and child != folder
    except ValueError:  # different drives
        return False


def _same_file(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _as_list(paths) -> list:
    if paths is None:
        return []
    if isinstance(paths, (str, bytes, os.PathLike)):
        return [paths]
    if isinstance(paths, dict):
        return list(paths.items())
    return list(paths)


def _labelled(entry) -> tuple[str | None, Path]:
    if isinstance(entry, tuple):
        label, path = entry
        return (None if label is None else str(label)), Path(path)
    return None, Path(entry)


def check_outputs(
    outputs: Iterable | dict | str | os.PathLike,
    inputs: Iterable | dict | str | os.PathLike,
    *,
    command: str,
    fix: str | None = None,
) -> None:
    """Refuse outputs that would write over, or into, what a command reads (call it before any work).

    An output is refused if it is an input (even through a link), lies inside an input folder, or
    is a folder that is an input. ``outputs`` and ``inputs`` are a path, a list of paths, a list of
    ``(label, path)`` pairs or a ``{label: path}`` dict; the labels name them in the message
    (``"--out"``; ``"input"`` by default). ``command`` names the command; ``fix`` is appended.

    Raises:
        ValueError: ``"painzoo predict: --out vid.avi would overwrite its
            input vid.avi; nothing was written. …"``.
    """
    outs = [_labelled(e) for e in _as_list(outputs)]
    ins = [_labelled(e) for e in _as_list(inputs)]
    resolved = [(label, path, _real(path), path.is_dir()) for label, path in ins]
    taken = {r[2] for r in resolved}
    for out_label, out in outs:
        out_real = _real(out)
        for in_label, inp, in_real, in_dir in resolved:
            kind = in_label or ("input folder" if in_dir else "input")
            if out_real == in_real or (out.exists() and inp.exists() and _same_file(out, inp)):
                how = f"would overwrite its {kind}"
                suggestion = _sibling(out)
            elif in_dir and _inside(out_real, in_real):
                how = f"would be written inside its {kind}"
                suggestion = inp.parent / out.name if out.name else None
            else:
                continue
            what = f"{out_label} {_shown(out)}" if out_label else f"the output {_shown(out)}"
            if fix is None:
                hint = "Choose an output path that is none of the inputs and outside every input folder"
                if suggestion is not None and _real(suggestion) not in taken:
                    hint += f", e.g. {_shown(suggestion)}"
                hint += "."
            else:
                hint = fix
            raise ValueError(f"{command}: {what} {how} {_shown(inp)}; nothing was written. {hint}")


def _sibling(path: Path) -> Path | None:
    """Another name beside ``path``: ``x-out.csv`` for ``x.csv``, ``x-out`` for a folder."""
    if not path.name:
        return None
    return path.with_name(f"{path.stem}-out{path.suffix}")


def read_json_object(path: str | os.PathLike, *, what: str, fix: str) -> dict:
    """A JSON file holding one object, or a ``ValueError`` that names it (``what`` it is) and the ``fix``."""
    import json

    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON ({err}); it is {what}. {fix}") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path} holds no JSON object; it is {what}. {fix}")
    return record
