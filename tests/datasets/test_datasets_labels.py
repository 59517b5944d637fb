"""One level → label rule, used by every loader, and a user's threshold is kept."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from painzoo.annotation import binarize
from painzoo.datasets import load_delaware, load_unbc, make_synthetic, paindb
from painzoo.datasets.io import write_image
from painzoo.datasets.labels import level_to_label


def test_level_to_label_is_level_above_threshold(rng):
    levels = rng.uniform(0, 16, 200).round(1)
    for threshold in (0, 1, 2.5):
        np.testing.assert_array_equal(
            level_to_label(levels, threshold), (levels > threshold).astype(int)
        )
    assert level_to_label(0) == 0 and level_to_label(2) == 1 and level_to_label(2, 2) == 0
    assert isinstance(level_to_label(3), int)
    with pytest.raises(ValueError, match="missing level"):
        level_to_label([0, np.nan])
    # The PSPI threshold rule of painzoo.annotation is the same rule.
    np.testing.assert_array_equal(
        binarize(levels, rule="threshold", threshold=2.5), (levels > 2.5).astype(int)
    )


def _unbc(root: Path, scores) -> Path:
    for i, score in enumerate(scores):
        subject = f"s{i % 2}"
        write_image(root / "Images" / subject / "seq" / f"f{i}.png", np.zeros((8, 8, 3), np.uint8))
        p = root / "Frame_Labels" / "PSPI" / subject / "seq" / f"f{i}_facs.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"   {score:.7e}\n")
    return root


def test_paindb_keeps_the_threshold_given_for_unbc(tmp_path):
    scores = [0, 1, 2, 3, 4, 0, 1, 5]
    root = _unbc(tmp_path / "unbc", scores)
    unbc = load_unbc(root, threshold=2, frames_per_subject_class=None)
    expected = (unbc.frame["level"].to_numpy() > 2).astype(int)
    np.testing.assert_array_equal(unbc.labels, expected)
    # paindb used to relabel every part as level > 0, discarding threshold=2.
    merged = paindb(unbc=unbc)
    np.testing.assert_array_equal(merged.labels, expected)
    by_path = paindb(unbc=root, unbc_threshold=2, frames_per_subject_class=None)
    np.testing.assert_array_equal(by_path.labels, expected)
    default = paindb(unbc=root, frames_per_subject_class=None)  # P2: any level > 0
    np.testing.assert_array_equal(default.labels, (default.frame["level"] > 0).astype(int))


def test_csv_and_synthetic_levels_use_the_same_rule(tmp_path):
    rows = pd.DataFrame({"image": [f"{i}.png" for i in range(4)], "subject": ["a"] * 4})
    for i in range(4):
        write_image(tmp_path / f"{i}.png", np.zeros((8, 8, 3), np.uint8))
    rows["level"] = [0, 1, 0, 2]
    rows.to_csv(tmp_path / "d.csv", index=False)
    assert load_delaware(tmp_path / "d.csv").labels.tolist() == [0, 1, 0, 1]
    ds = make_synthetic("ratspain", image_size=32, scale=0.02)
    np.testing.assert_array_equal(ds.labels, level_to_label(ds.frame["level"].to_numpy()))


def test_predicted_label_is_p_pain_at_or_above_threshold(rng):
    from painzoo.datasets.labels import DECISION_THRESHOLD, predicted_label

    p = np.concatenate([rng.uniform(0, 1, 200), [0.0, 0.5, 1.0]])
    np.testing.assert_array_equal(predicted_label(p), [int(v >= 0.5) for v in p])
    np.testing.assert_array_equal(predicted_label(p, 0.8), [int(v >= 0.8) for v in p])
    assert predicted_label(DECISION_THRESHOLD) == 1 and isinstance(predicted_label(0.1), int)


def test_metrics_threshold_p_pain_with_the_same_rule():
    from painzoo.evaluation.metrics import per_subject_metrics

    frame = pd.DataFrame(
        {"subject": "s", "y_true": [0, 1, 1, 0, 1], "p_pain": [0.2, 0.5, 0.49, 0.51, 0.9]}
    )
    # By hand: predictions 0, 1, 0, 1, 1 -> tp 2, fp 1, fn 1, tn 1.
    m = per_subject_metrics(frame).loc["s"]
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (2, 1, 1, 1)


def test_both_csv_readers_reject_a_bad_label_with_one_message(tmp_path):
    from painzoo.datasets import Dataset, load_csv

    for i in range(3):
        write_image(tmp_path / f"im{i}.png", np.zeros((4, 4, 3), np.uint8))
    csv = tmp_path / "m.csv"
    csv.write_text("image,label,subject,source\nim0.png,0,a,x\nim1.png,1,b,x\nim2.png,2,c,x\n")
    messages = []
    for read in (load_csv, Dataset.from_csv):
        with pytest.raises(ValueError) as err:
            read(csv)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert f"{csv}, line 4 (row 2, im2.png): label '2'" in messages[0]
    assert "1 row(s) break this" in messages[0]
