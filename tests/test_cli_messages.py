"""What the command line prints besides its results: one-line warnings and progress bars."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from painzoo.cli import build_parser, main
from painzoo.datasets.io import write_image

ROOT = Path(__file__).resolve().parents[1]
LONG_COMMANDS = ("benchmark", "train", "predict", "preprocess", "frames", "explain")


def _image(path: Path, seed: int = 0, size: int = 40) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    write_image(path, rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
    return path


@pytest.fixture
def folder_with_a_bad_image(tmp_path):
    """``subject/label`` folder: one decodable image and one file that is not an image."""
    src = tmp_path / "src"
    _image(src / "s1" / "pain" / "good.png")
    (src / "s1" / "pain" / "bad.png").write_bytes(b"not an image")
    return src


def _preprocess(src, dst, *extra):
    argv = ["preprocess", str(src), str(dst), "--detector", "none", "--size", "32"]
    return main([*argv, "--on-error", "skip", *extra])


def _warning_lines(err: str, command: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith(f"painzoo {command}: warning:")]


# -- warnings ------------------------------------------------------------------------------
def test_a_preprocess_warning_is_one_line_without_painzoo_source(
    folder_with_a_bad_image, tmp_path, capsys
):
    assert _preprocess(folder_with_a_bad_image, tmp_path / "dst", "--no-progress") == 0
    err = capsys.readouterr().err
    skipped = [line for line in _warning_lines(err, "preprocess") if "unreadable" in line]
    assert len(skipped) == 1, err
    assert skipped[0].startswith("painzoo preprocess: warning: Skipped 1 unreadable image(s)")
    assert ".py:" not in err and "UserWarning" not in err, err
    assert "crop_dataset(ds" not in err, err  # no line of painzoo's source either


@pytest.fixture(scope="module")
def bare_model(tmp_path_factory):
    """An untrained 16 px Keras model saved without a model card, and one image."""
    import keras

    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(2, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.AveragePooling2D(2)(x)  # a feature map for Grad-CAM
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(2, activation="softmax")(x)
    folder = tmp_path_factory.mktemp("bare")
    path = folder / "model.keras"
    keras.Model(inputs, outputs).save(path)
    return path, _image(folder / "face.png", size=16)


def test_predict_warnings_are_one_line_each(bare_model, tmp_path, capsys):
    model, image = bare_model
    argv = ["predict", str(model), str(image), str(image), "--out", str(tmp_path / "p.csv")]
    assert main([*argv, "--no-progress"]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines, "predict with a card-less model warns"
    assert all(line.startswith("painzoo predict: warning: ") for line in lines), err
    crop = [line for line in lines if "records no face crop" in line]
    assert len(crop) == 1, err
    assert ".py:" not in err, err


FAKE_COMMAND = """
import sys
import numpy as np
from painzoo import cli
from painzoo.evaluation.metrics import learning_record

def run(args):
    learning_record([0, 1], [1, 1], run_id="unit 1")  # one class for every image: warns
    learning_record([0, 1], [1, 1], run_id="unit 1")  # the same message from another line
    np.mean(np.array([]))  # NumPy's own RuntimeWarning
    return 0

cli._COMMANDS["agreement"] = (cli._add_agreement, run)
sys.exit(cli.main(sys.argv[1:]))
"""


def _fake(*argv):
    return subprocess.run(
        [sys.executable, "-c", FAKE_COMMAND, *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=600,
    )


def test_each_warning_prints_once_and_other_libraries_only_with_verbose():
    done = _fake("agreement", "ratings.csv")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("painzoo agreement: warning: unit 1: the model predicted one class")
    assert "Mean of empty slice" not in done.stderr
    loud = _fake("agreement", "ratings.csv", "-v")
    assert loud.returncode == 0, loud.stderr
    assert len(_warning_lines(loud.stderr, "agreement")) == 1, loud.stderr
    assert "RuntimeWarning: Mean of empty slice" in loud.stderr  # shown as Python shows it


def test_python_callers_keep_their_warnings(folder_with_a_bad_image, tmp_path):
    before = warnings.showwarning
    assert _preprocess(folder_with_a_bad_image, tmp_path / "dst", "--no-progress") == 0
    assert warnings.showwarning is before
    assert "PAINZOO_COMMAND" not in os.environ
    from painzoo.evaluation.metrics import learning_record

    with pytest.warns(UserWarning, match="predicted one class"):
        learning_record([0, 1], [1, 1])


def test_a_worker_of_a_command_prints_warnings_like_the_command(monkeypatch, capsys):
    from painzoo._quiet import call_quietly

    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.setenv("PAINZOO_COMMAND", "benchmark")
    with warnings.catch_warnings():  # the worker's showwarning stays in this block
        call_quietly(False, "painzoo.evaluation.metrics", "learning_record", [0, 1], [1, 1])
    err = capsys.readouterr().err
    assert err.startswith("painzoo benchmark: warning: a unit: the model predicted one class"), err
    assert ".py:" not in err


# -- progress ------------------------------------------------------------------------------
def test_preprocess_shows_a_bar_unless_no_progress(folder_with_a_bad_image, tmp_path, capsys):
    assert _preprocess(folder_with_a_bad_image, tmp_path / "a") == 0
    captured = capsys.readouterr()
    assert "cropping" in captured.err and "2/2" in captured.err, captured.err
    assert "cropping" not in captured.out
    assert _preprocess(folder_with_a_bad_image, tmp_path / "b", "--no-progress") == 0
    assert "cropping" not in capsys.readouterr().err


def test_explain_shows_a_bar_unless_no_progress(bare_model, tmp_path, capsys):
    model, image = bare_model
    argv = ["explain", str(model), str(image), "--method", "gradcam"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    assert "explain: 100%" in capsys.readouterr().err
    assert main([*argv, "--out", str(tmp_path / "b"), "--no-progress"]) == 0
    assert "explain:" not in capsys.readouterr().err.replace("painzoo explain:", "")


@pytest.mark.parametrize("command", LONG_COMMANDS)
def test_every_long_command_takes_no_progress(command):
    sub = build_parser()._subparsers._group_actions[0].choices[command]
    assert "--no-progress" in sub._option_string_actions
