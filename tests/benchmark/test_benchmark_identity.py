"""Unit identity: a changed config or changed data trains new units; determinism."""

import dataclasses
import json
import os
import pickle

import keras
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from painzoo.benchmark import apply_overrides, load_config, plan_units, run
from painzoo.benchmark.units import (
    RESULTS_VERSION,
    Unit,
    data_fingerprint,
    enable_determinism,
    run_unit,
)
from painzoo.cli import main
from painzoo.datasets import Dataset

METRICS = ["accuracy", "f1", "precision_pain", "recall_pain", "tp", "fp", "tn", "fn", "auc"]


def _synthetic_config(out, models=("lbp_svm_r1p8_4x4", "songnet"), **extra):
    """Synthetic RatsPain (6 subjects, 59 images at 32 px), two subject folds."""
    return load_config(
        {
            "name": "tiny",
            "out": str(out),
            "image_size": 32,
            "seed": 0,
            "recipe": {"preset": "p2", "epochs": 1, "batch_size": 16, "augment": None},
            "data": {"rats": {"synthetic": "ratspain", "args": {"image_size": 32, "scale": 0.05}}},
            "models": list(models),
            "experiments": [{"data": "rats", "protocols": [{"subject_kfold": {"n_splits": 2}}]}],
            "config_dir": str(out),
            **extra,
        }
    )


def _check_rows_match_their_folders(out):
    """Every results.csv row shows the metrics and the seed stored in its own unit folder."""
    results = pd.read_csv(out / "results.csv")
    for row in results.itertuples():
        folder = out / "runs" / row.run_id
        metrics = json.loads((folder / "metrics.json").read_text())
        unit = Unit.from_json((folder / "config.json").read_text())
        assert unit.key == row.unit_id and unit.run_id == row.run_id
        assert unit.seed == row.seed
        for key in ("accuracy", "f1", "tp", "fp", "tn", "fn"):
            assert getattr(row, key) == pytest.approx(metrics[key]), (row.run_id, key)
    return results


@pytest.mark.backend
def test_a_changed_config_trains_new_units_and_never_relabels_old_ones(tmp_path):
    """The reproducer of stale reuse: rerun with other epochs, image size and seed."""
    out = tmp_path / "S"
    base = _synthetic_config(out)
    first = run(base, progress=False)
    assert not first.failed and len(first.finished) == 4 and not first.skipped
    first_rows = _check_rows_match_their_folders(out)
    assert not first_rows["reused"].any()
    stamps = {p: p.read_bytes() for p in (out / "runs").rglob("*") if p.is_file()}
    # The same config again reuses every unit and says so.
    again = run(base, progress=False)
    assert sorted(again.skipped) == sorted(first.finished) and not again.finished
    assert pd.read_csv(out / "results.csv")["reused"].all()
    assert "4 unit(s) reused from an earlier run" in again.report_path.read_text()
    seen = set(first.finished)
    for change in ({"epochs": 2}, {"image_size": 48}, {"seed": 7}):
        result = run(apply_overrides(base, **change), progress=False)
        assert not result.skipped, f"{change}: old units were reused"
        assert len(result.finished) == 4 and not result.failed, change
        assert not seen & set(result.finished), f"{change}: an old folder was written"
        seen |= set(result.finished)
        rows = _check_rows_match_their_folders(out)
        assert sorted(rows["run_id"]) == sorted(result.finished)
        assert not rows["reused"].any()
        if "seed" in change:
            assert set(rows["seed"]) != set(first_rows["seed"])
    assert len(seen) == 16
    for path, data in stamps.items():  # the first run's files were never touched
        assert path.read_bytes() == data, path


def test_changed_data_content_makes_new_units(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.tile([0, 1], 8)
    images = rng.integers(0, 255, (16, 24, 24, 3), dtype=np.uint8)
    frame = pd.DataFrame({"label": labels, "subject": np.repeat(["a", "b", "c", "d"], 4)})
    manifest = Dataset(frame, images=images).to_csv(tmp_path / "data" / "toy.csv")
    config = load_config(
        {
            "out": str(tmp_path / "out"),
            "image_size": 24,
            "data": {"toy": {"manifest": str(manifest)}},
            "models": ["lbp_svm_r1p8_4x4"],
            "experiments": [{"data": "toy", "protocols": [{"subject_kfold": {"n_splits": 2}}]}],
            "config_dir": str(tmp_path),
        }
    )
    first = run(config, progress=False)
    assert len(first.finished) == 2
    assert sorted(run(config, progress=False).skipped) == sorted(first.finished)
    # One image file replaced by other pixels: new units.
    ds = Dataset.from_csv(manifest)
    path = ds.image_paths[3]
    Image.fromarray(255 - np.asarray(Image.open(path))).save(path)
    second = run(config, progress=False)
    assert not second.skipped and len(second.finished) == 2
    assert not set(second.finished) & set(first.finished)
    # One label flipped in the manifest: new units again.
    table = pd.read_csv(manifest)
    table.loc[0, "label"] = 1 - table.loc[0, "label"]
    table.to_csv(manifest, index=False)
    third = run(config, progress=False)
    assert not third.skipped and len(third.finished) == 2
    assert len(set(first.finished) | set(second.finished) | set(third.finished)) == 6


def test_data_fingerprint_tracks_content_not_names(tmp_path):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"label": [0, 1, 0, 1], "subject": ["a", "a", "b", "b"], "source": "lab"})
    images = rng.integers(0, 255, (4, 16, 16, 3), dtype=np.uint8)
    mem = Dataset(frame, images=images, name="one")
    assert data_fingerprint(mem) == data_fingerprint(Dataset(frame, images=images, name="two"))
    changed = images.copy()
    changed[2, 0, 0, 0] ^= 1  # one bit of one pixel
    assert data_fingerprint(mem) != data_fingerprint(Dataset(frame, images=changed))
    disk = Dataset.from_csv(mem.to_csv(tmp_path / "m.csv"))
    before = data_fingerprint(disk)
    assert data_fingerprint(Dataset.from_csv(tmp_path / "m.csv")) == before
    st = os.stat(disk.image_paths[1])
    os.utime(disk.image_paths[1], ns=(st.st_atime_ns, st.st_mtime_ns + 1))  # touched
    assert data_fingerprint(disk) != before
    relabelled = Dataset(disk.frame.assign(label=[1, 1, 0, 1]), root=disk.root)
    moved = Dataset(disk.frame.assign(subject=["a", "b", "b", "b"]), root=disk.root)
    assert len({data_fingerprint(d) for d in (disk, relabelled, moved)}) == 3


def _a_unit(**changes) -> Unit:
    unit = Unit(
        data_name="rats",
        data={"rats": {"synthetic": "ratspain", "args": {"scale": 0.05}}},
        data_fingerprint="ab" * 32,
        protocol={"subject_kfold": {"n_splits": 2, "shuffle": True}},
        protocol_name="subject_kfold",
        protocol_label="subject_kfold2",
        aggregation="mean",
        model_name="songnet",
        model_label="songnet",
        model_kwargs={"dropout": 0.5},
        recipe={"epochs": 1, "learning_rate": 1e-3, "seed": 3, "verbose": 0},
        image_size=32,
        base_seed=0,
        kfold_repeats=1,
        repeat=0,
        fold=1,
        fold_name="fold1",
        seed=3,
        backend="tensorflow",
    )
    return dataclasses.replace(unit, **changes)


def test_unit_round_trips_and_its_key_covers_what_decides_results():
    unit = _a_unit()
    assert Unit.from_json(unit.to_json()) == unit
    assert Unit.from_dict(json.loads(json.dumps(unit.to_dict()))) == unit
    clone = pickle.loads(pickle.dumps(unit))
    assert clone == unit and clone.run_id == unit.run_id
    assert unit.run_id == f"rats__subject_kfold2__songnet__r0f1-{unit.key}"
    assert len(unit.key) == 10 and int(unit.key, 16) >= 0
    assert unit.results_version == RESULTS_VERSION
    with pytest.raises(dataclasses.FrozenInstanceError):
        unit.seed = 4
    changes = [
        {"model_name": "weinet"},
        {"model_kwargs": {"dropout": 0.25}},
        {"recipe": {**unit.recipe, "epochs": 2}},
        {"recipe": {**unit.recipe, "learning_rate": 1e-4}},
        {"image_size": 48},
        {"seed": 4},
        {"base_seed": 1},
        {"fold": 0},
        {"repeat": 1},
        {"kfold_repeats": 2},
        {"protocol": {"subject_kfold": {"n_splits": 3, "shuffle": True}}},
        {"data": {"rats": {"synthetic": "ratspain", "args": {"scale": 0.1}}}},
        {"data_fingerprint": "cd" * 32},
        {"face_crop": {"detector": "haar", "size": 64}},
        {"backend": "jax"},
        {"results_version": RESULTS_VERSION + "-next"},
    ]
    keys = {_a_unit(**c).key for c in changes}
    assert unit.key not in keys and len(keys) == len(changes)
    # Names, the config's folder, verbosity and determinism do not change what is computed.
    same = [
        {"config_name": "other"},
        {"config_dir": "/elsewhere"},
        {"recipe": {**unit.recipe, "verbose": 2}},
        {"deterministic": False},
        {"data": {**unit.data, "unused": {"synthetic": "cppain"}}},
    ]
    assert {_a_unit(**c).key for c in same} == {unit.key}
    assert _a_unit(model_label="songnet-b").key == unit.key  # a new label: a new folder only
    assert _a_unit(model_label="songnet-b").run_id != unit.run_id
    edited = {**unit.to_dict(), "seed": 99}
    with pytest.raises(ValueError, match="does not match"):
        Unit.from_dict(edited)
    with pytest.raises(ValueError, match="Unknown unit field"):
        Unit.from_dict({**unit.to_dict(), "epochs": 3})


def test_plan_units_gives_typed_units_that_run_from_their_json(tmp_path):
    units = plan_units(_synthetic_config(tmp_path, models=["lbp_svm_r1p8_4x4"]))
    assert len(units) == 2 and all(isinstance(u, Unit) for u in units)
    assert units[0].backend == keras.backend.backend() and units[0].deterministic
    assert len(units[0].data_fingerprint) == 64
    assert len({u.key for u in units}) == 2
    again = Unit.from_json(units[0].to_json())
    metrics = run_unit(again, tmp_path)
    assert metrics["unit_id"] == units[0].key
    stored = json.loads((tmp_path / "runs" / units[0].run_id / "config.json").read_text())
    assert Unit.from_dict(stored) == units[0]


@pytest.mark.backend
def test_enable_determinism_switches_the_backend():
    backend = keras.backend.backend()
    try:
        enable_determinism(True)
        assert os.environ["TF_DETERMINISTIC_OPS"] == "1"
        if backend == "tensorflow":
            from tensorflow.python.framework import config as tf_config

            assert tf_config.is_op_determinism_enabled()
            enable_determinism(False)
            assert not tf_config.is_op_determinism_enabled()
        elif backend == "torch":
            import torch

            assert torch.are_deterministic_algorithms_enabled()
            enable_determinism(False)
            assert not torch.are_deterministic_algorithms_enabled()
        elif backend == "jax":
            assert "--xla_gpu_deterministic_ops=true" in os.environ["XLA_FLAGS"]
            enable_determinism(False)
            assert "--xla_gpu_deterministic_ops" not in os.environ.get("XLA_FLAGS", "")
    finally:
        enable_determinism(True)


@pytest.mark.backend
def test_same_config_and_seed_give_identical_results(tmp_path):
    """Two runs of one config into two folders: identical metrics and probabilities."""
    models = ["lbp_svm_r1p8_4x4", "songnet"]
    a = run(_synthetic_config(tmp_path / "a", models=models), progress=False)
    b = run(_synthetic_config(tmp_path / "b", models=models), progress=False)
    assert not a.failed and not b.failed and len(a.finished) == 4
    ra, rb = (pd.read_csv(t / "results.csv") for t in (tmp_path / "a", tmp_path / "b"))
    cols = [c for c in METRICS if c in ra]
    pd.testing.assert_frame_equal(ra[["unit_id", *cols]], rb[["unit_id", *cols]])
    for rid in a.finished:
        pa = pd.read_csv(tmp_path / "a" / "runs" / rid / "predictions.csv")
        pb = pd.read_csv(tmp_path / "b" / "runs" / rid / "predictions.csv")
        pd.testing.assert_frame_equal(pa, pb)


def test_cli_no_deterministic_reaches_the_units(tmp_path, capsys):
    import yaml

    config = _synthetic_config(tmp_path / "out", models=["lbp_svm_r1p8_4x4"])
    path = tmp_path / "tiny.yaml"
    path.write_text(
        yaml.safe_dump({k: v for k, v in config.to_dict().items() if k != "config_dir"})
    )
    try:
        assert (
            main(["benchmark", "--config", str(path), "--no-progress", "--no-deterministic"]) == 0
        )
    finally:
        enable_determinism(True)
    units = [Unit.from_json(p.read_text()) for p in (tmp_path / "out").glob("runs/*/config.json")]
    assert len(units) == 2 and not any(u.deterministic for u in units)
    assert all(u.deterministic for u in plan_units(config))  # on by default


@pytest.mark.slow
@pytest.mark.backend
def test_two_processes_with_one_config_give_identical_results(tmp_path):
    """Separate processes (as two `painzoo benchmark` calls): identical predictions.

    With ``--no-deterministic`` the same command gave different probabilities and AUC
    in two processes on TensorFlow/CPU (the augmenting input pipeline runs in parallel).
    """
    import subprocess
    import sys

    import yaml

    config = {
        "name": "twice",
        "image_size": 64,
        "seed": 0,
        "recipe": {"preset": "p1", "epochs": 1, "batch_size": 32, "learning_rate": 1e-3},
        "data": {"rats": {"synthetic": "ratspain", "args": {"image_size": 64, "scale": 0.05}}},
        "models": ["songnet"],
        "experiments": [{"data": "rats", "protocols": [{"subject_kfold": {"n_splits": 2}}]}],
    }
    path = tmp_path / "twice.yaml"
    path.write_text(yaml.safe_dump(config))
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for name in ("a", "b"):
        command = [sys.executable, "-m", "painzoo.cli", "benchmark", "--config", str(path)]
        command += ["--out", str(tmp_path / name), "--no-progress"]
        done = subprocess.run(command, cwd=root, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
    ra, rb = (pd.read_csv(tmp_path / n / "results.csv") for n in ("a", "b"))
    cols = [c for c in METRICS if c in ra]
    pd.testing.assert_frame_equal(ra[["run_id", *cols]], rb[["run_id", *cols]])
    for rid in ra["run_id"]:
        pa, pb = (tmp_path / n / "runs" / rid / "predictions.csv" for n in ("a", "b"))
        assert pa.read_bytes() == pb.read_bytes(), rid
