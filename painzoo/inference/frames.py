"""``painzoo frames``: candidate frames of videos for human rating, plus the rating sheet.

Both papers' datasets were made from video: frames were picked, then scored by
raters (P1: five raters on the Rat Grimace Scale, three more for the
uncertain action units; P2: clinicians on FACS/PSPI). :func:`extract_frames`
does the picking:

1. sample each video every ``every`` seconds (streamed; constant memory);
2. crop the face (frames without one are not candidates);
3. drop blurred frames: the variance of the Laplacian of the grey face crop
   below ``blur_ratio`` × the video's 75th percentile of that variance (a
   threshold relative to the video, since sharpness depends on camera and
   lighting);
4. drop near-duplicates: a frame whose 16 × 16 grey thumbnail differs from an
   already kept frame's by less than ``duplicate_threshold`` grey levels on
   average (a still subject gives one frame, not fifty);
5. with ``max_frames``, spread the choice over the video: the video is cut
   into ``max_frames`` equal stretches and the sharpest remaining frame of
   each is kept.

The rating sheet has the columns ``image, subject, video, time_s`` and one
empty column per rater × action unit — ``r<k>_<au>`` with the RGS units
(``orbital, ear, nose, whisker``, scored 0/1/2) or the PSPI units
(``au4, au6, au7, au9, au10, au43``) — the layout
:func:`painzoo.datasets.loaders.load_ratspain` (RGS consensus) and
``painzoo agreement`` read back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from painzoo.annotation.sheet import scale_units
from painzoo.datasets.io import resize_image, write_image
from painzoo.inference.video import VideoFrames
from painzoo.preprocess import FaceCropper

__all__ = [
    "FrameSelection",
    "extract_frames",
    "near_duplicate",
    "rating_columns",
    "sharpness",
    "thumbnail",
]

SCALES = ("rgs", "pspi")
_THUMB = 16


def rating_columns(scale: str = "rgs", raters: int = 5) -> list[str]:
    """The empty rater × action-unit columns of a rating sheet, rater by rater.

    Example:
        >>> rating_columns("rgs", 2)
        ['r1_orbital', 'r1_ear', 'r1_nose', 'r1_whisker', 'r2_orbital', 'r2_ear', 'r2_nose', 'r2_whisker']
    """

    if raters < 1:
        raise ValueError(f"raters must be >= 1; received {raters}.")
    units = scale_units(scale)
    return [f"r{r}_{au}" for r in range(1, raters + 1) for au in units]


def sharpness(rgb: np.ndarray, side: int = 128) -> float:
    """Variance of the Laplacian of the grey image resized to ``side`` (higher = sharper)."""
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    grey = resize_image(grey, (side, side), "area")
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def thumbnail(rgb: np.ndarray) -> np.ndarray:
    """A 16 × 16 grey thumbnail (float32 0–255) for near-duplicate tests."""
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    return resize_image(grey, (_THUMB, _THUMB), "area").astype(np.float32)


def near_duplicate(a: np.ndarray, b: np.ndarray, threshold: float) -> bool:
    """Whether two thumbnails differ by less than ``threshold`` grey levels on average."""
    return float(np.abs(a - b).mean()) < threshold


@dataclass
class FrameSelection:
    """What :func:`extract_frames` did.

    Attributes:
        sheet: The rating sheet as a DataFrame (also written to ``sheet_path``).
        sheet_path: The CSV written.
        counts: Per video: ``sampled``, ``no_face``, ``blurred``,
            ``duplicates``, ``not_chosen`` (spread/``max``), ``kept``.
    """

    sheet: pd.DataFrame
    sheet_path: Path
    counts: dict


def extract_frames(
    videos,
    out: str | os.PathLike,
    *,
    every: float = 1.0,
    max_frames: int | None = None,
    scale: str = "rgs",
    raters: int = 5,
    face_crop="haar",
    size: int = 224,
    blur_ratio: float = 0.2,
    duplicate_threshold: float = 3.0,
    subject: str | None = None,
    progress: bool = False,
) -> FrameSelection:
    """Pick face-cropped candidate frames from videos and write a rating sheet.

    Args:
        videos: A video path or a list of them.
        out: Output folder: ``images/<video>/<video>_t<seconds>.png`` and
            ``rating_sheet.csv`` (image paths relative to it).
        every: Seconds between two sampled frames.
        max_frames: At most this many frames per video, spread over it
            (``None`` = every frame that survives the filters).
        scale: ``"rgs"`` (Rat Grimace Scale, P1) or ``"pspi"`` (FACS units
            of the PSPI, P2).
        raters: Number of raters (one empty column per rater × unit).
        face_crop: A detector name (``"haar"``, ``"mtcnn"``), ``"none"`` (the
            centre square of every frame, for videos already framed on the
            face), a dict of :class:`~painzoo.preprocess.FaceCropper`
            arguments, or a cropper.
        size: Side of the saved crops (when ``face_crop`` is a name).
        blur_ratio: A frame is blurred when its Laplacian variance is below
            this fraction of the video's 75th percentile.
        duplicate_threshold: Mean absolute grey difference (0–255) of 16 × 16
            thumbnails below which a frame duplicates a kept one.
        subject: The ``subject`` column (default: each video's file stem).
        progress: Show a bar over videos.

    Returns:
        A :class:`FrameSelection`.

    Raises:
        ValueError: For an unreadable or empty video, a video in which no
            face is found in any sampled frame (naming it), or bad arguments.
        FileNotFoundError: For a missing video.
    """

    if every <= 0:
        raise ValueError(f"every must be a positive number of seconds; received {every}.")
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1; received {max_frames}.")
    columns = rating_columns(scale, raters)
    if isinstance(videos, (str, os.PathLike)):
        videos = [videos]
    if isinstance(face_crop, FaceCropper):
        cropper = face_crop
    else:
        settings = dict(face_crop) if isinstance(face_crop, dict) else {"detector": face_crop}
        settings.setdefault("size", size)
        if settings.get("detector") in (None, "none"):
            settings["detector"] = "none"
        settings["on_no_face"] = "center" if settings["detector"] == "none" else "skip"
        cropper = FaceCropper(**settings)
    detects = cropper.detector_name != "none"
    out = Path(out)
    rows, counts = [], {}
    iterator = videos
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(videos, unit="video", desc="frames")
    for video in iterator:
        video = Path(video)
        frames = VideoFrames(video, fps=1.0 / every)
        # Pass 1: keep only numbers per frame (sharpness, thumbnail), never pixels.
        cands = []
        sampled = 0
        for index, t, rgb in frames:
            sampled += 1
            crop = cropper(rgb, name=f"{video} frame {index}")
            if crop is None or (detects and not crop.found):
                continue
            cands.append(
                {
                    "index": index,
                    "time_s": t,
                    "sharp": sharpness(crop.image),
                    "thumb": thumbnail(crop.image),
                }
            )
        if not cands:
            raise ValueError(
                f"No face found in any of the {sampled} frame(s) sampled from {video} "
                f"(detector {cropper.detector_name!r}); try another detector, or "
                "--face-crop none if the video is already a face close-up."
            )
        chosen, c = _choose(cands, blur_ratio, duplicate_threshold, max_frames)
        c.update(sampled=sampled, no_face=sampled - len(cands))
        counts[str(video)] = c
        # Pass 2: decode again and write only the chosen frames.
        wanted = {cand["index"] for cand in chosen}
        stem = video.stem
        for index, t, rgb in VideoFrames(video, fps=1.0 / every):
            if index not in wanted:
                continue
            crop = cropper(rgb, name=f"{video} frame {index}")
            rel = Path("images") / stem / f"{stem}_t{t:09.3f}.png"
            write_image(out / rel, crop.image)
            row = {
                "image": rel.as_posix(),
                "subject": subject or stem,
                "video": str(video),
                "time_s": round(t, 3),
            }
            row.update(dict.fromkeys(columns, ""))
            rows.append(row)
    sheet = pd.DataFrame(rows, columns=["image", "subject", "video", "time_s", *columns])
    out.mkdir(parents=True, exist_ok=True)
    sheet_path = out / "rating_sheet.csv"
    sheet.to_csv(sheet_path, index=False)
    return FrameSelection(sheet=sheet, sheet_path=sheet_path, counts=counts)


def _choose(cands, blur_ratio, duplicate_threshold, max_frames):
    sharp = np.array([c["sharp"] for c in cands])
    limit = blur_ratio * float(np.percentile(sharp, 75))
    sharp_enough = [c for c in cands if c["sharp"] >= limit]
    blurred = len(cands) - len(sharp_enough)
    kept, duplicates = [], 0
    for c in sharp_enough:  # time order: the first of a run of repeats is kept
        if any(near_duplicate(c["thumb"], k["thumb"], duplicate_threshold) for k in kept):
            duplicates += 1
            continue
        kept.append(c)
    chosen = kept
    if max_frames is not None and len(kept) > max_frames:
        t0, t1 = cands[0]["time_s"], cands[-1]["time_s"]
        edges = np.linspace(t0, t1, max_frames + 1)
        bins = np.clip(np.searchsorted(edges, [c["time_s"] for c in kept], "right") - 1, 0, None)
        bins = np.minimum(bins, max_frames - 1)
        chosen = []
        for b in range(max_frames):
            members = [c for c, cb in zip(kept, bins) if cb == b]
            if members:
                chosen.append(max(members, key=lambda c: c["sharp"]))
        chosen.sort(key=lambda c: c["index"])
    counts = {
        "blurred": blurred,
        "duplicates": duplicates,
        "not_chosen": len(kept) - len(chosen),
        "kept": len(chosen),
    }
    return chosen, counts
