"""One rule from a pain level to the binary label: ``label = level > threshold``.

Every loader (UNBC's PSPI 0–16, MInt PAIN's levels 0–4, Delaware and
RatsPain levels, PAIN-DB, the synthetic datasets) and the PSPI
``"threshold"`` binarisation use :func:`level_to_label`, so a threshold the
user gives is honoured everywhere. ``threshold=0`` is both papers' rule:
P1 counts moderate and severe (levels 1, 2) as pain, P2 any pain level > 0.
"""

from __future__ import annotations

import numpy as np

__all__ = ["level_to_label", "DEFAULT_THRESHOLD"]

#: Both papers: any level above 0 is pain.
DEFAULT_THRESHOLD = 0.0


def level_to_label(levels, threshold: float = DEFAULT_THRESHOLD):
    """Binary pain labels from pain levels: 1 where ``level > threshold``.

    Args:
        levels: A number or an array-like of numbers (PSPI, RGS level,
            MInt PAIN level, …).
        threshold: Levels strictly above it are pain.

    Returns:
        An ``int`` for a scalar, otherwise an int64 array of 0/1 of the
        same shape.

    Raises:
        ValueError: If a level is missing (NaN) — an unlabelled image must
            be dropped, not silently called "no pain".

    Example:
        >>> level_to_label([0, 1, 2, 5], threshold=1).tolist()
        [0, 0, 1, 1]
    """
    arr = np.asarray(levels, dtype=float)
    if np.isnan(arr).any():
        i = int(np.flatnonzero(np.isnan(arr.ravel()))[0])
        raise ValueError(
            f"level_to_label received a missing level (position {i}); drop unlabelled "
            "images before turning levels into labels."
        )
    out = (arr > float(threshold)).astype(np.int64)
    return int(out) if out.ndim == 0 else out
