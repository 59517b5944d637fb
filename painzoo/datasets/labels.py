"""The binary pain label, defined once: its values, the positive class, the rules.

- Labels are ``0`` (:data:`NO_PAIN`) and ``1`` (:data:`PAIN`); *pain* is the
  positive class of every metric (:data:`POSITIVE_CLASS`), and
  :data:`CLASS_NAMES` names them in label order (the model's output order).
- From a pain level to the label: ``label = level > threshold``
  (:func:`level_to_label`).
- From a predicted probability to the label: ``p_pain >= 0.5``
  (:func:`predicted_label`, :data:`DECISION_THRESHOLD`).
- A table of labels is checked by :func:`check_binary_labels` (both CSV
  readers use it, so both say the same thing about a bad row).

Every loader (UNBC's PSPI 0–16, MInt PAIN's levels 0–4, Delaware and
RatsPain levels, PAIN-DB, the synthetic datasets) and the PSPI
``"threshold"`` binarisation use :func:`level_to_label`, so a threshold the
user gives is honoured everywhere. ``threshold=0`` is both papers' rule:
P1 counts moderate and severe (levels 1, 2) as pain, P2 any pain level > 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# The level rule belongs to annotation (PSPI, RGS), which sits below the datasets.
from painzoo.annotation.levels import DEFAULT_THRESHOLD, level_to_label

__all__ = [
    "CLASS_NAMES",
    "DECISION_THRESHOLD",
    "DEFAULT_THRESHOLD",
    "NO_PAIN",
    "PAIN",
    "POSITIVE_CLASS",
    "check_binary_labels",
    "level_to_label",
    "predicted_label",
]

#: Label of an image without pain.
NO_PAIN = 0
#: Label of an image with pain.
PAIN = 1
#: The positive class of every metric (F1, precision, recall, ROC AUC).
POSITIVE_CLASS = PAIN
#: Class names in label order: ``CLASS_NAMES[label]``; also the order of a model's outputs.
CLASS_NAMES = ("no_pain", "pain")
#: Default decision threshold on the predicted probability of pain.
DECISION_THRESHOLD = 0.5


def predicted_label(p_pain, threshold: float = DECISION_THRESHOLD):
    """Predicted labels from probabilities of pain: :data:`PAIN` where ``p_pain >= threshold``.

    Args:
        p_pain: A probability or an array-like of probabilities.
        threshold: Decision threshold (default :data:`DECISION_THRESHOLD`).

    Returns:
        An ``int`` for a scalar, otherwise an int64 array of 0/1.

    Example:
        >>> predicted_label([0.2, 0.5, 0.9]).tolist()
        [0, 1, 1]
    """
    out = (np.asarray(p_pain, dtype=float) >= float(threshold)).astype(np.int64)
    return int(out) if out.ndim == 0 else out


def check_binary_labels(labels, *, source, images=None) -> np.ndarray:
    """Check that every label of a table is 0 or 1; return them as int64.

    Args:
        labels: The ``label`` column (numbers or text).
        source: The file the labels come from (named in the error).
        images: The ``image`` column of the same rows, if any (the first bad
            row's image is named).

    Returns:
        The labels as an int64 array.

    Raises:
        ValueError: Naming the file, the line (header = line 1), the row,
            its image and value, and how many rows break the rule.
    """
    values = pd.to_numeric(pd.Series(labels).reset_index(drop=True), errors="coerce")
    bad = np.flatnonzero(~values.isin([NO_PAIN, PAIN]).to_numpy())
    if len(bad):
        i = int(bad[0])
        image = "" if images is None else pd.Series(images).reset_index(drop=True).iloc[i]
        shown = f", {image}" if isinstance(image, str) and image else ""
        raise ValueError(
            f"{source}, line {i + 2} (row {i}{shown}): label "
            f"{str(pd.Series(labels).iloc[i])!r}; labels must be {NO_PAIN} (no pain) or "
            f"{PAIN} (pain) ({len(bad)} row(s) break this). Keep intensities in a 'level' column."
        )
    return values.to_numpy().astype(np.int64)
