"""Stream sampled frames out of a video file with OpenCV, in constant memory."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

__all__ = ["VIDEO_EXTENSIONS", "TruncatedVideoWarning", "VideoFrames", "VideoInfo"]
__all__ += ["is_video_file", "sample_indices"]

#: File extensions read as videos (lower case, with the dot).
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv")
#: Frames a video may fall short of its header's count and still count as
#: complete: a count estimated from the duration can be one frame off.
FRAME_COUNT_TOLERANCE = 1


class TruncatedVideoWarning(UserWarning):
    """A video ended before the frame count its header declares."""


def is_video_file(path: str | os.PathLike) -> bool:
    """Whether the file name has one of :data:`VIDEO_EXTENSIONS`."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video.

    Attributes:
        fps: Native frames per second.
        frames: Frame count from the header (approximate, or 0).
        width: Frame width in pixels.
        height: Frame height in pixels.
    """

    fps: float
    frames: int
    width: int
    height: int

    @property
    def duration_s(self) -> float:
        """Length in seconds according to the header (``frames / fps``)."""
        return self.frames / self.fps if self.fps > 0 else float("nan")


def sample_indices(native_fps: float, fps: float | None, n_frames: int) -> list[int]:
    """The frame indices sampled: for each ``k``, the first frame at or after ``k / fps`` (``None``: all)."""
    out: list[int] = []
    step = _step(native_fps, fps)
    for i in range(n_frames):
        if step is None or i >= _due(len(out), step):
            out.append(i)
    return out


def _step(native_fps: float, fps: float | None) -> float | None:
    if fps is None or fps >= native_fps:
        return None
    return native_fps / fps  # native frames between two samples


def _due(k: int, step: float) -> int:
    # The first frame index at or after sample time k / fps; the small epsilon
    # keeps 0.1 * 30 = 3.0000000000000004 from skipping frame 3.
    return math.ceil(k * step - 1e-9)


class VideoFrames:
    """Iterate over a video's frames sampled at ``fps``, yielding ``(frame_index, time_s, rgb)``.

    ``info`` is the header's :class:`VideoInfo`; ``frames_read`` counts the frames the last full
    pass decoded (``None`` before one).

    Args:
        path: The video file (anything OpenCV reads).
        fps: Samples per second, by timestamp (``None`` or above the native rate: every frame).

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If OpenCV cannot open it, it reports no frame rate, or it holds no readable
            frame; the message names the file.

    Warns:
        TruncatedVideoWarning: When a full pass decodes more than :data:`FRAME_COUNT_TOLERANCE`
            frames fewer than the header declares.
    """

    def __init__(self, path: str | os.PathLike, fps: float | None = 5.0):
        self.path = Path(path)
        if fps is not None and not fps > 0:
            raise ValueError(f"fps must be positive (or None for every frame); received {fps}.")
        self.fps = None if fps is None else float(fps)
        self.info = self._probe()
        self.frames_read: int | None = None

    def _open(self):
        if not self.path.is_file():
            raise FileNotFoundError(f"Video file {self.path} does not exist.")
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise ValueError(
                f"Cannot open {self.path} as a video: OpenCV cannot read this file (corrupt, "
                "truncated, not a video, or a codec this OpenCV build lacks). Re-encode it, "
                "e.g. `ffmpeg -i IN -c:v libx264 OUT.mp4`."
            )
        return cap

    def _probe(self) -> VideoInfo:
        cap = self._open()
        try:
            fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            info = VideoInfo(
                fps=fps,
                frames=max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)),
                width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0),
                height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0),
            )
        finally:
            cap.release()
        if not (info.fps > 0 and math.isfinite(info.fps)):
            raise ValueError(
                f"{self.path} reports no frame rate, so frames cannot be given times; "
                "re-encode it with a constant frame rate (ffmpeg -r 25 …)."
            )
        return info

    @property
    def complete(self) -> bool | None:
        """Whether the last full pass decoded every declared frame (``None`` if unknown)."""
        if self.frames_read is None or self.info.frames <= 0:
            return None
        return self.frames_read >= self.info.frames - FRAME_COUNT_TOLERANCE

    @property
    def expected_samples(self) -> int:
        """Samples according to the header's frame count (0 if it gives none)."""
        return len(sample_indices(self.info.fps, self.fps, self.info.frames))

    def __iter__(self) -> Iterator[tuple[int, float, np.ndarray]]:
        cap = self._open()
        step = _step(self.info.fps, self.fps)
        k = index = 0
        try:
            # grab() decodes without the colour conversion: frames between two samples
            # are never converted or held.
            while cap.grab():
                if step is None or index >= _due(k, step):
                    ok, bgr = cap.retrieve()
                    if not ok or bgr is None:
                        break
                    k += 1
                    yield index, index / self.info.fps, _to_rgb(bgr)
                index += 1
        finally:
            cap.release()
        if index == 0:
            raise ValueError(
                f"{self.path} holds no readable frame (empty or broken video); OpenCV "
                "opened it but decoded nothing. Check the file plays, or re-encode it."
            )
        self.frames_read = index
        if self.complete is False:
            fps = self.info.fps
            warnings.warn(
                f"{self.path} ends after {index} of the {self.info.frames} frames its header "
                f"declares ({index / fps:.1f} s of {self.info.frames / fps:.1f} s): the file is "
                "truncated or damaged, so only its first "
                f"{index / fps:.1f} s were read. Copy the file again from its source, or "
                "re-encode what is left (`ffmpeg -i IN -c:v libx264 OUT.mp4`) to accept it.",
                TruncatedVideoWarning,
                stacklevel=2,
            )


def _to_rgb(bgr: np.ndarray) -> np.ndarray:
    if bgr.ndim == 2:
        return cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
    if bgr.shape[-1] == 4:
        return cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
