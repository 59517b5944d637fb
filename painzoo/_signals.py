"""Stop requests: SIGINT and SIGTERM set a flag that a run checks at safe points.

Imports nothing heavy; :mod:`painzoo.benchmark.stopping` is its public face.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

__all__ = ["STOP", "RunStopped", "StopFlag", "handle_signals", "check_stop"]


class RunStopped(KeyboardInterrupt):
    """Raised where a stop request is honoured; ``signum`` is the signal (``None`` if unknown)."""

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

# How many handle_signals blocks are open: only the outermost clears the flag.
_depth = 0


def check_stop() -> None:
    """Raise :class:`RunStopped` if a stop was requested (:data:`STOP` is set)."""
    if STOP.is_set():
        raise RunStopped(STOP.signum)


def _handler(signum, frame):
    if STOP.is_set() and signum == signal.SIGINT:
        # A second Ctrl-C: stop now, without waiting for the batch or unit. Should this
        # KeyboardInterrupt land where Python drops it (a garbage-collector callback),
        # a third Ctrl-C ends the process at once: the operating system's default.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        raise KeyboardInterrupt
    STOP.set(signum)


@contextmanager
def handle_signals(signals=(signal.SIGINT, signal.SIGTERM)):
    """Within the block (yielding :data:`STOP`), SIGINT and SIGTERM set the flag instead of raising.

    The outermost block clears the flag on entry; nested blocks keep an earlier request. Handlers
    are restored on exit; outside the main thread the signals are left alone.
    """
    global _depth
    if _depth == 0:
        STOP.clear()
    _depth += 1
    previous = {}
    try:
        try:
            for sig in signals:
                if signal.getsignal(sig) is not _handler:
                    previous[sig] = signal.signal(sig, _handler)
        except ValueError:  # not in the main thread: leave signals alone
            pass
        yield STOP
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        _depth -= 1
