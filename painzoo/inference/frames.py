"""``painzoo frames``: candidate frames of videos for blinded human rating.

The output::

    OUT/for_raters/rating_sheet.csv    id, image, r1_orbital, ... (rows in random order)
    OUT/for_raters/images/<id>.png     the crops, named by random ids
    OUT/rating_key.csv                 id -> subject, video, frame_index, time_s

Only ``for_raters`` goes to the raters.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from painzoo.annotation.sheet import KEY_NAME, RATER_FOLDER, SHEET_NAME, scale_units
from painzoo.datasets.io import resize_image, write_image
from painzoo.inference.video import VideoFrames
from painzoo.preprocess import FaceCropper
from painzoo.utils.numbers import check_number
from painzoo.utils.progress import progress_bar

__all__ = ["FrameSelection", "KEY_COLUMNS", "extract_frames", "near_duplicate"]
__all__ += ["rating_columns", "sharpness", "thumbnail"]

#: Columns of the key (``rating_key.csv``) that maps a sheet's ids back.
KEY_COLUMNS = ("id", "subject", "video", "frame_index", "time_s")


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


def _grey(rgb: np.ndarray, side: int) -> np.ndarray:
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    return resize_image(grey, (side, side), "area")


def sharpness(rgb: np.ndarray, side: int = 128) -> float:
    """Variance of the Laplacian of the grey image resized to ``side`` (higher = sharper)."""
    return float(cv2.Laplacian(_grey(rgb, side), cv2.CV_64F).var())


def thumbnail(rgb: np.ndarray) -> np.ndarray:
    """A 16 × 16 grey thumbnail (float32 0–255) for near-duplicate tests."""
    return _grey(rgb, 16).astype(np.float32)


def near_duplicate(a: np.ndarray, b: np.ndarray, threshold: float) -> bool:
    """Whether two thumbnails differ by less than ``threshold`` grey levels on average."""
    return float(np.abs(a - b).mean()) < threshold


@dataclass
class FrameSelection:
    """What :func:`extract_frames` did.

    Attributes:
        sheet: The blinded rating sheet, as written to ``sheet_path``.
        sheet_path: ``OUT/for_raters/rating_sheet.csv``.
        key: The key table, as written to ``key_path``.
        key_path: ``OUT/rating_key.csv`` — never give it to the raters.
        counts: Per video: ``blurred``, ``duplicates``, ``not_chosen``,
            ``kept``, ``sampled``, ``no_face``.
    """

    sheet: pd.DataFrame
    sheet_path: Path
    key: pd.DataFrame
    key_path: Path
    counts: dict


def _sheet_has_ratings(path: Path) -> int:
    """Filled rater cells of an existing sheet (0 if it has none or no rater columns)."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
        return 0
    columns = [c for c in frame.columns if re.match(r"^r\d+_", str(c))]
    return int(sum((frame[c].str.strip() != "").sum() for c in columns))


def check_output_folder(out: str | os.PathLike) -> None:
    """Refuse an output folder that already holds a run's sheet, crops or key.

    Raises:
        ValueError: If ``out`` is a file or holds an earlier run's output;
            the message says whether the sheet holds ratings.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder (it is created if missing).")
    for sheet in (out / RATER_FOLDER / SHEET_NAME, out / SHEET_NAME):
        filled = _sheet_has_ratings(sheet) if sheet.is_file() else 0
        if filled:
            raise ValueError(
                f"{sheet} already holds {filled} rating(s); painzoo frames never replaces "
                "a sheet raters have filled in. Nothing was written: choose another --out "
                "folder for the new frames."
            )
    taken = [out / RATER_FOLDER, out / KEY_NAME, out / SHEET_NAME, out / "images"]
    existing = [p.name for p in taken if p.exists()]
    if existing:
        raise ValueError(
            f"{out} already holds the output of an earlier run ({', '.join(existing)}); "
            "painzoo frames does not overwrite crops, sheets or keys. Nothing was written: "
            "choose another --out folder (or delete that run's files if they are not needed)."
        )


def _random_ids(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct 8-character hex ids starting with a letter (a spreadsheet keeps it text)."""
    ids: dict[str, None] = {}  # insertion-ordered and without repeats
    while len(ids) < n:
        ids["abcdef"[int(rng.integers(6))] + f"{int(rng.integers(16**7)):07x}"] = None
    return list(ids)


def _positional(err: Exception, video: Path, label: str) -> Exception:
    """The same error with the video's path (which may hold a name) replaced by ``label``."""
    return type(err)(str(err).replace(str(video), label))


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
    seed: int | None = None,
    progress: bool = False,
) -> FrameSelection:
    """Pick face-cropped candidate frames from videos and write a blinded rating sheet.

    Each video is sampled every ``every`` seconds; frames without a face, blurred frames (Laplacian
    variance below ``blur_ratio`` × the video's 75th percentile) and near-duplicates (mean absolute
    grey difference of 16 × 16 thumbnails below ``duplicate_threshold``) are dropped. Arguments and
    ``out`` are checked before any video is read; files appear in ``out`` only when all are done.

    Args:
        videos: A video path or a list of them.
        out: Output folder, holding no earlier run's output.
        max_frames: Most frames kept per video (``None``: all), the sharpest of equal stretches.
        scale, raters: ``"rgs"`` or ``"pspi"`` columns for this many raters.
        face_crop: A detector name, ``"none"`` (centre square), a dict of
            :class:`~painzoo.preprocess.FaceCropper` arguments, or a cropper.
        size: Side of the saved crops (when ``face_crop`` is a name).
        subject: The key's ``subject`` column (default: each video's stem).
        seed: Seed of the ids and row order (``None``: fresh).
        progress: Show progress bars.

    Raises:
        ValueError: For bad arguments, an ``out`` holding an earlier run's output, an unreadable
            or empty video, or a video with no face in any sampled frame. Videos are named by
            position ("video 2 of 3"): file names may be people's names.
        FileNotFoundError: For a missing video.
    """
    every = check_number(every, "every (--every)", low=0, low_open=True)
    max_frames = check_number(max_frames, "max_frames (--max)", low=1, integer=True, none=True)
    raters = check_number(raters, "raters (--raters)", low=1, integer=True)
    size = check_number(size, "size (--size)", low=1, integer=True)
    blur_ratio = check_number(blur_ratio, "blur_ratio", low=0)
    duplicate_threshold = check_number(duplicate_threshold, "duplicate_threshold", low=0)
    seed = check_number(seed, "seed (--seed)", low=0, integer=True, none=True)
    scale_units(scale)
    videos, labels = _videos_and_labels(videos)
    out = Path(out)
    check_output_folder(out)
    cropper = _frame_cropper(face_crop, size)
    readers = [_reader(video, label, every) for video, label in zip(videos, labels)]
    total = sum(r.expected_samples for r in readers) or None
    chosen, counts = [], {}
    with progress_bar(progress, total=total, desc="frames: sampling") as bar:
        for label, reader in zip(labels, readers):
            cands, sampled = _candidates(reader, label, cropper, bar)
            kept, counts[str(reader.path)] = _choose(
                cands, blur_ratio, duplicate_threshold, max_frames
            )
            counts[str(reader.path)].update(sampled=sampled, no_face=sampled - len(cands))
            chosen.append(kept)
    key, sheet = _blinded_tables(videos, chosen, rating_columns(scale, raters), subject, seed)
    with _staging(out) as staging:
        images = staging / RATER_FOLDER / "images"
        images.mkdir(parents=True)
        with progress_bar(progress, total=len(key), desc="frames: writing") as bar:
            _write_crops(images, readers, labels, chosen, key["id"], cropper, bar)
        sheet.to_csv(images.parent / SHEET_NAME, index=False)
        key.to_csv(staging / KEY_NAME, index=False)
    return FrameSelection(sheet, out / RATER_FOLDER / SHEET_NAME, key, out / KEY_NAME, counts)


def _videos_and_labels(videos) -> tuple[list[Path], list[str]]:
    """The videos as paths, each with its positional label ``"video i of n"``; all must exist."""
    videos = [Path(v) for v in ([videos] if isinstance(videos, (str, os.PathLike)) else videos)]
    if not videos:
        raise ValueError("No video given; pass at least one video file.")
    labels = [f"video {i} of {len(videos)}" for i in range(1, len(videos) + 1)]
    for video, label in zip(videos, labels):
        if not video.is_file():
            raise FileNotFoundError(
                f"{label.capitalize()} does not exist (or is not a file); check the path."
            )
    return videos, labels


def _frame_cropper(face_crop, size: int) -> FaceCropper:
    """The cropper ``face_crop`` names; frames without a face are skipped (``"none"``: centre)."""
    if isinstance(face_crop, FaceCropper):
        return face_crop
    settings = dict(face_crop) if isinstance(face_crop, dict) else {"detector": face_crop}
    settings.setdefault("size", size)
    if settings.get("detector") in (None, "none"):
        settings["detector"] = "none"
    settings["on_no_face"] = "center" if settings["detector"] == "none" else "skip"
    return FaceCropper(**settings)


def _reader(video: Path, label: str, every: float) -> VideoFrames:
    try:
        return VideoFrames(video, fps=1.0 / every)
    except (ValueError, FileNotFoundError) as err:
        raise _positional(err, video, label) from None


def _frames(reader: VideoFrames, label: str):
    """The reader's frames; a reading error names the video by ``label``, not by its path."""
    try:
        yield from reader
    except (ValueError, FileNotFoundError) as err:
        raise _positional(err, reader.path, label) from None


@dataclass(frozen=True)
class _Candidate:
    """What is kept of a sampled frame with a face (never its pixels)."""

    index: int
    time_s: float
    sharp: float
    thumb: np.ndarray


def _candidates(reader: VideoFrames, label: str, cropper, bar) -> tuple[list[_Candidate], int]:
    """Every sampled frame with a face, and the number of frames sampled."""
    detects = cropper.detector_name != "none"
    cands, sampled = [], 0
    for index, t, rgb in _frames(reader, label):
        sampled += 1
        bar.update(1)
        crop = cropper(rgb, name=f"{label} frame {index}")
        if crop is not None and (crop.found or not detects):
            cands.append(_Candidate(index, t, sharpness(crop.image), thumbnail(crop.image)))
    if not cands:
        raise ValueError(
            f"No face found in any of the {sampled} frame(s) sampled from {label} "
            f"(detector {cropper.detector_name!r}); try another detector, or "
            "--face-crop none if the video is already a face close-up. Nothing was "
            "written."
        )
    return cands, sampled


def _write_crops(images: Path, readers, labels, chosen, ids, cropper, bar) -> None:
    """Decode each video again and write its chosen crops as ``<id>.png``, all with one mtime."""
    ids = iter(ids)
    for reader, label, kept in zip(readers, labels, chosen):
        id_of = {cand.index: next(ids) for cand in kept}
        for index, _t, rgb in _frames(reader, label):
            if index in id_of:
                crop = cropper(rgb, name=f"{label} frame {index}")
                write_image(images / f"{id_of[index]}.png", crop.image)
                bar.update(1)
    stamp = time.time()  # the order the crops were written in is not left in the files
    for png in images.iterdir():
        os.utime(png, (stamp, stamp))


def _choose(cands, blur_ratio, duplicate_threshold, max_frames) -> tuple[list[_Candidate], dict]:
    """Drop blurred frames and near-duplicates, then spread ``max_frames`` over the video."""
    limit = blur_ratio * float(np.percentile([c.sharp for c in cands], 75))
    sharp_enough = [c for c in cands if c.sharp >= limit]
    kept = []
    for c in sharp_enough:  # time order: the first of a run of repeats is kept
        if not any(near_duplicate(c.thumb, k.thumb, duplicate_threshold) for k in kept):
            kept.append(c)
    chosen = kept
    if max_frames is not None and len(kept) > max_frames:
        edges = np.linspace(cands[0].time_s, cands[-1].time_s, max_frames + 1)
        bins = np.searchsorted(edges, [c.time_s for c in kept], "right") - 1
        bins = np.clip(bins, 0, max_frames - 1)
        stretches = [[c for c, cb in zip(kept, bins) if cb == b] for b in range(max_frames)]
        chosen = [max(members, key=lambda c: c.sharp) for members in stretches if members]
        chosen.sort(key=lambda c: c.index)
    counts = {
        "blurred": len(cands) - len(sharp_enough),
        "duplicates": len(sharp_enough) - len(kept),
        "not_chosen": len(kept) - len(chosen),
        "kept": len(chosen),
    }
    return chosen, counts


def _blinded_tables(videos, chosen, columns, subject, seed) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The key (rows by video and time) and the sheet (random ids, rows in random order)."""
    rng = np.random.default_rng(seed)
    n_rows = sum(len(c) for c in chosen)
    ids = iter(_random_ids(rng, n_rows))
    key_rows = [
        {
            "id": next(ids),
            "subject": subject or video.stem,
            "video": str(video),
            "frame_index": int(cand.index),
            "time_s": round(float(cand.time_s), 3),
        }
        for video, kept in zip(videos, chosen)
        for cand in kept
    ]
    key = pd.DataFrame(key_rows, columns=list(KEY_COLUMNS))
    shuffled = key["id"].to_numpy()[rng.permutation(n_rows)]
    sheet = pd.DataFrame(
        {"id": shuffled, "image": [f"images/{i}.png" for i in shuffled]}
        | {c: [""] * n_rows for c in columns},
        columns=["id", "image", *columns],
    )
    return key, sheet


@contextlib.contextmanager
def _staging(out: Path):
    """A hidden folder in ``out`` moved into place at the end; removed (with a new ``out``) on error."""
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".frames-partial-", dir=out))
    try:
        yield staging
        check_output_folder(out)  # nothing appeared there meanwhile
        (staging / RATER_FOLDER).rename(out / RATER_FOLDER)
        (staging / KEY_NAME).rename(out / KEY_NAME)
        staging.rmdir()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()  # only if empty
        raise
