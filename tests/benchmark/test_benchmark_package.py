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


def test_no_evaluation_module_imports_benchmark_at_module_level():
    for path in (ROOT / "painzoo" / "evaluation").glob("*.py"):
        top = [
            line
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.startswith(("import ", "from "))
        ]
        assert not [line for line in top if "painzoo.benchmark" in line], path.name


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
