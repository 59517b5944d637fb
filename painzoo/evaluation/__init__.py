"""Evaluation library: protocols (splitters) and metrics.

The orchestration that runs whole benchmarks (configs, units, runner,
executors, storage, reports) lives in :mod:`painzoo.benchmark`, the LBP + SVM
baselines in :mod:`painzoo.models.lbp_svm` (registered models of kind
``"sklearn"``). The names this package used to export from there (``run``,
``load_config``, ``LBPSVM`` …) still resolve, with a ``DeprecationWarning``.
"""

import importlib
import warnings

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

# Names that moved to painzoo.benchmark: the functions and the modules themselves.
_MOVED_NAMES = {
    "apply_overrides",
    "bundled_configs",
    "expand_models",
    "load_config",
    "RunResult",
    "run",
    "Unit",
    "load_data",
    "plan_units",
    "run_unit",
}
_MOVED_TO_MODELS = {
    "BASELINES",
    "LBPSVM",
    "get_baseline",
    "is_baseline",
    "lbp_histograms",
    "list_baselines",
}
_MOVED_MODULES = {
    "attention_report",
    "config",
    "executors",
    "report",
    "runner",
    "stopping",
    "storage",
    "units",
}


def __getattr__(name: str):
    # Imported on first use only: painzoo.evaluation must not import painzoo.benchmark.
    if name in _MOVED_TO_MODELS or name == "baselines":
        warnings.warn(
            f"painzoo.evaluation.{name} moved to painzoo.models.lbp_svm; import it from there.",
            DeprecationWarning,
            stacklevel=2,
        )
        module = importlib.import_module("painzoo.models.lbp_svm")
        return module if name == "baselines" else getattr(module, name)
    if name in _MOVED_NAMES or name in _MOVED_MODULES:
        where = "painzoo.benchmark" + (f".{name}" if name in _MOVED_MODULES else "")
        warnings.warn(
            f"painzoo.evaluation.{name} moved to {where}; import it from there.",
            DeprecationWarning,
            stacklevel=2,
        )
        if name in _MOVED_MODULES:
            return importlib.import_module(f"painzoo.benchmark.{name}")
        return getattr(importlib.import_module("painzoo.benchmark"), name)
    raise AttributeError(f"module 'painzoo.evaluation' has no attribute {name!r}")
