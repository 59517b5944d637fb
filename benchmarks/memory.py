"""Does memory stay flat over units? RSS of a PainSeeker run, unit by unit.

Runs ``painzoo benchmark`` as a subprocess on a generated config of
``--units`` PainSeeker units (synthetic RatsPain, ``--image-size`` px,
``--epochs`` epochs, subject 2-fold cross-validation repeated) and samples
the resident memory (RSS) of the whole process tree (the command and its
worker processes) every 0.2 s from ``/proc`` (Linux). Prints:

- the peak RSS of the tree over the run, and its peak PSS (shared pages
  counted once: see :func:`tree_pss`);
- per unit, the tree's RSS when the unit's ``metrics.json`` appeared and the
  peak of the tree since the unit before finished;
- the peak up to the 5th unit and over the whole run, and their ratio
  (target: ≤ 1.2; memory bounded, not growing with the number of units).

``--jobs 0`` runs the units in one process (the old behaviour, which grows
by ~250 MB per PainSeeker unit on TensorFlow); the default ``--jobs 1`` runs
the units in a worker process that a fresh one replaces once its memory is
over ``max_worker_gib`` (2 GiB) after a unit. ``--quick`` also runs the bundled
``quick`` config with the default ``--jobs`` and prints its peak RSS
(target ≤ 3 GB).

Examples::

    python benchmarks/memory.py                       # 30 units, recycled workers
    python benchmarks/memory.py --jobs 0 --units 10   # the in-process leak, for comparison
    python benchmarks/memory.py --quick

Run it on a quiet machine: other processes do not change RSS, but a busy
machine makes the run long.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss_and_parent(pid: int) -> tuple[int, int] | None:
    """``(rss_bytes, parent_pid)`` of a process from ``/proc``, or ``None`` if it ended."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        statm = Path(f"/proc/{pid}/statm").read_text().split()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the name may hold spaces
    return int(statm[1]) * _PAGE, int(fields[1])


def _pss(pid: int) -> int:
    """Proportional set size (bytes) of a process (Linux ``smaps_rollup``), 0 if unknown.

    PSS charges each page shared by n processes 1/n to each of them, so the sum
    over a process tree counts the libraries the workers share (TensorFlow's
    ~0.5 GB of mapped code) once, where summed RSS counts them once per process.
    """
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError, ValueError):
        pass
    return 0


def tree_rss_by_pid(root: int) -> dict[int, int]:
    """RSS (bytes) of ``root`` and of each of its live descendants, by pid (one scan of /proc)."""
    info = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            got = _rss_and_parent(int(entry))
            if got is not None:
                info[int(entry)] = got
    out, stack = {}, [root]
    while stack:
        pid = stack.pop()
        if pid in out or pid not in info:
            continue
        out[pid] = info[pid][0]
        stack.extend(p for p, (_, parent) in info.items() if parent == pid)
    return out


def tree_rss(root: int) -> int:
    """Summed RSS (bytes) of ``root`` and all its descendants."""
    return sum(tree_rss_by_pid(root).values())


def tree_pss(root: int) -> int:
    """Summed PSS (bytes) of ``root`` and all its descendants."""
    return sum(_pss(pid) for pid in tree_rss_by_pid(root))


class Sampler(threading.Thread):
    """Samples the tree RSS of ``pid`` and notes it whenever a unit finishes under ``out``."""

    def __init__(self, pid: int, out: Path, interval: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.out, self.interval = pid, out, interval
        self.peak = 0
        self.peak_pss = 0
        self.peak_process = 0  # the largest single process (what /usr/bin/time -v reports)
        self.units = []  # (rss when the unit finished, peak since the unit before)
        self._since = 0
        self._done = threading.Event()

    def run(self):
        n_done = 0
        while not self._done.is_set():
            by_pid = tree_rss_by_pid(self.pid)  # one scan of /proc per sample
            rss = sum(by_pid.values())
            self.peak = max(self.peak, rss)
            self.peak_pss = max(self.peak_pss, sum(_pss(pid) for pid in by_pid))
            self.peak_process = max(self.peak_process, max(by_pid.values(), default=0))
            self._since = max(self._since, rss)
            n = len(list(self.out.glob("runs/*/metrics.json")))
            for _ in range(n - n_done):
                self.units.append((rss, self._since))
                self._since = rss
            n_done = n
            time.sleep(self.interval)

    def stop(self):
        self._done.set()
        self.join()


def run_benchmark(argv: list[str], out: Path) -> tuple[Sampler, float, int]:
    """Run ``python -m painzoo.cli benchmark ARGV --out OUT`` and sample its memory."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    cmd = [sys.executable, "-m", "painzoo.cli", "benchmark", *argv, "--out", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    sampler = Sampler(proc.pid, out)
    sampler.start()
    code = proc.wait()
    time.sleep(0.3)  # one more sample after the last unit
    sampler.stop()
    return sampler, time.perf_counter() - t0, code


def painseeker_config(units: int, image_size: int, epochs: int, scale: float) -> dict:
    """A config of ``units`` PainSeeker units (subject 2-fold × units/2 repeats)."""
    return {
        "name": "memory",
        "image_size": image_size,
        "seed": 0,
        "repeats": max(1, units // 2),
        "recipe": {"preset": "p1", "epochs": epochs, "batch_size": 16, "augment": None},
        "data": {
            "rats": {"synthetic": "ratspain", "args": {"image_size": image_size, "scale": scale}}
        },
        # At 64 px ResNet-18 leaves a 2×2 grid (K = 4 regions), so K_h must be below 4.
        "models": [{"painseeker": {"top_k": 2}}],
        "experiments": [{"data": "rats", "protocols": [{"subject_kfold": {"n_splits": 2}}]}],
    }


def _gb(x: float) -> str:
    return f"{x / 1e9:.2f} GB"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=30, help="PainSeeker units (even).")
    parser.add_argument("--jobs", type=int, default=1, help="--jobs of the run (0: in-process).")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--scale", type=float, default=0.05, help="Synthetic RatsPain scale.")
    parser.add_argument("--quick", action="store_true", help="Also measure the quick config.")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="painzoo-memory-") as tmp:
        tmp = Path(tmp)
        config = tmp / "painseeker.yaml"
        spec = painseeker_config(args.units, args.image_size, args.epochs, args.scale)
        config.write_text(yaml.safe_dump(spec))
        argv = ["--config", str(config), "--no-progress", "--jobs", str(args.jobs)]
        sampler, seconds, code = run_benchmark(argv, tmp / "painseeker")
        units = sampler.units
        print(
            f"PainSeeker run: {len(units)} units, --jobs {args.jobs}, {args.image_size} px, "
            f"{args.epochs} epoch(s), exit {code}, {seconds:.0f} s"
        )
        print(
            f"  peak RSS (command + workers): {_gb(sampler.peak)}, "
            f"peak PSS: {_gb(sampler.peak_pss)}"
        )
        print("  unit  RSS at its end  peak since the unit before")
        for i, (at_end, peak) in enumerate(units, 1):
            print(f"  {i:4d}  {_gb(at_end):>13}  {_gb(peak):>10}")
        if len(units) >= 5:
            # A worker is replaced once over its memory limit, so RSS is a saw-tooth:
            # compare the peaks (up to unit 5 vs the whole run), not one unit's end.
            first5 = max(peak for _, peak in units[:5])
            whole = max(peak for _, peak in units)
            print(
                f"  peak RSS up to unit 5: {_gb(first5)}, over all {len(units)} units: "
                f"{_gb(whole)}, ratio {whole / first5:.2f} (target <= 1.2)"
            )
        if args.quick:
            argv = ["--config", "quick", "--no-progress"]
            sampler, seconds, code = run_benchmark(argv, tmp / "quick")
            print(
                f"quick (default --jobs): {len(sampler.units)} units, exit {code}, {seconds:.0f} s, "
                f"peak RSS {_gb(sampler.peak)} (target <= 3 GB), peak PSS {_gb(sampler.peak_pss)}, "
                f"largest process {_gb(sampler.peak_process)}"
            )


if __name__ == "__main__":
    main()
