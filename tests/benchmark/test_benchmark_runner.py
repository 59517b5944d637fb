"""The runner: outputs, resume after an interruption, failures, configs, CLI, backends."""

import json
import os

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score

from painzoo.benchmark import (
    apply_overrides,
    bundled_configs,
    expand_models,
    load_config,
    plan_units,
    run,
)
from painzoo.benchmark import units as units_module
from painzoo.cli import main
from painzoo.datasets import Dataset
from painzoo.registry import ModelInfo, _unregister, register_model


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    """Four subjects × 8 images (32 px): pain images are brighter."""
    rng = np.random.default_rng(0)
    labels = np.tile([0, 1], 16)
    subjects = np.repeat(["s1", "s2", "s3", "s4"], 8)
    base = np.where(labels == 1, 170, 80)[:, None, None, None]
    images = np.clip(base + rng.normal(0, 25, (32, 32, 32, 3)), 0, 255).astype(np.uint8)
    sources = np.where(np.isin(subjects, ["s4"]), "ext", "main")
    frame = pd.DataFrame({"label": labels, "subject": subjects, "source": sources})
    return Dataset(frame, images=images).to_csv(tmp_path_factory.mktemp("toy") / "toy.csv")


@pytest.fixture(scope="module")
def tiny_net():
    @register_model("tiny_test_net", info=ModelInfo(input_shape=(32, 32, 3)))
    def tiny_test_net(num_classes=2, input_shape=(32, 32, 3), weights=None, width=4):
        inputs = keras.Input(input_shape)
        x = keras.layers.Rescaling(1 / 255.0)(inputs)
        x = keras.layers.Conv2D(width, 3, activation="relu")(x)
        x = keras.layers.GlobalAveragePooling2D()(x)
        return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(x))

    yield "tiny_test_net"
    _unregister("tiny_test_net")


def _config(manifest, out, models=("lbp_svm_r1p8_4x4",), protocols=("loso",)):
    return load_config(
        {
            "name": "toy",
            "out": str(out),
            "image_size": 32,
            "recipe": {"preset": "p2", "epochs": 1, "batch_size": 8, "augment": None},
            "data": {"toy": {"manifest": str(manifest)}},
            "models": list(models),
            "experiments": [{"data": "toy", "protocols": list(protocols)}],
            "config_dir": str(manifest.parent),
        }
    )


def _snapshot(folder):
    return {
        p: (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.parent.parent.name == "runs"
    }


def test_run_writes_units_and_pooled_summary(manifest, tmp_path):
    result = run(_config(manifest, tmp_path), progress=False)
    assert not result.failed and not result.interrupted
    assert len(result.finished) == 4  # one LOSO fold per subject
    for rid in result.finished:
        folder = tmp_path / "runs" / rid
        assert {p.name for p in folder.iterdir()} == {
            "config.json",
            "predictions.csv",
            "metrics.json",
        }
        preds = pd.read_csv(folder / "predictions.csv")
        assert list(preds.columns) == ["row", "subject", "source", "y_true", "p_pain", "y_pred"]
        assert preds["subject"].nunique() == 1
    for name in ("results.csv", "summary.csv", "report.md", "confusion.png"):
        assert (tmp_path / name).is_file(), name
    # Pooled F1/accuracy must equal scikit-learn on all test predictions concatenated.
    preds = pd.concat(pd.read_csv(p) for p in tmp_path.glob("runs/*/predictions.csv"))
    assert sorted(preds["row"]) == list(range(32))  # every image tested exactly once
    row = result.summary.iloc[0]
    assert row["pooled_f1"] == pytest.approx(f1_score(preds["y_true"], preds["y_pred"]))
    assert row["pooled_accuracy"] == pytest.approx(
        accuracy_score(preds["y_true"], preds["y_pred"])
    )
    report = result.report_path.read_text()
    assert "pooled F1(pain) / Acc" in report and "s4 F1(pain) / Acc" in report
    assert row["pooled_f1_macro"] == pytest.approx(
        f1_score(preds["y_true"], preds["y_pred"], average="macro", labels=[0, 1])
    )
    assert "pooled macro F1" in report


def test_resume_after_interrupt_leaves_finished_units_untouched(manifest, tmp_path, monkeypatch):
    config = _config(manifest, tmp_path)
    real = units_module.run_unit
    calls = []

    def interrupt_on_third(unit, out_dir, **kw):
        calls.append(unit.run_id)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(unit, out_dir, **kw)

    monkeypatch.setattr(units_module, "run_unit", interrupt_on_third)
    first = run(config, progress=False)
    assert first.interrupted and len(first.finished) == 2
    assert "interrupted" in first.report_path.read_text()
    assert not (tmp_path / "runs" / calls[2] / "metrics.json").exists()
    before = _snapshot(tmp_path)
    monkeypatch.setattr(units_module, "run_unit", real)
    second = run(config, progress=False)
    assert sorted(second.skipped) == sorted(first.finished) and len(second.finished) == 2
    after = _snapshot(tmp_path)
    for path, stamp in before.items():
        assert after[path] == stamp, f"{path} changed"
    # Adding a model reruns only the new model's units.
    third = run(
        apply_overrides(config, models=["lbp_svm_r1p8_4x4", "lbp_svm_r3p8_4x4"]), progress=False
    )
    assert len(third.skipped) == 4 and len(third.finished) == 4


def test_a_failing_unit_is_recorded_and_the_run_goes_on(manifest, tmp_path):
    config = _config(
        manifest,
        tmp_path,
        models=["lbp_svm_r1p8_4x4", {"resnet18": {"weights": "no_such_weights"}}],
    )
    # (an unknown keyword such as no_such_arg is now refused before any unit: check_config)
    result = run(config, progress=False)
    assert len(result.failed) == 4 and len(result.finished) == 4
    error = json.loads((tmp_path / "runs" / result.failed[0] / "error.json").read_text())
    assert "no_such_weights" in error["error"]
    results = pd.read_csv(tmp_path / "results.csv")
    assert sorted(results["status"].unique()) == ["failed", "ok"]
    assert "Failed units" in result.report_path.read_text()


def test_sweeps_expand_and_overrides_filter():
    models = expand_models(
        ["resnet18", {"painseeker": {"prsc_weight": [0.05, 0.1, 0.5, 1, 1.5], "top_k": 3}}]
    )
    assert [m.label for m in models][:2] == ["resnet18", "painseeker[prsc_weight=0.05]"]
    assert len(models) == 6 and all(m.kwargs.get("top_k", 3) == 3 for m in models)
    config = load_config("quick")
    cut = apply_overrides(config, models=["resnet18"], protocols=["loso"], epochs=1, repeats=3)
    assert [e.data for e in cut.experiments] == ["ratspain"]
    assert [m.label for m in cut.models] == ["resnet18"] and cut.recipe.epochs == 1
    assert config.models != cut.models  # the original is not modified
    with pytest.raises(ValueError, match="No experiment"):
        apply_overrides(apply_overrides(config, protocols=["loso"]), protocols=["cross_dataset"])


def test_bundled_configs_load():
    assert {"quick", "p1-ratspain", "p1-sensitivity", "p2-cppain"} <= set(bundled_configs())
    p1 = load_config("p1-ratspain")
    assert len(p1.models) == 12  # 3 networks × 2 initialisations
    assert len(load_config("p1-sensitivity").models) == 15
    assert len(load_config("p2-cppain").models) == 10
    with pytest.raises(FileNotFoundError, match="quick"):
        load_config("no-such-config")


def test_cross_dataset_units_share_the_split_and_vary_the_seed(manifest, tmp_path):
    units = plan_units(
        _config(
            manifest,
            tmp_path,
            protocols=[{"cross_dataset": {"test_sources": "ext", "repeats": 3}}],
        )
    )
    assert [u.repeat for u in units] == [0, 1, 2]
    assert len({u.seed for u in units}) == 3 and len({u.recipe["seed"] for u in units}) == 3


def test_cli_benchmark(manifest, tmp_path, capsys):
    import yaml

    config = _config(manifest, tmp_path / "out")
    path = tmp_path / "toy.yaml"
    path.write_text(
        yaml.safe_dump({k: v for k, v in config.to_dict().items() if k != "config_dir"})
    )
    assert main(["benchmark", "--config", str(path), "--no-progress", "--profile"]) == 0
    out = capsys.readouterr().out
    assert "Report:" in out and "training" in out
    assert (tmp_path / "out" / "report.md").is_file()


@pytest.mark.backend
def test_end_to_end_with_a_neural_net(manifest, tmp_path, tiny_net):
    config = _config(
        manifest,
        tmp_path,
        models=[tiny_net],
        protocols=[
            {"subject_kfold": {"n_splits": 2}},
            {"cross_dataset": {"test_sources": "ext", "repeats": 1}},
        ],
    )
    result = run(config, progress=False)
    assert not result.failed, result.results.get("error")
    assert len(result.finished) == 3
    summary = result.summary.set_index("protocol")
    assert summary.loc["subject_kfold", "runs"] == 2
    assert (tmp_path / "accuracy_f1.png").is_file() and os.path.getsize(tmp_path / "report.md") > 0


def test_networks_start_before_baselines_and_results_keep_the_planned_order(
    manifest, tmp_path, tiny_net
):
    from painzoo.benchmark.executors import LocalExecutor

    class Recording(LocalExecutor):
        started = []

        def map(self, units, out, *, progress=False):
            units = list(units)
            Recording.started = [u.model_name for u in units]
            return super().map(units, out, progress=progress)

    config = _config(manifest, tmp_path, models=["lbp_svm_r1p8_4x4", tiny_net])
    planned = [u.model_name for u in plan_units(config)]
    assert planned[0] == "lbp_svm_r1p8_4x4"  # the config lists the baseline first
    result = run(config, progress=False, executor=Recording(jobs=0))
    assert not result.failed
    # Every network unit is handed out before any baseline unit (4 of each, one per subject).
    assert Recording.started == [tiny_net] * 4 + ["lbp_svm_r1p8_4x4"] * 4
    assert list(result.results["model_name"]) == planned


def test_units_of_splits_with_fewer_folds_start_first(manifest, tmp_path, tiny_net):
    """A 2-fold training (half the data) outlasts a leave-one-subject-out fold
    (three quarters of four subjects, but four folds to spread); the schedule starts
    the networks of the split with fewer folds first, then the baselines in the same way."""
    from painzoo.benchmark.runner import schedule

    config = _config(
        manifest,
        tmp_path,
        models=["lbp_svm_r1p8_4x4", tiny_net],
        protocols=("loso", {"subject_kfold": {"n_splits": 2}}),
    )
    order = [(u.model_name, u.protocol_name) for u in schedule(plan_units(config))]
    assert order == (
        [(tiny_net, "subject_kfold")] * 2
        + [(tiny_net, "loso")] * 4
        + [("lbp_svm_r1p8_4x4", "subject_kfold")] * 2
        + [("lbp_svm_r1p8_4x4", "loso")] * 4
    )
