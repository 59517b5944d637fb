"""Synthetic pain faces: procedurally rendered stand-ins for the licensed datasets."""

from __future__ import annotations

import os
import zlib
from itertools import product
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from painzoo.annotation.pspi import pspi
from painzoo.datasets.io import write_image
from painzoo.datasets.labels import CLASS_NAMES, level_to_label
from painzoo.datasets.manifest import Dataset
from painzoo.datasets.synthetic import human, rat
from painzoo.datasets.synthetic.presets import PRESETS, RATSPAIN_COUNTS, scaled_cells

__all__ = ["make_synthetic", "PRESETS", "RATSPAIN_COUNTS", "rat_level", "pspi"]

LABEL_NAMES = CLASS_NAMES
KEYPOINTS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")

# All 81 RGS score vectors grouped by their sum, for sampling AUs given a level.
_RGS = np.array(list(product(range(3), repeat=4)))
_RGS_BY_SUM = {s: _RGS[_RGS.sum(1) == s] for s in range(9)}
# Level 0: mean < 0.5 (sum 0–1); level 1: sum 2–5; level 2: sum 6–8.
_RAT_SUMS = {
    0: ([0, 1], [0.6, 0.4]),
    1: ([2, 3, 4, 5], [0.2, 0.35, 0.3, 0.15]),
    2: ([6, 7, 8], [0.5, 0.35, 0.15]),
}

# PSPI ranges per pain level (UNBC/MInt levels 1–4; Delaware and CP-PAIN are binary).
_PSPI_RANGE = {
    "unbc": {1: (1, 2), 2: (3, 5), 3: (6, 8), 4: (9, 12)},
    "delaware": {1: (3, 10)},
    "cppain": {1: (1, 6)},
}
_PSPI_RANGE["mintpain"] = _PSPI_RANGE["unbc"]
# ``pain_margin=1`` for people: the lowest PSPI a pain face is drawn with.
_HUMAN_MARGIN_FLOOR = 3
# ``face_scale``: how far down (in image heights) the face moves per unit of extra scale.
_FRAME_SHIFT = 0.1
# ... and how far sideways (image widths) per degree of head turn: the eyes' midpoint at scale 1.
_YAW_SHIFT = 0.0043


class _Style(NamedTuple):
    """A source's nuisance ranges: head turn, roll, blur, noise, light, asymmetry, mouth open."""

    yaw: float
    roll: float
    blur: tuple[float, float]
    noise: tuple[float, float]
    light: tuple[float, float, float, float]
    asym: float
    open_: float


_SOURCE_STYLE = {
    "unbc": _Style(30, 6, (0.4, 1.1), (4, 8), (0.95, 1.08, 0.0, 0.1), 0.0, 0.12),
    "mintpain": _Style(20, 4, (0.0, 0.6), (2, 5), (0.95, 1.1, 0.0, 0.1), 0.0, 0.12),
    "delaware": _Style(8, 2, (0.0, 0.4), (1, 3), (1.0, 1.1, 0.0, 0.05), 0.0, 0.05),
    "cppain": _Style(35, 10, (0.3, 1.2), (4, 9), (0.78, 0.98, 0.12, 0.3), 0.9, 0.5),
}


def rat_level(aus) -> int:
    """RatsPain label from the four RGS scores: ``round(mean)``, halves rounded up (P1, Section 2.1)."""
    return int(np.floor(np.mean(aus) + 0.5))


def _subject_rng(subject: str, seed: int, salt: int) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(subject.encode()), seed, salt])


def _sample_rat_aus(rng, level: int, margin: int = 0) -> np.ndarray:
    sums, p = _RAT_SUMS[level]
    if margin:
        # Keep the sums away from the no-pain/pain border (1 | 2) by ``margin``.
        keep = [(s, q) for s, q in zip(sums, p) if s <= 1 - margin or s >= 2 + margin]
        sums, p = [s for s, _ in keep], np.array([q for _, q in keep])
        p = p / p.sum()
    s = rng.choice(sums, p=p)
    options = _RGS_BY_SUM[s]
    return options[rng.integers(len(options))].copy()


def _sample_human_aus(rng, source: str, level: int, margin: int = 0) -> np.ndarray:
    """``[AU4, AU6, AU7, AU9, AU10, AU43]`` whose PSPI lies in the level's range (``margin=1``: pain PSPI ≥ 3)."""
    aus = np.zeros(6, int)
    if level == 0:
        return aus
    lo, hi = _PSPI_RANGE[source][level]
    if margin:
        lo = max(lo, _HUMAN_MARGIN_FLOOR)
        hi = max(hi, lo)
    target = int(rng.integers(lo, hi + 1))
    if target >= 3 and rng.random() < min(0.5, 0.05 * target):
        aus[5] = 1
        target -= 1
    parts = np.zeros(3, int)  # AU4, max(AU6, AU7), max(AU9, AU10)
    weights = np.array([1.0, 1.3, 0.8])
    for _ in range(min(target, 15)):
        room = parts < 5
        w = weights * room
        parts[rng.choice(3, p=w / w.sum())] += 1
    aus[0] = parts[0]
    for j, (a, b) in ((1, (1, 2)), (2, (3, 4))):
        top, other = (a, b) if rng.random() < 0.5 else (b, a)
        aus[top] = parts[j]
        aus[other] = rng.integers(0, parts[j] + 1)
    return aus


def make_synthetic(
    preset: str,
    *,
    image_size: int = 128,
    seed: int = 0,
    scale: float = 1.0,
    max_yaw: float | None = None,
    root: str | os.PathLike | None = None,
    rater_noise: float = 0.1,
    sensor_noise: tuple[float, float] | None = None,
    pain_margin: int = 0,
    face_scale: float = 1.0,
) -> Dataset:
    """Render a synthetic stand-in for a pain dataset (same arguments, identical pixels).

    Args:
        preset: ``"ratspain"`` (6 rats, P1 Table 2 counts, 1,138 images),
            ``"paindb"`` (UNBC 25 / 980, MInt PAIN 20 / 800, Delaware
            240 / 803; 2,583 images) or ``"cppain"`` (55 subjects, 109 images).
        image_size: Side of the square RGB images in pixels.
        seed: Seed of the whole dataset.
        scale: Multiplies every subject × level count (rounded, at least 1).
        max_yaw: Largest head turn in degrees; ``None`` keeps the preset's.
        root: If given, write ``root/<subject>/<no_pain|pain>/<name>.png``
            and ``root/manifest.csv`` and return the on-disk dataset.
        rater_noise: Chance that a face is drawn from a level not its label (``rater_error``).
        sensor_noise: ``(low, high)`` sensor-noise std in grey levels.
        pain_margin: ``1`` keeps every face away from the class border (rats' moderate RGS sum
            3–5, people's pain PSPI ≥ 3).
        face_scale: People only: head size in the frame (``2.0`` frames brows to mouth).

    Returns:
        A :class:`Dataset` with ``level``, ``au_*`` (people also ``pspi``), ``yaw``, ``roll``,
        ``kp_*_x/y``, ``rater_error``, ``.images`` and ``.masks`` per AU region.

    Raises:
        ValueError: For an unknown preset, ``scale <= 0``, ``image_size < 16``, a negative
            ``max_yaw``, ``rater_noise`` outside [0, 1], a ``sensor_noise`` that is not
            ``(low, high)`` with ``0 <= low <= high`` or a ``face_scale`` outside [0.5, 3].

    Example:
        >>> ds = make_synthetic("ratspain", image_size=64, scale=0.05)
        >>> int(ds.summary().loc["total", "total"])
        59

    Reference:
        Liu et al., "PainSeeker", Front. Vet. Sci. 2025 (RatsPain, Table 2);
        Sabater-Gárriz et al., "CP-PAIN", Digital Health 2024 (PAIN-DB, CP-PAIN).
    """
    cells = scaled_cells(preset, scale)
    noise_range = _check_options(
        image_size, max_yaw, pain_margin, face_scale, rater_noise, sensor_noise
    )
    is_rat = preset == "ratspain"
    mask_names = rat.MASK_NAMES if is_rat else human.MASK_NAMES
    jobs = [(source, subject, level) for source, subject, level, n in cells for _ in range(n)]
    images = np.empty((len(jobs), image_size, image_size, 3), np.uint8)
    masks = {k: np.empty((len(jobs), image_size, image_size), bool) for k in mask_names}
    rows, identities = [], {}
    for i, (source, subject, level) in enumerate(jobs):
        if subject not in identities:
            identities[subject] = _identity(is_rat, source, subject, seed)
        rng = np.random.default_rng([seed, i])
        error = bool(rng.random() < rater_noise)
        noise = None if noise_range is None else _noise_level(seed, i, *noise_range)
        face = (identities[subject], level, error, pain_margin, max_yaw, noise)
        if is_rat:
            images[i], mk, kp, pose, aus = _draw_rat(rng, image_size, *face)
        else:
            images[i], mk, kp, pose, aus = _draw_human(rng, image_size, *face, source, face_scale)
        rows.append(_row(source, subject, level, aus, pose, kp, error))
        for k in mask_names:
            masks[k][i] = mk[k]
    frame = pd.DataFrame(rows)
    if root is None:
        return Dataset(frame, images=images, masks=masks, name=preset)
    return _write(frame, images, masks, Path(root), preset)


def _row(source, subject, level, scores, pose, kp, error) -> dict:
    """One image's manifest row: label, subject, level, AUs, pose, keypoints, rater error."""
    row = {"image": "", "label": level_to_label(level), "subject": subject}
    row.update(source=source, level=level, **scores)
    row["yaw"], row["roll"] = round(pose["yaw"], 2), round(pose["roll"], 2)
    for name in KEYPOINTS:
        row[f"kp_{name}_x"] = round(float(kp[name][0]), 2)
        row[f"kp_{name}_y"] = round(float(kp[name][1]), 2)
    row["rater_error"] = error
    return row


def _check_options(image_size, max_yaw, pain_margin, face_scale, rater_noise, sensor_noise):
    """Validate :func:`make_synthetic`'s options; the ``(low, high)`` sensor noise or ``None``."""
    if image_size < 16:
        raise ValueError(f"image_size must be at least 16 pixels; received {image_size}.")
    if max_yaw is not None and max_yaw < 0:
        raise ValueError(f"max_yaw must be >= 0 degrees (0 = frontal); received {max_yaw}.")
    if pain_margin not in (0, 1):
        raise ValueError(f"pain_margin must be 0 or 1; received {pain_margin!r}.")
    if not 0.5 <= face_scale <= 3.0:
        raise ValueError(
            f"face_scale must be between 0.5 and 3.0 (1.0: head and shoulders, 2.0: a tight "
            f"face crop); received {face_scale!r}."
        )
    if not 0.0 <= rater_noise <= 1.0:
        raise ValueError(f"rater_noise is a probability in [0, 1]; received {rater_noise}.")
    if sensor_noise is None:
        return None
    try:
        low, high = (float(v) for v in sensor_noise)
    except (TypeError, ValueError):
        low, high = -1.0, -2.0
    if not 0.0 <= low <= high:
        raise ValueError(
            "sensor_noise must be a (low, high) pair of grey levels with 0 <= low <= high, "
            f"e.g. [8, 16]; received {sensor_noise!r}."
        )
    return low, high


def _identity(is_rat: bool, source: str, subject: str, seed: int) -> dict:
    """A subject's look plus ``au_bias``, its resting face's offset from neutral."""
    # Each subject's resting face differs a little: what makes leave-one-subject-out hard.
    if is_rat:
        ident = rat.rat_identity(subject, seed)
        ident["au_bias"] = _subject_rng(subject, seed, 3).normal(0.0, 0.2, 4)
    else:
        ident = human.human_identity(subject, seed, asymmetry=_SOURCE_STYLE[source].asym)
        ident["au_bias"] = _subject_rng(subject, seed, 3).normal(0.0, 0.35, 6)
    return ident


def _draw_rat(rng, size, ident, level, error, margin, max_yaw, noise):
    """One rat image: ``(image, masks, keypoints, pose, AU columns)``."""
    scores = _sample_rat_aus(rng, level, margin)
    shown = _sample_rat_aus(rng, 0 if level == 1 else 1, margin) if error else scores
    drawn = np.clip(shown + ident["au_bias"] + rng.normal(0.0, 0.2, 4), 0, 2)
    pose = _pose(rng, 60.0, 8.0, max_yaw)
    style = None if noise is None else {"noise": noise}
    im, mk, kp = rat.render_rat(size, ident, drawn, pose, rng, style=style)
    return im, mk, kp, pose, {f"au_{a}": int(v) for a, v in zip(rat.RAT_AUS, scores)}


def _draw_human(rng, size, ident, level, error, margin, max_yaw, noise, source, face_scale):
    """One human image: ``(image, masks, keypoints, pose, AU and PSPI columns)``."""
    st = _SOURCE_STYLE[source]
    scores = shown = _sample_human_aus(rng, source, level, margin)
    if error:
        shown = np.zeros(6, int) if level else _sample_human_aus(rng, "unbc", 1, margin)
    gain = 0.7 if source == "cppain" else 1.0
    drawn = shown * gain + np.where(shown > 0, ident["au_bias"] + rng.normal(0, 0.4, 6), 0)
    drawn = np.clip(drawn, 0, 5)
    drawn[5] = float(shown[5])
    pose = _pose(rng, st.yaw, st.roll, max_yaw)
    # A larger head is framed lower, and a turned one sideways with its
    # features, so brows, eyes and nose stay in view (as in a face crop).
    extra = face_scale - 1.0
    pose["scale"] *= face_scale
    pose["dy"] += _FRAME_SHIFT * extra
    pose["dx"] -= _YAW_SHIFT * extra * pose["yaw"]
    g0, g1, d0, d1 = st.light
    style = {
        "blur": rng.uniform(*st.blur),
        "noise": rng.uniform(*st.noise),
        "light": (rng.uniform(g0, g1), rng.uniform(d0, d1)),
    }
    if noise is not None:
        style["noise"] = noise
    if source == "delaware":
        style.update(clutter=0, bg=(232, 232, 228))
    brow_p = 0.3 if source == "cppain" else 0.1
    im, mk, kp = human.render_human(
        size,
        ident,
        drawn,
        pose,
        rng,
        mouth_open=float(rng.random() < st.open_) * rng.uniform(0.4, 1.0),
        smile=float(rng.random() < 0.1) * rng.uniform(0.3, 1.0) * (level == 0),
        brow_raise=float(rng.random() < brow_p) * rng.uniform(0.4, 1.0),
        style=style,
    )
    columns = {f"au_{a}": int(v) for a, v in zip(human.HUMAN_AUS, scores)}
    columns["pspi"] = int(pspi(*scores))
    return im, mk, kp, pose, columns


def _noise_level(seed: int, index: int, low: float, high: float) -> float:
    # A generator of its own: the image's other nuisances stay those drawn without it.
    return float(np.random.default_rng([seed, index, 17]).uniform(low, high))


def _pose(rng, yaw_range: float, roll_sd: float, max_yaw) -> dict:
    limit = yaw_range if max_yaw is None else min(float(max_yaw), 90.0)
    # Half the heads near frontal, the rest anywhere up to the limit.
    u = rng.uniform(-0.25, 0.25) if rng.random() < 0.5 else rng.uniform(-1.0, 1.0)
    return {
        "yaw": float(u * limit),
        "roll": float(np.clip(rng.normal(0.0, roll_sd), -2.5 * roll_sd, 2.5 * roll_sd)),
        "scale": float(rng.uniform(0.88, 1.08)),
        "dx": float(rng.normal(0.0, 0.03)),
        "dy": float(rng.normal(0.0, 0.03)),
    }


def _write(frame: pd.DataFrame, images: np.ndarray, masks: dict, root: Path, name: str) -> Dataset:
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (subject, label) in enumerate(zip(frame["subject"], frame["label"])):
        rel = Path(subject) / LABEL_NAMES[int(label)] / f"{subject}_{i:05d}.png"
        write_image(root / rel, images[i])
        paths.append(rel.as_posix())
    ds = Dataset(frame.assign(image=paths), masks=masks, root=root, name=name)
    ds.to_csv(root / "manifest.csv")
    return ds
