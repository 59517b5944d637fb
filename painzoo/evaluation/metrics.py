"""Binary pain metrics and the two ways the papers aggregate them.

- **Pooled** (P1): sum TN/FP/FN/TP over all folds, then compute F1 and
  accuracy once — :func:`pooled_metrics`.
- **Mean ± std** (P2): compute the metrics per run, then average — :func:`mean_std`.

The positive class is *pain* (label 1): ``f1`` is P1's Eq. 7 (2TP / (2TP + FP + FN)); ``f1_macro``
is reported too because P2 does not say how its F1 averages the classes. Beyond the papers:
:func:`roc_auc` and :func:`bootstrap_ci` (resampling *subjects*).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from painzoo.datasets.labels import NO_PAIN, PAIN, POSITIVE_CLASS, predicted_label
from painzoo.datasets.manifest import natural_key

__all__ = [
    "binary_metrics",
    "metrics_from_counts",
    "pooled_metrics",
    "mean_std",
    "per_subject_metrics",
    "roc_auc",
    "bootstrap_ci",
    "COUNT_KEYS",
    "METRIC_KEYS",
    "chance_accuracy",
    "weighted_accuracy",
    "training_fit",
    "learning_flags",
    "learning_record",
]

COUNT_KEYS = ("tn", "fp", "fn", "tp")
METRIC_KEYS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "precision_pain",
    "recall_pain",
    "f1_pain",
    "precision_no_pain",
    "recall_no_pain",
    "f1_no_pain",
    "f1_macro",
)


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b else 0.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if (p + r) else 0.0


def metrics_from_counts(tn: int, fp: int, fn: int, tp: int) -> dict:
    """Accuracy, precision, recall and F1 of confusion counts with pain (1) as the positive class.

    Returns:
        ``accuracy``, ``precision``/``recall``/``f1`` (pain class), the same with suffixes
            ``_pain`` and ``_no_pain``, ``f1_macro`` (over both classes), the four counts and
            ``n``. Undefined ratios are 0 (scikit-learn's ``zero_division=0``).

    Example:
        >>> metrics_from_counts(tn=3, fp=1, fn=2, tp=4)["f1"]
        0.7272727272727273
    """
    tn, fp, fn, tp = (int(v) for v in (tn, fp, fn, tp))
    n = tn + fp + fn + tp
    p1, r1 = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    p0, r0 = _ratio(tn, tn + fn), _ratio(tn, tn + fp)
    return {
        "accuracy": _ratio(tp + tn, n),
        "precision": p1,
        "recall": r1,
        "f1": _f1(p1, r1),
        "precision_pain": p1,
        "recall_pain": r1,
        "f1_pain": _f1(p1, r1),
        "precision_no_pain": p0,
        "recall_no_pain": r0,
        "f1_no_pain": _f1(p0, r0),
        "f1_macro": (_f1(p1, r1) + _f1(p0, r0)) / 2,
        "tn": tn,
        "fp": fp,
        "fn": fn,
        "tp": tp,
        "n": n,
    }


def _counts(y_true, y_pred) -> tuple[int, int, int, int]:
    y_true = np.asarray(y_true).astype(int).ravel()
    y_pred = np.asarray(y_pred).astype(int).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same length; received {len(y_true)} and {len(y_pred)}."
        )
    bad = set(np.unique(np.r_[y_true, y_pred])) - {NO_PAIN, PAIN}
    if bad:
        raise ValueError(
            f"Binary metrics need labels {NO_PAIN} (no pain) and {PAIN} (pain); received "
            f"{sorted(bad)}."
        )
    positive, negative = POSITIVE_CLASS, NO_PAIN
    tp = int(np.sum((y_true == positive) & (y_pred == positive)))
    tn = int(np.sum((y_true == negative) & (y_pred == negative)))
    fp = int(np.sum((y_true == negative) & (y_pred == positive)))
    fn = int(np.sum((y_true == positive) & (y_pred == negative)))
    return tn, fp, fn, tp


def binary_metrics(y_true, y_pred, y_score=None) -> dict:
    """Metrics of binary pain predictions (:func:`metrics_from_counts`, plus ``auc`` with ``y_score``).

    Args:
        y_true, y_pred: True and predicted labels (0 = no pain, 1 = pain).
        y_score: Optional predicted probability of pain; adds ``auc``.

    Raises:
        ValueError: If lengths differ or a label is not 0/1.

    Example:
        >>> binary_metrics([0, 1, 1, 0], [0, 1, 0, 0])["recall"]
        0.5
    """
    out = metrics_from_counts(*_counts(y_true, y_pred))
    if y_score is not None:
        out["auc"] = roc_auc(y_true, y_score)
    return out


def pooled_metrics(parts: Iterable) -> dict:
    """Metrics from confusion counts summed over folds (P1's aggregation).

    ``parts``: per fold, metric dicts (``tn``/``fp``/``fn``/``tp``) or ``(y_true, y_pred)`` pairs.

    Reference:
        Liu et al., Front. Vet. Sci. 2025, "Experimental protocol".
    """
    total = np.zeros(4, int)
    for part in parts:
        if isinstance(part, Mapping):
            total += [int(part[k]) for k in COUNT_KEYS]
        else:
            total += _counts(*part)
    return metrics_from_counts(*total)


def mean_std(runs: Iterable[Mapping], keys: Iterable[str] = METRIC_KEYS, ddof: int = 0) -> dict:
    """Mean and std (``ddof``) of each metric over runs (P2's aggregation): ``{key, key_std, runs}``.

    ``keys`` missing from every run are skipped.
    """
    runs = list(runs)
    out: dict = {"runs": len(runs)}
    for key in keys:
        values = np.array([r[key] for r in runs if key in r and r[key] is not None], float)
        if len(values) == 0:
            continue
        out[key] = float(np.nanmean(values)) if not np.all(np.isnan(values)) else float("nan")
        out[f"{key}_std"] = (
            float(np.nanstd(values, ddof=ddof)) if len(values) > ddof else float("nan")
        )
    return out


def _predictions(frame) -> pd.DataFrame:
    frame = pd.DataFrame(frame)
    if "y_true" not in frame.columns or not {"y_pred", "p_pain"} & set(frame.columns):
        raise ValueError(
            "A predictions table needs y_true and y_pred or p_pain columns; received "
            f"{list(frame.columns)}."
        )
    if "y_pred" not in frame.columns:
        frame = frame.assign(y_pred=predicted_label(frame["p_pain"].to_numpy()))
    return frame


def per_subject_metrics(predictions) -> pd.DataFrame:
    """Metrics per subject (P1 Table 3's per-rat columns), one row each in natural order.

    Args:
        predictions: Table with ``subject``, ``y_true`` and ``y_pred`` (or ``p_pain``, cut at 0.5).
    """
    frame = _predictions(predictions)
    rows = {}
    for subject, part in frame.groupby("subject", sort=False):
        rows[subject] = binary_metrics(part["y_true"], part["y_pred"])
    out = pd.DataFrame.from_dict(rows, orient="index")
    out = out.loc[sorted(out.index, key=natural_key)]
    out.index.name = "subject"
    return out


def roc_auc(y_true, y_score) -> float:
    """Area under the ROC curve (Mann–Whitney U, ties counting half); ``nan`` with one class."""
    from scipy.stats import rankdata

    y_true = np.asarray(y_true).astype(int).ravel()
    y_score = np.asarray(y_score, float).ravel()
    n1 = int(y_true.sum())
    n0 = len(y_true) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(y_score)
    return float((ranks[y_true == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def bootstrap_ci(
    predictions, metric: str = "f1", *, n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap ``(low, high)`` of a pooled metric, resampling subjects with replacement.

    ``(nan, nan)`` with fewer than two subjects.

    Args:
        predictions: Table with ``subject``, ``y_true`` and ``y_pred`` or ``p_pain``.
        metric: A key of :func:`binary_metrics` or ``"auc"`` (needs ``p_pain``).
        n_boot: Number of replicates.
        level: Coverage of the interval.
        seed: Seed of the resampling.
    """
    frame = _predictions(predictions)
    groups = [g for _, g in frame.groupby("subject", sort=True)]
    if len(groups) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    if metric == "auc":
        arrays = [(g["y_true"].to_numpy(int), g["p_pain"].to_numpy(float)) for g in groups]
    else:
        counts = np.array([_counts(g["y_true"], g["y_pred"]) for g in groups])
    values = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(groups), len(groups))
        if metric == "auc":
            y = np.concatenate([arrays[i][0] for i in pick])
            s = np.concatenate([arrays[i][1] for i in pick])
            values.append(roc_auc(y, s))
        else:
            values.append(metrics_from_counts(*counts[pick].sum(0))[metric])
    values = np.asarray(values, float)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return float(low), float(high)


# -- learning flags -------------------------------------------------------------------
FLAG_COLLAPSED = "collapsed"
FLAG_NOT_LEARNING = "not_learning"
# The thresholds of learning_flags (its docstring states the rules).
_MIN_LOSS_DROP = 0.05
_CHANCE_LOSS = float(np.log(2.0))  # cross-entropy of answering 0.5 for every image
_CHANCE_BAND = 0.03
_MIN_ACCURACY_GAIN = 0.2
FLAG_ADVICE = (
    "train longer (more epochs), start from pretrained weights (`weights: imagenet` where "
    "the model offers them) or use the default `painzoo` recipe preset"
)


def chance_accuracy(labels, class_weight: Mapping | None = None) -> float:
    """The weighted training accuracy of answering the class with the largest summed weight.

    0.5 with balanced class weights or no labels; the larger class share without weights.

    Args:
        labels: Training labels.
        class_weight: ``{class: weight}`` as given to ``model.fit``, or ``None``.
    """
    labels = np.asarray(labels, int).ravel()
    if len(labels) == 0:
        return 0.5
    mass = np.bincount(labels, weights=_label_weights(labels, class_weight), minlength=2)
    return float(mass.max() / mass.sum()) if mass.sum() > 0 else 0.5


def weighted_accuracy(y_true, y_pred, class_weight: Mapping | None = None) -> float:
    """Accuracy with each image weighted by its class's weight (balanced accuracy when balanced); NaN for none."""
    y_true = np.asarray(y_true, int).ravel()
    y_pred = np.asarray(y_pred, int).ravel()
    if len(y_true) == 0:
        return float("nan")
    weights = _label_weights(y_true, class_weight)
    return float(np.sum(weights * (y_true == y_pred)) / np.sum(weights))


def training_fit(labels, y_pred, class_weight: Mapping | None = None) -> dict:
    """``{"train_accuracy", "chance"}``: a model's fit to its training images, for :func:`learning_flags`.

    Args:
        labels: Training labels.
        y_pred: The model's predicted classes for them (un-augmented, inference mode).
        class_weight: ``{class: weight}`` as given to ``model.fit``, or ``None``.
    """
    return {
        "train_accuracy": weighted_accuracy(labels, y_pred, class_weight),
        "chance": chance_accuracy(labels, class_weight),
    }


def _label_weights(labels, class_weight) -> np.ndarray:
    table = {int(c): float(w) for c, w in (class_weight or {}).items()}
    return np.asarray([table.get(int(c), 1.0) for c in labels], float)


def learning_flags(
    y_pred, losses=None, y_true=None, *, train_accuracy=None, chance: float = 0.5
) -> str:
    """Whether a trained model collapsed to one class (``"collapsed"``), did not learn (``"not_learning"``), or neither (``""``).

    "collapsed": every test image (two or more) gets the same class. "not_learning": over two or
    more epochs, the mean loss of the last (up to three) epochs is not 5 % below the first's, or
    lies within 3 % of ln 2, or any loss is not finite, or ``train_accuracy`` closes less than a
    fifth of the gap from ``chance`` to 1.

    Args:
        y_pred: Predicted class of every test image.
        losses: Training loss per epoch; ``None`` or empty for baselines.
        y_true: True test classes; a one-class test set is never "collapsed".
        train_accuracy: Weighted training accuracy (:func:`weighted_accuracy`).
        chance: The same for answering one class (:func:`chance_accuracy`).
    """
    y_pred = np.asarray(y_pred).ravel()
    one_class_test = y_true is not None and len(np.unique(np.asarray(y_true).ravel())) < 2
    if len(y_pred) >= 2 and len(np.unique(y_pred)) == 1 and not one_class_test:
        return FLAG_COLLAPSED
    curve = np.asarray([] if losses is None else losses, float).ravel()
    if len(curve) and not np.all(np.isfinite(curve)):
        return FLAG_NOT_LEARNING  # a NaN or infinite loss: training diverged
    if len(curve) >= 2:
        last = float(np.mean(curve[-min(3, len(curve) - 1) :]))
        if last > (1.0 - _MIN_LOSS_DROP) * float(curve[0]):
            return FLAG_NOT_LEARNING
        if abs(last - _CHANCE_LOSS) <= _CHANCE_BAND * _CHANCE_LOSS:
            return FLAG_NOT_LEARNING
        if train_accuracy is not None and np.isfinite(train_accuracy):
            if float(train_accuracy) < chance + _MIN_ACCURACY_GAIN * (1.0 - chance):
                return FLAG_NOT_LEARNING
    return ""


def learning_record(
    y_true, y_pred, losses=None, *, train_accuracy=None, chance: float = 0.5, run_id: str = ""
) -> dict:
    """The learning columns of a unit's metrics; warns naming ``run_id`` when the unit is flagged.

    ``y_true``, ``y_pred`` (test classes), ``losses`` (per epoch; ``None`` for baselines),
    ``train_accuracy`` and ``chance`` are those of :func:`learning_flags`.

    Returns:
        ``{"flag", "loss_first", "loss_last", "train_accuracy", "epochs_run"}`` (``None``: unknown).
    """
    import warnings

    flag = learning_flags(
        y_pred, losses, y_true=y_true, train_accuracy=train_accuracy, chance=chance
    )
    if flag:
        what = (
            "predicted one class for every test image"
            if flag == FLAG_COLLAPSED
            else "did not lower its training loss, lowered it only to chance (ln 2), "
            "or fits its training images hardly better than answering one class"
        )
        warnings.warn(
            f"{run_id or 'a unit'}: the model {what} ({flag}); {FLAG_ADVICE}.", stacklevel=2
        )
    curve = [float(v) for v in (losses if losses is not None else [])]
    known = train_accuracy is not None and np.isfinite(train_accuracy)
    return {
        "flag": flag,
        "loss_first": round(curve[0], 4) if curve else None,
        "loss_last": round(curve[-1], 4) if curve else None,
        "train_accuracy": round(float(train_accuracy), 4) if known else None,
        "epochs_run": len(curve) or None,
    }
