"""LBP + linear-SVM baselines (P1 Table 3) against independent computations."""

import numpy as np
import pytest
from skimage.feature import local_binary_pattern
from sklearn.model_selection import cross_val_score
from sklearn.svm import SVC, LinearSVC

import painzoo
from painzoo.models.lbp_svm import (
    LBPSVM,
    get_baseline,
    lbp_histograms,
    list_baselines,
)


def _reference_grid_hist(gray, grid):
    """Cell histograms built with np.histogram and np.ix_ (independent bookkeeping)."""
    h, w = gray.shape
    codes = local_binary_pattern(gray, 8, 1, method="nri_uniform").astype(int)
    rows = np.array_split(np.arange(h), grid)
    cols = np.array_split(np.arange(w), grid)
    feats = []
    for r in rows:
        for c in cols:
            cell = codes[np.ix_(r, c)].ravel()
            feats.append(np.histogram(cell, bins=59, range=(0, 59))[0] / cell.size)
    return np.concatenate(feats)


def test_uniform_lbp_has_59_codes_for_p8(rng):
    gray = rng.integers(0, 256, (40, 40), dtype=np.uint8)
    codes = local_binary_pattern(gray, 8, 1, method="nri_uniform")
    assert codes.min() >= 0 and codes.max() <= 58
    # 58 uniform patterns: 0 and 255 plus 8 rotations of each run length 1..7.
    uniform = [
        v
        for v in range(256)
        if sum(((v >> i) & 1) != ((v >> ((i + 1) % 8)) & 1) for i in range(8)) <= 2
    ]
    assert len(uniform) == 58


@pytest.mark.parametrize("grid", [1, 4, 5])
def test_histograms_match_reference(rng, grid):
    images = rng.integers(0, 256, (3, 23, 29), dtype=np.uint8)
    feats = lbp_histograms(images, radius=1, points=8, grid=grid, norm="l1")
    assert feats.shape == (3, grid * grid * 59)
    for i in range(3):
        np.testing.assert_allclose(feats[i], _reference_grid_hist(images[i], grid), atol=1e-6)
    np.testing.assert_allclose(feats.reshape(3, grid * grid, 59).sum(-1), 1.0, atol=1e-5)


def test_rgb_is_converted_with_bt601_luma(rng):
    rgb = rng.integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    gray = np.clip(np.rint(rgb @ np.array([0.299, 0.587, 0.114])), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(lbp_histograms(rgb, 3, 8, 4), lbp_histograms(gray, 3, 8, 4))


def _reference_counts(gray, radius, grid):
    """Per-cell LBP code counts straight from skimage (no painzoo code)."""
    h, w = gray.shape
    codes = local_binary_pattern(gray, 8, radius, method="nri_uniform").astype(int)
    rows, cols = np.array_split(np.arange(h), grid), np.array_split(np.arange(w), grid)
    return np.stack(
        [np.bincount(codes[np.ix_(r, c)].ravel(), minlength=59) for r in rows for c in cols]
    ).astype(float)


@pytest.mark.parametrize("norm", ["counts", "l1", "l2"])
def test_histogram_scalings_match_reference(rng, norm):
    images = rng.integers(0, 256, (2, 26, 21), dtype=np.uint8)
    feats = lbp_histograms(images, radius=3, points=8, grid=3, norm=norm)
    for i in range(2):
        counts = _reference_counts(images[i], 3, 3)
        if norm == "l1":
            counts = counts / counts.sum(1, keepdims=True)
        elif norm == "l2":
            counts = counts / np.linalg.norm(counts, axis=1, keepdims=True)
        np.testing.assert_allclose(feats[i], counts.ravel(), rtol=1e-6)
    with pytest.raises(ValueError, match="norm"):
        lbp_histograms(images, norm="max")


def test_lbp_histograms_default_is_lbpsvms_raw_counts(rng):
    # One default scaling (painzoo's choice, P1 does not say): the function and the
    # estimator the benchmark trains agree, and it is the raw per-cell counts.
    images = rng.integers(0, 256, (2, 20, 24), dtype=np.uint8)
    counts = np.stack([_reference_counts(g, 1, 4).ravel() for g in images])
    np.testing.assert_array_equal(lbp_histograms(images), counts)
    np.testing.assert_array_equal(LBPSVM().transform(images), lbp_histograms(images))


def test_lbpsvm_is_p1s_kernel_svm_with_linear_kernel(rng):
    # P1: "the kernel function chosen for SVM is the linear kernel k(x, y) = xᵀy …
    # C = 1" — libsvm's SVC(kernel="linear", C=1), not liblinear's LinearSVC.
    x = rng.integers(0, 256, (30, 24, 24, 3), dtype=np.uint8)
    y = np.arange(30) % 2
    clf = LBPSVM(radius=1, grid=4).fit(x, y)
    assert isinstance(clf.svm_, SVC)
    assert (clf.svm_.kernel, clf.svm_.C) == ("linear", 1.0)
    gray = np.clip(np.rint(x @ np.array([0.299, 0.587, 0.114])), 0, 255).astype(np.uint8)
    counts = np.stack([_reference_counts(g, 1, 4) for g in gray])
    assert clf.norm == "counts"  # painzoo's default scaling (docs/evaluation.md)
    feats = counts.reshape(30, -1)
    ref = SVC(kernel="linear", C=1.0).fit(feats, y)
    np.testing.assert_allclose(clf.decision_function(x), ref.decision_function(feats), atol=1e-5)
    np.testing.assert_array_equal(clf.predict(x), ref.predict(feats))
    proba = clf.predict_proba(x)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_array_equal(proba[:, 1] > 0.5, clf.predict(x) == 1)


def test_linear_svc_variant_is_kept_by_name(rng):
    x = rng.integers(0, 256, (30, 24, 24, 3), dtype=np.uint8)
    y = np.arange(30) % 2
    clf = get_baseline("lbp_svm_r1p8_4x4", svm="linear_svc", norm="l1").fit(x, y)
    feats = lbp_histograms(x, 1, 8, 4, norm="l1")
    ref = LinearSVC(C=1.0, max_iter=5000, random_state=0).fit(feats, y)
    assert isinstance(clf.svm_, LinearSVC)
    np.testing.assert_allclose(clf.decision_function(x), ref.decision_function(feats), atol=1e-8)
    with pytest.raises(ValueError, match="svm"):
        LBPSVM(svm="rbf").fit(x, y)


def test_lbpsvm_learns_a_texture_difference(rng):
    smooth = np.repeat(np.linspace(0, 255, 32, dtype=np.uint8)[None, None, :, None], 3, -1)
    smooth = np.broadcast_to(smooth, (20, 32, 32, 3)).copy()
    noisy = rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    x = np.concatenate([smooth, noisy])
    y = np.r_[np.zeros(20, int), np.ones(20, int)]
    assert cross_val_score(get_baseline("lbp_svm_r1p8_4x4"), x, y, cv=4).mean() == 1.0


def test_registry_names():
    assert list_baselines() == sorted(
        f"lbp_svm_r{r}p8_{g}x{g}" for r in (1, 3) for g in (4, 8, 16)
    )
    clf = get_baseline("lbp_svm_r3p8_16x16", C=0.5)
    assert (clf.radius, clf.points, clf.grid, clf.C) == (3, 8, 16, 0.5)
    assert painzoo.model_info("lbp_svm_r2p8_6x6").kind == "sklearn"
    assert painzoo.model_info("resnet18").kind == "keras"
    with pytest.raises(ValueError, match="lbp_svm_r1p8_4x4"):
        get_baseline("lbp_r1")


def test_every_lbp_name_is_a_registry_model_of_kind_sklearn():
    info = painzoo.model_info("LBP_SVM_R2P16_7x7")
    assert (info.name, info.kind) == ("lbp_svm_r2p16_7x7", "sklearn")
    assert "R = 2, P = 16" in info.description and "7×7" in info.description
    assert info.name not in painzoo.list_models(kind=None)  # resolved by name, not listed
    clf = painzoo.get_model("lbp_svm_r2p16_7x7", C=0.5)
    assert isinstance(clf, LBPSVM)
    assert (clf.radius, clf.points, clf.grid, clf.C) == (2, 16, 7, 0.5)
    with pytest.raises(ValueError, match="binary"):
        painzoo.get_model("lbp_svm_r1p8_4x4", num_classes=3)
    with pytest.raises(ValueError, match="no pretrained weights"):
        painzoo.get_model("lbp_svm_r1p8_4x4", weights="imagenet")
    with pytest.raises(ValueError, match="Unknown model 'lbp_svm_r1p8_4x5'"):
        painzoo.model_info("lbp_svm_r1p8_4x5")
