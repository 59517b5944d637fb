"""Executors: how the units of an evaluation grid get run.

An executor takes the units that still need running and yields one :class:`UnitOutcome` per unit
as each one ends; every unit is run by :func:`painzoo.benchmark.units.run_unit`, so all executors
write the same files. ``"local"`` (:class:`LocalExecutor`) runs units in worker processes on this
machine (or in this process, ``jobs=0``); ``"ray"`` (:class:`RayExecutor`) makes every unit a Ray
task (``pip install "painzoo[ray]"``), e.g.
``painzoo.benchmark.run("p2-cppain", executor=RayExecutor(address="auto", gpus_per_unit=1))``.
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import connection as mp_connection

# Called as units_module.run_unit so a wrapped run_unit (tests, profiling) is the one used.
import painzoo.benchmark.units as units_module
from painzoo._quiet import call_quietly
from painzoo.benchmark.stopping import STOP, check_stop

#: Resident memory (GiB) after which a worker process is replaced by a fresh one.
DEFAULT_MAX_WORKER_GIB = 2.0

__all__ = [
    "Executor",
    "LocalExecutor",
    "RayExecutor",
    "UnitOutcome",
    "get_executor",
    "default_jobs",
    "EXECUTORS",
]


@dataclass
class UnitOutcome:
    """How one unit ended.

    Attributes:
        unit: The :class:`~painzoo.benchmark.units.Unit`.
        metrics: Its metrics (``None`` if it failed).
        error: ``"ExceptionType: message"`` if it failed.
        traceback: The (remote) traceback if it failed.
    """

    unit: object
    metrics: dict | None = None
    error: str | None = None
    traceback: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the unit finished."""
        return self.error is None


class Executor:
    """Runs units; subclasses implement :meth:`map`; ``name`` is the ``--executor`` value."""

    name = "executor"

    def map(self, units: Iterable[dict], out: str, *, progress: bool = False) -> Iterator:
        """Run ``units`` writing under ``out``; yield a :class:`UnitOutcome` as each ends.

        A failing unit yields an outcome with ``error`` set and the others go on. A stop request
        (:func:`~painzoo.benchmark.stopping.check_stop` raising ``RunStopped``, a
        ``KeyboardInterrupt``) stops the run: units not yet started are not started, units in
        progress are abandoned, finished ones keep their files.

        Args:
            units: Units to run (not yet finished).
            out: Output folder or URI (as :class:`~painzoo.benchmark.storage.RunStorage` takes).
            progress: Show per-epoch bars where the executor can.
        """
        raise NotImplementedError

    def start(self, out) -> None:
        """Prepare to run units writing under ``out`` while the caller still plans them
        (the local executor starts its workers); :meth:`close` undoes what :meth:`map` did not use."""

    def close(self) -> None:
        """End what :meth:`start` prepared and :meth:`map` did not use."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class LocalExecutor(Executor):
    """Units on this machine: in worker processes, or one after another in this process.

    Up to ``jobs`` ``spawn`` workers (thread pools bounded to ``threads``) run units side by side,
    each from a cleared Keras session and its own seeds, so a unit's numbers are those it gets
    alone. Workers import painzoo afresh: register your own models in a module they import (the
    run under ``if __name__ == "__main__":``), else use ``jobs=0``. On a stop request no unit
    starts, running workers are terminated (their units rerun next time) and
    :class:`~painzoo.benchmark.stopping.RunStopped` is raised.

    Args:
        jobs: Worker processes; ``"auto"`` picks :func:`default_jobs`; ``0`` runs here.
        threads: Threads per worker; default ``max(1, cores // max(jobs, default_jobs()))``,
            so a unit's numbers do not depend on ``jobs``.
        units_per_worker: Units a worker runs before a fresh one replaces it; ``None``
            for no limit, ``1`` for a new process per unit.
        max_worker_gib: Resident memory (GiB) after which a worker is replaced once
            its unit ends; ``None`` for no limit.

    Raises:
        ValueError: For a negative or non-integer ``jobs``, ``threads < 1``,
            ``units_per_worker < 1`` or ``max_worker_gib <= 0``.
    """

    name = "local"

    def __init__(
        self,
        jobs: int | str = 0,
        *,
        threads: int | None = None,
        units_per_worker: int | None = None,
        max_worker_gib: float | None = DEFAULT_MAX_WORKER_GIB,
    ):
        if jobs != "auto" and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 0):
            raise ValueError(
                f"jobs must be an integer >= 0 (0: in this process) or 'auto'; received {jobs!r}."
            )
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise ValueError(f"threads must be an integer >= 1; received {threads!r}.")
        if units_per_worker is not None and (
            isinstance(units_per_worker, bool)
            or not isinstance(units_per_worker, int)
            or units_per_worker < 1
        ):
            raise ValueError(
                f"units_per_worker must be an integer >= 1 or None; received {units_per_worker!r}."
            )
        if max_worker_gib is not None and not float(max_worker_gib) > 0:
            raise ValueError(
                f"max_worker_gib must be positive or None; received {max_worker_gib!r}."
            )
        self.jobs = jobs
        self.threads = threads
        self.units_per_worker = units_per_worker
        self.max_worker_gib = max_worker_gib
        self._started: tuple | None = None  # (out, threads, workers) from start()

    def __repr__(self) -> str:
        return (
            f"LocalExecutor(jobs={self.jobs!r}, threads={self.threads!r}, "
            f"units_per_worker={self.units_per_worker!r}, max_worker_gib={self.max_worker_gib!r})"
        )

    def _threads(self, jobs: int) -> int:
        # Threads follow the default worker count, not this run's: same numbers for any --jobs.
        return self.threads or max(1, available_cores() // max(jobs, default_jobs()))

    def start(self, out) -> None:
        """Start the workers now: they import the backend while the caller plans the units."""
        if self.jobs == 0 or self._started is not None:
            return
        jobs = default_jobs() if self.jobs == "auto" else self.jobs
        ctx = multiprocessing.get_context("spawn")
        threads = self._threads(jobs)
        workers = [self._start_worker(ctx, str(out), threads, jobs) for _ in range(jobs)]
        self._started = (str(out), threads, workers)

    def close(self) -> None:
        """End the workers :meth:`start` started that :meth:`map` did not take."""
        started, self._started = self._started, None
        _finish_all(started[2] if started else [])

    def map(self, units, out, *, progress=False):
        if self.jobs == 0:
            return self._map_here(units, out, progress)
        units = list(units)
        jobs = default_jobs(len(units)) if self.jobs == "auto" else min(self.jobs, len(units))
        return self._map_workers(units, str(out), jobs, self._threads(jobs))

    def _map_here(self, units, out, progress):
        for unit in units:
            check_stop()  # between units
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

    def _start_worker(self, ctx, out, threads, jobs):
        parent, child = ctx.Pipe(duplex=True)
        limit = None if self.max_worker_gib is None else int(float(self.max_worker_gib) * 2**30)
        verbose = os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0"
        proc = ctx.Process(
            target=call_quietly,
            args=(verbose, __name__, "_worker", child, out, threads, self.units_per_worker, limit),
            name="painzoo-worker",
            daemon=True,
        )
        # Started with SIGINT blocked (inherited) so a Ctrl-C during its imports cannot end it.
        with _environ(worker_environment(threads, jobs)), _sigint_blocked():
            proc.start()
        child.close()  # the worker holds the only other end: EOF when it dies
        return _Worker(proc, parent)

    def _take_started(self, out, jobs, threads) -> list:
        """Up to ``jobs`` workers :meth:`start` started for ``out`` and ``threads``; the rest end."""
        started, self._started = self._started, None
        if started is None:
            return []
        workers = started[2]
        if started[:2] != (out, threads):
            jobs = 0
        _finish_all(workers[jobs:])
        return workers[:jobs]

    def _map_workers(self, units, out, jobs, threads):
        ctx = multiprocessing.get_context("spawn")
        todo = collections.deque(units)
        workers = self._take_started(out, jobs, threads)
        built = _built_data(units)
        for worker in workers:
            worker.send_data(built)
        try:
            while todo or any(w.unit is not None for w in workers):
                for worker in workers:
                    if worker.unit is None and todo:
                        check_stop()  # no new unit after a stop request
                        worker.give(todo.popleft())
                while todo and len(workers) < jobs:
                    check_stop()
                    worker = self._start_worker(ctx, out, threads, jobs)
                    worker.send_data(built)
                    workers.append(worker)
                    worker.give(todo.popleft())
                busy = [w for w in workers if w.unit is not None]
                ready = mp_connection.wait(
                    [c for w in busy for c in (w.conn, w.proc.sentinel)], timeout=0.25
                )
                for worker in busy:
                    if worker.conn not in ready and worker.proc.sentinel not in ready:
                        continue
                    unit = worker.unit
                    outcome, retire = _receive(worker.conn, worker.proc, unit)
                    if outcome is None:  # sentinel ready but message not yet readable
                        continue
                    if STOP.is_set() and _died(outcome):
                        # Ended by the stop: abandoned, not recorded as failed.
                        check_stop()
                    worker.unit = None
                    if retire or not worker.proc.is_alive():
                        worker.close()
                        workers.remove(worker)
                    elif not todo:  # nothing left for it: it exits while the others finish
                        worker.stop()
                    yield outcome
                check_stop()  # units that ended with the request are reported first
        finally:  # done, stopped or closed early: units in progress are abandoned
            _finish_all([w for w in workers if w.unit is None])
            for worker in workers:
                if worker.unit is not None:
                    _end(worker.proc)
                    worker.conn.close()
                    _remove_temporaries(out, worker.unit)


#: Largest pickle of the planner's datasets sent to each worker (larger: workers build their own).
_MAX_BUILT_BYTES = 1 << 30
_BUILT = "built data"  # the first element of the message that carries them


def _built_data(units) -> bytes | None:
    """The datasets and folds of ``units`` (:func:`~painzoo.benchmark.units.built_data`),
    pickled for the workers, or ``None`` if there are none, they do not pickle or are too large."""
    built = units_module.built_data(units)
    if not any(built.values()):
        return None
    try:
        data = pickle.dumps((_BUILT, built), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # an unpicklable dataset: each worker builds its own
        return None
    return data if len(data) <= _MAX_BUILT_BYTES else None


class _Worker:
    """A worker process, the parent's end of its pipe and the unit it is running.

    Messages go through a thread in order, so the run never waits for a worker
    that is still importing its backend.
    """

    def __init__(self, proc, conn):
        self.proc, self.conn, self.unit, self.stopping = proc, conn, None, False
        self._outbox = queue.SimpleQueue()
        threading.Thread(target=self._send_all, daemon=True).start()

    def _send_all(self) -> None:
        while True:
            item = self._outbox.get()
            if item is _CLOSED:
                return
            try:
                if isinstance(item, bytes):
                    self.conn.send_bytes(item)
                else:
                    self.conn.send(item)
            except (OSError, ValueError):  # it died (broken pipe): its sentinel tells the loop
                return

    def send_data(self, built: bytes | None) -> None:
        """Send the planner's pickled datasets (:func:`_built_data`), if any."""
        if built is not None:
            self._outbox.put(built)

    def give(self, unit) -> None:
        self.unit = unit
        self._outbox.put(unit)

    def stop(self) -> None:
        """Ask an idle worker to end (it takes no more units)."""
        if not self.stopping:
            self.stopping = True
            self._outbox.put(None)

    def finish(self) -> None:
        """Ask an idle worker to end, and wait for it (terminated if it does not)."""
        self.stop()
        self.proc.join(timeout=10)
        self.close()

    def close(self) -> None:
        self._outbox.put(_CLOSED)
        _end(self.proc)
        self.conn.close()


_CLOSED = object()  # ends a worker's sending thread


def _finish_all(workers) -> None:
    """Ask idle ``workers`` to end, all first (they exit side by side), then wait for each."""
    for worker in workers:
        worker.stop()
    for worker in workers:
        worker.finish()


def _run_id(unit) -> str:
    """A unit's run id, whether the unit is a dict or an object with ``run_id``."""
    rid = getattr(unit, "run_id", None)
    return str(rid if rid is not None else unit["run_id"])


def available_cores() -> int:
    """CPU cores this process may use (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _gpu_visible() -> bool:
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    try:
        from painzoo.training.trainer import gpu_available

        return gpu_available()
    except Exception:  # no backend importable: nothing to share
        return False


def default_jobs(n_units: int | None = None) -> int:
    """How many units (>= 1) to run side by side on this machine by default.

    On the CPU, one worker per core, at most one per 2 GiB of memory; with a GPU, one.

    Args:
        n_units: Units to run (caps the result); ``None`` for no cap.
    """
    if _gpu_visible():
        jobs = 1
    else:
        jobs = available_cores()
        try:
            memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
            jobs = min(jobs, max(1, memory // (2 << 30)))
        except (AttributeError, ValueError, OSError):
            pass
    if n_units is not None:
        jobs = min(jobs, max(1, n_units))
    return max(1, int(jobs))


def worker_environment(threads: int, jobs: int = 1) -> dict:
    """Environment variables that bound a worker's thread pools and its share of a GPU.

    With ``jobs > 1`` each worker gets ``0.9 / jobs`` of a shared GPU's memory
    (``PAINZOO_GPU_MEMORY_FRACTION``, ``XLA_PYTHON_CLIENT_MEM_FRACTION``) and TensorFlow
    grows its pool on demand. Values you set yourself are kept.

    Args:
        threads: Threads per worker.
        jobs: Workers running side by side.
    """
    n = str(int(threads))
    env = {
        "OMP_NUM_THREADS": n,
        "MKL_NUM_THREADS": n,
        "OPENBLAS_NUM_THREADS": n,
        "TF_NUM_INTRAOP_THREADS": n,
        "TF_NUM_INTEROP_THREADS": n,
        "PAINZOO_THREADS": n,
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
    }
    if int(threads) == 1:  # XLA on the CPU (JAX) has no thread-count flag but this one
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_cpu_multi_thread_eigen" not in flags:
            extra = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
            env["XLA_FLAGS"] = f"{flags} {extra}".strip()
    if int(jobs) > 1:
        fraction = os.environ.get(_GPU_FRACTION_ENV) or f"{0.9 / int(jobs):.3f}"
        env[_GPU_FRACTION_ENV] = fraction
        env["XLA_PYTHON_CLIENT_MEM_FRACTION"] = os.environ.get(
            "XLA_PYTHON_CLIENT_MEM_FRACTION", fraction
        )
        env["TF_FORCE_GPU_ALLOW_GROWTH"] = os.environ.get("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    return env


_GPU_FRACTION_ENV = "PAINZOO_GPU_MEMORY_FRACTION"


@contextmanager
def _environ(changes: dict):
    """Set environment variables for a child about to start; restore them afterwards."""
    old = {k: os.environ.get(k) for k in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _limit_threads(threads: int) -> None:
    """Bound the active backend's thread pools (in a worker, before any op runs)."""
    import keras  # the backend Keras chose (environment or keras.json); no op has run yet

    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        fraction = os.environ.get(_GPU_FRACTION_ENV)
        if fraction and torch.cuda.is_available():  # several workers share the GPU
            for device in range(torch.cuda.device_count()):
                torch.cuda.set_per_process_memory_fraction(float(fraction), device)
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(threads)
        except RuntimeError:  # already set, or work already started
            pass
    elif backend == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # TensorFlow already initialised: the environment applied
            pass


def _resident_bytes() -> int | None:
    """This process's resident memory now (Linux ``/proc``), or ``None`` elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _worker(conn, out, threads, units_per_worker=None, max_bytes=None) -> None:
    """The body of a worker process: run the units it is sent until told to stop.

    A ``(_BUILT, data)`` message adds the parent's datasets and folds to its
    caches (:func:`_built_data`). Every outcome is sent as
    ``(status, payload..., retire)``; ``retire`` says the worker ends after this
    unit (quota done or memory over ``max_bytes``).
    """
    # Ctrl-C reaches the whole process group; the parent decides what to do.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _limit_threads(threads)
    done = 0
    try:
        while True:
            try:
                unit = conn.recv()
            except EOFError:  # the parent is gone
                return
            if unit is None:
                return
            if isinstance(unit, tuple) and unit[0] == _BUILT:
                units_module.adopt_built_data(unit[1])
                continue
            try:
                metrics = units_module.run_unit(unit, out)
                message = ("ok", metrics)
            except BaseException as err:  # report everything; the parent records the failure
                message = ("error", f"{type(err).__name__}: {err}", traceback.format_exc())
            done += 1
            rss = _resident_bytes()
            retire = bool(units_per_worker and done >= units_per_worker) or bool(
                max_bytes and rss and rss > max_bytes
            )
            conn.send((*message, retire))
            if retire:
                return
    finally:
        conn.close()


def _receive(conn, proc, unit) -> tuple[UnitOutcome | None, bool]:
    """The outcome a worker sent and whether it retires, or a failure if it died first.

    ``outcome`` is ``None`` while the worker is alive and nothing is readable yet.
    """
    try:
        if conn.poll():
            message = conn.recv()
            retire = bool(message[-1]) if isinstance(message[-1], bool) else False
            if message[0] == "ok":
                return UnitOutcome(unit, metrics=message[1]), retire
            return UnitOutcome(unit, error=message[1], traceback=message[2]), retire
    except (EOFError, OSError):
        pass
    proc.join(timeout=1)
    if proc.exitcode is None:
        return None, False
    code = proc.exitcode
    if code == -signal.SIGKILL:
        how = "killed by SIGKILL; out of memory is the usual cause"
    elif code < 0:
        how = f"stopped by signal {signal.Signals(-code).name} from outside painzoo"
    else:
        how = f"exit code {code}"
    return (
        UnitOutcome(
            unit,
            error=f"{_DIED}: the unit's worker process ended ({how}) without a result. "
            "The unit is rerun on the next run.",
            traceback="",
        ),
        True,
    )


_DIED = "WorkerDied"


def _died(outcome: UnitOutcome) -> bool:
    """Whether ``outcome`` is that of a worker that ended without a result."""
    return bool(outcome.error and outcome.error.startswith(f"{_DIED}:"))


@contextmanager
def _sigint_blocked():
    """SIGINT blocked in this thread within the block (a process started then inherits it)."""
    if not hasattr(signal, "pthread_sigmask"):  # not POSIX
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _end(proc, grace: float = 5.0) -> None:
    """Terminate a worker (SIGTERM), then kill it if it does not end within ``grace`` s."""
    if proc.is_alive():
        proc.terminate()
        proc.join(grace)
    if proc.is_alive():
        proc.kill()
        proc.join()


def _remove_temporaries(out, unit) -> None:
    """Remove files an abandoned unit left half-written (temporary names start with a dot)."""
    from painzoo.benchmark.storage import RunStorage

    local = RunStorage(out).local_path
    if local is None:
        return
    folder = local / "runs" / _run_id(unit)
    for path in folder.glob(".*") if folder.is_dir() else ():
        if path.is_file():
            path.unlink(missing_ok=True)


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

    Units write their files themselves, so ``OUT`` must be reachable from every
    worker (a shared file system at the same path, or a URI such as ``s3://bucket/runs``,
    see :mod:`painzoo.benchmark.storage`); datasets are rebuilt there from the config.

    Args:
        address: Ray cluster to join: ``"auto"`` (started with ``ray start`` here),
            ``"HOST:PORT"`` (a head node's GCS), ``"ray://HOST:10001"`` (Ray Client) or
            ``None`` (the connected cluster, else ``RAY_ADDRESS``, else a new local one).
        gpus_per_unit: GPUs reserved for each unit (``num_gpus``; may be fractional).
        cpus_per_unit: CPUs reserved for each unit (``num_cpus``).
        max_retries: How many times Ray reruns a unit whose worker died; an exception
            raised by the unit is recorded without retry unless ``retry_exceptions``.
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
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
                check_stop()
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
        **options: Arguments of the executor's class; ``None`` values are dropped.

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
