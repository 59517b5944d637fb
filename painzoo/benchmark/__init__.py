"""Benchmark orchestration: configs, units, runner, executors, storage and reports.

``painzoo benchmark`` runs here: a YAML config (:mod:`~painzoo.benchmark.config`) is checked,
planned into :class:`~painzoo.benchmark.units.Unit` records, each unit is run by an executor
(:mod:`~painzoo.benchmark.executors`) through a learner (:mod:`~painzoo.training.learner`), its
files are written by :mod:`~painzoo.benchmark.storage`, and :mod:`~painzoo.benchmark.report` turns
the finished units into ``results.csv``, ``summary.csv`` and ``report.md``. It builds on
:mod:`painzoo.evaluation` (protocols, metrics); ``docs/architecture.md`` maps the packages.

Example:
    >>> from painzoo.benchmark import load_config, run
    >>> result = run(load_config("quick"))
"""

from painzoo.benchmark.config import (
    apply_overrides,
    bundled_configs,
    check_config,
    expand_models,
    load_config,
)
from painzoo.benchmark.runner import RunResult, run
from painzoo.benchmark.units import Unit, load_data, plan_units, run_unit

__all__ = [
    "apply_overrides",
    "bundled_configs",
    "check_config",
    "expand_models",
    "load_config",
    "RunResult",
    "run",
    "Unit",
    "load_data",
    "plan_units",
    "run_unit",
]
