"""Ctrl-C and SIGTERM during the start of ``painzoo benchmark``: honoured, never lost.

Each case starts ``python -m painzoo.cli benchmark`` on a tiny config in its own
process group, waits for a moment of its start-up that the test can see from
outside (Linux ``/proc``: the command's signal mask, the libraries it has
loaded, its worker process), sends the signal and checks that the command
stops with 130 (SIGINT) or 143 (SIGTERM) and records no unit, neither as
finished nor as failed (a worker stopped while it starts is not "out of
memory").
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="watches the command through /proc"
)

# A generous guard: on a loaded machine starting TensorFlow alone takes minutes.
GUARD_S = 600


def _config(out) -> dict:
    return {
        "name": "signals-toy",
        "out": str(out),
        "image_size": 32,
        "seed": 0,
        "data": {"rats": {"synthetic": "ratspain", "args": {"image_size": 32, "scale": 0.05}}},
        "models": ["lbp_svm_r1p8_4x4"],
        "experiments": [{"data": "rats", "protocols": [{"subject_kfold": {"n_splits": 2}}]}],
    }


def _read(path) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:  # the process ended meanwhile
        return ""


def _catches_sigterm(pid) -> bool:
    """Whether the process has a handler for SIGTERM (painzoo's: Python installs none)."""
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    return False


def _has_loaded(pid, name) -> bool:
    """Whether a shared library whose path contains ``name`` is mapped in the process."""
    return name in _read(f"/proc/{pid}/maps")


def _has_worker(pid) -> bool:
    """Whether a worker process (``multiprocessing`` spawn) of the command exists."""
    for task in Path(f"/proc/{pid}/task").glob("*"):
        for child in _read(task / "children").split():
            if "spawn_main" in _read(f"/proc/{child}/cmdline"):
                return True
    return False


MOMENTS = {
    # painzoo's handlers are in place: the first thing the command does
    "start": _catches_sigterm,
    # importing the benchmark package (pandas, NumPy)
    "importing": lambda pid: _has_loaded(pid, "/pandas/"),
    # the worker process was just started and is importing painzoo and its backend
    "worker start": _has_worker,
}


def _interrupt(tmp_path, moment, signum, group):
    out = tmp_path / "out"
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(_config(out)))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    argv = [sys.executable, "-m", "painzoo.cli", "benchmark", "--config", str(path)]
    argv += ["--no-progress", "--jobs", "1"]
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives a command
    )
    try:
        reached = MOMENTS[moment]
        deadline = time.monotonic() + GUARD_S
        while not reached(proc.pid):
            assert proc.poll() is None, f"ended before {moment}:\n{proc.communicate()[0]}"
            assert time.monotonic() < deadline, f"{moment} not reached in {GUARD_S} s"
            time.sleep(0.002)
        if group:  # Ctrl-C in a terminal, or a job scheduler: every process of the group
            os.killpg(proc.pid, signum)
        else:  # kill PID
            proc.send_signal(signum)
        output = proc.communicate(timeout=GUARD_S)[0]
    finally:
        if proc.poll() is None:  # the test failed: leave no run behind
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    return proc.returncode, out, output


@pytest.mark.parametrize(
    "moment, signum, group",
    [
        ("start", signal.SIGINT, True),
        ("importing", signal.SIGINT, True),
        ("importing", signal.SIGTERM, False),
        ("worker start", signal.SIGINT, True),
        # test_benchmark_workers.py checks the same in this process, in a second
        pytest.param("worker start", signal.SIGTERM, True, marks=pytest.mark.slow),
    ],
)
def test_a_signal_during_start_up_stops_the_benchmark(tmp_path, moment, signum, group):
    code, out, output = _interrupt(tmp_path, moment, signum, group)
    assert code == 128 + signum, output
    assert "Interrupted: rerun the same command" in output, output
    assert "Traceback" not in output and "Exception ignored" not in output, output
    assert "out of memory" not in output, output
    runs = out / "runs"
    recorded = sorted(p.relative_to(out) for p in runs.glob("*/*.json")) if runs.is_dir() else []
    assert recorded == [], output  # no metrics.json (finished), no error.json (failed)
