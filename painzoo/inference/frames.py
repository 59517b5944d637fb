"""``painzoo frames``: candidate frames of videos for blinded human rating.

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

The output is blinded, as the Rat Grimace Scale and PSPI coding protocols
require raters blind to subject, treatment and time:

    OUT/for_raters/rating_sheet.csv    id, image, r1_orbital, ... (rows in random order)
    OUT/for_raters/images/<id>.png     the crops, named by random ids
    OUT/rating_key.csv                 id -> subject, video, frame_index, time_s

Only the ``for_raters`` folder goes to the raters; the key stays with the
study team. The sheet has one empty column per rater × action unit —
``r<k>_<au>`` with the RGS units (``orbital, ear, nose, whisker``, scored
0/1/2) or the PSPI units (``au4, au6, au7, au9, au10, au43``) — the layout
:func:`painzoo.datasets.loaders.load_ratspain` (RGS consensus, joined with
the key by ``id``) and ``painzoo agreement`` read back.
"""

from __future__ import annotations

import contextlib
import math
import numbers
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

from painzoo.annotation.sheet import (
    KEY_NAME,
    RATER_FOLDER,
    SHEET_NAME,
    scale_units,
)
from painzoo.datasets.io import resize_image, write_image
from painzoo.inference.video import VideoFrames
from painzoo.preprocess import FaceCropper

__all__ = [
    "FrameSelection",
    "KEY_COLUMNS",
    "extract_frames",
    "near_duplicate",
    "rating_columns",
    "sharpness",
    "thumbnail",
]

#: Columns of the key (``rating_key.csv``) that maps a sheet's ids back.
KEY_COLUMNS = ("id", "subject", "video", "frame_index", "time_s")
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
        sheet: The blinded rating sheet as a DataFrame (``id``, ``image`` and
            the empty rater columns, rows in random order), as written to
            ``sheet_path``.
        sheet_path: The sheet for the raters, ``OUT/for_raters/rating_sheet.csv``.
        key: The key: ``id``, ``subject``, ``video``, ``frame_index``,
            ``time_s`` (rows by video and time), as written to ``key_path``.
        key_path: ``OUT/rating_key.csv`` — never give it to the raters.
        counts: Per video (keyed by its path as given): ``sampled``,
            ``no_face``, ``blurred``, ``duplicates``, ``not_chosen``
            (spread/``max``), ``kept``.
    """

    sheet: pd.DataFrame
    sheet_path: Path
    key: pd.DataFrame
    key_path: Path
    counts: dict


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_frame_arguments(
    *, every, max_frames, scale, raters, size, blur_ratio, duplicate_threshold, seed
) -> None:
    """Check :func:`extract_frames`' numbers before anything is read or written.

    Raises:
        ValueError: Naming the argument, the value received and the range.
    """

    def bad(name, value, allowed):
        raise ValueError(f"{name} must be {allowed}; received {value!r}.")

    if not isinstance(every, numbers.Real) or isinstance(every, bool):
        bad("every (--every)", every, "a positive, finite number of seconds")
    if not (math.isfinite(every) and every > 0):
        bad("every (--every)", every, "a positive, finite number of seconds")
    if max_frames is not None and not (_is_int(max_frames) and max_frames >= 1):
        bad("max_frames (--max)", max_frames, "a whole number >= 1 (or None for no limit)")
    if not (_is_int(raters) and raters >= 1):
        bad("raters (--raters)", raters, "a whole number >= 1")
    if not (_is_int(size) and size >= 1):
        bad("size (--size)", size, "a whole number of pixels >= 1")
    for name, value in (("blur_ratio", blur_ratio), ("duplicate_threshold", duplicate_threshold)):
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not (ok and math.isfinite(value) and value >= 0):
            bad(name, value, "a finite number >= 0")
    if seed is not None and not (_is_int(seed) and seed >= 0):
        bad("seed (--seed)", seed, "a whole number >= 0 (or None for a fresh random order)")
    scale_units(scale)


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
        ValueError: If ``out`` is a file, or holds ``for_raters/``,
            ``rating_key.csv`` (or an older run's ``rating_sheet.csv`` /
            ``images/``); the message says whether the sheet holds ratings
            and to choose another ``--out`` folder.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder (it is created if missing).")
    sheets = [out / RATER_FOLDER / SHEET_NAME, out / SHEET_NAME]
    taken = [out / RATER_FOLDER, out / KEY_NAME, out / SHEET_NAME, out / "images"]
    for sheet in sheets:
        if sheet.is_file():
            filled = _sheet_has_ratings(sheet)
            if filled:
                raise ValueError(
                    f"{sheet} already holds {filled} rating(s); painzoo frames never replaces "
                    "a sheet raters have filled in. Nothing was written: choose another --out "
                    "folder for the new frames."
                )
    existing = [p.name for p in taken if p.exists()]
    if existing:
        raise ValueError(
            f"{out} already holds the output of an earlier run ({', '.join(existing)}); "
            "painzoo frames does not overwrite crops, sheets or keys. Nothing was written: "
            "choose another --out folder (or delete that run's files if they are not needed)."
        )


def _random_ids(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct 8-character hex ids starting with a letter (a spreadsheet keeps it text)."""
    ids: list[str] = []
    seen: set[str] = set()
    while len(ids) < n:
        first = "abcdef"[int(rng.integers(6))]
        text = first + f"{int(rng.integers(16**7)):07x}"
        if text not in seen:
            seen.add(text)
            ids.append(text)
    return ids


def _positional(err: Exception, video: Path, label: str) -> Exception:
    """The same error with the video's path (which may hold a name) replaced by ``label``."""
    message = str(err).replace(str(video), label)
    return type(err)(message)


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

    Writes, in ``out``:

    - ``for_raters/rating_sheet.csv``: ``id``, ``image`` and one empty
      column per rater × unit, rows in random order;
    - ``for_raters/images/<id>.png``: the crops, named by random 8-character
      ids (all with the same modification time, so their order reveals
      nothing);
    - ``rating_key.csv``: ``id``, ``subject``, ``video``, ``frame_index``,
      ``time_s`` — the key that un-blinds the sheet. Give the raters the
      ``for_raters`` folder only, never the key.

    Every argument and the output folder are checked before any video is
    read; the files are written into a hidden folder inside ``out`` and moved
    into place only when all of them are complete.

    Args:
        videos: A video path or a list of them.
        out: Output folder. It must not hold an earlier run's output
            (``for_raters/``, ``rating_key.csv``): a filled sheet is never
            replaced.
        every: Seconds between two sampled frames (positive, finite).
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
        subject: The key's ``subject`` column (default: each video's file stem).
        seed: Seed of the ids and the row order (``None``: a fresh random
            draw); the same seed and videos give the same sheet.
        progress: Show a bar over the sampled frames, then over the crops
            written.

    Returns:
        A :class:`FrameSelection`.

    Raises:
        ValueError: For bad arguments (naming them), an ``out`` that holds an
            earlier run's output, an unreadable or empty video, or a video in
            which no face is found in any sampled frame. Videos are named by
            their position among ``videos`` (file names may be people's
            names).
        FileNotFoundError: For a missing video.
    """

    check_frame_arguments(
        every=every,
        max_frames=max_frames,
        scale=scale,
        raters=raters,
        size=size,
        blur_ratio=blur_ratio,
        duplicate_threshold=duplicate_threshold,
        seed=seed,
    )
    columns = rating_columns(scale, raters)
    if isinstance(videos, (str, os.PathLike)):
        videos = [videos]
    videos = [Path(v) for v in videos]
    if not videos:
        raise ValueError("No video given; pass at least one video file.")
    labels = [f"video {i} of {len(videos)}" for i in range(1, len(videos) + 1)]
    for video, label in zip(videos, labels):
        if not video.is_file():
            raise FileNotFoundError(
                f"{label.capitalize()} does not exist (or is not a file); check the path."
            )
    out = Path(out)
    check_output_folder(out)
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

    readers = []
    for video, label in zip(videos, labels):
        try:
            readers.append(VideoFrames(video, fps=1.0 / every))
        except (ValueError, FileNotFoundError) as err:
            raise _positional(err, video, label) from None
    bar = None
    if progress:
        from tqdm.auto import tqdm

        total = sum(r.expected_samples for r in readers) or None
        bar = tqdm(total=total, unit="frame", desc="frames: sampling")

    # Pass 1, every video: numbers per frame (sharpness, thumbnail), never pixels.
    chosen_per_video, counts = [], {}
    try:
        for video, label, reader in zip(videos, labels, readers):
            cands, sampled = [], 0
            try:
                for index, t, rgb in reader:
                    sampled += 1
                    if bar is not None:
                        bar.update(1)
                    crop = cropper(rgb, name=f"{label} frame {index}")
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
            except (ValueError, FileNotFoundError) as err:
                raise _positional(err, video, label) from None
            if not cands:
                raise ValueError(
                    f"No face found in any of the {sampled} frame(s) sampled from {label} "
                    f"(detector {cropper.detector_name!r}); try another detector, or "
                    "--face-crop none if the video is already a face close-up. Nothing was "
                    "written."
                )
            chosen, c = _choose(cands, blur_ratio, duplicate_threshold, max_frames)
            c.update(sampled=sampled, no_face=sampled - len(cands))
            counts[str(video)] = c
            chosen_per_video.append(chosen)
    finally:
        if bar is not None:
            bar.close()

    # Random ids and a random row order: nothing in what raters get follows
    # subject, video or time.
    rng = np.random.default_rng(seed)
    n_rows = sum(len(c) for c in chosen_per_video)
    ids = iter(_random_ids(rng, n_rows))
    key_rows = []
    for video, chosen in zip(videos, chosen_per_video):
        for cand in chosen:
            key_rows.append(
                {
                    "id": next(ids),
                    "subject": subject or video.stem,
                    "video": str(video),
                    "frame_index": int(cand["index"]),
                    "time_s": round(float(cand["time_s"]), 3),
                }
            )
    key = pd.DataFrame(key_rows, columns=list(KEY_COLUMNS))
    order = rng.permutation(n_rows)
    sheet = pd.DataFrame(
        {
            "id": key["id"].to_numpy()[order],
            "image": [f"images/{i}.png" for i in key["id"].to_numpy()[order]],
            **{c: [""] * n_rows for c in columns},
        },
        columns=["id", "image", *columns],
    )

    # Pass 2: decode again and write only the chosen frames, into a hidden
    # folder that is moved into place once everything is written.
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".frames-partial-", dir=out))
    try:
        folder = staging / RATER_FOLDER
        (folder / "images").mkdir(parents=True)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=n_rows, unit="frame", desc="frames: writing")
        start = 0
        for video, label, chosen in zip(videos, labels, chosen_per_video):
            id_of = {cand["index"]: key["id"].iloc[start + j] for j, cand in enumerate(chosen)}
            start += len(chosen)
            try:
                for index, _t, rgb in VideoFrames(video, fps=1.0 / every):
                    if index not in id_of:
                        continue
                    crop = cropper(rgb, name=f"{label} frame {index}")
                    write_image(folder / "images" / f"{id_of[index]}.png", crop.image)
                    if bar is not None:
                        bar.update(1)
            except (ValueError, FileNotFoundError) as err:
                raise _positional(err, video, label) from None
        if bar is not None:
            bar.close()
        # One modification time for every crop: the order they were written
        # in (video by video, in time order) is not left in the files.
        stamp = time.time()
        for png in (folder / "images").iterdir():
            os.utime(png, (stamp, stamp))
        sheet.to_csv(folder / SHEET_NAME, index=False)
        key.to_csv(staging / KEY_NAME, index=False)
        check_output_folder(out)  # nothing appeared there meanwhile
        (staging / RATER_FOLDER).rename(out / RATER_FOLDER)
        (staging / KEY_NAME).rename(out / KEY_NAME)
        staging.rmdir()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()  # only if this run created it and it is empty
        raise
    return FrameSelection(
        sheet=sheet,
        sheet_path=out / RATER_FOLDER / SHEET_NAME,
        key=key,
        key_path=out / KEY_NAME,
        counts=counts,
    )


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
