"""The package split: evaluation is a library, benchmark orchestrates, imports flow one way."""

import subprocess
import sys
from pathlib import Path

from painzoo.benchmark.storage import RunStorage
from painzoo.benchmark.units import is_finished
from painzoo.evaluation import CrossDataset, ImageKFold, LeaveOneSubjectOut, SubjectKFold

ROOT = Path(__file__).resolve().parents[2]


def test_importing_evaluation_does_not_import_benchmark():
    script = (
        "import sys, painzoo.evaluation\n"
        "print(sorted(m for m in sys.modules if m.startswith('painzoo.benchmark')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_protocol_labels():
    assert LeaveOneSubjectOut().label == "loso"
    assert ImageKFold(3).label == "image_kfold3"
    assert SubjectKFold(5, seed=1).label == "subject_kfold5"
    assert CrossDataset("cppain").label == "cross_dataset(cppain)"
    assert CrossDataset(["a", "b"], repeats=2).label == "cross_dataset(a+b)"


def test_is_finished_reads_the_metrics_file(tmp_path):
    store = RunStorage(tmp_path)
    assert not store.is_finished("u-1") and not is_finished("u-1", tmp_path)
    store.write_text("runs/u-1/predictions.csv", "row\n")
    assert not store.is_finished("u-1")  # predictions alone: the unit did not finish
    store.write_text("runs/u-1/metrics.json", "{}")
    assert store.is_finished("u-1") and is_finished("u-1", tmp_path)


def test_importing_the_runner_does_not_start_keras():
    # The runner plans, schedules and reports; training happens in workers. Its
    # Keras callback is built on first use, so the import stays light.
    code = (
        "import sys; import painzoo.benchmark.runner, painzoo.benchmark.stopping as s; "
        "print('keras' in sys.modules); cb = s.StopOnSignal(); "
        "import keras; print(isinstance(cb, keras.callbacks.Callback), type(cb).__module__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert done.stdout.split() == ["False", "True", "painzoo.benchmark.stopping"], done.stdout


# `painzoo benchmark` up to the point where it hands the units to the workers: the
# config is read, overridden and checked, the output folder vetted, the executor
# made and every unit planned (data rendered, folds split), all in the main process.
CHECK_AND_PLAN = """
import sys

import painzoo.benchmark
from painzoo.benchmark.config import check_config
from painzoo.benchmark.runner import schedule
from painzoo.benchmark.units import plan_units
from painzoo.cli import main


def check_and_plan(config, executor, **kwargs):
    check_config(config)
    units = schedule(plan_units(config))
    print("UNITS", len(units), type(executor).__name__)
    print("HEAVY", *[m for m in ("keras", "tensorflow", "torch", "jax") if m in sys.modules])
    sys.exit(0)


painzoo.benchmark.run = check_and_plan
main(["benchmark", "--config", "quick", "--out", sys.argv[1], "--no-progress"])
"""


def test_benchmark_check_and_plan_import_no_backend(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", CHECK_AND_PLAN, str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    count, executor = lines["UNITS"].split()
    assert int(count) > 0 and executor == "LocalExecutor", done.stdout
    assert done.stdout.splitlines()[-1] == "HEAVY", done.stdout
