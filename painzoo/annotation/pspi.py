"""The Prkachin and Solomon Pain Intensity (PSPI) and the binary pain rule of P2."""

from __future__ import annotations

import numpy as np

__all__ = ["pspi", "binarize", "PSPI_CITATION"]

PSPI_CITATION = (
    "Prkachin, Solomon. The structure, reliability and validity of pain expression: "
    "evidence from patients with shoulder pain. Pain 139(2), 2008."
)

_AU43_MAX = {"binary": 1, "intensity": 5}


def _as_scores(value, name: str, high: float) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if np.isnan(arr).any():
        raise ValueError(
            f"{name} contains NaN; PSPI needs every action-unit intensity. Fill missing "
            "codes (0 = absent) or drop those frames first."
        )
    bad = (arr < 0) | (arr > high)
    if bad.any():
        first = arr[bad].ravel()[0]
        raise ValueError(
            f"{name} must lie in [0, {high:g}]; received {first:g} "
            f"({int(bad.sum())} value(s) out of range). FACS intensities are coded 0 "
            "(absent) to 5 (A–E); UNBC codes AU43 as 0/1."
        )
    return arr


def pspi(au4, au6, au7, au9, au10, au43, *, au43_scale: str = "binary") -> np.ndarray:
    """Prkachin and Solomon Pain Intensity from FACS action-unit intensities.

    ``PSPI = AU4 + max(AU6, AU7) + max(AU9, AU10) + AU43``, element-wise with broadcasting; returns
    a float array of the broadcast shape.

    Args:
        au4, au6, au7, au9, au10: Brow lowerer, cheek raiser, lid tightener, nose wrinkler and
            upper-lip raiser intensities, 0–5.
        au43: Eyes closed: 0/1 with ``au43_scale="binary"`` (UNBC-McMaster; score 0–16), 0–5 with
            ``"intensity"`` (P2's "20-point scale"; score 0–20).

    Raises:
        ValueError: If a value is NaN or out of range, or ``au43_scale`` is unknown.

    Example:
        >>> float(pspi(2, 1, 3, 0, 2, 1))
        8.0

    Reference:
        Prkachin & Solomon (2008), Pain 139(2); P2 (Sabater-Gárriz et al.,
        Digital Health 2024), "Pain score = AU4 + (AU6/AU7) + (AU9/AU10) + AU43".
    """
    if au43_scale not in _AU43_MAX:
        raise ValueError(
            f"au43_scale must be 'binary' (0/1, UNBC) or 'intensity' (0–5, P2's "
            f"20-point scale); received {au43_scale!r}."
        )
    a4 = _as_scores(au4, "au4", 5)
    a6 = _as_scores(au6, "au6", 5)
    a7 = _as_scores(au7, "au7", 5)
    a9 = _as_scores(au9, "au9", 5)
    a10 = _as_scores(au10, "au10", 5)
    a43 = _as_scores(au43, "au43", _AU43_MAX[au43_scale])
    if au43_scale == "binary" and not np.all((a43 == 0) | (a43 == 1)):
        raise ValueError(
            "au43 must be 0 or 1 with au43_scale='binary' (UNBC coding); received "
            f"{np.unique(a43).tolist()}. Pass au43_scale='intensity' for 0–5 codes."
        )
    return a4 + np.maximum(a6, a7) + np.maximum(a9, a10) + a43


def binarize(scores, rule: str = "unanimous_zero", threshold: float = 0) -> np.ndarray:
    """Turn pain scores ``[n]`` or ``[n, raters]`` (NaN = not scored) into binary labels (1 = pain).

    ``"unanimous_zero"`` (P2's rule for CP-PAIN): "no pain" only when every rater gave 0;
    ``"threshold"``: "pain" when the (raters' mean) score is strictly greater than ``threshold``.

    Raises:
        ValueError: For an unknown rule, a negative score, a wrong number of dimensions, or a
            target no rater scored.

    Example:
        >>> binarize([[0, 0], [0, 2], [1, 1]]).tolist()
        [0, 1, 1]

    Reference:
        P2 (Sabater-Gárriz et al., 2024), CP-PAIN labelling.
    """
    arr = np.asarray(scores, dtype=float)
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"scores must be [n] or [n, raters]; received an array of shape {arr.shape}."
        )
    if arr.ndim == 1:
        arr = arr[:, None]
    if rule not in ("unanimous_zero", "threshold"):
        raise ValueError(f"rule must be 'unanimous_zero' or 'threshold'; received {rule!r}.")
    scored = ~np.isnan(arr)
    empty = ~scored.any(axis=1)
    if empty.any():
        raise ValueError(
            f"{int(empty.sum())} target(s) have no score from any rater (first: row "
            f"{int(np.flatnonzero(empty)[0])}); drop them before binarising."
        )
    if (arr[scored] < 0).any():
        raise ValueError(f"Pain scores must be >= 0; received {arr[scored].min():g}.")
    if rule == "unanimous_zero":
        return np.any(scored & (arr != 0), axis=1).astype(int)
    from painzoo.annotation.levels import level_to_label  # the one level → label rule

    return level_to_label(np.nanmean(arr, axis=1), threshold)
