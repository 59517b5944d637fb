"""PSPI and the binary rule of P2, against hand-computed values."""

import numpy as np
import pytest

from painzoo.annotation import binarize, pspi


def test_pspi_formula_on_hand_computed_frames():
    # AU4 + max(AU6, AU7) + max(AU9, AU10) + AU43, worked by hand per frame.
    au4 = [0, 2, 5, 1]
    au6 = [0, 1, 5, 3]
    au7 = [0, 3, 4, 0]
    au9 = [0, 0, 5, 2]
    au10 = [0, 2, 1, 2]
    au43 = [0, 1, 1, 0]
    expected = [0, 2 + 3 + 2 + 1, 5 + 5 + 5 + 1, 1 + 3 + 2 + 0]
    np.testing.assert_array_equal(pspi(au4, au6, au7, au9, au10, au43), expected)


def test_pspi_is_vectorised_and_broadcasts(rng):
    aus = rng.integers(0, 6, size=(5, 7, 3))
    au43 = rng.integers(0, 2, size=(7, 3))
    out = pspi(*aus, au43)
    assert out.shape == (7, 3)
    loop = np.array(
        [
            [
                aus[0, i, j]
                + max(aus[1, i, j], aus[2, i, j])
                + max(aus[3, i, j], aus[4, i, j])
                + au43[i, j]
                for j in range(3)
            ]
            for i in range(7)
        ]
    )
    np.testing.assert_array_equal(out, loop)
    assert float(pspi(2, 0, 0, 0, 0, 1)) == 3.0  # scalar + array mix


def test_pspi_ranges():
    top = pspi(5, 5, 5, 5, 5, 1)
    assert top == 16  # UNBC scale 0–16
    assert pspi(5, 5, 5, 5, 5, 5, au43_scale="intensity") == 20  # P2's 20-point scale
    with pytest.raises(ValueError, match="au43"):
        pspi(1, 1, 1, 1, 1, 2)  # AU43 is 0/1 on the UNBC scale
    with pytest.raises(ValueError, match=r"au4 must lie in \[0, 5\]"):
        pspi(6, 0, 0, 0, 0, 0)
    with pytest.raises(ValueError, match="au7"):
        pspi(0, 0, -1, 0, 0, 0)
    with pytest.raises(ValueError, match="NaN"):
        pspi(np.nan, 0, 0, 0, 0, 0)
    with pytest.raises(ValueError, match="au43_scale"):
        pspi(0, 0, 0, 0, 0, 0, au43_scale="ten")


def test_binarize_unanimous_zero():
    scores = np.array(
        [
            [0, 0, 0],  # every rater 0 -> no pain
            [0, 0, 1],  # one rater saw pain -> pain
            [2, 3, 1],
            [0, np.nan, 0],  # missing rater ignored
            [np.nan, 4, np.nan],
        ]
    )
    np.testing.assert_array_equal(binarize(scores), [0, 1, 1, 0, 1])
    np.testing.assert_array_equal(binarize([0, 3, 0.5]), [0, 1, 1])


def test_binarize_threshold():
    scores = np.array([[0, 2], [1, 2], [3, 3], [0, 0]])  # means 1, 1.5, 3, 0
    np.testing.assert_array_equal(binarize(scores, rule="threshold", threshold=1), [0, 1, 1, 0])
    np.testing.assert_array_equal(binarize([0, 1, 2], rule="threshold"), [0, 1, 1])


def test_binarize_rejects_bad_input():
    with pytest.raises(ValueError, match="rule"):
        binarize([0, 1], rule="majority")
    with pytest.raises(ValueError, match="no score"):
        binarize([[np.nan, np.nan], [0, 1]])
    with pytest.raises(ValueError, match=">= 0"):
        binarize([-1, 2])
    with pytest.raises(ValueError, match="shape"):
        binarize(np.zeros((2, 2, 2)))
