"""Face-frame warping with hand-made keypoints, and global heat maps end to end."""

import numpy as np
import pandas as pd
import pytest

from painzoo.datasets import Dataset
from painzoo.explain import global_heatmap, warp_to_face_frame
from painzoo.explain.global_maps import CANONICAL_TEMPLATE, KEYPOINT_COLUMNS, face_frame_transform

SIZE = 64
TEMPLATE = CANONICAL_TEMPLATE * SIZE / 112


def _similarity(angle_deg, scale, tx, ty):
    a = np.deg2rad(angle_deg)
    return np.array(
        [[scale * np.cos(a), -scale * np.sin(a), tx], [scale * np.sin(a), scale * np.cos(a), ty]]
    )


def _apply(m, pts):
    pts = np.asarray(pts, float)
    return pts @ m[:, :2].T + m[:, 2]


def _blob(shape, centre, sigma=2.0):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return np.exp(-((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / (2 * sigma**2))


def test_transform_recovers_a_known_similarity():
    # Image = frame seen through a known similarity; the estimated transform is its inverse.
    frame_to_image = _similarity(25, 1.6, 12, -4)
    keypoints = _apply(frame_to_image, TEMPLATE)
    m = face_frame_transform(keypoints, size=SIZE)
    np.testing.assert_allclose(_apply(m, keypoints), TEMPLATE, atol=1e-6)
    inv = np.linalg.inv(np.vstack([frame_to_image, [0, 0, 1]]))[:2]
    np.testing.assert_allclose(m, inv, atol=1e-6)


def test_blob_moves_to_the_expected_place():
    frame_to_image = _similarity(-30, 1.4, 40, 10)
    keypoints = _apply(frame_to_image, TEMPLATE)
    target = np.array([20.0, 42.0])  # where the blob belongs in the face frame
    blob_in_image = _apply(frame_to_image, target[None])[0]
    heat = _blob((120, 130), blob_in_image, sigma=3.0)
    warped, coverage = warp_to_face_frame(heat, keypoints, size=SIZE)
    y, x = np.unravel_index(np.argmax(warped), warped.shape)
    assert abs(x - target[0]) <= 1 and abs(y - target[1]) <= 1
    assert coverage.shape == (SIZE, SIZE) and coverage.max() == pytest.approx(1.0)


def test_without_keypoints_the_crop_is_resized():
    heat = _blob((32, 48), (24, 8))
    warped, coverage = warp_to_face_frame(heat, None, size=SIZE)
    y, x = np.unravel_index(np.argmax(warped), warped.shape)
    assert abs(x - 24 * SIZE / 48) <= 1.5 and abs(y - 8 * SIZE / 32) <= 1.5
    assert coverage.min() > 0.99


def _max_brightness_model(x):
    # P(pain) rises with the brightest pixel: only the bright spot matters.
    peak = np.asarray(x, float).max(axis=(1, 2, 3))
    p = 1 / (1 + np.exp(-(peak - 150) / 10))
    return np.stack([1 - p, p], axis=1)


@pytest.fixture
def shifted_faces():
    """Four 64 px 'faces' translated by different offsets, a bright spot on the nose."""
    rng = np.random.default_rng(0)
    shifts = [(-6, -4), (5, 3), (0, 7), (-3, 0)]
    images, rows = [], []
    nose = TEMPLATE[2]
    for i, (dx, dy) in enumerate(shifts):
        im = rng.integers(20, 60, (SIZE, SIZE, 3)).astype(np.uint8)
        cx, cy = int(round(nose[0] + dx)), int(round(nose[1] + dy))
        im[cy - 2 : cy + 2, cx - 2 : cx + 2] = 255
        kps = TEMPLATE + np.array([dx, dy])
        row = {"label": 1, "subject": f"s{i}", "source": "test"}
        for (cx_, cy_), p in zip(KEYPOINT_COLUMNS, kps):
            row[cx_], row[cy_] = p
        images.append(im)
        rows.append(row)
    return Dataset(pd.DataFrame(rows), images=np.stack(images), name="shifted")


def test_global_lime_map_peaks_on_the_aligned_spot(shifted_faces, tmp_path):
    g = global_heatmap(
        _max_brightness_model,
        shifted_faces,
        method="lime",
        by="label",
        out=tmp_path,
        size=SIZE,
        num_samples=150,
        segmenter="grid",
    )
    assert list(g.maps) == [1] and g.counts == {1: 4} and g.aligned == {1: 4}
    y, x = np.unravel_index(np.argmax(g.maps[1]), g.maps[1].shape)
    nose = TEMPLATE[2]
    assert abs(x - nose[0]) <= 8 and abs(y - nose[1]) <= 8  # within one 8 px LIME cell
    assert g.mean_faces[1].shape == (SIZE, SIZE, 3) and g.mean_faces[1].dtype == np.uint8
    assert g.paths[1].name == "global_lime_label-1.png" and g.paths[1].is_file()


def test_groups_and_crop_frame_fallback(shifted_faces):
    frame = shifted_faces.frame.drop(columns=[c for pair in KEYPOINT_COLUMNS for c in pair])
    frame["label"] = [0, 1, 0, 1]
    ds = Dataset(frame, images=shifted_faces.images)
    g = global_heatmap(
        _max_brightness_model, ds, method="lime", size=32, num_samples=50, segmenter="grid"
    )
    assert sorted(g.maps) == [0, 1] and g.counts == {0: 2, 1: 2} and g.aligned == {0: 0, 1: 0}
    assert g.maps[0].shape == (32, 32)
    with pytest.raises(ValueError, match="not a column"):
        global_heatmap(_max_brightness_model, ds, by="pose")
    with pytest.raises(ValueError, match="method"):
        global_heatmap(_max_brightness_model, ds, method="shap")


def test_defaults_explain_the_prediction_with_lime_s_sample_count(shifted_faces, monkeypatch):
    # global_heatmap used to explain the true label with 500 samples, where
    # lime_explanation explains the top class with 1,000.
    import inspect

    from painzoo.explain import global_maps
    from painzoo.explain.lime import lime_explanation

    local_default = inspect.signature(global_maps.local_heatmaps).parameters["num_samples"]
    calls = []

    def fake_local_heatmaps(model, images, method, **kwargs):
        calls.append(kwargs)
        return np.zeros(images.shape[:3], np.float32)

    monkeypatch.setattr(global_maps, "local_heatmaps", fake_local_heatmaps)
    global_heatmap(_max_brightness_model, shifted_faces, method="lime", size=32)
    lime_default = inspect.signature(lime_explanation).parameters["num_samples"].default
    assert calls[0]["labels"] is None  # None = the model's top class, as lime_explanation
    assert inspect.signature(lime_explanation).parameters["label"].default is None
    assert calls[0]["num_samples"] == lime_default == 1000
    assert local_default.default == 1000
    calls.clear()
    global_heatmap(_max_brightness_model, shifted_faces, method="lime", size=32, explain="label")
    np.testing.assert_array_equal(calls[0]["labels"], shifted_faces.labels)
