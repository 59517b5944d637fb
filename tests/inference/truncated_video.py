"""A video cut short: its header declares more frames than the file holds."""

from __future__ import annotations

from pathlib import Path

from synthetic_video import write_video


def write_truncated_avi(path, frames, fps: float, keep: int) -> Path:
    """Write ``frames`` as an MJPG ``.avi``, then cut the file before frame ``keep``.

    The AVI header (written first) still declares ``len(frames)`` frames; the
    bytes from the start of the ``keep``-th frame chunk on (and the index at
    the end) are gone, as after an interrupted copy.
    """
    path = write_video(Path(path), frames, fps)
    data = path.read_bytes()
    movi = data.index(b"movi")
    starts, at = [], movi
    while len(starts) <= keep:
        at = data.index(b"00dc", at + 4)  # one chunk per frame, in order
        starts.append(at)
    path.write_bytes(data[: starts[keep]])
    return path
