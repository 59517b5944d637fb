"""Keep the Keras backend's start-up noise out of painzoo's output.

Imports nothing heavy, so it can run before Keras is first imported.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.util
import logging
import os
import sys
import tempfile
import warnings

__all__ = ["quiet_backend", "call_quietly", "command_warnings"]


def quiet_backend(verbose: bool = False) -> None:
    """Hide the Keras backend's start-up log and TensorFlow's Python warnings (``verbose``: show everything).

    Sets ``TF_CPP_MIN_LOG_LEVEL=2`` (unless set) for this process and its children, silences
    TensorFlow's and absl's loggers below ERROR, and runs the first import of Keras with file
    descriptor 2 captured, writing back all but start-up lines. Call before anything imports Keras.
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
    """``module.function(*args)`` after :func:`quiet_backend`: a spawned worker's light entry point."""
    quiet_backend(verbose)
    command = os.environ.get(_COMMAND_ENV)
    if command:  # a worker of a painzoo command: its warnings look like the command's
        _install_showwarning(command, verbose, set())
    return getattr(importlib.import_module(module), function)(*args)


# -- warnings of a command --------------------------------------------------------------
_COMMAND_ENV = "PAINZOO_COMMAND"  # read by worker processes (call_quietly)


@contextlib.contextmanager
def command_warnings(command: str, verbose: bool = False):
    """Print warnings as ``painzoo <command>: warning: <message>`` while the block runs.

    painzoo's warnings (and WARNING+ log records) print once, one line each; other libraries'
    warnings are hidden unless ``verbose``. Filters and ``warnings.showwarning`` are then restored.
    """
    saved = os.environ.get(_COMMAND_ENV)
    os.environ[_COMMAND_ENV] = command
    shown: set = set()
    handler = _OneLineHandler(command, shown)
    painzoo_logger = logging.getLogger("painzoo")
    painzoo_logger.addHandler(handler)
    try:
        with warnings.catch_warnings():
            _install_showwarning(command, verbose, shown)
            yield
    finally:
        painzoo_logger.removeHandler(handler)
        if saved is None:
            os.environ.pop(_COMMAND_ENV, None)
        else:
            os.environ[_COMMAND_ENV] = saved


class _OneLineHandler(logging.Handler):
    """painzoo's log records of WARNING and above, as one line each like its warnings."""

    def __init__(self, command: str, shown: set):
        super().__init__(logging.WARNING)
        self.command, self.shown = command, shown

    def emit(self, record):
        try:
            text = _one_line(record.getMessage())
        except Exception:  # a malformed record must not stop the command
            self.handleError(record)
            return
        if text not in self.shown:
            self.shown.add(text)
            level = "error" if record.levelno >= logging.ERROR else "warning"
            _write_line(f"painzoo {self.command}: {level}: {text}")


def _install_showwarning(command: str, verbose: bool, shown: set) -> None:
    python_show = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if not _raised_by_painzoo():
            if verbose:
                python_show(message, category, filename, lineno, file, line)
            return
        text = _one_line(str(message))
        if text in shown:
            return
        shown.add(text)
        _write_line(f"painzoo {command}: warning: {text}", file)

    warnings.showwarning = showwarning


def _raised_by_painzoo() -> bool:
    """Whether the code that called ``warnings.warn`` is painzoo's (not where it points)."""
    frame = sys._getframe(2)  # past showwarning and this function
    while frame is not None and frame.f_globals.get("__name__") in ("warnings", __name__):
        frame = frame.f_back
    if frame is None:
        return False
    name = frame.f_globals.get("__name__") or ""
    return name == "painzoo" or name.startswith("painzoo.")


def _one_line(text: str) -> str:
    out = ""
    for part in (p.strip() for p in text.splitlines()):
        if part:
            out = part if not out else out + (" " if out.endswith(":") else "; ") + part
    return out


def _write_line(text: str, file=None) -> None:
    tqdm = sys.modules.get("tqdm")
    if file is None and tqdm is not None and hasattr(tqdm, "tqdm"):
        tqdm.tqdm.write(text, file=sys.stderr)  # above a running progress bar, not through it
        return
    target = sys.stderr if file is None else file
    try:
        print(text, file=target, flush=True)
    except (OSError, AttributeError):  # stderr closed or gone
        pass
