"""The evaluation runner: models × protocols × folds × repeats, resumable.

:func:`run` plans the units of a config (:mod:`painzoo.benchmark.units`),
skips those already finished, hands the rest to an executor
(:mod:`painzoo.benchmark.executors`) and writes ``results.csv``,
``summary.csv`` and ``report.md`` from what finished.

Every output file is written atomically, so an interrupted run leaves no
half-written file and a rerun skips finished units. ``OUT/.lock`` keeps a
second run off the folder; a read-only or full folder stops the run with one
message. Ctrl-C or SIGTERM stops after writing the report of what finished; a
failing unit writes ``error.json`` and is retried on the next run.
"""

from __future__ import annotations

import errno
import os
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from painzoo.benchmark.stopping import check_stop, handle_signals
from painzoo.benchmark.storage import (
    OutputLock,
    OutputWriteError,
    RunStorage,
    atomic_write_text,
    json_text,
    safe_name,
)
from painzoo.benchmark.units import is_finished, load_data, plan_units, run_unit

__all__ = ["run", "run_unit", "plan_units", "load_data", "is_finished", "RunResult"]


@dataclass
class RunResult:
    """What :func:`run` did.

    Attributes:
        out: Output folder.
        report_path: ``OUT/report.md``.
        results: One row per unit (``OUT/results.csv``).
        summary: One row per data × protocol × model (``OUT/summary.csv``).
        failed: Run ids of units that raised.
        finished: Run ids trained in this call.
        skipped: Run ids finished before this call (``reused`` on their rows).
        interrupted: Whether Ctrl-C / SIGTERM stopped the run early.
        stop_signal: The signal that stopped it (``SIGINT``, ``SIGTERM``) or ``None``.
        profile: Seconds spent in data, training, evaluation and reporting.
    """

    out: Path
    report_path: Path
    results: pd.DataFrame
    summary: pd.DataFrame
    failed: list = field(default_factory=list)
    finished: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    interrupted: bool = False
    profile: dict = field(default_factory=dict)
    stop_signal: int | None = None


def run(
    config,
    *,
    progress: bool = True,
    profile: bool = False,
    executor: str = "local",
    jobs: int | str | None = None,
) -> RunResult:
    """Evaluate every model of a config under every protocol; write the report.

    Args:
        config: A :class:`~painzoo.benchmark.config.BenchmarkConfig` from
            :func:`~painzoo.benchmark.load_config` (or a bundled name, a YAML
            path or a config dict).
        progress: Show tqdm bars over units and epochs.
        profile: Print seconds spent in data, training, evaluation and
            reporting at the end (always stored in ``RunResult.profile``).
        executor: ``"local"`` (units one after another in this process),
            ``"ray"`` (every unit a Ray task, see
            :class:`~painzoo.benchmark.executors.RayExecutor`) or an
            :class:`~painzoo.benchmark.executors.Executor` instance. ``out``
            may then also be a pyarrow filesystem URI (``s3://…``); the report
            is computed on a local copy under the temporary folder and uploaded.
        jobs: For the local executor: units run side by side, each in a
            fresh worker process (``"auto"``: one per core, see
            :func:`~painzoo.benchmark.executors.default_jobs`); ``None`` or
            ``0`` runs them one after another in this process. ``painzoo
            benchmark`` uses worker processes by default.

    Returns:
        A :class:`RunResult`; ``report_path`` is ``OUT/report.md``.

    Raises:
        ValueError: For an invalid config, an unknown executor, or ``jobs``
            with an executor other than ``"local"``.
        ImportError: For ``executor="ray"`` without Ray (``pip install "painzoo[ray]"``).
        ~painzoo.benchmark.stopping.RunStopped: For a stop requested before the
            output folder is opened (nothing is written then); a later one ends
            the run with ``interrupted`` set and the report of what finished.
    """
    # SIGINT/SIGTERM only set a flag for the whole run, so the report is never cut short.
    with handle_signals() as stop:
        result = _run(config, progress, profile, executor, jobs)
    if stop.is_set():  # also when the signal came while the report was written
        result.stop_signal = stop.signum
    return result


def _run(config, progress, profile, executor, jobs) -> RunResult:
    from painzoo.benchmark.config import BenchmarkConfig, check_config, load_config
    from painzoo.benchmark.executors import get_executor

    if jobs is not None:
        if not (isinstance(executor, str) and executor.lower() == "local"):
            raise ValueError(f"jobs applies to the local executor, not to {executor!r}.")
        executor = get_executor("local", jobs=jobs)
    executor = get_executor(executor)
    if not isinstance(config, BenchmarkConfig):
        config = load_config(config)
    check_config(config)  # schema, models, protocols, data files: before any training
    check_stop()  # a stop requested so far: leave before the output folder is touched
    store = RunStorage(config.out)
    out = store.local_path or Path(tempfile.gettempdir()) / "painzoo-mirror" / safe_name(store.out)
    lock = OutputLock(out).acquire()  # also creates the folder; a second run stops here
    try:
        executor.start(store.location)  # local workers import their backend while we plan
        return _run_locked(config, store, out, executor, progress, profile)
    except OutputWriteError as err:  # name the run's folder (a unit only knew its file)
        raise _output_error(err, out) from err
    finally:
        executor.close()
        lock.release()


def schedule(units: list) -> list:
    """The order in which to start ``units``: likely longest first.

    Network trainings before baselines; among them, the units of a split with
    fewer folds first (a cross-dataset training, then a 2-fold, then
    leave-one-subject-out): each trains on a larger share of its data and
    predicts more test images. Short units then fill the gaps at the end, where
    one worker would otherwise finish a long unit while the others idle. The
    planned order is kept within each group. Every unit is seeded on its own,
    so the order changes no number.
    """
    import collections

    from painzoo.training.learner import learner_class

    def split(u):
        return (u.data_name, u.protocol_label, u.model_label, u.repeat)

    folds = collections.Counter(split(u) for u in units)
    networks = {u.model_name: learner_class(u.model_name).trains_network for u in units}
    return sorted(units, key=lambda u: (not networks[u.model_name], folds[split(u)]))


def _output_error(err: OSError, out) -> OutputWriteError:
    """``err`` as one :class:`OutputWriteError` that names the run's folder."""
    path = getattr(err, "path", None) or err.filename or out
    return OutputWriteError(path, OSError(err.errno, err.strerror or str(err)), out=out)


def _unit_output_error(outcome, out) -> OutputWriteError | None:
    """The output error a unit failed with (its folder is read-only or full), else ``None``."""
    text = outcome.error or ""
    if not text.startswith(f"{OutputWriteError.__name__}:"):
        return None
    code = errno.ENOSPC if "is full" in text else errno.EACCES
    path = out / "runs" / outcome.unit.run_id
    return OutputWriteError(path, OSError(code, os.strerror(code)), out=out)


def _run_locked(config, store, out, executor, progress, profile) -> RunResult:
    from painzoo.benchmark.report import collect_results, summarize, write_report

    times = {"data": 0.0, "training": 0.0, "evaluation": 0.0, "reporting": 0.0}
    t0 = time.perf_counter()
    units = plan_units(config)
    times["data"] += time.perf_counter() - t0
    atomic_write_text(out / "config.json", json_text(config.to_dict()))
    result = RunResult(out, out / "report.md", pd.DataFrame(), pd.DataFrame())
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(units), desc="units", unit="unit")
    try:
        check_stop()  # a stop requested while planning: no unit starts
        todo = []
        for unit in units:
            if store.is_finished(unit.run_id):
                result.skipped.append(unit.run_id)
                if bar is not None:
                    bar.update(1)
            else:
                todo.append(unit)
        outcomes = executor.map(schedule(todo), store.location, progress=progress)
        with closing(outcomes):
            for outcome in outcomes:
                rid = outcome.unit.run_id
                stop = _unit_output_error(outcome, out)
                if stop is not None:  # every later unit would fail the same way
                    raise stop
                if outcome.ok:
                    for k, v in outcome.metrics["seconds"].items():
                        times[k] += v
                    result.finished.append(rid)
                else:  # a failing unit must not stop the others
                    result.failed.append(rid)
                    error = dict(run_id=rid, status="failed", error=outcome.error)
                    error["traceback"] = outcome.traceback
                    store.write_text(f"runs/{rid}/error.json", json_text(error))
                if bar is not None:
                    bar.set_postfix_str(rid[-60:])
                    bar.update(1)
                check_stop()  # between units, whichever executor runs them
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        if bar is not None:
            bar.close()
    t3 = time.perf_counter()
    if store.local_path is None:
        names = ("metrics.json", "error.json", "predictions.csv")
        store.download([f"runs/{u.run_id}/{n}" for u in units for n in names], out)
    result.results = collect_results(out, units)
    if len(result.results):
        result.results["reused"] = result.results["run_id"].isin(result.skipped)
    result.summary = summarize(out, result.results)
    atomic_write_text(out / "results.csv", result.results.to_csv(index=False))
    atomic_write_text(out / "summary.csv", result.summary.to_csv(index=False))
    write_report(out, config, result.results, result.summary, interrupted=result.interrupted)
    if store.local_path is None:
        store.upload(out, [p.name for p in out.iterdir() if p.is_file()])
    times["reporting"] = time.perf_counter() - t3
    times["total"] = time.perf_counter() - t0
    result.profile = {k: round(v, 2) for k, v in times.items()}
    if profile:
        print(
            "Time per phase (s): " + ", ".join(f"{k} {v:.1f}" for k, v in result.profile.items())
        )
    return result
