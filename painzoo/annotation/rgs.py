"""P1's two-stage Rat Grimace Scale consensus: rater scores → AU labels → image labels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["RGSConsensus", "rgs_consensus", "RGS_ACTION_UNITS"]

RGS_ACTION_UNITS = ("orbital", "ear", "nose", "whisker")
_SCORES = (0, 1, 2)


@dataclass
class RGSConsensus:
    """Outcome of :func:`rgs_consensus`.

    Attributes:
        consensus: Float ``[n_images, n_aus]``: the agreed AU score, NaN without consensus.
        confident: Bool ``[n_images, n_aus]``: agreed in stage 1 or 2.
        stage: Int ``[n_images, n_aus]``: 1, 2, or 0 = no consensus.
        mean_score: Float ``[n_images]``: mean of the confident AU scores.
        labels: Float ``[n_images]``: pain level 0/1/2, NaN = unlabelled.
        counts: ``images``, ``labelled``, ``unlabelled``, ``au_stage1``, ``au_stage2``,
            ``au_no_consensus``, ``uncertain_scores``, ``level_0``–``2``, ``half_rounded``.
        au_names: Names of the action units, in column order.
        rounding: The rounding rule used for ``labels``.
    """

    consensus: np.ndarray
    confident: np.ndarray
    stage: np.ndarray
    mean_score: np.ndarray
    labels: np.ndarray
    counts: dict = field(default_factory=dict)
    au_names: tuple = RGS_ACTION_UNITS
    rounding: str = "half_up"

    @property
    def labelled(self) -> np.ndarray:
        """Bool ``[n_images]``: the image received a label."""
        return ~np.isnan(self.labels)

    def binary_labels(self) -> np.ndarray:
        """P1's binary task: 1 = pain (moderate or severe), 0 = no pain, NaN = unlabelled."""
        from painzoo.annotation.levels import level_to_label

        labelled = self.labelled
        out = np.full(self.labels.shape, np.nan)
        out[labelled] = level_to_label(self.labels[labelled])
        return out

    def to_frame(self):
        """A DataFrame with ``au_<name>`` (consensus), ``level`` and ``label`` (NaN for unlabelled images)."""
        import pandas as pd

        frame = pd.DataFrame(
            {f"au_{n}": self.consensus[:, i] for i, n in enumerate(self.au_names)}
        )
        frame["n_confident_aus"] = self.confident.sum(axis=1)
        frame["level"] = self.labels
        frame["label"] = self.binary_labels()
        return frame


def _check_scores(arr, name: str, n_aus: int | None = None) -> np.ndarray:
    x = np.asarray(arr, dtype=float)
    if x.ndim != 3:
        raise ValueError(
            f"{name} must be a 3-D array [n_images, n_raters, n_aus] of 0/1/2 with NaN = "
            f"uncertain; received shape {x.shape}."
        )
    if n_aus is not None and x.shape[2] != n_aus:
        raise ValueError(
            f"{name} has {x.shape[2]} action units; stage1 has {n_aus}. Give both stages "
            "the same AU columns (NaN where an AU was not re-scored)."
        )
    ok = np.isnan(x) | np.isin(x, _SCORES)
    if not ok.all():
        i, r, a = (int(v[0]) for v in np.nonzero(~ok))
        raise ValueError(
            f"{name} must hold RGS scores 0, 1, 2 or NaN (uncertain); received "
            f"{x[i, r, a]:g} at image {i}, rater {r}, AU {a}."
        )
    return x


def _score_counts(x: np.ndarray) -> np.ndarray:
    """Votes per score: int ``[n_images, n_aus, 3]`` (NaN votes for nothing)."""
    return np.stack([(x == s).sum(axis=1) for s in _SCORES], axis=-1)


def _agreement(counts: np.ndarray, needed: int):
    """The score with at least ``needed`` votes and no tied rival, else NaN."""
    top = counts.max(axis=-1)
    winner = counts.argmax(axis=-1).astype(float)
    unique = (counts == top[..., None]).sum(axis=-1) == 1
    agreed = (top >= needed) & unique
    return np.where(agreed, winner, np.nan), agreed


def rgs_consensus(
    stage1,
    stage2=None,
    *,
    stage1_agree: int = 4,
    stage2_agree: int = 5,
    min_aus: int = 3,
    rounding: str = "half_up",
    au_names=RGS_ACTION_UNITS,
) -> RGSConsensus:
    """Labels from RGS rater scores with P1's two-stage scheme.

    Stage 1: ``n1`` raters (five in P1) score each action unit 0, 1, 2 or uncertain (NaN); an AU is
    confident when at least ``stage1_agree`` gave one score. Stage 2: ``n2`` more raters (three in
    P1) score the other AUs; all ``n1 + n2`` scores are pooled and the AU is accepted when
    ``stage2_agree`` (5 of 8) agree. An image with at least ``min_aus`` confident AUs is labelled
    with the rounded mean of their scores.

    painzoo's choices where P1 is silent: a score is agreed only when no other has as many votes; a
    mean ending in .5 rounds up (``"half_up"``) or to even (``"half_even"``), and
    ``counts["half_rounded"]`` says how many labels that affects.

    Args:
        stage1: Array ``[n_images, n1, n_aus]`` of 0/1/2, NaN = uncertain.
        stage2: Array ``[n_images, n2, n_aus]``, or ``None``.
        stage1_agree, stage2_agree: Votes needed in each stage.
        min_aus: Confident AUs an image needs for a label.
        rounding: ``"half_up"`` or ``"half_even"``.
        au_names: Names of the AU columns (for :meth:`RGSConsensus.to_frame`).

    Raises:
        ValueError: For arrays of the wrong shape, scores other than
            0/1/2/NaN, mismatched image counts, or an unknown ``rounding``.

    Example:
        >>> s1 = np.array([[[0, 1, 1, 2]] * 4 + [[0, 1, np.nan, 0]]])  # 1 image, 5 raters
        >>> r = rgs_consensus(s1)
        >>> r.consensus.tolist(), r.labels.tolist()
        ([[0.0, 1.0, 1.0, 2.0]], [1.0])

    Reference:
        P1 (Liu et al., Front. Vet. Sci. 2025), "RatsPain" annotation;
        Sotocinal et al., The Rat Grimace Scale, Mol. Pain 2011.
    """
    if rounding not in ("half_up", "half_even"):
        raise ValueError(f"rounding must be 'half_up' or 'half_even'; received {rounding!r}.")
    s1 = _check_scores(stage1, "stage1")
    n_images, n1, n_aus = s1.shape
    if len(au_names) != n_aus:
        au_names = tuple(f"au{i}" for i in range(n_aus))
    if not 1 <= min_aus <= n_aus:
        raise ValueError(f"min_aus must lie in [1, {n_aus}]; received {min_aus}.")
    if not 1 <= stage1_agree <= n1:
        raise ValueError(
            f"stage1_agree must lie in [1, {n1}] (the number of stage-1 raters); "
            f"received {stage1_agree}."
        )
    counts1 = _score_counts(s1)
    consensus, first = _agreement(counts1, stage1_agree)
    stage = np.where(first, 1, 0).astype(np.int8)
    if stage2 is not None:
        s2 = _check_scores(stage2, "stage2", n_aus)
        if s2.shape[0] != n_images:
            raise ValueError(
                f"stage2 has {s2.shape[0]} images; stage1 has {n_images}. Both stages must "
                "list the same images in the same order."
            )
        second_value, second = _agreement(counts1 + _score_counts(s2), stage2_agree)
        second &= ~first
        consensus = np.where(second, second_value, consensus)
        stage[second] = 2
    confident = stage > 0
    mean, labels, half = _image_labels(consensus, confident, min_aus, rounding)
    counts = _outcome_counts(stage, labels, half, uncertain=int(np.isnan(s1).sum()))
    return RGSConsensus(
        consensus, confident, stage, mean, labels, counts, tuple(au_names), rounding
    )


def _outcome_counts(stage, labels, half, uncertain: int) -> dict:
    """The ``counts`` of :func:`rgs_consensus`: images, AUs per stage, levels, .5 means."""
    labelled = ~np.isnan(labels)
    return {
        "images": len(labels),
        "labelled": int(labelled.sum()),
        "unlabelled": int((~labelled).sum()),
        **{f"au_stage{k}": int((stage == k).sum()) for k in (1, 2)},
        "au_no_consensus": int((stage == 0).sum()),
        "uncertain_scores": uncertain,
        **{f"level_{k}": int((labels == k).sum()) for k in _SCORES},
        "half_rounded": int(half.sum()),
    }


def _image_labels(consensus, confident, min_aus: int, rounding: str):
    """Mean score, rounded label (NaN = unlabelled) and whether the mean ended in .5, per image."""
    n_conf = confident.sum(axis=1)
    total = np.where(confident, consensus, 0).sum(axis=1)
    enough = n_conf >= min_aus
    n = np.maximum(n_conf, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(enough, total / n, np.nan)
    if rounding == "half_up":
        # Integer arithmetic: floor(sum / n + 1/2) without floating-point drift.
        rounded = (2 * total + n_conf) // np.maximum(2 * n_conf, 1)
    else:
        rounded = np.round(total / n)
    labels = np.where(enough, rounded, np.nan).astype(float)
    half = enough & ((2 * total) % n == 0) & ((2 * total // n) % 2 == 1)
    return mean, labels, half
