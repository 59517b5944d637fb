"""Localisation score on hand-made heat maps and masks."""

import numpy as np
import pytest

from painzoo.explain import localisation_score


def test_energy_share_and_pointing_by_hand():
    mask = np.zeros((2, 4, 4), bool)
    mask[:, :2, :2] = True  # top-left 2 × 2 region
    h = np.zeros((2, 4, 4))
    h[0, 0, 0] = 3.0  # inside
    h[0, 3, 3] = 1.0  # outside -> share 3 / 4, peak inside
    h[1, 0, 1] = 1.0  # inside
    h[1, 2, 2] = 2.0  # outside -> share 1 / 3, peak outside
    h[1, 3, 0] = -5.0  # negative evidence counts as no heat
    s = localisation_score(h, mask)
    np.testing.assert_allclose(s.per_image_energy, [0.75, 1 / 3])
    np.testing.assert_array_equal(s.per_image_hit, [1.0, 0.0])
    assert s.energy == pytest.approx((0.75 + 1 / 3) / 2)
    assert s.pointing == 0.5
    assert s.baseline == pytest.approx(4 / 16)
    assert s.n_scored == 2


def test_dict_of_masks_is_united_and_maps_are_resized():
    masks = {"eyes": np.zeros((1, 8, 8), bool), "mouth": np.zeros((1, 8, 8), bool)}
    masks["eyes"][0, :4, :] = True
    masks["mouth"][0, 6:, :] = True
    h = np.zeros((1, 4, 4), np.float32)
    h[0, 3, 1] = 1.0  # lower rows -> mouth after 2× upsampling
    s = localisation_score(h, masks)
    assert s.pointing == 1.0
    assert s.baseline == pytest.approx((32 + 16) / 64)
    assert 0.5 < s.energy <= 1.0


def test_uniform_map_scores_the_area_share():
    mask = np.zeros((10, 10), bool)
    mask[2:5, 3:8] = True
    s = localisation_score(np.ones((10, 10)), mask)
    assert s.energy == pytest.approx(15 / 100)


def test_pointing_tolerance():
    mask = np.zeros((20, 20), bool)
    mask[5:8, 5:8] = True
    h = np.zeros((20, 20))
    h[10, 6] = 1.0  # 3 px below the region
    assert localisation_score(h, mask).pointing == 0.0
    assert localisation_score(h, mask, tolerance=3).pointing == 1.0


def test_unscored_images_and_errors():
    mask = np.zeros((2, 4, 4), bool)
    mask[0, 0, 0] = True  # image 1 has an empty mask
    h = np.ones((2, 4, 4))
    s = localisation_score(h, mask)
    assert s.n_scored == 1 and np.isnan(s.per_image_energy[1])
    assert s.energy == pytest.approx(1 / 16)
    empty = localisation_score(np.zeros((4, 4)), mask[0])
    assert empty.n_scored == 0 and np.isnan(empty.energy)
    with pytest.raises(ValueError, match="one mask per map"):
        localisation_score(np.ones((3, 4, 4)), mask)
    with pytest.raises(ValueError, match="empty dict"):
        localisation_score(h, {})
