"""From a pain level to the binary label: the one rule (``label = level > threshold``)."""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_THRESHOLD", "level_to_label"]

#: Level threshold of both papers: any level above 0 is pain.
DEFAULT_THRESHOLD = 0.0


def level_to_label(levels, threshold: float = DEFAULT_THRESHOLD):
    """Binary pain labels from pain levels: 1 where ``level > threshold`` (an ``int`` for a scalar).

    Raises:
        ValueError: For a missing level (NaN): drop an unlabelled image, never call it "no pain".

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
