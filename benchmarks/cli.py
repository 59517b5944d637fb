"""Start-up time of the ``painzoo`` command line, and whether it imports the backend.

    python benchmarks/cli.py [--repeats 5]

For each command line, runs ``python -m painzoo.cli ARGS`` ``--repeats``
times in a fresh interpreter and prints the median and best wall time, the
bare interpreter's time for comparison, and whether TensorFlow / Keras were
imported (issue target: ≤ 1 s for every ``--help`` and ``painzoo models``,
without TensorFlow). Then times ``painzoo benchmark --config quick`` up to
the moment it hands its units to the workers (``benchmark.run`` replaced by
a stub that checks the config and plans the units), with its peak memory and
the backends it imported. Take the figures on a quiet machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = [
    [],
    ["--help"],
    ["models"],
    ["models", "resnet*"],
    ["benchmark", "--help"],
    ["preprocess", "--help"],
    ["explain", "--help"],
    ["agreement", "--help"],
]

PROBE = """
import sys
from painzoo.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.stderr.write("HEAVY=" + ",".join(m for m in ("tensorflow", "keras") if m in sys.modules))
"""

PLAN = """
import resource, sys, time
t0 = time.perf_counter()
import painzoo.benchmark
from painzoo.benchmark.config import check_config
from painzoo.benchmark.runner import schedule
from painzoo.benchmark.units import plan_units
from painzoo.cli import main


def check_and_plan(config, executor, **kwargs):
    check_config(config)
    units = schedule(plan_units(config))
    heavy = [m for m in ("keras", "tensorflow", "torch", "jax") if m in sys.modules]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(len(units), round(time.perf_counter() - t0, 2), round(peak, 2), ",".join(heavy) or "-")
    sys.exit(0)


painzoo.benchmark.run = check_and_plan
main(["benchmark", "--config", "quick", "--out", sys.argv[1], "--no-progress"])
"""


def _time(argv: list[str], repeats: int) -> tuple[float, float, str]:
    times, heavy = [], ""
    for _ in range(repeats):
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        heavy = done.stderr.rsplit("HEAVY=", 1)[-1].strip() if "HEAVY=" in done.stderr else "?"
    return statistics.median(times), min(times), heavy or "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    bare = _time_bare(args.repeats)
    print(f"bare interpreter (python -c pass): median {bare:.3f} s")
    print(f"{'command':32s} {'median s':>9s} {'best s':>8s}  backend imported")
    for argv in COMMANDS:
        if not argv:
            continue
        median, best, heavy = _time(argv, args.repeats)
        print(f"{'painzoo ' + ' '.join(argv):32s} {median:9.3f} {best:8.3f}  {heavy}")
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", PLAN, f"{folder}/out"], capture_output=True, text=True
        )
        wall = time.perf_counter() - t0
    if done.returncode:
        sys.exit(done.stderr[-2000:])
    units, seconds, peak_gb, heavy = done.stdout.split()
    print(
        f"painzoo benchmark --config quick, check and plan ({units} units): "
        f"{wall:.1f} s wall ({seconds} s in the process), peak RSS {peak_gb} GB, "
        f"backend imported: {heavy}"
    )


def _time_bare(repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


if __name__ == "__main__":
    main()
