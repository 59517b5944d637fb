"""Stopping a run on Ctrl-C or SIGTERM: a flag, checked at safe points.

A signal handler must not raise: an exception raised from a handler lands
wherever the interpreter happens to be, and when that is a garbage-collector
callback it is printed as "Exception ignored" and lost, so the run would go
on and exit 0. Here the handler only records the request in :data:`STOP`;
the runner and the executors check it between units, and
:class:`StopOnSignal` checks it between batches of a training in this
process. Where the request is honoured, :class:`RunStopped` is raised (a
``KeyboardInterrupt``, so code that already handles Ctrl-C handles it too).

A second Ctrl-C while the run is stopping raises ``KeyboardInterrupt`` at
once, for the user who does not want to wait for the batch or unit to end.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

# StopOnSignal is built on first access (module __getattr__ below).
__all__ = ["STOP", "RunStopped", "StopFlag", "StopOnSignal", "handle_signals", "check_stop"]  # noqa: F822


class RunStopped(KeyboardInterrupt):
    """Raised where a stop request (signal) is honoured.

    Attributes:
        signum: The signal that asked for the stop (``None`` if unknown).
    """

    def __init__(self, signum: int | None = None):
        name = signal.Signals(signum).name if signum else "a stop request"
        super().__init__(f"stopped by {name}")
        self.signum = signum


class StopFlag:
    """A thread-safe flag recording that a run was asked to stop, and by which signal."""

    def __init__(self):
        self._event = threading.Event()
        self.signum: int | None = None

    def set(self, signum: int | None = None) -> None:
        """Ask the run to stop (``signum``: the signal that asked)."""
        if not self._event.is_set():
            self.signum = signum
        self._event.set()

    def clear(self) -> None:
        """Forget an earlier request (a new run starts)."""
        self.signum = None
        self._event.clear()

    def is_set(self) -> bool:
        """Whether a stop was requested."""
        return self._event.is_set()


#: The process-wide stop flag set by :func:`handle_signals`' handler.
STOP = StopFlag()


def check_stop() -> None:
    """Raise :class:`RunStopped` if a stop was requested.

    Raises:
        RunStopped: When :data:`STOP` is set.
    """
    if STOP.is_set():
        raise RunStopped(STOP.signum)


def _handler(signum, frame):
    if STOP.is_set() and signum == signal.SIGINT:
        raise KeyboardInterrupt  # a second Ctrl-C: stop now, do not wait for the batch
    STOP.set(signum)


@contextmanager
def handle_signals(signals=(signal.SIGINT, signal.SIGTERM)):
    """Within the block, SIGINT and SIGTERM set :data:`STOP` instead of raising.

    The flag is cleared on entry and the previous handlers are restored on
    exit. Outside the main thread (where Python cannot install handlers) the
    signals are left alone and the flag is only cleared.

    Yields:
        :data:`STOP`.
    """
    STOP.clear()
    previous = {}
    try:
        for sig in signals:
            previous[sig] = signal.signal(sig, _handler)
    except ValueError:  # not in the main thread: leave signals alone
        pass
    try:
        yield STOP
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _stop_callback_class():
    import keras  # here, not at module top: the runner's process never trains

    class StopOnSignal(keras.callbacks.Callback):
        """Ends a ``fit`` within one batch of a stop request by raising :class:`RunStopped`.

        ``model.stop_training = True`` is honoured only at the end of an epoch
        by some backends, so the callback raises instead; the runner catches it,
        the unit is left unfinished (no ``metrics.json``) and is rerun next time.
        """

        def on_train_batch_end(self, batch, logs=None):
            check_stop()

        def on_test_batch_end(self, batch, logs=None):
            check_stop()

    StopOnSignal.__module__ = __name__
    return StopOnSignal


def __getattr__(name: str):
    # ``StopOnSignal`` is a Keras callback; it is built on first use so that
    # importing the runner (which plans, schedules and reports, but trains
    # only in workers) does not start Keras and its backend.
    if name == "StopOnSignal":
        cls = globals()["StopOnSignal"] = _stop_callback_class()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
