"""The device-resident pipeline gives the same batches and augmentation statistics as the host one.

The batched augmenter is plain ``keras.ops``, so these tests call it on every
backend (TensorFlow included); ``make_input`` picks it by itself on JAX and
PyTorch and is asked for it explicitly (``device_resident=True``) here.
"""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pandas as pd
import pytest
from scipy import ndimage, stats

from painzoo.datasets import Dataset
from painzoo.datasets.io import resize_image
from painzoo.training import get_augmentation, make_input
from painzoo.training.augment import OWN_PRESETS, PRESETS, AugmentSpec
from painzoo.training.device_input import BatchAugmenter, DevicePipeline
from painzoo.training.pipeline import _ArrayPipeline

pytestmark = pytest.mark.backend

BACKEND = keras.backend.backend()


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _batches(pipe):
    return [tuple(_np(t) for t in pipe[i]) for i in range(len(pipe))]


def _host_augment(aug, images):
    """The per-image host path: the preset's Keras layers, one image at a time."""
    out = [np.clip(_np(aug(im.astype(np.float32))), 0, 255) for im in images]
    return np.stack(out)


def _coordinate_images(n, size):
    """uint8 images whose R channel is 8·row and G channel 8·column (B noise)."""
    r = np.arange(size)[:, None] * 8 * np.ones((1, size))
    g = np.arange(size)[None, :] * 8 * np.ones((size, 1))
    b = np.random.default_rng(1).integers(0, 256, (n, size, size))
    base = np.stack([np.broadcast_to(r, (n, size, size)), np.broadcast_to(g, (n, size, size)), b])
    return np.moveaxis(base, 0, -1).astype(np.uint8)


def _crop_parameters(out):
    """Recover (dy, dx, flipped) of each crop of :func:`_coordinate_images`."""
    dy = out[:, 0, 0, 0] / 8
    flipped = out[:, 0, 0, 1] > out[:, 0, -1, 1]
    dx = out[:, 0, :, 1].min(axis=1) / 8
    return dy.round().astype(int), dx.round().astype(int), flipped


def test_no_augmentation_batches_equal_the_resized_uint8_images():
    images = np.random.default_rng(0).integers(0, 256, (7, 30, 26, 3), dtype=np.uint8)
    ds = Dataset(
        pd.DataFrame({"label": [0, 1, 1, 0, 1, 0, 0], "subject": list("abcdefg")}), images=images
    )
    pipe = make_input(ds, image_size=(20, 18), batch_size=3, device_resident=True)
    assert isinstance(pipe, DevicePipeline)
    batches = _batches(pipe)
    assert [len(b[0]) for b in batches] == [3, 3, 1]
    x = np.concatenate([b[0] for b in batches])
    expected = np.stack([resize_image(im, (20, 18)) for im in images]).astype(np.float32)
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x, expected)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), ds.labels)
    # uint8 on the device, one tensor: 7 images × 20 × 18 × 3 bytes
    assert pipe.nbytes == 7 * 20 * 18 * 3
    assert keras.backend.standardize_dtype(pipe.images.dtype) == "uint8"


def test_auto_uses_the_device_path_on_jax_and_torch_only(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
    ds = Dataset(pd.DataFrame({"label": [0, 1, 1, 0], "subject": list("abcd")}), images=images)
    for augment in (None, "p1", "p2"):
        pipe = make_input(ds, image_size=12, batch_size=2, augment=augment, device_resident="auto")
        assert isinstance(pipe, DevicePipeline) == (BACKEND != "tensorflow")
        # "auto" is the default
        default = make_input(ds, image_size=12, batch_size=2, augment=augment)
        assert isinstance(default, DevicePipeline) == (BACKEND != "tensorflow")
    # custom layers keep the host pipeline; forcing the device path names the problem
    custom = keras.layers.RandomZoom(0.1)
    if BACKEND != "tensorflow":
        assert isinstance(
            make_input(ds, image_size=12, batch_size=2, augment=custom, device_resident="auto"),
            _ArrayPipeline,
        )
    with pytest.raises(ValueError, match="named preset"):
        make_input(ds, image_size=12, batch_size=2, augment=custom, device_resident=True)
    assert not isinstance(
        make_input(ds, image_size=12, batch_size=2, device_resident=False), DevicePipeline
    )
    with pytest.raises(ValueError, match="device_resident"):
        make_input(ds, image_size=12, batch_size=2, device_resident="yes")


def test_memory_guard_falls_back_to_streaming_with_a_warning(monkeypatch):
    images = np.zeros((64, 32, 32, 3), np.uint8)
    ds = Dataset(pd.DataFrame({"label": [0, 1] * 32, "subject": ["s"] * 64}), images=images)
    # 64 × 32 × 32 × 3 = 196,608 bytes; a 0.0001 GiB budget (107,374 bytes) is too small
    monkeypatch.setenv("PAINZOO_DEVICE_INPUT_MAX_GIB", "0.0001")
    with pytest.warns(UserWarning, match="over the device-resident budget"):
        pipe = make_input(ds, image_size=32, batch_size=8, device_resident=True)
    assert not isinstance(pipe, DevicePipeline)
    monkeypatch.setenv("PAINZOO_DEVICE_INPUT_MAX_GIB", "0.001")  # 1,073,741 bytes: fits
    assert isinstance(
        make_input(ds, image_size=32, batch_size=8, device_resident=True), DevicePipeline
    )
    monkeypatch.setenv("PAINZOO_DEVICE_INPUT_MAX_GIB", "lots")
    with pytest.raises(ValueError, match="PAINZOO_DEVICE_INPUT_MAX_GIB"):
        make_input(ds, image_size=32, batch_size=8, device_resident=True)


def test_crop_and_flip_are_exact_numpy_crops_for_known_offsets():
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 36, 3), dtype=np.uint8)
    aug = BatchAugmenter(PRESETS["p1"], (28, 30), (32, 36), seed=0)
    dy, dx = np.array([0, 4, 2, 4]), np.array([0, 6, 3, 1])
    flip = np.array([False, True, True, False])
    params = {
        "dy": keras.ops.convert_to_tensor(dy, "int32"),
        "dx": keras.ops.convert_to_tensor(dx, "int32"),
        "flip": keras.ops.convert_to_tensor(flip),
    }
    out = _np(aug(keras.ops.convert_to_tensor(images), params))
    for i in range(4):
        crop = images[i, dy[i] : dy[i] + 28, dx[i] : dx[i] + 30].astype(np.float32)
        np.testing.assert_array_equal(out[i], crop[:, ::-1] if flip[i] else crop)


def test_flip_preset_returns_each_image_or_its_mirror():
    images = np.random.default_rng(2).integers(0, 256, (40, 12, 14, 3), dtype=np.uint8)
    aug = BatchAugmenter(OWN_PRESETS["flip"], (12, 14), (12, 14), seed=3)
    out = _np(aug(keras.ops.convert_to_tensor(images)))
    im = images.astype(np.float32)
    mirrored = np.array([np.array_equal(o, i[:, ::-1]) for o, i in zip(out, im)])
    same = np.array([np.array_equal(o, i) for o, i in zip(out, im)])
    assert np.all(same | mirrored) and 0 < mirrored.sum() < len(out)


def test_rotation_matches_scipy_bilinear_reflect_sampling():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 24, 20, 3), dtype=np.uint8)
    spec = AugmentSpec(rotation_degrees=10.0, rotation_fill="reflect")
    aug = BatchAugmenter(spec, (24, 20), (24, 20), seed=0)
    angles = np.array([7.5, -9.0, 90.0], np.float32)
    out = _np(
        aug(keras.ops.convert_to_tensor(images), {"angle": keras.ops.convert_to_tensor(angles)})
    )
    # keras.layers.RandomRotation's matrix: output (x, y) reads the input at
    # (cos·(x−cx) − sin·(y−cy) + cx, sin·(x−cx) + cos·(y−cy) + cy)
    cy, cx = (24 - 1) / 2, (20 - 1) / 2
    y, x = np.mgrid[0:24, 0:20].astype(np.float64)
    for i, deg in enumerate(angles[:2]):
        t = np.deg2rad(deg)
        sx = np.cos(t) * (x - cx) - np.sin(t) * (y - cy) + cx
        sy = np.sin(t) * (x - cx) + np.cos(t) * (y - cy) + cy
        inside = (sx >= 0) & (sx <= 19) & (sy >= 0) & (sy <= 23)
        for c in range(3):
            ref = ndimage.map_coordinates(
                images[i, :, :, c].astype(np.float64), [sy, sx], order=1, mode="reflect"
            )
            np.testing.assert_allclose(out[i, :, :, c][inside], ref[inside], atol=1e-2)
        assert (~inside).sum() > 10  # the reflect border is exercised by the next test
    # a quarter turn of a square centre is an exact permutation of pixels
    sq = rng.integers(0, 256, (1, 16, 16, 3), dtype=np.uint8)
    aug_sq = BatchAugmenter(spec, (16, 16), (16, 16), seed=0)
    turned = _np(
        aug_sq(keras.ops.convert_to_tensor(sq), {"angle": keras.ops.convert_to_tensor([90.0])})
    )
    np.testing.assert_allclose(turned[0], np.rot90(sq[0], k=1, axes=(0, 1))[:, :, :], atol=1e-2)


def test_reflect_fill_matches_keras_affine_transform_at_the_border():
    """Outside the image the rotation reads the mirrored image, like RandomRotation's fill."""
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (2, 18, 18, 3), dtype=np.uint8)
    spec = AugmentSpec(rotation_degrees=10.0)
    aug = BatchAugmenter(spec, (18, 18), (18, 18), seed=0)
    angles = np.array([10.0, -8.0], np.float32)
    out = _np(
        aug(keras.ops.convert_to_tensor(images), {"angle": keras.ops.convert_to_tensor(angles)})
    )
    c = (18 - 1) / 2
    t = np.deg2rad(angles)
    cos, sin = np.cos(t), np.sin(t)
    transform = np.stack(
        [cos, -sin, c - c * cos + c * sin, sin, cos, c - c * sin - c * cos, 0 * t, 0 * t], axis=1
    ).astype(np.float32)
    ref = _np(
        keras.ops.image.affine_transform(
            keras.ops.convert_to_tensor(images.astype(np.float32)),
            keras.ops.convert_to_tensor(transform),
            interpolation="bilinear",
            fill_mode="reflect",
        )
    )
    # bilinear near the edge differs only in sub-pixel detail between implementations
    assert np.abs(out - ref).mean() < 0.5
    assert np.quantile(np.abs(out - ref), 0.99) < 8.0


@pytest.mark.slow  # hundreds of images through the per-image Keras layers
def test_p1_crop_offsets_and_flips_have_the_host_distribution():
    n, size, out_size = 300, 32, 28  # p1 loads 32 for 28
    images = _coordinate_images(n, size)
    host = _host_augment(get_augmentation("p1", out_size, seed=5), images)
    aug = BatchAugmenter(PRESETS["p1"], (out_size, out_size), (size, size), seed=5)
    dev = np.concatenate(
        [_np(aug(keras.ops.convert_to_tensor(images[i : i + 50]))) for i in range(0, n, 50)]
    )
    assert dev.shape == host.shape == (n, out_size, out_size, 3)
    for out in (host, dev):
        dy, dx, flipped = _crop_parameters(out)
        assert dy.min() >= 0 and dy.max() <= size - out_size
        # offsets uniform over {0, …, 4}: chi-square against equal counts
        for d in (dy, dx):
            counts = np.bincount(d, minlength=5)
            assert stats.chisquare(counts).pvalue > 0.01, counts
        assert stats.binomtest(int(flipped.sum()), n, 0.5).pvalue > 0.01
    # and the two paths agree with each other
    h_dy, h_dx, h_f = _crop_parameters(host)
    d_dy, d_dx, d_f = _crop_parameters(dev)
    table = np.array([np.bincount(h_dy, minlength=5), np.bincount(d_dy, minlength=5)])
    assert stats.chi2_contingency(table).pvalue > 0.01
    table = np.array([np.bincount(h_dx, minlength=5), np.bincount(d_dx, minlength=5)])
    assert stats.chi2_contingency(table).pvalue > 0.01
    # every device output is exactly a crop of its image (B channel = noise)
    dy, dx, flipped = d_dy, d_dx, d_f
    for i in range(0, n, 37):
        crop = images[i, dy[i] : dy[i] + out_size, dx[i] : dx[i] + out_size].astype(np.float32)
        np.testing.assert_array_equal(dev[i], crop[:, ::-1] if flipped[i] else crop)


def _ramp_images(n, size):
    """A linear ramp along x: rotating it turns its gradient by the rotation angle."""
    x = np.arange(size) - (size - 1) / 2
    ramp = 128 + 6 * x[None, :] * np.ones((size, 1))
    return np.broadcast_to(ramp[None, :, :, None], (n, size, size, 3)).astype(np.uint8)


def _ramp_angles(out):
    """Angle (degrees) of each output's fitted intensity gradient, from the central disc."""
    size = out.shape[1]
    y, x = np.mgrid[0:size, 0:size] - (size - 1) / 2
    disc = x**2 + y**2 < (size / 2 - 3) ** 2
    design = np.stack([x[disc], y[disc], np.ones(disc.sum())], axis=1)
    coef, *_ = np.linalg.lstsq(design, out[:, :, :, 0][:, disc].T, rcond=None)
    gx, gy = coef[0], coef[1]
    return np.degrees(np.arctan2(gy, np.abs(gx))) * np.sign(gx)


@pytest.mark.slow  # hundreds of images through the per-image Keras layers
def test_rotation_angles_have_the_host_distribution():
    n, size = 200, 32
    spec = AugmentSpec(rotation_degrees=10.0, rotation_fill="reflect")
    from painzoo.training.augment import _from_spec

    images = _ramp_images(n, size)
    host = _host_augment(_from_spec(spec, (size, size), 11, "rot"), images)
    aug = BatchAugmenter(spec, (size, size), (size, size), seed=11)
    dev = np.concatenate(
        [_np(aug(keras.ops.convert_to_tensor(images[i : i + 50]))) for i in range(0, n, 50)]
    )
    h_angles, d_angles = _ramp_angles(host), _ramp_angles(dev)
    for a in (h_angles, d_angles):
        assert np.abs(a).max() < 10.5
        assert stats.kstest(np.abs(a), stats.uniform(0, 10).cdf).pvalue > 0.01
    # the signed angles (same rotation direction) agree between the paths
    assert stats.ks_2samp(h_angles, d_angles).pvalue > 0.01


@pytest.mark.slow  # hundreds of images through the per-image Keras layers
def test_contrast_factors_are_uniform_over_the_preset_range_on_both_paths():
    """P2's contrast is ±0.2: factors in [0.8, 1.2] (Keras alone would draw [1, 1.2])."""
    from painzoo.training.augment import _from_spec

    n, size = 300, 16
    spec = AugmentSpec(contrast=PRESETS["p2"].contrast)
    noise = np.random.default_rng(4).normal(0, 15, (n, size, size, 3))
    images = np.clip(128 + noise, 0, 255).astype(np.uint8)  # far from 0 and 255: no clipping
    host = _host_augment(_from_spec(spec, (size, size), 9, "contrast"), images)
    aug = BatchAugmenter(spec, (size, size), (size, size), seed=9)
    dev = _np(aug(keras.ops.convert_to_tensor(images)))
    c = PRESETS["p2"].contrast
    for out in (host, dev):
        # (x − mean)·f + mean keeps each channel's mean and scales its spread by f
        np.testing.assert_allclose(out.mean(axis=(1, 2)), images.mean(axis=(1, 2)), atol=1e-3)
        factor = out.std(axis=(1, 2, 3)) / images.std(axis=(1, 2, 3))
        assert factor.min() >= 1 - c - 1e-4 and factor.max() <= 1 + c + 1e-4
        assert stats.kstest(factor, stats.uniform(1 - c, 2 * c).cdf).pvalue > 0.01


@pytest.mark.slow  # hundreds of images through the per-image Keras layers
def test_p2_output_statistics_match_the_host_path():
    n, size = 300, 24
    rng = np.random.default_rng(2)
    small = rng.random((n, 6, 6, 3))
    images = np.stack([resize_image((s * 255).astype(np.uint8), (size, size)) for s in small])
    host = _host_augment(get_augmentation("p2", size, seed=3), images)
    aug = BatchAugmenter(PRESETS["p2"], (size, size), (size, size), seed=3)
    dev = np.concatenate(
        [_np(aug(keras.ops.convert_to_tensor(images[i : i + 50]))) for i in range(0, n, 50)]
    )
    assert dev.min() >= 0 and dev.max() <= 255
    ratio_h = host.std(axis=(1, 2, 3)) / images.std(axis=(1, 2, 3))
    ratio_d = dev.std(axis=(1, 2, 3)) / images.std(axis=(1, 2, 3))
    assert stats.ks_2samp(ratio_h, ratio_d).pvalue > 0.01
    assert ratio_d.min() < 0.85 and ratio_d.max() > 1.1  # contrast both lowered and raised
    mean_h, mean_d = host.mean(axis=(1, 2, 3)), dev.mean(axis=(1, 2, 3))
    assert (
        stats.ks_2samp(
            mean_h - images.mean(axis=(1, 2, 3)), mean_d - images.mean(axis=(1, 2, 3))
        ).pvalue
        > 0.01
    )
    # mirrored or not, rotated by at most 10°: each output stays close to its image
    err_h = np.minimum(
        np.abs(host - images).mean(axis=(1, 2, 3)),
        np.abs(host - images[:, :, ::-1]).mean(axis=(1, 2, 3)),
    )
    err_d = np.minimum(
        np.abs(dev - images).mean(axis=(1, 2, 3)),
        np.abs(dev - images[:, :, ::-1]).mean(axis=(1, 2, 3)),
    )
    assert stats.ks_2samp(err_h, err_d).pvalue > 0.01


def test_same_seed_same_batches_other_seed_other_batches():
    images = np.random.default_rng(0).integers(0, 256, (10, 20, 20, 3), dtype=np.uint8)
    ds = Dataset(pd.DataFrame({"label": [0, 1] * 5, "subject": list("abcdefghij")}), images=images)

    def run(seed):
        pipe = make_input(
            ds,
            image_size=16,
            batch_size=4,
            augment="p2",
            shuffle=True,
            seed=seed,
            device_resident=True,
        )
        first = _batches(pipe)
        pipe.on_epoch_end()
        return first + _batches(pipe)

    a, b, c = run(7), run(7), run(8)
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert any(not np.array_equal(xa, xc) for (xa, _), (xc, _) in zip(a, c))


def test_labels_stay_with_their_images_after_shuffling():
    n = 40
    images = np.broadcast_to(
        np.arange(n, dtype=np.uint8)[:, None, None, None] * 5, (n, 12, 12, 3)
    ).copy()
    ds = Dataset(pd.DataFrame({"label": np.arange(n), "subject": ["s"] * n}), images=images)
    pipe = make_input(
        ds,
        image_size=10,
        batch_size=6,
        augment="p1",
        shuffle=True,
        seed=1,
        num_classes=n,
        device_resident=True,
    )
    orders = []
    for _ in range(2):
        x = np.concatenate([b[0] for b in _batches(pipe)])
        y = np.concatenate([b[1] for b in _batches(pipe)])
        np.testing.assert_array_equal(x[:, 0, 0, 0], y * 5.0)  # image i carries value 5·i
        assert np.all(x == x[:, :1, :1, :1])
        assert sorted(y.tolist()) == list(range(n))
        orders.append(y.tolist())
        pipe.on_epoch_end()
    assert orders[0] != list(range(n)) and orders[0] != orders[1]


def test_one_hot_labels_and_drop_remainder():
    images = np.zeros((7, 8, 8, 3), np.uint8)
    ds = Dataset(
        pd.DataFrame({"label": [0, 1, 1, 0, 1, 0, 1], "subject": list("abcdefg")}), images=images
    )
    pipe = make_input(
        ds, image_size=8, batch_size=3, labels="onehot", drop_remainder=True, device_resident=True
    )
    batches = _batches(pipe)
    assert len(batches) == 2
    np.testing.assert_array_equal(
        np.concatenate([b[1] for b in batches]), np.eye(2, dtype=np.float32)[ds.labels[:6]]
    )


@pytest.mark.parametrize("augment", [None, "p1", "p2"])
def test_model_fit_through_the_device_pipeline(tmp_path, augment):
    images = np.random.default_rng(0).integers(0, 256, (12, 20, 20, 3), dtype=np.uint8)
    ds = Dataset(pd.DataFrame({"label": [0, 1] * 6, "subject": ["s"] * 12}), images=images)
    pipe = make_input(
        ds, image_size=16, batch_size=4, augment=augment, shuffle=True, device_resident=True
    )
    assert isinstance(pipe, DevicePipeline)
    inputs = keras.Input((16, 16, 3))
    h = keras.layers.Rescaling(1 / 255.0)(inputs)
    h = keras.layers.Conv2D(4, 3, activation="relu")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(h))
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(pipe, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    probs = model.predict(
        make_input(ds, image_size=16, batch_size=5, device_resident=True), verbose=0
    )
    assert probs.shape == (12, 2)


@pytest.mark.slow
@pytest.mark.skipif(
    BACKEND == "tensorflow", reason="checks running without TensorFlow on JAX/PyTorch"
)
def test_import_and_training_work_without_tensorflow(tmp_path):
    """The GPU machines have no TensorFlow: painzoo must import and train without it."""
    script = textwrap.dedent(
        """
        import sys
        sys.modules["tensorflow"] = None  # as if not installed: import raises, find_spec is None
        import numpy as np, pandas as pd
        import painzoo
        from painzoo.datasets import Dataset
        from painzoo.training.recipe import Recipe
        from painzoo.training.device_input import DevicePipeline
        from painzoo.training import make_input
        images = np.random.default_rng(0).integers(0, 256, (8, 20, 20, 3), dtype=np.uint8)
        ds = Dataset(pd.DataFrame({"label": [0, 1] * 4, "subject": list("abcdefgh")}), images=images)
        assert isinstance(make_input(ds, image_size=16, batch_size=4, augment="p1"), DevicePipeline)
        recipe = Recipe(epochs=1, batch_size=4, augment="p2", learning_rate=1e-3)
        model = painzoo.get_model("songnet", input_shape=(16, 16, 3))
        recipe.fit(model, ds)
        p = recipe.predict(model, ds)
        assert p.shape == (8,) and np.isfinite(p).all()
        assert "tensorflow" not in {m.split(".")[0] for m in sys.modules if sys.modules[m] is not None}
        print("ok")
        """
    )
    env = {**os.environ, "KERAS_BACKEND": BACKEND}
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=os.getcwd(),
    )
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]
