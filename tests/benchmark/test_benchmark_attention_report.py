"""AU mass share of PainSeeker's β against a direct NumPy computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from painzoo.benchmark.attention_report import (
    attention_summary,
    au_mass_shares,
    cell_cover,
)


def _pixel_mass(beta, side):
    """β spread evenly over the pixels of its cell (np.kron), for a side divisible by M."""
    m = beta.shape[-1]
    block = np.ones((side // m, side // m)) / (side // m) ** 2
    return np.stack([np.kron(b, block) for b in beta])


def test_share_equals_the_attention_mass_on_the_mask_pixels():
    rng = np.random.default_rng(0)
    beta = rng.random((3, 3, 3))
    beta /= beta.sum(axis=(1, 2), keepdims=True)
    masks = np.zeros((3, 12, 12), bool)
    masks[0, 2:7, 1:9] = True  # straddles cells
    masks[1, 0:4, 0:4] = True  # exactly cell (0, 0)
    masks[2, 5, 5] = True  # one pixel
    share, chance = au_mass_shares(beta, masks)
    expected = (_pixel_mass(beta, 12) * masks).sum(axis=(1, 2))
    np.testing.assert_allclose(share, expected, rtol=1e-12)
    np.testing.assert_allclose(share[1], beta[1, 0, 0])
    np.testing.assert_allclose(chance, masks.mean(axis=(1, 2)))


def test_uniform_attention_gets_exactly_chance_and_peaked_attention_gets_all_or_nothing():
    masks = np.zeros((2, 9, 9), bool)
    masks[0, :3, :] = True
    masks[1, 4:8, 2:5] = True
    uniform = np.full((2, 3, 3), 1 / 9)
    share, chance = au_mass_shares(uniform, masks)
    np.testing.assert_allclose(share, chance)
    peaked = np.zeros((2, 3, 3))
    peaked[:, 0, 1] = 1.0  # top-middle cell: inside mask 0, outside mask 1
    share, _ = au_mass_shares(peaked, masks)
    np.testing.assert_allclose(share, [1.0, 0.0])


def test_cells_tile_a_side_that_is_not_a_multiple_of_the_grid():
    mask = np.ones((1, 7, 7), bool)
    np.testing.assert_allclose(cell_cover(mask, (3, 3)), 1.0)
    mask = np.zeros((1, 7, 7), bool)
    mask[0, :, 0] = True  # first column: a part of every left cell only
    cover = cell_cover(mask, (3, 3))
    assert (cover[0, :, 0] > 0).all() and (cover[0, :, 1:] == 0).all()
    with pytest.raises(ValueError, match="mask"):
        au_mass_shares(np.ones((2, 3, 3)) / 9, np.ones((1, 9, 9), bool))


def test_summary_means_and_subject_bootstrap_bounds():
    record = {
        "regions": ["any"],
        "label": [0, 0, 1, 1],
        "subject": ["a", "b", "a", "b"],
        "share": {"any": [0.2, 0.4, 0.6, 0.8]},
        "chance": {"any": [0.3, 0.3, 0.3, 0.3]},
        "model": "painseeker",
        "data": "rats",
        "protocol_label": "loso",
    }
    table = attention_summary([record]).set_index("class")
    assert table.loc["pain", "share"] == pytest.approx(0.7)
    assert table.loc["no_pain", "share"] == pytest.approx(0.3)
    assert table.loc["pain", "ratio"] == pytest.approx(0.7 / 0.3)
    # Two subjects, one image each per class: the bootstrap means lie in [min, max].
    assert table.loc["pain", "share_low"] >= 0.6 - 1e-12
    assert table.loc["pain", "share_high"] <= 0.8 + 1e-12
    assert isinstance(table, pd.DataFrame)


def _fake_run(out, preds_by_unit):
    """Write predictions.csv + metrics.json per unit; return the results table."""
    import json as _json

    from painzoo.evaluation.metrics import binary_metrics

    rows = []
    for (data, proto, plabel, model, name, fold), frame in preds_by_unit.items():
        rid = f"{data}__{plabel}__{model}__f{fold}"
        folder = out / "runs" / rid
        folder.mkdir(parents=True)
        frame.to_csv(folder / "predictions.csv", index=False)
        m = binary_metrics(frame["y_true"], frame["y_pred"])
        (folder / "metrics.json").write_text(_json.dumps(m))
        rows.append(
            {
                "run_id": rid,
                "data": data,
                "protocol": proto,
                "protocol_label": plabel,
                "aggregation": "pooled" if proto == "loso" else "mean",
                "model": model,
                "model_name": name,
                "sweep": "{}",
                "repeat": 0,
                "fold": fold,
                "fold_name": str(fold),
                "seed": 0,
                "status": "ok",
                **m,
            }
        )
    return pd.DataFrame(rows)


def test_summary_numbers_match_a_direct_computation(tmp_path):
    from painzoo.benchmark.report import summarize, summary_lines

    rng = np.random.default_rng(1)
    n, subjects = 60, np.repeat(["rat1", "rat2", "rat3", "rat4", "rat5", "rat6"], 10)
    y = rng.integers(0, 2, n)
    rows = np.arange(n)
    perfect = y.copy()
    wrong = 1 - y
    noisy = np.where(rng.random(n) < 0.3, 1 - y, y)

    def frame(idx, pred):
        return pd.DataFrame(
            {
                "row": rows[idx],
                "subject": subjects[idx],
                "source": "ratspain",
                "y_true": y[idx],
                "p_pain": pred[idx].astype(float),
                "y_pred": pred[idx],
            }
        )

    units = {}
    for fold, s in enumerate(np.unique(subjects)):  # leave-one-rat-out folds
        idx = np.where(subjects == s)[0]
        units["rats", "loso", "loso", "painseeker", "painseeker", fold] = frame(idx, perfect)
        units["rats", "loso", "loso", "resnet18", "resnet18", fold] = frame(idx, noisy)
        units["rats", "loso", "loso", "painseeker_no_prsc", "painseeker_no_prsc", fold] = frame(
            idx, noisy
        )
        units["rats", "loso", "loso", "lbp_svm_r1p8_4x4", "lbp_svm_r1p8_4x4", fold] = frame(
            idx, wrong
        )
    for fold in range(3):  # image-level folds: identical predictions to LORO's ResNet-18
        idx = np.arange(fold, n, 3)
        units["rats", "image_kfold", "image_kfold3", "resnet18", "resnet18", fold] = frame(
            idx, noisy
        )
    results = _fake_run(tmp_path, units)
    text = "\n".join(summary_lines(tmp_path, results, summarize(tmp_path, results)))
    acc_noisy = 100 * (noisy == y).mean()
    assert f"| resnet18 | {acc_noisy:.1f} [" in text
    assert "| painseeker | 100.0 [100.0, 100.0] |" in text
    # Best network (perfect) vs LBP (always wrong): +100 points on every resample.
    assert "`painseeker` − `lbp_svm_r1p8_4x4`: +100.0 [+100.0, +100.0] points" in text
    assert "excludes 0: `painseeker` is more accurate" in text
    gap_line = next(
        line for line in text.splitlines() if line.startswith("- `resnet18` on `rats`")
    )
    assert "gap +0.0 [+0.0, +0.0] points" in gap_line and "no leakage gap" in gap_line
    diff = 100 * ((perfect == y).mean() - (noisy == y).mean())
    assert f"`painseeker` − `painseeker_no_prsc`: {diff:+.1f} [" in text
    assert (tmp_path / "accuracy_ci.png").is_file()


def test_a_painseeker_unit_saves_shares_that_match_its_own_attention_maps(tmp_path):
    import json as _json

    import keras

    import painzoo
    from painzoo.benchmark.attention_report import (
        collect_attention,
        plot_attention,
        save_unit_attention,
    )
    from painzoo.benchmark.storage import RunStorage
    from painzoo.datasets import make_synthetic
    from painzoo.explain import attention_maps

    keras.utils.set_random_seed(0)
    test = make_synthetic("ratspain", image_size=72, scale=0.02)
    model = painzoo.get_model("painseeker", input_shape=(72, 72, 3))
    store = RunStorage(tmp_path)
    assert save_unit_attention(model, test, store, "runs/u1") is not None
    rec = _json.loads((tmp_path / "runs" / "u1" / "attention.json").read_text())
    beta = attention_maps(model, test.load_images(72))
    union = np.logical_or.reduce([test.masks[k] for k in sorted(test.masks)])
    share, chance = au_mass_shares(beta, union)
    np.testing.assert_allclose(rec["share"]["any"], share, atol=1e-5)
    np.testing.assert_allclose(rec["chance"]["any"], chance, atol=1e-6)
    s_orb, _ = au_mass_shares(beta, test.masks["orbital"])
    np.testing.assert_allclose(rec["share"]["orbital"], s_orb, atol=1e-5)
    for k, mean_map in rec["mean_beta"].items():
        np.testing.assert_allclose(mean_map, beta[test.labels == int(k)].mean(0), atol=1e-5)
    # Models without attention and data without masks write nothing.
    plain = painzoo.get_model("resnet18", input_shape=(72, 72, 3))
    assert save_unit_attention(plain, test, store, "runs/u2") is None
    results = pd.DataFrame(
        [
            {
                "run_id": "u1",
                "status": "ok",
                "model": "painseeker",
                "data": "r",
                "protocol_label": "loso",
            }
        ]
    )
    records = collect_attention(tmp_path, results)
    assert len(records) == 1 and plot_attention(records, tmp_path / "a.png")
    assert (tmp_path / "a.png").stat().st_size > 0
