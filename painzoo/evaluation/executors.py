"""Executors: how the units of an evaluation grid get run.

An executor takes the units that still need running and yields one
:class:`UnitOutcome` per unit as each one ends; the runner records the
outcomes (``error.json`` for a failure) and writes the report. Every unit
is run by :func:`painzoo.evaluation.units.run_unit`, which writes its own
files under ``OUT/runs/<run_id>/``, so all executors produce the same
layout and the same report.

- ``"local"`` (:class:`LocalExecutor`): one unit after another in this
  process — the default.
- ``"ray"`` (:class:`RayExecutor`): every unit is a Ray task with the CPUs
  and GPUs it asks for, on a local Ray instance or a cluster. Ray is an
  optional extra: ``pip install "painzoo[ray]"``.

Example:
    >>> from painzoo.evaluation import run
    >>> from painzoo.evaluation.executors import RayExecutor
    >>> run("p2-cppain", executor=RayExecutor(address="auto", gpus_per_unit=1))
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# Called as units_module.run_unit so a wrapped run_unit (tests, profiling) is the one used.
from painzoo.evaluation import units as units_module

__all__ = ["Executor", "LocalExecutor", "RayExecutor", "UnitOutcome", "get_executor", "EXECUTORS"]


@dataclass
class UnitOutcome:
    """How one unit ended.

    Attributes:
        unit: The unit dict from :func:`~painzoo.evaluation.units.plan_units`.
        metrics: Its metrics (``None`` if it failed).
        error: ``"ExceptionType: message"`` if it failed.
        traceback: The (remote) traceback if it failed.
    """

    unit: dict
    metrics: dict | None = None
    error: str | None = None
    traceback: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the unit finished."""
        return self.error is None


class Executor:
    """Runs units; subclasses implement :meth:`map`.

    ``name`` is the value of ``painzoo benchmark --executor``.
    """

    name = "executor"

    def map(self, units: Iterable[dict], out: str, *, progress: bool = False) -> Iterator:
        """Run ``units`` writing under ``out``; yield a :class:`UnitOutcome` as each ends.

        A failing unit yields an outcome with ``error`` set and the others go
        on; ``KeyboardInterrupt`` stops the run (units not yet started are
        abandoned, finished ones keep their files).

        Args:
            units: Units to run (not yet finished).
            out: Output folder or URI (as :class:`~painzoo.evaluation.storage.RunStorage` takes).
            progress: Show per-epoch bars where the executor can.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class LocalExecutor(Executor):
    """One unit after another in this process."""

    name = "local"

    def map(self, units, out, *, progress=False):
        for unit in units:
            try:
                metrics = units_module.run_unit(unit, out, progress=progress)
            except KeyboardInterrupt:
                raise
            except Exception as err:  # a failing unit must not stop the others
                yield UnitOutcome(
                    unit, error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc()
                )
            else:
                yield UnitOutcome(unit, metrics=metrics)


def _import_ray():
    try:
        import ray
    except ImportError as err:
        raise ImportError(
            'The Ray executor needs Ray, which is not installed: pip install "painzoo[ray]".'
        ) from err
    return ray


def _ray_unit(unit: dict, out: str) -> dict:
    """The body of a unit's Ray task (module-level so workers import it by name)."""
    return units_module.run_unit(unit, out)


class RayExecutor(Executor):
    """Every unit as a Ray task, on a local Ray instance or a cluster.

    Units write their files themselves, so ``OUT`` must be reachable from
    every worker: a shared file system mounted at the same path on every
    node, or a URI such as ``s3://bucket/runs`` (see
    :mod:`painzoo.evaluation.storage`). Datasets are rebuilt on the workers
    from the config, so data paths must exist there too.

    Args:
        address: Ray cluster to join: ``"auto"`` (the cluster started with
            ``ray start`` on this machine), ``"HOST:PORT"`` (a head node's
            GCS address), ``"ray://HOST:10001"`` (Ray Client) or ``None``
            (the cluster Ray is already connected to, else ``RAY_ADDRESS``,
            else a new local instance).
        gpus_per_unit: GPUs reserved for each unit (``num_gpus``; may be
            fractional, e.g. 0.5 to put two small trainings on one GPU).
        cpus_per_unit: CPUs reserved for each unit (``num_cpus``).
        max_retries: How many times Ray reruns a unit whose worker died
            (killed, out of memory, node lost). An exception raised by the
            unit itself is recorded without retry unless ``retry_exceptions``.
        retry_exceptions: Also retry units that raise.
        init_kwargs: Extra ``ray.init`` arguments (``runtime_env``,
            ``num_cpus`` …) used when this executor starts Ray.

    Raises:
        ImportError: When Ray is not installed (``pip install "painzoo[ray]"``).
        ValueError: For negative resources or retries.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        gpus_per_unit: float = 0,
        cpus_per_unit: float = 1,
        max_retries: int = 2,
        retry_exceptions: bool = False,
        init_kwargs: dict | None = None,
    ):
        for key, value in (
            ("gpus_per_unit", gpus_per_unit),
            ("cpus_per_unit", cpus_per_unit),
            ("max_retries", max_retries),
        ):
            if value is None or value < 0:
                raise ValueError(f"{key} must be >= 0; received {value!r}.")
        self.address = address
        self.gpus_per_unit = gpus_per_unit
        self.cpus_per_unit = cpus_per_unit
        self.max_retries = int(max_retries)
        self.retry_exceptions = bool(retry_exceptions)
        self.init_kwargs = dict(init_kwargs or {})
        _import_ray()  # fail early, before any unit is planned

    def __repr__(self) -> str:
        return (
            f"RayExecutor(address={self.address!r}, gpus_per_unit={self.gpus_per_unit}, "
            f"cpus_per_unit={self.cpus_per_unit}, max_retries={self.max_retries})"
        )

    def map(self, units, out, *, progress=False):
        ray = _import_ray()
        units = list(units)
        if not units:
            return
        started = False
        if not ray.is_initialized():
            ray.init(address=self.address, **self.init_kwargs)
            started = True
        task = ray.remote(_ray_unit).options(
            num_cpus=self.cpus_per_unit,
            num_gpus=self.gpus_per_unit,
            max_retries=self.max_retries,
            retry_exceptions=self.retry_exceptions,
            name="painzoo-unit",
        )
        pending = {task.remote(unit, str(out)): unit for unit in units}
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    unit = pending.pop(ref)
                    yield self._outcome(ray, ref, unit)
        finally:
            for ref in pending:  # interrupted: do not leave the cluster busy
                ray.cancel(ref, force=True)
            if started:
                ray.shutdown()

    def _outcome(self, ray, ref, unit) -> UnitOutcome:
        try:
            return UnitOutcome(unit, metrics=ray.get(ref))
        except ray.exceptions.RayTaskError as err:
            # The unit raised: record the original exception, as the local executor does.
            cause = getattr(err, "cause", None) or err
            return UnitOutcome(unit, error=f"{type(cause).__name__}: {cause}", traceback=str(err))
        except ray.exceptions.RayError as err:
            attempts = self.max_retries + 1
            return UnitOutcome(
                unit,
                error=f"{type(err).__name__}: the unit's worker died {attempts} time(s) "
                f"(max_retries={self.max_retries}): {err}",
                traceback=str(err),
            )


EXECUTORS = {"local": LocalExecutor, "ray": RayExecutor}


def get_executor(executor="local", **options) -> Executor:
    """An executor by name (``"local"``, ``"ray"``) with its options, or ``executor`` itself.

    Args:
        executor: A name from :data:`EXECUTORS` or an :class:`Executor`.
        **options: Arguments of the executor's class (e.g. ``address``,
            ``gpus_per_unit`` for ``"ray"``); ``None`` values are dropped.

    Returns:
        An :class:`Executor`.

    Raises:
        ValueError: For an unknown name, or options given with an instance.
    """
    options = {k: v for k, v in options.items() if v is not None}
    if isinstance(executor, Executor):
        if options:
            raise ValueError(
                f"Options {sorted(options)} apply to an executor name, not to {executor!r}."
            )
        return executor
    cls = EXECUTORS.get(str(executor).lower())
    if cls is None:
        raise ValueError(f"Unknown executor {executor!r}; available: {sorted(EXECUTORS)}.")
    return cls(**options)
