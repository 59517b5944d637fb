"""Stopping a run on Ctrl-C or SIGTERM: a flag, checked at safe points.

A signal handler must not raise: an exception raised from a handler lands
wherever the interpreter happens to be, and when that is a garbage-collector
callback it is printed as "Exception ignored" and lost, so the run would go
on and exit 0. Here the handler only records the request in :data:`STOP`;
``painzoo benchmark`` checks it between its start-up phases (imports, config,
planning), the runner and the executors check it between units, and
:class:`StopOnSignal` checks it between batches of a training in this
process. Where the request is honoured, :class:`RunStopped` is raised (a
``KeyboardInterrupt``, so code that already handles Ctrl-C handles it too).

``painzoo benchmark`` installs the handlers (:func:`handle_signals`) as the
first thing it does, before it imports anything heavy, so a signal during
start-up is honoured like any other (only while Python itself starts does
Ctrl-C act as for any program). Worker processes start with SIGINT blocked and then
ignore it (Ctrl-C reaches every process of the terminal's group; the parent
decides), so a unit whose worker was starting is abandoned, not failed.

A second Ctrl-C while the run is stopping raises ``KeyboardInterrupt`` at
once, for the user who does not want to wait for the batch or unit to end;
a third ends the process at once (the operating system's default action).
The flag and the handlers live in the light module ``painzoo._signals``.
"""

from __future__ import annotations

from painzoo._signals import STOP, RunStopped, StopFlag, check_stop, handle_signals

# StopOnSignal is built on first access (module __getattr__ below).
__all__ = ["STOP", "RunStopped", "StopFlag", "StopOnSignal", "handle_signals", "check_stop"]  # noqa: F822


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
