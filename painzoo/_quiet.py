"""Keep the Keras backend's start-up noise out of painzoo's output.

TensorFlow writes its start-up lines (oneDNN, CUDA, CPU features) straight to
file descriptor 2 before its own log level applies, and raises Python
warnings (retracing) that say nothing a painzoo user can act on.
:func:`quiet_backend` hides them for the command line and for the worker
processes of :class:`painzoo.benchmark.executors.LocalExecutor`. This module
imports nothing heavy, so it can run before Keras is first imported.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import logging
import os
import sys
import tempfile
import warnings

__all__ = ["quiet_backend", "call_quietly"]


def quiet_backend(verbose: bool = False) -> None:
    """Hide the Keras backend's start-up log and TensorFlow's Python warnings.

    Sets ``TF_CPP_MIN_LOG_LEVEL=2`` (unless already set; ``0`` when verbose)
    for this process and its children, and hides TensorFlow's and absl's
    Python loggers below ERROR (retracing warnings) and the Python warnings
    Keras and TensorFlow raise. TensorFlow 2.2x writes its start-up lines
    (oneDNN, CUDA, CPU features) straight to file descriptor 2 before its
    log level applies, so the first import of ``keras`` or ``tensorflow``
    (whenever a command needs it; commands that never do stay fast) runs with
    that descriptor captured, and what was captured is written back unless it
    is such a line. Call it before anything imports Keras (a worker process
    may call it too).

    Args:
        verbose: Show everything instead.
    """
    if verbose:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for name in ("tensorflow", "absl", "jax._src.xla_bridge"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"(keras|tensorflow|absl|tf_keras)(\.|$)")
    if not any(name in sys.modules for name in _BACKEND_MODULES) and not any(
        isinstance(f, _QuietImport) for f in sys.meta_path
    ):
        sys.meta_path.insert(0, _QuietImport())


_BACKEND_MODULES = ("keras", "tensorflow")
_NOISE = (
    "I0000",
    "W0000",
    "E0000",
    "WARNING: All log messages before absl",
    "To enable the following instructions",
)


class _QuietImport(importlib.abc.MetaPathFinder):
    """Runs the first import of Keras or TensorFlow with descriptor 2 captured."""

    def find_spec(self, name, path=None, target=None):
        if name not in _BACKEND_MODULES:
            return None
        sys.meta_path.remove(self)  # once: what it imports is captured with it
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _CapturedLoader(spec.loader)
        return spec


class _CapturedLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        sys.stderr.flush()
        try:
            saved = os.dup(2)
        except OSError:  # no real descriptor 2 (embedded interpreters)
            return self.loader.exec_module(module)
        ok = False
        with tempfile.TemporaryFile() as tmp:
            os.dup2(tmp.fileno(), 2)
            try:
                self.loader.exec_module(module)
                if "tensorflow" in sys.modules:
                    # Its CUDA probe logs on first use; let it happen here.
                    sys.modules["tensorflow"].config.list_physical_devices()
                ok = True
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                tmp.seek(0)
                text = tmp.read().decode(errors="replace")
                lines = text.splitlines() if ok else [text]
                kept = [line for line in lines if line and not line.startswith(_NOISE)]
                if kept:
                    print("\n".join(kept), file=sys.stderr)


def call_quietly(verbose: bool, module: str, function: str, *args):
    """``module.function(*args)`` after :func:`quiet_backend` (a worker process's entry).

    A spawned worker must hide the backend's start-up lines before the module
    that runs its work is imported (importing it imports Keras), so the target
    of the process is this light function and the work is named by module and
    function.
    """
    quiet_backend(verbose)
    return getattr(importlib.import_module(module), function)(*args)
