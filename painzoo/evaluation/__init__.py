"""Evaluation: protocols (splitters), metrics, baselines, the runner and its reports."""

from painzoo.evaluation.baselines import (
    BASELINES,
    LBPSVM,
    get_baseline,
    is_baseline,
    lbp_histograms,
    list_baselines,
)
from painzoo.evaluation.config import apply_overrides, bundled_configs, expand_models, load_config
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
from painzoo.evaluation.runner import RunResult, run
from painzoo.evaluation.units import Unit, load_data, plan_units, run_unit

__all__ = [
    "apply_overrides",
    "bundled_configs",
    "expand_models",
    "load_config",
    "RunResult",
    "Unit",
    "load_data",
    "plan_units",
    "run",
    "run_unit",
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
    "BASELINES",
    "LBPSVM",
    "get_baseline",
    "is_baseline",
    "lbp_histograms",
    "list_baselines",
]
