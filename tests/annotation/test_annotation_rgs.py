"""P1's two-stage RGS consensus on hand-worked examples."""

import numpy as np
import pytest

from painzoo.annotation import rgs_consensus

N = np.nan


def _image(*rater_rows):
    return np.array(rater_rows, dtype=float)


def test_stage_one_agreement_and_label():
    # Five raters × four AUs. Orbital: 4×1 + uncertain -> 1. Ear: 5×0 -> 0.
    # Nose: 3×2, 2×1 -> low confidence. Whisker: 4×2, 1×0 -> 2.
    img = _image([1, 0, 2, 2], [1, 0, 2, 2], [1, 0, 2, 2], [1, 0, 1, 2], [N, 0, 1, 0])
    r = rgs_consensus(img[None])
    np.testing.assert_array_equal(r.confident, [[True, True, False, True]])
    np.testing.assert_array_equal(r.consensus, [[1, 0, N, 2]])
    np.testing.assert_array_equal(r.stage, [[1, 1, 0, 1]])
    # Three confident AUs (1, 0, 2): mean 1 -> moderate pain.
    assert r.mean_score[0] == pytest.approx(1.0)
    assert r.labels.tolist() == [1.0]
    assert r.counts["uncertain_scores"] == 1
    assert r.counts["au_no_consensus"] == 1


def test_uncertain_scores_do_not_count_as_agreement():
    # Three raters say 0, two are uncertain: only 3 agree -> low confidence.
    img = _image([0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [N, 0, 0, 0], [N, 0, 0, 0])
    r = rgs_consensus(img[None])
    np.testing.assert_array_equal(r.confident, [[False, True, True, True]])
    assert r.labels.tolist() == [0.0]  # three confident AUs, all 0


def test_stage_two_pools_eight_scores():
    # Stage 1: orbital 3×1 + 2×2 (low), ear 2×0 2×1 1×uncertain (low),
    # nose 5×1, whisker 4×0.
    s1 = _image([1, 0, 1, 0], [1, 0, 1, 0], [1, 1, 1, 0], [2, 1, 1, 0], [2, N, 1, 1])
    # Stage 2 (three raters) rescore the low-confidence AUs only; NaN elsewhere.
    # Orbital: 1, 1, 2 -> pooled 5×1 of 8 -> accepted 1.
    # Ear: 0, 1, uncertain -> pooled 3×0, 3×1 -> rejected (a tie below 5).
    s2 = _image([1, 0, N, N], [1, 1, N, N], [2, N, N, N])
    r = rgs_consensus(s1[None], s2[None])
    np.testing.assert_array_equal(r.stage, [[2, 0, 1, 1]])
    np.testing.assert_array_equal(r.consensus, [[1, N, 1, 0]])
    assert r.counts["au_stage1"] == 2 and r.counts["au_stage2"] == 1
    # Confident AUs 1, 1, 0 -> mean 2/3 -> label 1.
    assert r.labels[0] == 1.0


def test_stage_two_scores_of_confident_aus_are_ignored():
    s1 = _image(*[[2, 2, 2, 2]] * 5)
    s2 = _image(*[[0, 0, 0, 0]] * 3)  # would change nothing: stage 1 already agreed
    r = rgs_consensus(s1[None], s2[None])
    np.testing.assert_array_equal(r.consensus, [[2, 2, 2, 2]])
    np.testing.assert_array_equal(r.stage, [[1, 1, 1, 1]])


def test_four_of_eight_is_not_enough():
    s1 = _image([0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0], [2, 0, 0, 0])
    s2 = _image([0, N, N, N], [0, N, N, N], [1, N, N, N])  # orbital pooled: 4×0, 3×1, 1×2
    r = rgs_consensus(s1[None], s2[None])
    assert not r.confident[0, 0]
    assert r.labels[0] == 0.0  # still three confident AUs (all 0)


def test_fewer_than_three_confident_aus_is_unlabelled():
    s1 = _image([0, 1, 2, 0], [1, 1, 2, 1], [2, 0, 1, 2], [0, 1, 0, 0], [1, 2, 2, N])
    r = rgs_consensus(s1[None])
    assert r.confident.sum() == 0
    assert np.isnan(r.labels[0]) and np.isnan(r.mean_score[0])
    assert r.counts["unlabelled"] == 1 and r.counts["labelled"] == 0


def test_half_rounding_rule():
    # Four confident AUs 0, 0, 1, 1 -> mean 0.5; 1, 1, 2, 2 -> mean 1.5.
    half = np.stack([_image(*[[0, 0, 1, 1]] * 5), _image(*[[1, 1, 2, 2]] * 5)])
    up = rgs_consensus(half)
    assert up.labels.tolist() == [1.0, 2.0]
    assert up.counts["half_rounded"] == 2
    even = rgs_consensus(half, rounding="half_even")
    assert even.labels.tolist() == [0.0, 2.0]  # banker's rounding
    with pytest.raises(ValueError, match="rounding"):
        rgs_consensus(half, rounding="nearest")


def test_counts_over_several_images():
    imgs = np.stack(
        [
            _image(*[[0, 0, 0, 0]] * 5),  # label 0
            _image(*[[1, 1, 2, 1]] * 5),  # mean 1.25 -> 1
            _image(*[[2, 2, 2, 1]] * 5),  # mean 1.75 -> 2
            _image([0, 1, 2, 0], [1, 1, 2, 1], [2, 0, 1, 2], [0, 1, 0, 0], [1, 2, 2, N]),
        ]
    )
    r = rgs_consensus(imgs)
    np.testing.assert_array_equal(r.labels, [0, 1, 2, N])
    assert r.counts == {
        "images": 4,
        "labelled": 3,
        "unlabelled": 1,
        "au_stage1": 12,
        "au_stage2": 0,
        "au_no_consensus": 4,
        "uncertain_scores": 1,
        "level_0": 1,
        "level_1": 1,
        "level_2": 1,
        "half_rounded": 0,
    }
    np.testing.assert_array_equal(r.binary_labels(), [0, 1, 1, N])
    frame = r.to_frame()
    assert list(frame.columns[:4]) == ["au_orbital", "au_ear", "au_nose", "au_whisker"]
    assert frame["level"].isna().tolist() == [False, False, False, True]


def test_input_validation():
    good = np.zeros((2, 5, 4))
    with pytest.raises(ValueError, match="3-D"):
        rgs_consensus(np.zeros((5, 4)))
    bad = good.copy()
    bad[1, 3, 2] = 3
    with pytest.raises(ValueError, match="image 1, rater 3, AU 2"):
        rgs_consensus(bad)
    with pytest.raises(ValueError, match="same images"):
        rgs_consensus(good, np.zeros((3, 3, 4)))
    with pytest.raises(ValueError, match="action units"):
        rgs_consensus(good, np.zeros((2, 3, 3)))
