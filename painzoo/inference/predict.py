"""``painzoo predict``: score images, folders, manifests and videos with a trained model.

Inputs become rows of one table (:data:`COLUMNS`), plus a summary row and a timeline PNG per video.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from painzoo.datasets.io import IMAGE_EXTENSIONS, display_path, is_image_file, read_image
from painzoo.datasets.labels import DECISION_THRESHOLD, PAIN, predicted_label
from painzoo.datasets.manifest import natural_key
from painzoo.evaluation.metrics import FLAG_NOT_LEARNING
from painzoo.inference.card import CARD_FILE, PainModel, load_model
from painzoo.inference.video import VIDEO_EXTENSIONS, VideoFrames, is_video_file
from painzoo.preprocess.face import cropper_for
from painzoo.utils.files import (
    atomic_write_text,
    check_outputs,
    open_replacing,
    replace_when_complete,
)
from painzoo.utils.numbers import check_number
from painzoo.utils.progress import progress_bar

__all__ = ["COLUMNS", "SUMMARY_COLUMNS", "predict", "summarize_video", "plot_timeline"]

COLUMNS = ("input", "frame", "time_s", "face_found", "box_x", "box_y", "box_w", "box_h")
COLUMNS += ("p_pain", "label")
SUMMARY_COLUMNS = ("input", "frames", "frames_with_face", "seconds", "seconds_analysed")
SUMMARY_COLUMNS += ("share_above_threshold", "longest_episode_s", "mean_p_pain", "threshold")
SUMMARY_COLUMNS += ("frames_decoded", "frames_declared", "seconds_declared", "complete")


def _expand_inputs(inputs) -> list[tuple[str, object]]:
    """``(kind, item)`` for every image/video: kinds ``image``, ``video``, ``array``."""
    if isinstance(inputs, np.ndarray):
        arr = inputs if inputs.ndim == 4 else inputs[None]
        return [("array", (f"array[{i}]", arr[i])) for i in range(len(arr))]
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    items: list[tuple[str, object]] = []
    for entry in inputs:
        path = Path(entry)
        if path.is_dir():
            found = sorted(
                (p for p in path.rglob("*") if p.is_file()),
                key=lambda p: natural_key(str(p.relative_to(path))),
            )
            files = [p for p in found if is_image_file(p) or is_video_file(p)]
            if not files:
                raise ValueError(
                    f"Folder {path} holds no image ({', '.join(IMAGE_EXTENSIONS)}) or video "
                    f"({' '.join(VIDEO_EXTENSIONS)}) file."
                )
            items += [("video" if is_video_file(p) else "image", p) for p in files]
        elif path.suffix.lower() == ".csv":
            items += [("image", p) for p in _manifest_images(path)]
        elif is_video_file(path):
            items.append(("video", path))
        elif is_image_file(path):
            items.append(("image", path))
        elif not path.exists():
            raise FileNotFoundError(f"Input {path} does not exist.")
        else:
            raise ValueError(
                f"Input {path} is neither an image, a video ({' '.join(VIDEO_EXTENSIONS)}), a "
                "folder nor a CSV manifest with an 'image' column."
            )
    return items


def _manifest_images(path: Path) -> list[Path]:
    if not path.is_file():
        raise FileNotFoundError(f"Manifest {path} does not exist.")
    frame = pd.read_csv(path)
    if "image" not in frame.columns:
        raise ValueError(
            f"Manifest {path} has no 'image' column (its columns: {list(frame.columns)}); "
            "painzoo predict reads the image paths from it."
        )
    paths = [Path(value) for value in frame["image"].astype(str)]
    return [p if p.is_absolute() else path.parent / p for p in paths]


#: An input whose shorter side is this many times the training images' longer
#: side, scored whole, is "far larger than the training images".
SIZE_RATIO_WARNING = 2.0


class _Cropping:
    """One image → ``(found, box, model input pixels or None)``; ``found`` is ``None`` where nothing looked for a face."""

    def __init__(self, cropper, spec, training_size=None):
        self.cropper = cropper
        self.spec = spec
        self.detects = cropper is not None and cropper.detector_name != "none"
        self.training_size = training_size
        self.oversized: list[str] = []
        self.largest = (0, 0)

    def __call__(self, rgb: np.ndarray, name: str):
        if self.cropper is None:
            h, w = rgb.shape[:2]
            self._check_size(h, w, name)
            return None, (0, 0, w, h), self.spec.prepare(rgb)
        crop = self.cropper(rgb, name=name)
        if crop is None or (self.detects and not crop.found):
            return False, None, None
        found = True if self.detects else None
        return found, tuple(int(v) for v in crop.box), self.spec.prepare(crop.image)

    def _check_size(self, h: int, w: int, name: str) -> None:
        if self.training_size is None or min(h, w) < SIZE_RATIO_WARNING * max(self.training_size):
            return
        source = name.split(" frame ")[0]  # a video's frames count once
        if source not in self.oversized:
            self.oversized.append(source)
        self.largest = max(self.largest, (h, w))

    def warn(self) -> None:
        """One warning naming the inputs far larger than the training images, if any."""
        if not self.oversized:
            return
        th, tw = self.training_size
        shown = ", ".join(Path(n).name for n in self.oversized[:3])
        more = f" and {len(self.oversized) - 3} more" if len(self.oversized) > 3 else ""
        warnings.warn(
            f"{len(self.oversized)} input(s) ({shown}{more}) are far larger than the model's "
            f"training images (up to {self.largest[0]}×{self.largest[1]} px against about "
            f"{th}×{tw} px) and are scored whole, without a face crop: if the training images "
            "were face crops, pass --face-crop mtcnn (or haar) so that new images are cropped "
            "the same way.",
            stacklevel=3,
        )


def _say_scored_whole(face_crop, cropper, model) -> None:
    """The one notice that inputs are scored whole because the card records no crop."""
    if cropper is not None or not (isinstance(face_crop, str) and face_crop == "card"):
        return
    h, w = model.input_size
    warnings.warn(
        "The model card records no face crop (its training images were used as they came), "
        f"so every input is scored whole, resized to {h}×{w} px, and face_found is left "
        "empty. If the training images were face crops made elsewhere, pass --face-crop "
        "mtcnn (or haar) to crop new images alike.",
        stacklevel=3,
    )


class _Scorer:
    """Collects rows in order, scores their crops in batches, streams them to a CSV handle."""

    def __init__(self, model, batch_size: int, threshold: float, handle=None):
        self.model = model
        self.batch_size = int(batch_size)
        self.threshold = threshold
        self.writer = None if handle is None else csv.DictWriter(handle, fieldnames=COLUMNS)
        if self.writer is not None:
            self.writer.writeheader()
        self.collected: list[dict] = []  # the rows scored so far
        self.rows: list[dict] = []  # the rows waiting for a batch
        self.pixels: list[np.ndarray] = []
        self.owners: list[int] = []

    def add(self, row: dict, pixels: np.ndarray | None) -> None:
        self.rows.append(row)
        if pixels is not None:
            self.owners.append(len(self.rows) - 1)
            self.pixels.append(pixels)
            if len(self.pixels) >= self.batch_size:
                self.flush()

    def flush(self) -> None:
        if self.pixels:
            x = np.stack(self.pixels).astype(np.float32, copy=False)
            probs = np.asarray(self.model.keras_model.predict_on_batch(x), np.float32)
            p = probs[:, PAIN] if probs.ndim == 2 and probs.shape[1] > 1 else probs.ravel()
            for i, value in zip(self.owners, p):
                self.rows[i]["p_pain"] = round(float(value), 6)
                self.rows[i]["label"] = predicted_label(value, self.threshold)
        self.collected.extend(self.rows)
        if self.writer is not None and self.rows:
            self.writer.writerows({k: _csv_value(v) for k, v in r.items()} for r in self.rows)
        self.rows, self.pixels, self.owners = [], [], []


def _row(name: str, frame: int, time_s, found: bool | None, box) -> dict:
    row = dict.fromkeys(COLUMNS)
    row.update(input=name, frame=int(frame), time_s=time_s, face_found=found)
    if box is not None:
        row.update(zip(("box_x", "box_y", "box_w", "box_h"), box))
    return row


def _csv_value(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def predict(
    model,
    inputs,
    *,
    out: str | os.PathLike | None = None,
    face_crop="card",
    fps: float | None = 5.0,
    batch_size: int = 32,
    threshold: float | None = None,
    smooth_s: float = 2.0,
    timelines: bool = True,
    progress: bool = False,
    on_error: str = "raise",
) -> pd.DataFrame:
    """Probability of pain for images, folders, CSV manifests and videos, as a DataFrame (:data:`COLUMNS`).

    ``.attrs["summary"]`` of the result holds :func:`summarize_video`'s rows.

    Args:
        model: A :class:`~painzoo.inference.card.PainModel`, the folder (or ``model.json`` /
            ``model.keras``) ``painzoo train`` wrote, or a Keras model.
        inputs: Path(s) of images, folders, CSV manifests or videos, or uint8 RGB ``[N, H, W, 3]``.
        out: CSV path for the rows, replaced once every input has been tried, with
            ``<stem>_summary.csv`` and ``<stem>_timelines/`` beside it.
        face_crop: See :func:`painzoo.preprocess.cropper_for`.
        fps: Video samples per second (``None``: every frame).
        batch_size: Faces per forward pass.
        threshold: Decision threshold on ``p_pain`` (default: the card's, else 0.5).
        smooth_s, timelines: Moving-average seconds; timeline PNGs per video (only with ``out``).
        progress: Show a progress bar over frames.
        on_error: ``"raise"`` (after every input has been tried) or ``"warn"``.

    Raises:
        ValueError: For a number out of range, an ``out`` that would replace or sit inside an input
            (before anything is written), a model that is not painzoo's, an input of unknown kind,
            or (``on_error="raise"``) an unreadable or empty video or one with no face in any
            frame, after the other inputs are done.
        FileNotFoundError: For a missing model or input.
    """
    if on_error not in ("raise", "warn"):
        raise ValueError(f"on_error must be 'raise' or 'warn'; received {on_error!r}.")
    batch_size = check_number(batch_size, "batch_size", low=1, integer=True)
    fps = check_number(fps, "fps", low=0, low_open=True, none=True)
    threshold = check_number(threshold, "threshold", low=0, high=1, none=True)
    smooth_s = check_number(smooth_s, "smooth_s", low=0, low_open=True)
    out_path = None if out is None else _out_path(out, model, inputs, timelines)
    model = _pain_model(model)
    thr = model.threshold if threshold is None else float(threshold)
    items = _expand_inputs(inputs)
    if out_path is not None:  # the files a manifest lists
        _check_out(out_path, [("input", p) for k, p in items if k != "array"], timelines)
    cropper = cropper_for(face_crop, model.face_crop, model.input_size[0])
    _say_scored_whole(face_crop, cropper, model)
    training_size = model.training_image_size if cropper is None else None
    cropping = _Cropping(cropper, model.input_spec, training_size)
    rows_file = contextlib.nullcontext()  # else a temporary file that replaces out at the end
    if out_path is not None:
        rows_file = open_replacing(out_path, "w", newline="", encoding="utf-8")
    with rows_file as handle, _progress_bar(items, fps, progress) as bar:
        scorer = _Scorer(model, batch_size, thr, handle)
        summaries, videos, problems = _score_items(items, fps, cropping, scorer, bar)
    cropping.warn()
    table, summary_table = _tables(scorer.collected, summaries)
    if out_path is not None:
        _write_beside(out_path, summary_table, videos, scorer.collected, thr, timelines, smooth_s)
    if problems:
        _report(problems, len(table), out_path, on_error)
    return table


def _out_path(out, model, inputs, timelines: bool) -> Path:
    """``out`` as a path, refused before the model is loaded if it is a folder or an input."""
    out_path = Path(out)
    if out_path.is_dir():
        raise ValueError(
            f"out {display_path(out_path)} is a folder; pass a CSV file path, e.g. "
            f"{display_path(out_path / 'predictions.csv')}."
        )
    _check_out(out_path, _direct_inputs(inputs) + _model_inputs(model), timelines)
    return out_path


def _pain_model(model) -> PainModel:
    """A :class:`PainModel` from a path or a Keras model; a card flagged not learning warns."""
    if isinstance(model, (str, os.PathLike)):
        model = load_model(model)
    elif not isinstance(model, PainModel):
        model = PainModel.from_keras(model)
    training = model.card.get("training") or {}
    if isinstance(training, dict) and training.get("flag") == FLAG_NOT_LEARNING:
        where = display_path(model.path.parent) if model.path is not None else "this model"
        warnings.warn(
            f"The model in {where} did not learn when it was trained (its card's training "
            f"flag is {FLAG_NOT_LEARNING!r}: its loss did not fall, or it classified its "
            "training images hardly better than answering one class), so its p_pain says "
            "little. Retrain it (more epochs, another recipe) before relying on it.",
            UserWarning,
            stacklevel=3,
        )
    return model


def _write_beside(out: Path, summary, videos, rows, threshold, timelines, smooth_s) -> None:
    """The summary CSV (if any video) and, with ``timelines``, one PNG per video beside ``out``."""
    if len(summary):
        atomic_write_text(_summary_path(out), summary.to_csv(index=False))
    used: set = set()
    for video, first, end in videos if timelines else ():
        path = _timeline_path(out, video, used)
        plot_timeline(rows[first:end], threshold, path, smooth_s=smooth_s)


def _report(problems: list[str], n_rows: int, out_path, on_error: str) -> None:
    """One error (or warning) naming every input that could not be scored."""
    where = f"; the {n_rows} row(s) scored are in {out_path}" if out_path else ""
    message = f"{len(problems)} input(s) could not be scored{where}:\n  " + "\n  ".join(problems)
    if on_error == "raise":
        raise ValueError(message)
    warnings.warn(message, stacklevel=3)


def _tables(rows: list[dict], summaries: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows and the video summaries as typed DataFrames (the summary in ``.attrs``)."""
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    table["face_found"] = table["face_found"].astype("boolean")
    table["frame"] = table["frame"].astype(int)
    for col in ("time_s", "p_pain"):
        table[col] = pd.to_numeric(table[col], errors="coerce").astype(float)
    for col in ("box_x", "box_y", "box_w", "box_h", "label"):
        table[col] = pd.to_numeric(table[col], errors="coerce").astype("Int64")
    summary = pd.DataFrame(summaries, columns=list(SUMMARY_COLUMNS))
    for col in ("frames_decoded", "frames_declared"):
        summary[col] = summary[col].astype("Int64")
    summary["complete"] = summary["complete"].astype("boolean")
    table.attrs["summary"] = summary
    return table, summary


def _score_items(items, fps, cropping, scorer, bar) -> tuple[list, list, list]:
    """Score every input in order; returns video summaries, each video's row range and the problems."""
    summaries, videos, problems = [], [], []
    for kind, item in items:
        if kind == "video":
            first = len(scorer.collected) + len(scorer.rows)
            video = None
            try:
                video = VideoFrames(item, fps=fps)
                for index, t, rgb in video:
                    found, box, pixels = cropping(rgb, f"{video.path} frame {index}")
                    scorer.add(_row(str(video.path), index, round(t, 6), found, box), pixels)
                    bar.update(1)
            except (ValueError, FileNotFoundError, OSError) as err:
                problems.append(str(err))
            scorer.flush()
            rows = scorer.collected[first:]
            if not rows:
                continue
            summary = summarize_video(rows, scorer.threshold, fps, video=video)
            summaries.append(summary)
            videos.append((item, first, len(scorer.collected)))
            if cropping.detects and summary["frames_with_face"] == 0:
                problems.append(
                    f"No face found in any of the {summary['frames']} sampled frame(s) of "
                    f"{item} (detector {cropping.cropper.detector_name!r}); try "
                    "--face-crop haar, another detector, or --face-crop none if the "
                    "video is already a face close-up."
                )
            continue
        name = item[0] if kind == "array" else str(item)
        try:
            rgb = np.asarray(item[1]) if kind == "array" else read_image(item)
        except (ValueError, FileNotFoundError) as err:
            problems.append(str(err))
        else:
            found, box, pixels = cropping(rgb, name)
            scorer.add(_row(name, 0, None, found, box), pixels)
        bar.update(1)
    scorer.flush()
    return summaries, videos, problems


def _model_inputs(model) -> list[tuple[str, Path]]:
    """The model's files as inputs: its folder when it has a card, else the file itself."""
    path = model.path if isinstance(model, PainModel) else model
    if not isinstance(path, (str, os.PathLike)):
        return []
    path = Path(path)
    if path.is_dir():
        return [("model folder", path)]
    if (path.parent / CARD_FILE).is_file():  # a folder written by painzoo train
        return [("model", path), ("model folder", path.parent)]
    return [("model", path)]


def _direct_inputs(inputs) -> list[tuple[str, Path]]:
    """The paths given as inputs (files, folders, manifests), before expansion."""
    if isinstance(inputs, np.ndarray):
        return []
    paths = [Path(p) for p in ([inputs] if isinstance(inputs, (str, os.PathLike)) else inputs)]
    return [("input folder" if p.is_dir() else "input", p) for p in paths]


def _check_out(out: Path, inputs, timelines: bool) -> None:
    """Refuse an ``out`` (or its summary or timelines) that is or lies in an input."""
    outputs = [("--out", out), ("its summary CSV", _summary_path(out))]
    if timelines:
        outputs.append(("its timelines folder", _timelines_folder(out)))
    check_outputs(
        outputs,
        inputs,
        command="painzoo predict",
        fix="Pass --out a new CSV path outside the inputs and the model folder, e.g. "
        "predictions.csv in the working folder.",
    )


def _progress_bar(items, fps, progress):
    total = 0
    for kind, item in items if progress else ():
        try:
            total += VideoFrames(item, fps=fps).expected_samples if kind == "video" else 1
        except (ValueError, FileNotFoundError):
            pass
    return progress_bar(progress, total=total or None, desc="predict")


def _summary_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}_summary.csv")


def _timelines_folder(out: Path) -> Path:
    return out.with_name(f"{out.stem}_timelines")


def _timeline_path(out: Path, video, used: set) -> Path:
    folder = _timelines_folder(out)
    stem = Path(video).stem
    target, n = folder / f"{stem}.png", 2
    while target in used:  # two videos with one name in different folders
        target, n = folder / f"{stem}-{n}.png", n + 1
    used.add(target)
    return target


def _interval(rows: list[dict], fps: float | None) -> float:
    """Seconds one sample stands for: ``1 / fps`` or the median gap between samples."""
    times = np.array([r["time_s"] for r in rows], float)
    if len(times) > 1:
        gap = float(np.median(np.diff(times)))
        if gap > 0:
            return gap
    return 1.0 / fps if fps else 0.0


def summarize_video(
    rows,
    threshold: float = DECISION_THRESHOLD,
    fps: float | None = 5.0,
    *,
    video: VideoFrames | None = None,
) -> dict:
    """One summary row (:data:`SUMMARY_COLUMNS`) of a video's prediction rows (dicts or a DataFrame).

    Each sampled frame stands for ``1 / fps`` seconds, or the median gap between frames when every
    frame is sampled. ``longest_episode_s`` is the longest run of frames at or above ``threshold``
    (a frame without a face ends a run); ``complete`` is ``False`` for a truncated ``video``
    (:class:`~painzoo.inference.video.VideoFrames`, for the frame counts).
    """
    if isinstance(rows, pd.DataFrame):
        rows = rows.to_dict("records")
    step = _interval(rows, fps)
    p = np.array([_nan(r["p_pain"]) for r in rows], float)
    scored = ~np.isnan(p)
    above = scored & (predicted_label(np.nan_to_num(p), threshold) == PAIN)
    longest = max((int(end - start) for start, end in _runs(above)), default=0)
    n_scored = int(scored.sum())
    return {
        "input": rows[0]["input"],
        "frames": len(rows),
        "frames_with_face": n_scored,
        "seconds": round(len(rows) * step, 6),
        "seconds_analysed": round(n_scored * step, 6),
        "share_above_threshold": round(float(above.sum() / n_scored), 6) if n_scored else np.nan,
        "longest_episode_s": round(longest * step, 6),
        "mean_p_pain": round(float(p[scored].mean()), 6) if n_scored else np.nan,
        "threshold": threshold,
        **_frame_counts(video),
    }


def _frame_counts(video: VideoFrames | None) -> dict:
    """The decoded and declared frame counts of a video read to its end."""
    out = dict.fromkeys(("frames_decoded", "frames_declared", "seconds_declared", "complete"))
    if video is None:
        return out
    out["frames_decoded"] = video.frames_read
    if video.info.frames > 0:
        out["frames_declared"] = video.info.frames
        out["seconds_declared"] = round(video.info.duration_s, 6)
    out["complete"] = video.complete
    return out


def _runs(mask) -> list[tuple[int, int]]:
    """``(start, end)`` of every run of true values in a boolean sequence."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], np.asarray(mask, int), [0]])))
    return list(zip(edges[::2], edges[1::2]))


def _nan(value) -> float:
    return float("nan") if value is None or value is pd.NA else float(value)


def smooth(times, p_pain, width_s: float) -> np.ndarray:
    """Centred moving average of ``p_pain`` over ``width_s`` seconds; frames without a face stay NaN."""
    t = np.asarray(times, float)
    p = np.asarray(p_pain, float)
    out = np.full(len(p), np.nan)
    ok = ~np.isnan(p)
    half = width_s / 2.0
    for i in np.flatnonzero(ok):
        near = ok & (np.abs(t - t[i]) <= half + 1e-9)
        out[i] = p[near].mean()
    return out


def plot_timeline(rows, threshold: float, path: str | os.PathLike, *, smooth_s: float = 2.0):
    """Draw one video's timeline PNG at ``path`` (p_pain, moving average, threshold, gaps); returns it.

    Args:
        rows: The video's rows (dicts or a DataFrame).
        threshold: The decision threshold (dashed line).
        smooth_s: Width of the moving average in seconds.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    frame = pd.DataFrame(rows)
    t = frame["time_s"].astype(float).to_numpy()
    p = pd.to_numeric(frame["p_pain"], errors="coerce").astype(float).to_numpy()
    step = _interval(frame.to_dict("records"), None) or 0.2
    fig, ax = plt.subplots(figsize=(8, 3.0), dpi=100)
    missing = np.isnan(p)
    for start, end in _runs(missing):  # shaded: the line has a gap there
        ax.axvspan(t[start] - step / 2, t[end - 1] + step / 2, color="0.88", lw=0)
    ax.plot(t, p, ".", ms=3, color="tab:blue", alpha=0.6, label="p_pain per frame")
    ax.plot(t, smooth(t, p, smooth_s), "-", color="tab:red", lw=1.6, label=f"{smooth_s:g} s mean")
    ax.axhline(threshold, ls="--", color="0.3", lw=1, label=f"threshold {threshold:g}")
    if missing.any():
        ax.axvspan(np.nan, np.nan, color="0.88", label="no face")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("p_pain")
    ax.set_title(Path(str(frame["input"].iloc[0])).name, fontsize=9)
    # below the axes, so that it covers no frame
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), fontsize=9, ncol=4, frameon=False)
    fig.tight_layout()
    path = Path(path)
    try:
        with replace_when_complete(path) as tmp:  # an old PNG stays until the new one is whole
            fig.savefig(tmp, format=path.suffix[1:] or "png")
    finally:
        plt.close(fig)
    return path
