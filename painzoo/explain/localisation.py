"""Does a heat map point at the ground-truth regions? Energy share and pointing game."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from painzoo.datasets.io import resize_image

__all__ = ["LocalisationScore", "localisation_score"]


@dataclass(frozen=True)
class LocalisationScore:
    """Result of :func:`localisation_score`.

    Attributes:
        energy: Mean share of positive heat-map energy inside the regions.
        pointing: Pointing-game hit rate.
        per_image_energy: Float ``[N]`` (NaN where not scored).
        per_image_hit: Float ``[N]`` of 0/1 (NaN where not scored).
        n_scored: Images with a non-empty mask and some positive heat.
        baseline: Mean area share of the regions (a uniform map's energy share).
    """

    energy: float
    pointing: float
    per_image_energy: np.ndarray
    per_image_hit: np.ndarray
    n_scored: int
    baseline: float

    def as_dict(self) -> dict:
        """The scalar fields, for tables."""
        names = ("energy", "pointing", "n_scored", "baseline")
        return {name: getattr(self, name) for name in names}


def _union_masks(masks) -> np.ndarray:
    if isinstance(masks, dict):
        if not masks:
            raise ValueError("masks is an empty dict; give at least one region mask.")
        return np.logical_or.reduce([np.asarray(m, dtype=bool) for m in masks.values()])
    return np.asarray(masks, dtype=bool)


def localisation_score(heatmaps, masks, *, tolerance: int = 0) -> LocalisationScore:
    """How much of each heat map lies on the ground-truth regions (a :class:`LocalisationScore`).

    The energy share is ``Σ_{p ∈ mask} h⁺(p) / Σ_p h⁺(p)``; the pointing game (Zhang et al., 2016)
    scores a hit when the map's maximum lies within ``tolerance`` mask pixels of the mask (Zhang
    et al.: 15 at 224 px). ``heatmaps`` (``[N, h, w]`` or ``[h, w]``) are resized to the ``masks``
    (bool, or a dict of region masks, which are united).

    Raises:
        ValueError: If the numbers of maps and masks differ or shapes are not 2-D/3-D.

    Reference:
        Zhang, Lin, Brandt, Shen, Sclaroff. Top-down Neural Attention by
        Excitation Backprop. ECCV 2016 (pointing game).
    """
    import cv2

    h = np.asarray(heatmaps, dtype=np.float32)
    h = h[None] if h.ndim == 2 else h
    m = _union_masks(masks)
    m = m[None] if m.ndim == 2 else m
    if h.ndim != 3 or m.ndim != 3:
        raise ValueError(
            f"heatmaps must be [N, h, w] and masks [N, H, W]; received {h.shape} and {m.shape}."
        )
    if len(h) != len(m):
        raise ValueError(f"{len(h)} heat map(s) but {len(m)} mask(s); give one mask per map.")
    size = m.shape[1:]
    if h.shape[1:] != size:
        h = np.stack([resize_image(x, size, "bilinear") for x in h])
    pos = np.maximum(h, 0)
    total = pos.sum(axis=(1, 2))
    inside = (pos * m).sum(axis=(1, 2))
    scored = m.any(axis=(1, 2)) & (total > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        energy = np.where(scored, inside / total, np.nan)
    region = m
    if tolerance > 0:
        kernel = cv2.getStructuringElement(
            cv2.MORPH_ELLIPSE, (2 * tolerance + 1, 2 * tolerance + 1)
        )
        region = np.stack([cv2.dilate(x.astype(np.uint8), kernel) > 0 for x in m])
    flat_idx = h.reshape(len(h), -1).argmax(axis=1)
    hits = region.reshape(len(h), -1)[np.arange(len(h)), flat_idx].astype(float)
    hits = np.where(scored, hits, np.nan)
    n = int(scored.sum())
    return LocalisationScore(
        energy=float(np.nanmean(energy)) if n else float("nan"),
        pointing=float(np.nanmean(hits)) if n else float("nan"),
        per_image_energy=energy,
        per_image_hit=hits,
        n_scored=n,
        baseline=float(m[scored].mean()) if n else float("nan"),
    )
