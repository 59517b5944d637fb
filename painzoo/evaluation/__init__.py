"""Evaluation: protocols (splitters), metrics, baselines, the runner and its reports."""

from painzoo.evaluation.baselines import (
    BASELINES,
    LBPSVM,
    get_baseline,
    is_baseline,
    lbp_histograms,
    list_baselines,
)

__all__ = [
    "BASELINES",
    "LBPSVM",
    "get_baseline",
    "is_baseline",
    "lbp_histograms",
    "list_baselines",
]
