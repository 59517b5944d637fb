"""Metrics against scikit-learn and hand-worked examples."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from painzoo.evaluation import (
    binary_metrics,
    bootstrap_ci,
    mean_std,
    per_subject_metrics,
    pooled_metrics,
    roc_auc,
)


@pytest.mark.parametrize("trial", range(5))
def test_binary_metrics_equal_sklearn(rng, trial):
    n = int(rng.integers(5, 60))
    y = rng.integers(0, 2, n)
    p = rng.integers(0, 2, n)
    m = binary_metrics(y, p)
    kw = {"zero_division": 0}
    assert m["accuracy"] == pytest.approx(accuracy_score(y, p))
    for label, suffix in ((1, "pain"), (0, "no_pain")):
        assert m[f"precision_{suffix}"] == pytest.approx(
            precision_score(y, p, pos_label=label, **kw)
        )
        assert m[f"recall_{suffix}"] == pytest.approx(recall_score(y, p, pos_label=label, **kw))
        assert m[f"f1_{suffix}"] == pytest.approx(f1_score(y, p, pos_label=label, **kw))
    assert m["f1"] == m["f1_pain"] and m["precision"] == m["precision_pain"]
    tn, fp, fn, tp = confusion_matrix(y, p, labels=[0, 1]).ravel()
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (tn, fp, fn, tp)


def test_degenerate_predictions_follow_zero_division_zero():
    m = binary_metrics([0, 0, 1], [0, 0, 0])
    assert m["precision"] == 0 and m["recall"] == 0 and m["f1"] == 0
    assert m["accuracy"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="0 \\(no pain\\) and 1"):
        binary_metrics([0, 2], [0, 1])


def test_pooled_versus_mean_on_a_hand_example():
    # Fold A: 8 images, tp=4 fp=0 fn=0 tn=4 → F1 = 1, acc = 1.
    # Fold B: 2 images, tp=0 fp=1 fn=1 tn=0 → F1 = 0, acc = 0.
    fold_a = ([1, 1, 1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0, 0, 0])
    fold_b = ([1, 0], [0, 1])
    pooled = pooled_metrics([fold_a, fold_b])
    # Pooled: tp=4 fp=1 fn=1 tn=4 → precision = recall = 0.8, F1 = 0.8, acc = 8/10.
    assert pooled["f1"] == pytest.approx(0.8) and pooled["accuracy"] == pytest.approx(0.8)
    averaged = mean_std([binary_metrics(*fold_a), binary_metrics(*fold_b)])
    # Mean of the runs: F1 = (1 + 0) / 2 = 0.5 ± 0.5, acc = 0.5 ± 0.5.
    assert averaged["f1"] == pytest.approx(0.5) and averaged["f1_std"] == pytest.approx(0.5)
    assert averaged["accuracy"] == pytest.approx(0.5) and averaged["runs"] == 2
    # Metric dicts pool the same as label pairs.
    assert pooled_metrics([binary_metrics(*fold_a), binary_metrics(*fold_b)]) == pooled


def test_mean_std_ddof():
    runs = [{"f1": 0.2}, {"f1": 0.4}, {"f1": 0.9}]
    assert mean_std(runs, keys=["f1"], ddof=1)["f1_std"] == pytest.approx(
        np.std([0.2, 0.4, 0.9], ddof=1)
    )


def test_roc_auc_equals_sklearn_with_ties(rng):
    y = rng.integers(0, 2, 200)
    s = np.round(rng.random(200) + 0.3 * y, 1)  # rounding creates ties
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s))
    assert np.isnan(roc_auc([1, 1], [0.2, 0.3]))
    assert binary_metrics(y, s > 0.6, y_score=s)["auc"] == pytest.approx(roc_auc_score(y, s))


def test_per_subject_metrics_match_sklearn_per_group(rng):
    frame = pd.DataFrame(
        {
            "subject": np.repeat(["r10", "r2", "r1"], 20),
            "y_true": rng.integers(0, 2, 60),
            "p_pain": rng.random(60),
        }
    )
    table = per_subject_metrics(frame)
    assert list(table.index) == ["r1", "r2", "r10"]
    for subject, part in frame.groupby("subject"):
        pred = (part["p_pain"] >= 0.5).astype(int)
        assert table.loc[subject, "f1"] == pytest.approx(
            f1_score(part["y_true"], pred, zero_division=0)
        )
        assert table.loc[subject, "n"] == 20


def test_bootstrap_ci_resamples_subjects(rng):
    # Two kinds of subject: perfectly predicted and always wrong. The subject-level
    # bootstrap must show the spread; an image-level one would be far narrower.
    rows = []
    for s in range(10):
        correct = s < 5
        for i in range(30):
            y = i % 2
            rows.append({"subject": f"s{s}", "y_true": y, "y_pred": y if correct else 1 - y})
    frame = pd.DataFrame(rows)
    low, high = bootstrap_ci(frame, "accuracy", n_boot=2000, seed=0)
    # Independent computation: accuracy = (#correct subjects drawn) / 10 ~ Binomial(10, .5)/10.
    draws = np.random.default_rng(1).binomial(10, 0.5, 200_000) / 10
    ref_low, ref_high = np.quantile(draws, [0.025, 0.975])
    assert low == pytest.approx(ref_low, abs=0.1) and high == pytest.approx(ref_high, abs=0.1)
    assert low < 0.5 < high
    assert bootstrap_ci(frame, "accuracy", n_boot=200, seed=3) == bootstrap_ci(
        frame, "accuracy", n_boot=200, seed=3
    )
    assert all(np.isnan(bootstrap_ci(frame[frame.subject == "s0"], "f1")))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pain_f1_and_macro_f1_match_sklearn(seed):
    from painzoo.evaluation.metrics import METRIC_KEYS

    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, 60)
    y_pred = np.where(rng.random(60) < 0.3, 1 - y_true, y_true)
    m = binary_metrics(y_true, y_pred)
    assert m["f1"] == pytest.approx(f1_score(y_true, y_pred, average="binary"))
    assert m["f1_pain"] == m["f1"]
    assert m["f1_macro"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert "f1_macro" in METRIC_KEYS
    # With one class missing from both sides, painzoo still averages both classes
    # (an undefined F1 counts 0), as sklearn does when told labels=[0, 1].
    ones = np.ones(10, int)
    assert binary_metrics(ones, ones)["f1_macro"] == pytest.approx(
        f1_score(ones, ones, average="macro", labels=[0, 1], zero_division=0)
    )
    pooled = pooled_metrics([(y_true[:30], y_pred[:30]), (y_true[30:], y_pred[30:])])
    assert pooled["f1_macro"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
