"""The binary pain label, defined once: its values, the positive class, the rules.

Labels are ``0`` (:data:`NO_PAIN`) and ``1`` (:data:`PAIN`, the positive class). A level becomes a
label by ``level > threshold`` (:func:`level_to_label`, used by every loader; ``threshold=0`` is
both papers' rule) and a probability by ``p_pain >= 0.5`` (:func:`predicted_label`).
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
    """Predicted labels: :data:`PAIN` where ``p_pain >= threshold`` (an ``int`` for a scalar, else an int64 array).

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
        images: The ``image`` column of the same rows, if any.

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
