"""Identical images under two subjects: found by content, named by row, refused by check."""

import hashlib
import shutil
import warnings
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from painzoo.datasets import Dataset, find_duplicates, load_folder


def _png(path, value, size=8):
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.full((size, size, 3), value, np.uint8)
    pixels[0, 0] = (value * 7) % 256
    Image.fromarray(pixels).save(path)
    return path


def _copy(src, dst):
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def _bmp(path, value, size=8):
    """Uncompressed: every BMP of one size has one file size, whatever its pixels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), value, np.uint8)).save(path)
    return path


def _groups_by_hashlib(ds):
    """Rows grouped by SHA-256 of their file's bytes, computed here without painzoo."""
    by_digest = defaultdict(list)
    for i, path in enumerate(ds.image_paths):
        by_digest[hashlib.sha256(path.read_bytes()).hexdigest()].append(i)
    return {d: rows for d, rows in by_digest.items() if len(rows) > 1}


@pytest.fixture
def filed_twice(tmp_path):
    """A folder where one photograph sits under two subjects, another twice under one."""
    root = tmp_path / "clinic"
    _png(root / "Jane Doe" / "pain" / "IMG_0007.png", 10)
    _png(root / "Jane Doe" / "pain" / "IMG_0008.png", 20)
    _png(root / "Jane Doe" / "no_pain" / "IMG_0009.png", 30)
    _png(root / "rat2" / "no_pain" / "IMG_0010.png", 40)
    _copy(root / "Jane Doe" / "pain" / "IMG_0007.png", root / "rat2" / "pain" / "x.png")
    _copy(root / "Jane Doe" / "pain" / "IMG_0008.png", root / "Jane Doe" / "pain" / "y.png")
    # Same size, other bytes: found by the size sieve, told apart by the hash.
    _bmp(root / "rat2" / "pain" / "a.bmp", 50)
    _bmp(root / "rat2" / "no_pain" / "b.bmp", 60)
    return load_folder(root)


def test_find_duplicates_matches_hashlib_over_the_files(filed_twice):
    ds = filed_twice
    want = _groups_by_hashlib(ds)
    got = find_duplicates(ds)
    assert list(got.columns) == ["group", "row", "subject", "label", "image", "sha256"]
    got_groups = {d: sorted(g["row"]) for d, g in got.groupby("sha256")}
    assert got_groups == want and len(want) == 2
    assert got["subject"].tolist() == ds.subjects[got["row"]].tolist()
    assert got["image"].tolist() == ds.frame["image"].iloc[got["row"]].tolist()
    # Groups are numbered by their first row.
    firsts = got.groupby("group")["row"].min()
    assert firsts.is_monotonic_increasing


def test_find_duplicates_in_memory_matches_the_pixels():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 6, 6, 3), dtype=np.uint8)
    images[5] = images[1]
    images[6] = images[1]
    images[3] = images[2]
    images[4] = np.roll(images[2], 1)  # same pixel sum, other pixels
    frame = pd.DataFrame({"label": [0, 1, 0, 1, 0, 1, 0], "subject": list("aabbccd")})
    ds = Dataset(frame, images=images)
    by_pixels = defaultdict(list)
    for i, im in enumerate(images):
        by_pixels[im.tobytes()].append(i)
    want = sorted(rows for rows in by_pixels.values() if len(rows) > 1)
    got = find_duplicates(ds)
    assert sorted(sorted(g["row"]) for _, g in got.groupby("group")) == want
    expected_digests = {hashlib.sha256(images[i].tobytes()).hexdigest() for i in (1, 2)}
    assert set(got["sha256"]) == expected_digests


def test_find_duplicates_of_distinct_images_is_empty(tmp_path):
    for i in range(4):
        _png(tmp_path / f"s{i}" / "pain" / f"{i}.png", 10 * i)
    got = find_duplicates(load_folder(tmp_path))
    assert got.empty and list(got.columns)[:2] == ["group", "row"]


def test_check_refuses_copies_under_two_subjects_naming_rows_only(filed_twice):
    ds = filed_twice
    leak = next(
        rows for rows in _groups_by_hashlib(ds).values() if len(set(ds.subjects[rows])) > 1
    )
    with pytest.raises(ValueError) as err:
        ds.check(where="data 'clinic'")
    message = str(err.value)
    assert message.startswith("data 'clinic': 1 image(s) are stored as separate copies")
    assert f"rows {leak[0]} and {leak[1]} (counting from 0)" in message
    assert "Remove one copy or give the copies one subject" in message
    assert "find_duplicates" in message and "duplicates: warn" in message
    for private in ("Jane", "Doe", "IMG_0007", "rat2"):
        assert private not in message
    with pytest.warns(UserWarning, match="separate copies"):
        assert ds.check(duplicates="warn") is ds
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds.check(duplicates="ignore")


def test_copies_within_one_subject_are_allowed(tmp_path):
    _png(tmp_path / "s1" / "pain" / "a.png", 10)
    _copy(tmp_path / "s1" / "pain" / "a.png", tmp_path / "s1" / "no_pain" / "b.png")
    _png(tmp_path / "s2" / "pain" / "c.png", 20)
    ds = load_folder(tmp_path)
    assert len(find_duplicates(ds)) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ds.check() is ds


def test_check_refuses_identical_pixels_under_two_subjects():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (4, 6, 6, 3), dtype=np.uint8)
    images[3] = images[0]
    frame = pd.DataFrame({"label": [0, 1, 0, 1], "subject": ["a", "a", "b", "b"]})
    with pytest.raises(ValueError, match=r"separate copies.*rows 0 and 3"):
        Dataset(frame, images=images).check()
