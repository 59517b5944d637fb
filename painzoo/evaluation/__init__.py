"""Evaluation library: protocols (splitters) and metrics; it never imports :mod:`painzoo.benchmark`."""

from painzoo.evaluation.metrics import (
    binary_metrics,
    bootstrap_ci,
    mean_std,
    metrics_from_counts,
    per_subject_metrics,
    pooled_metrics,
    roc_auc,
)
from painzoo.evaluation.protocols import (
    CrossDataset,
    Fold,
    ImageKFold,
    LeaveOneSubjectOut,
    Protocol,
    SubjectKFold,
    get_protocol,
)

__all__ = [
    "binary_metrics",
    "bootstrap_ci",
    "mean_std",
    "metrics_from_counts",
    "per_subject_metrics",
    "pooled_metrics",
    "roc_auc",
    "CrossDataset",
    "Fold",
    "ImageKFold",
    "LeaveOneSubjectOut",
    "Protocol",
    "SubjectKFold",
    "get_protocol",
]
