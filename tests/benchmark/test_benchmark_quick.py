"""The bundled ``quick`` config: it validates, and a shrunk copy writes the summary report.

The shrunk copy keeps quick's data entries, experiments and protocols, and
shrinks what costs time: three rats, four PAIN-DB subjects, a handful of
images each, one epoch and no step floor (``min_steps: 0``; otherwise the
recipe raises a tiny training set to quick's 72 optimiser steps). The full run's
accuracies are a benchmark (``docs/benchmarks.md``), not a test.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from painzoo.benchmark import apply_overrides, load_config, run
from painzoo.benchmark.attention_report import au_mass_shares
from painzoo.benchmark.config import check_config
from painzoo.benchmark.units import plan_units


def test_quick_config_validates_and_plans_the_three_questions():
    config = load_config("quick")
    check_config(config)
    units = plan_units(config)
    cells = {(u.data_name, u.protocol_label, u.model_label) for u in units}
    protocols = {(u.data_name, u.protocol_label) for u in units}
    networks = {"painseeker", "painseeker_no_prsc", "resnet18"}
    lbp = "lbp_svm_r1p8_4x4"
    # P1's comparison: the three networks and LBP+SVM under leave-one-rat-out.
    assert {m for d, p, m in cells if (d, p) == ("ratspain", "loso")} == networks | {lbp}
    # Leakage on the same rats, and P2's scenario 1, image-level, with LBP+SVM; P2's
    # subject-level scenarios 2 and 3 with ResNet-18 against LBP+SVM.
    image_level = {("ratspain", "image_kfold2"), ("paindb", "image_kfold2")}
    assert image_level <= protocols
    assert any(p.startswith("cross") for _, p in protocols)
    assert {p for d, p in protocols if d == "paindb"} == {"image_kfold2", "subject_kfold2"}
    for d, p in protocols - {("ratspain", "loso")}:
        expected = {lbp} if (d, p) in image_level else {"resnet18", lbp}
        assert {m for dd, pp, m in cells if (dd, pp) == (d, p)} == expected
    # Leave-one-rat-out sees every rat, with balanced classes within each.
    rats = [u for u in units if u.protocol_label == "loso" and u.model_label == lbp]
    assert len(rats) == 6


def _shrunk_quick(tmp_path):
    config = load_config("quick")
    config = apply_overrides(
        config,
        out=str(tmp_path),
        models=["lbp_svm_r1p8_4x4", "painseeker", "resnet18"],
        epochs=1,
    )
    config = config.to_dict()
    config["recipe"]["min_steps"] = 0
    data = config["data"]
    data["ratspain"]["args"]["scale"] = 0.05
    data["ratspain"]["sample_subjects"] = 3
    data["paindb"]["args"]["scale"] = 0.05
    data["paindb"]["sample_subjects"] = 4
    config = load_config(config)
    check_config(config)
    return config


@pytest.mark.slow
# One epoch on a few images: many folds answer one class, which the run flags.
@pytest.mark.filterwarnings("ignore:.*predicted one class for every test image")
def test_shrunk_quick_report_has_the_summary_and_the_attention_table(tmp_path):
    config = _shrunk_quick(tmp_path)
    result = run(config, progress=False)
    assert not result.failed
    report = (tmp_path / "report.md").read_text()
    head = report.split("## ")[1]
    assert head.startswith("Summary"), "the summary comes first"
    summary_part = report[report.index("## Summary") : report.index("## How to read this report")]
    assert "Accuracy under the subject-level protocols" in summary_part
    assert "best network vs best baseline" in summary_part
    assert "Subject leakage" in summary_part and "image 2-fold" in summary_part
    assert "P1's comparison" in summary_part and "`resnet18`" in summary_part
    assert "Where PainSeeker looks" in summary_part and "β on AU regions" in summary_part
    assert (tmp_path / "attention.png").is_file() and (tmp_path / "accuracy_ci.png").is_file()
    summary = pd.read_csv(tmp_path / "summary.csv")
    # LBP+SVM has a row on every protocol of quick, ResNet-18 on the subject-level
    # ones; PainSeeker is trained under leave-one-rat-out only.
    assert set(summary["model"]) == {"lbp_svm_r1p8_4x4", "painseeker", "resnet18"}
    cells = set(zip(summary["data"], summary["protocol_label"], summary["model"]))
    lbp_cells = {(d, p) for d, p, m in cells if m == "lbp_svm_r1p8_4x4"}
    resnet_cells = {(d, p) for d, p, m in cells if m == "resnet18"}
    assert len(lbp_cells) == len(set(zip(summary["data"], summary["protocol_label"]))) == 5
    assert lbp_cells - resnet_cells == {("ratspain", "image_kfold2"), ("paindb", "image_kfold2")}
    assert set(summary.loc[summary["model"] == "painseeker", "protocol_label"]) == {"loso"}
    # Every PainSeeker unit (none of LBP's) saved its shares on a 3×3 grid, one per test
    # image in the order of its predictions, with chance = that image's AU area share.
    # (The shares themselves are checked against the model's own maps in
    # tests/benchmark/test_benchmark_attention_report.py.)
    results = pd.read_csv(tmp_path / "results.csv")
    rats = results[results["data"] == "ratspain"]
    ps_units = rats[rats["model"] == "painseeker"]["run_id"]
    lbp_units = results[results["model"] == "lbp_svm_r1p8_4x4"]["run_id"]
    assert len(ps_units) == 3  # the three rats left out in turn
    assert not any((tmp_path / "runs" / r / "attention.json").exists() for r in lbp_units)
    from painzoo.benchmark.units import load_data

    ds = load_data("ratspain", config.data_specs)
    union = np.logical_or.reduce([ds.masks[k] for k in sorted(ds.masks)])
    for rid in ps_units:
        rec = json.loads((tmp_path / "runs" / rid / "attention.json").read_text())
        preds = pd.read_csv(tmp_path / "runs" / rid / "predictions.csv")
        rows = preds["row"].to_numpy()
        assert rec["grid"] == [3, 3]
        np.testing.assert_allclose(rec["chance"]["any"], union[rows].mean(axis=(1, 2)), atol=1e-6)
        # A uniform β over the same masks scores exactly chance (the reference point).
        uniform, chance = au_mass_shares(np.full((len(rows), 3, 3), 1 / 9), union[rows])
        np.testing.assert_allclose(uniform, chance, atol=1e-12)
        share = np.asarray(rec["share"]["any"])
        assert ((share >= 0) & (share <= 1)).all() and rec["label"] == preds["y_true"].tolist()
