"""Stopping a run on Ctrl-C or SIGTERM: a flag, checked at safe points.

A signal handler must not raise (an exception landing in a garbage-collector callback is
printed as "Exception ignored" and lost), so it only records the request in :data:`STOP`.
``painzoo benchmark`` checks it between its start-up phases, the runner and the executors
between units, and :class:`StopOnSignal` between batches of a training in this process; there
:class:`RunStopped` is raised (a ``KeyboardInterrupt``, so Ctrl-C handling applies to it too).

``painzoo benchmark`` installs the handlers (:func:`handle_signals`) before it imports anything
heavy. Worker processes start with SIGINT blocked and then ignore it (the parent decides), so a
unit whose worker was starting is abandoned, not failed. A second Ctrl-C while the run is
stopping raises ``KeyboardInterrupt`` at once; a third ends the process (the default action).
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

        Some backends honour ``model.stop_training`` only at an epoch's end, hence the raise;
        the unit is left unfinished (no ``metrics.json``) and is rerun next time.
        """

        def on_train_batch_end(self, batch, logs=None):
            check_stop()

        def on_test_batch_end(self, batch, logs=None):
            check_stop()

    StopOnSignal.__module__ = __name__
    return StopOnSignal


def __getattr__(name: str):
    # Built on first use: importing the runner (which trains only in workers) must not start Keras.
    if name == "StopOnSignal":
        cls = globals()["StopOnSignal"] = _stop_callback_class()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
