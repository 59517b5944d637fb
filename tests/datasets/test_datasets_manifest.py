"""The Dataset manifest: counts, subset, concat, pixels in memory and on disk, CSV."""

import numpy as np
import pandas as pd
import pytest

from painzoo.datasets import Dataset


def _toy(n=6, size=8, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "image": [""] * n,
            "label": [0, 1] * (n // 2),
            "subject": [f"s{i // 2}" for i in range(n)],
            "source": "toy",
        }
    )
    return Dataset(
        frame, images=rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8), name="toy"
    )


def test_counts_labels_and_summary():
    ds = _toy()
    assert len(ds) == 6 and ds.labels.tolist() == [0, 1, 0, 1, 0, 1]
    table = ds.summary()
    assert table.loc["s1", 1] == 1 and table.loc["total", "total"] == 6
    assert table.loc["total", 0] == 3


def test_subset_and_concat():
    ds = _toy()
    sub = ds.subset([0, 3])
    assert np.array_equal(sub.images, ds.images[[0, 3]]) and sub.subjects.tolist() == ["s0", "s1"]
    assert len(ds.subset(ds.labels == 1)) == 3
    both = Dataset.concat([ds, sub])
    assert len(both) == 8 and np.array_equal(both.images[6:], sub.images)


def test_in_memory_and_on_disk_load_the_same_pixels(tmp_path):
    ds = _toy()
    back = Dataset.from_csv(ds.to_csv(tmp_path / "m.csv"))
    assert back.images is None
    assert np.array_equal(back.load_images(), ds.images)
    assert back.load_images(size=4).shape == (6, 4, 4, 3)
    pd.testing.assert_series_equal(back.frame["subject"], ds.frame["subject"])


def test_clear_errors_for_missing_labels_and_subjects():
    frame = pd.DataFrame(
        {"image": ["a.png", "b.png"], "label": [1, None], "subject": ["s1", "s2"], "source": "x"}
    )
    with pytest.raises(ValueError, match="label"):
        Dataset(frame)
    frame = pd.DataFrame({"image": ["a.png"], "label": [1], "subject": [""], "source": "x"})
    with pytest.raises(ValueError, match="subject"):
        Dataset(frame)
    with pytest.raises(ValueError, match="column"):
        Dataset(pd.DataFrame({"image": ["a.png"], "label": [1]}))
