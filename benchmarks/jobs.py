"""Do parallel units pay? Wall time of one config with --jobs 1 and --jobs N.

Writes a small config (SongNet on synthetic RatsPain, ``--image-size`` px,
``--epochs`` epochs, subject 2-fold cross-validation × ``--units``/2
repeats), runs ``painzoo benchmark`` on it with ``--jobs 1`` and with
``--jobs N`` (default: the number of cores) into two folders, and prints
both wall times, their ratio (target on a 2-core machine: ≥ 1.6×) and
whether the two runs have identical metric columns and predictions (they must).
``--serial`` also times ``--jobs 0`` (all units in one process).

Examples::

    python benchmarks/jobs.py
    python benchmarks/jobs.py --units 8 --epochs 2 --jobs 4

Speed figures need a quiet machine: other load on the cores makes the
ratio meaningless.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]


def config(units: int, image_size: int, epochs: int, scale: float) -> dict:
    """A config of ``units`` SongNet units (subject 2-fold × units/2 repeats)."""
    return {
        "name": "jobs",
        "image_size": image_size,
        "seed": 0,
        "repeats": max(1, units // 2),
        "recipe": {"preset": "p2", "epochs": epochs, "batch_size": 32, "augment": None},
        "data": {
            "rats": {"synthetic": "ratspain", "args": {"image_size": image_size, "scale": scale}}
        },
        "models": ["songnet"],
        "experiments": [{"data": "rats", "protocols": [{"subject_kfold": {"n_splits": 2}}]}],
    }


def timed_run(config_path: Path, out: Path, jobs: int) -> float:
    """Wall seconds of ``painzoo benchmark --jobs JOBS``; raises if it fails."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    cmd = [sys.executable, "-m", "painzoo.cli", "benchmark", "--config", str(config_path)]
    cmd += ["--out", str(out), "--jobs", str(jobs), "--no-progress"]
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def available_cores() -> int:
    """Cores this process may use (as painzoo.benchmark.executors counts them)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def metric_columns(out: Path) -> pd.DataFrame:
    frame = pd.read_csv(out / "results.csv")
    return frame[[c for c in frame.columns if not c.startswith("seconds")]]


def same_results(a: Path, b: Path) -> bool:
    """Whether two runs have identical metric columns and ``predictions.csv`` files."""
    if not metric_columns(a).equals(metric_columns(b)):
        return False
    runs = sorted(p.name for p in (a / "runs").iterdir() if p.is_dir())
    return all(
        (a / "runs" / r / "predictions.csv").read_bytes()
        == (b / "runs" / r / "predictions.csv").read_bytes()
        for r in runs
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=8, help="Units (even).")
    parser.add_argument("--jobs", type=int, default=None, help="N (default: the cores).")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--scale", type=float, default=0.1, help="Synthetic RatsPain scale.")
    parser.add_argument("--serial", action="store_true", help="Also time --jobs 0.")
    args = parser.parse_args(argv)
    jobs = args.jobs or available_cores()
    with tempfile.TemporaryDirectory(prefix="painzoo-jobs-") as tmp:
        tmp = Path(tmp)
        path = tmp / "jobs.yaml"
        path.write_text(
            yaml.safe_dump(config(args.units, args.image_size, args.epochs, args.scale))
        )
        times = {}
        for n in ([0] if args.serial else []) + [1, jobs]:
            times[n] = timed_run(path, tmp / f"jobs{n}", n)
            frame = pd.read_csv(tmp / f"jobs{n}" / "results.csv")
            per_unit = frame[[c for c in frame.columns if c.startswith("seconds")]].mean()
            phases = ", ".join(
                f"{k.removeprefix('seconds_')} {v:.1f}" for k, v in per_unit.items()
            )
            print(f"--jobs {n}: {times[n]:.1f} s (mean seconds per unit: {phases})")
        print(
            f"{args.units} units on {available_cores()} cores: --jobs {jobs} is "
            f"{times[1] / times[jobs]:.2f}x faster than --jobs 1 (target >= 1.6 on 2 cores)"
        )
        if 0 in times:
            print(f"--jobs {jobs} vs --jobs 0 (in one process): {times[0] / times[jobs]:.2f}x")
        same = same_results(tmp / "jobs1", tmp / f"jobs{jobs}")
        print(f"--jobs 1 and --jobs {jobs}: identical metrics and predictions: {same}")


if __name__ == "__main__":
    main()
