"""The bundled ``quick`` config, shrunk: its report opens with the summary and scores attention."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from painzoo.benchmark import apply_overrides, load_config, run
from painzoo.benchmark.attention_report import au_mass_shares


@pytest.mark.slow
def test_shrunk_quick_report_has_the_summary_and_the_attention_table(tmp_path):
    config = load_config("quick")
    # The rats experiment only (leave-one-rat-out + image-level K-fold), at a
    # twentieth of RatsPain, one epoch, LBP and PainSeeker.
    config = apply_overrides(
        config, out=str(tmp_path), models=["lbp_svm_r1p8_4x4", "painseeker"], epochs=1
    )
    config["experiments"] = [e for e in config["experiments"] if e["data"] == "ratspain"]
    config["data"]["ratspain"]["args"]["scale"] = 0.05
    result = run(config, progress=False)
    assert not result.failed
    report = (tmp_path / "report.md").read_text()
    head = report.split("## ")[1]
    assert head.startswith("Summary"), "the summary comes first"
    summary_part = report[report.index("## Summary") : report.index("Metrics in %")]
    assert "Accuracy under subject-level protocols" in summary_part
    assert "Subject leakage" in summary_part and "image_kfold3" in summary_part
    assert "Where PainSeeker looks" in summary_part and "β on AU regions" in summary_part
    assert (tmp_path / "attention.png").is_file() and (tmp_path / "accuracy_ci.png").is_file()
    # Every PainSeeker unit (none of LBP's) saved its shares on a 3×3 grid, one per test
    # image in the order of its predictions, with chance = that image's AU area share.
    # (The shares themselves are checked against the model's own maps in
    # tests/benchmark/test_benchmark_attention_report.py.)
    results = pd.read_csv(tmp_path / "results.csv")
    ps_units = results[results["model"] == "painseeker"]["run_id"]
    lbp_units = results[results["model"] == "lbp_svm_r1p8_4x4"]["run_id"]
    assert len(ps_units) == 6 + 3
    assert not any((tmp_path / "runs" / r / "attention.json").exists() for r in lbp_units)
    from painzoo.benchmark.units import load_data

    ds = load_data("ratspain", config["data"])
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
