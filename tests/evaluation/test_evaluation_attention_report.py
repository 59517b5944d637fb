"""AU mass share of PainSeeker's β against a direct NumPy computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from painzoo.evaluation.attention_report import (
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
