"""Collapse and non-learning flags: the decision, the warning, results.csv and report.md."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from painzoo.benchmark.report import flagged_lines, summarize, write_report
from painzoo.evaluation.metrics import (
    chance_accuracy,
    learning_flags,
    learning_record,
    training_fit,
    weighted_accuracy,
)


def test_one_class_for_every_test_image_is_collapsed():
    assert learning_flags([1, 1, 1, 1], [0.7, 0.3], y_true=[0, 1, 0, 1]) == "collapsed"
    assert learning_flags([0, 0, 0], None, y_true=[0, 1, 1]) == "collapsed"
    # without y_true the decision still holds
    assert learning_flags(np.zeros(5, int), [0.7, 0.2]) == "collapsed"


def test_a_one_class_test_set_cannot_show_a_collapse():
    # a LOSO fold whose subject has only pain images: all-pain predictions are right
    assert learning_flags([1, 1, 1], [0.7, 0.2], y_true=[1, 1, 1]) == ""
    # a single test image always predicts "one class"
    assert learning_flags([1], [0.7, 0.2], y_true=[0]) == ""


def test_a_loss_that_did_not_fall_is_not_learning():
    y_true, y_pred = [0, 1, 0, 1], [0, 1, 1, 1]
    assert learning_flags(y_pred, [0.69, 0.70, 0.69, 0.68, 0.69], y_true=y_true) == "not_learning"
    # rising loss
    assert learning_flags(y_pred, [0.6, 0.8, 0.9], y_true=y_true) == "not_learning"
    # a fall of 4 % of the first loss is still flat; 10 % is learning
    assert learning_flags(y_pred, [1.0, 0.98, 0.96, 0.96, 0.96], y_true=y_true) == "not_learning"
    assert learning_flags(y_pred, [1.0, 0.95, 0.9, 0.9, 0.9], y_true=y_true) == ""
    # a diverged run (NaN) is flagged even if earlier epochs fell
    assert learning_flags(y_pred, [0.7, 0.3, float("nan")], y_true=y_true) == "not_learning"
    # baselines have no curve; one epoch cannot show a trend
    assert learning_flags(y_pred, None, y_true=y_true) == ""
    assert learning_flags(y_pred, [0.7], y_true=y_true) == ""


def test_collapse_wins_over_not_learning():
    assert learning_flags([1, 1], [0.7, 0.7, 0.7], y_true=[0, 1]) == "collapsed"


def test_learning_record_warns_and_keeps_the_curve():
    with pytest.warns(UserWarning, match="unit-7.*one class.*weights: imagenet"):
        rec = learning_record([0, 1, 0], [1, 1, 1], [0.7, 0.69, 0.68], run_id="unit-7")
    assert rec == {
        "flag": "collapsed",
        "loss_first": 0.7,
        "loss_last": 0.68,
        "train_accuracy": None,
        "epochs_run": 3,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a healthy unit warns nothing
        rec = learning_record([0, 1], [0, 1], [0.7, 0.2])
    assert rec["flag"] == "" and rec["loss_last"] == 0.2
    assert learning_record([0, 1], [0, 1], None)["loss_first"] is None


def _results():
    rows = []
    for model, flag in (("songnet", "collapsed"), ("songnet", ""), ("resnet18", "")):
        rows.append(
            {
                "run_id": f"d__subject_kfold2__{model}__r0f{len(rows)}",
                "data": "d",
                "protocol": "subject_kfold",
                "protocol_label": "subject_kfold2",
                "aggregation": "mean_std",
                "model": model,
                "model_name": model,
                "sweep": "{}",
                "repeat": 0,
                "fold": len(rows),
                "status": "ok",
                "flag": flag,
                "tn": 1,
                "fp": 1,
                "fn": 0,
                "tp": 2,
                "accuracy": 0.75,
                "f1": 0.8,
            }
        )
    return pd.DataFrame(rows)


def test_report_marks_flagged_models_and_says_what_to_try(tmp_path):
    results = _results()
    summary = summarize(tmp_path, results)
    assert dict(zip(summary["model"], summary["flagged"])) == {"songnet": 1, "resnet18": 0}
    lines = flagged_lines(results)
    assert any("songnet__r0f0" in line and "collapsed" in line for line in lines)
    assert not any("resnet18" in line for line in lines)
    path = write_report(tmp_path, None, results, summary)
    text = path.read_text()
    assert "more epochs" in text and "weights: imagenet" in text and "`painzoo`" in text
    # the songnet cells carry the mark, the resnet18 cells do not
    song = next(line for line in text.splitlines() if line.startswith("| songnet"))
    res = next(line for line in text.splitlines() if line.startswith("| resnet18"))
    assert "⚠" in song and "⚠" not in res


def test_report_without_flags_has_no_section(tmp_path):
    results = _results().assign(flag="")
    assert flagged_lines(results) == []
    assert flagged_lines(results.drop(columns="flag")) == []


@pytest.mark.slow
def test_a_unit_that_collapses_is_flagged_in_results_csv(tmp_path):
    """End to end: a network that cannot learn (a vanishing learning rate) is flagged, with a warning."""
    from painzoo.benchmark import runner

    config = {
        "name": "flags",
        "out": str(tmp_path),
        "image_size": 32,
        "recipe": {"preset": "p2", "epochs": 2, "learning_rate": 1.0e-12, "augment": None},
        "data": {"toy": {"synthetic": "cppain", "args": {"image_size": 32, "scale": 0.2}}},
        "models": ["songnet"],
        "experiments": [{"data": "toy", "protocols": [{"subject_kfold": {"n_splits": 2}}]}],
    }
    with pytest.warns(UserWarning, match="not_learning|collapsed"):
        result = runner.run(config, progress=False)
    table = pd.read_csv(tmp_path / "results.csv", keep_default_na=False)
    assert set(table["flag"]) <= {"collapsed", "not_learning"} and len(table) == 2
    metrics = json.loads(next((tmp_path / "runs").glob("*/metrics.json")).read_text())
    assert metrics["loss_first"] is not None and metrics["epochs_run"] == 2
    assert 0.0 <= metrics["train_accuracy"] <= 1.0
    assert "Collapsed or not learning" in (tmp_path / "report.md").read_text()
    assert len(result.results) == 2


def test_a_loss_that_ends_at_chance_is_not_learning():
    # A real fold (SilNet on neutral vs smiling photographs, 34 epochs): the loss fell from
    # a poor start, 0.759, to 0.691 -- a 9 % drop, but to the cross-entropy of answering
    # 0.5 for every image, -log(0.5) = ln 2 (0.693), whatever the smoothing or the
    # balanced class weights; it scored 50 %.
    chance = -np.log(0.5)
    y_true, y_pred = [0, 1, 0, 1], [0, 1, 1, 1]
    curve = [0.759, 0.72, 0.70, 0.692, 0.691, 0.691]
    assert abs(np.mean(curve[-3:]) - chance) < 0.01
    assert learning_flags(y_pred, curve, y_true=y_true) == "not_learning"
    # Well below chance, or a curve that is still far above it and falling, is learning.
    assert learning_flags(y_pred, [0.75, 0.6, 0.5, 0.45], y_true=y_true) == ""
    assert learning_flags(y_pred, [1.2, 1.0, 0.9, 0.9], y_true=y_true) == ""


def test_a_fit_no_better_than_one_class_is_not_learning():
    # A real fold (VGG16 from random weights without data_init, neutral vs smiling, 30
    # epochs): large initial logits put the first loss at 1.467; it fell to 0.666, 4 %
    # below ln 2 and so outside the chance band (and the augmented batches' accuracy of
    # the last epochs was 69.7 %), while the trained network classified 54.5 % of its own
    # training photos and 62.5 % of the test photos. The loss rules pass it; its fit of
    # its training photos, at chance, does not.
    y_true, y_pred = [0, 1, 0, 1], [0, 1, 1, 1]
    curve = [1.467, 0.9, 0.7, 0.668, 0.666, 0.666]
    assert learning_flags(y_pred, curve, y_true=y_true) == ""
    flag = learning_flags(y_pred, curve, y_true=y_true, train_accuracy=0.545)
    assert flag == "not_learning"
    # the same curve from a model that fits its training photos is learning
    assert learning_flags(y_pred, curve, y_true=y_true, train_accuracy=0.92) == ""
    # one epoch cannot show it; an unknown accuracy is not a flag
    assert learning_flags(y_pred, [0.7], y_true=y_true, train_accuracy=0.5) == ""
    assert learning_flags(y_pred, curve, y_true=y_true, train_accuracy=float("nan")) == ""


def test_the_accuracy_rule_measures_from_the_commonest_class():
    y_true, y_pred = [0, 1, 0, 1], [0, 1, 1, 1]
    curve = [1.0, 0.8, 0.5, 0.5]  # a falling loss: only the accuracy decides
    # 80 % no-pain without class weights: answering "no pain" scores 0.8, so 0.82 is
    # a fifth of the way to 1 not yet reached (0.84), 0.9 is
    chance = chance_accuracy([0] * 8 + [1] * 2)
    assert chance == pytest.approx(0.8)
    kw = {"y_true": y_true, "chance": chance}
    assert learning_flags(y_pred, curve, train_accuracy=0.82, **kw) == "not_learning"
    assert learning_flags(y_pred, curve, train_accuracy=0.9, **kw) == ""
    # the same 0.82 with balanced weights (chance 0.5) is learning
    assert learning_flags(y_pred, curve, y_true=y_true, train_accuracy=0.82, chance=0.5) == ""


@pytest.mark.parametrize("weighting", [None, "balanced", {0: 1.0, 1: 3.0}])
def test_weighted_accuracy_is_sklearns_with_the_class_weights(weighting):
    from sklearn.metrics import accuracy_score, balanced_accuracy_score

    from painzoo.training import Recipe

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 40) * (rng.random(40) < 0.6)  # about a third pain
    p = np.where(rng.random(40) < 0.7, y, 1 - y)
    weights = Recipe(class_weight=weighting).class_weights(y)
    sample_weight = None if weights is None else [weights[c] for c in y]
    want = accuracy_score(y, p, sample_weight=sample_weight)
    assert weighted_accuracy(y, p, weights) == pytest.approx(want)
    if weighting == "balanced":
        assert weighted_accuracy(y, p, weights) == pytest.approx(balanced_accuracy_score(y, p))
    # what the runner, painzoo train and the recipes benchmark pass to the flags
    fit = training_fit(y, p, weights)
    assert fit == {"train_accuracy": pytest.approx(want), "chance": chance_accuracy(y, weights)}


@pytest.mark.parametrize("labels", [[0] * 8 + [1] * 2, [0] * 3 + [1] * 9, [1] * 5])
@pytest.mark.parametrize("weighting", [None, "balanced", {0: 1.0, 1: 3.0}])
def test_chance_accuracy_is_the_best_constant_answer(labels, weighting):
    from sklearn.metrics import accuracy_score

    from painzoo.training import Recipe

    weights = Recipe(class_weight=weighting).class_weights(labels)
    sample_weight = None if weights is None else [weights[c] for c in labels]
    best = max(
        accuracy_score(labels, [c] * len(labels), sample_weight=sample_weight) for c in (0, 1)
    )
    assert chance_accuracy(labels, weights) == pytest.approx(best)


@pytest.mark.backend
@pytest.mark.parametrize("weighting", [None, "balanced"])
def test_the_recipe_weighs_the_shown_training_accuracy_as_the_loss(weighting):
    """A model that answers "no pain" for every image shows chance_accuracy while training.

    Keras weighs ``metrics`` by nothing and ``weighted_metrics`` by the class weights,
    as it weighs the loss; under balanced weights the first gave 0.75 here (the no-pain
    share) for a model that tells nothing apart, the second 0.5.
    """
    import keras

    from painzoo.training import Recipe

    labels = np.array([0] * 12 + [1] * 4)
    recipe = Recipe(class_weight=weighting)
    weights = recipe.class_weights(labels)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.layers[0].set_weights([np.zeros((3, 2)), np.array([1.0, 0.0])])
    model.layers[0].trainable = False  # it answers "no pain" throughout the epoch
    recipe.compile(model, total_steps=4)
    x = np.ones((len(labels), 3), "float32")
    history = model.fit(x, labels, batch_size=4, epochs=1, class_weight=weights, verbose=0)
    assert history.history["accuracy"][0] == pytest.approx(chance_accuracy(labels, weights))


def test_the_report_gives_each_flagged_units_curve():
    results = _results()
    results["loss_first"] = [1.467, 0.7, 0.7]
    results["loss_last"] = [0.6664, 0.2, 0.2]
    results["train_accuracy"] = [0.545, 0.95, float("nan")]
    lines = flagged_lines(results)
    unit = next(line for line in lines if "songnet__r0f0" in line)
    assert unit.endswith("collapsed (training loss 1.467 → 0.666, training accuracy 54.5 %)")
    # results of an older painzoo have no accuracy column; baselines no curve at all
    older = results.drop(columns="train_accuracy")
    unit = next(line for line in flagged_lines(older) if "songnet__r0f0" in line)
    assert unit.endswith("collapsed (training loss 1.467 → 0.666)")
    bare = results.drop(columns=["loss_first", "loss_last", "train_accuracy"])
    assert any(line.endswith("songnet__r0f0`: collapsed") for line in flagged_lines(bare))
