"""make_input feeds model.fit with the same batches and augmentations on every backend."""

import os

import keras
import numpy as np
import pandas as pd
import pytest

from painzoo.datasets import Dataset
from painzoo.datasets.io import resize_image, write_image
from painzoo.training import get_augmentation, make_input


def _images(n=6, size=20, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def _disk_dataset(tmp_path, n=6, size=20):
    images = _images(n, size)
    rows = []
    for i, im in enumerate(images):
        write_image(tmp_path / f"{i}.png", im)
        rows.append({"image": f"{i}.png", "label": i % 2, "subject": f"s{i}"})
    return Dataset(pd.DataFrame(rows), root=tmp_path), images


def _batches(pipe):
    if hasattr(pipe, "as_numpy_iterator"):
        return list(pipe.as_numpy_iterator())
    return [pipe[i] for i in range(len(pipe))]


def test_batches_match_resized_images_and_labels(tmp_path):
    ds, images = _disk_dataset(tmp_path)
    batches = _batches(make_input(ds, image_size=16, batch_size=4))
    assert [len(b[0]) for b in batches] == [4, 2]
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    assert x.dtype == np.float32 and x.shape == (6, 16, 16, 3)
    expected = np.stack([resize_image(im, (16, 16)) for im in images]).astype(np.float32)
    np.testing.assert_array_equal(x, expected)
    np.testing.assert_array_equal(y, ds.labels)


def test_in_memory_onehot_and_rectangular_size():
    images = _images(5)
    ds = Dataset(pd.DataFrame({"label": [0, 1, 1, 0, 1], "subject": list("abcde")}), images=images)
    batches = _batches(make_input(ds, image_size=(12, 16), batch_size=5, labels="onehot"))
    x, y = batches[0]
    assert x.shape == (5, 12, 16, 3)
    np.testing.assert_array_equal(y, np.eye(2, dtype=np.float32)[ds.labels])
    np.testing.assert_array_equal(x, np.stack([resize_image(im, (12, 16)) for im in images]))


def test_shuffle_is_a_seeded_permutation(tmp_path):
    ds, images = _disk_dataset(tmp_path, n=8)
    ds.frame["label"] = 0
    ds = Dataset(ds.frame, root=tmp_path)

    def order(seed):
        x = np.concatenate(
            [
                b[0]
                for b in _batches(
                    make_input(ds, image_size=20, batch_size=3, shuffle=True, seed=seed)
                )
            ]
        )
        # identify each image by its pixels
        return [
            int(np.flatnonzero((images == im.astype(np.uint8)).all(axis=(1, 2, 3)))[0]) for im in x
        ]

    a, b = order(1), order(1)
    assert sorted(a) == list(range(8)) and a == b
    assert a != list(range(8))


def test_p1_is_a_random_crop_of_the_load_size_image_or_its_mirror(tmp_path):
    ds, images = _disk_dataset(tmp_path, n=4, size=40)
    aug = get_augmentation("p1", 28)
    assert aug.load_size == (32, 32)  # round(28 · 256/224)
    x = np.concatenate(
        [b[0] for b in _batches(make_input(ds, image_size=28, batch_size=4, augment="p1", seed=3))]
    )
    assert x.shape == (4, 28, 28, 3) and x.min() >= 0 and x.max() <= 255
    for im, out in zip(images, x):
        big = resize_image(im, (32, 32)).astype(np.float32)
        windows = [big[r : r + 28, c : c + 28] for r in range(5) for c in range(5)]
        windows += [w[:, ::-1] for w in windows]
        err = min(np.abs(w - out).max() for w in windows)
        assert err < 1.0


def test_p2_and_custom_augmentations(tmp_path):
    ds, images = _disk_dataset(tmp_path, n=4)
    x = np.concatenate(
        [b[0] for b in _batches(make_input(ds, image_size=20, batch_size=4, augment="p2"))]
    )
    assert x.shape == (4, 20, 20, 3) and x.min() >= 0 and x.max() <= 255
    assert not np.array_equal(x, images.astype(np.float32))
    inv = np.concatenate(
        [
            b[0]
            for b in _batches(
                make_input(ds, image_size=20, batch_size=4, augment=lambda im: 255.0 - im)
            )
        ]
    )
    np.testing.assert_allclose(inv, 255.0 - images.astype(np.float32))
    flip = keras.layers.RandomFlip("horizontal")
    out = np.concatenate(
        [b[0] for b in _batches(make_input(ds, image_size=20, batch_size=4, augment=flip))]
    )
    for im, o in zip(images.astype(np.float32), out):
        assert np.array_equal(o, im) or np.array_equal(o, im[:, ::-1])


def test_flip_mirrors_about_half_the_images_and_changes_nothing_else(tmp_path):
    ds, images = _disk_dataset(tmp_path, n=40)
    aug = get_augmentation("flip", 20, seed=1)
    assert aug.load_size is None and aug.spec.flip and not aug.spec.rotation_degrees
    x = np.concatenate(
        [b[0] for b in _batches(make_input(ds, image_size=20, batch_size=8, augment=aug))]
    )
    im = images.astype(np.float32)
    same = np.array([np.array_equal(o, i) for o, i in zip(x, im)])
    mirrored = np.array([np.array_equal(o, i[:, ::-1]) for o, i in zip(x, im)])
    assert np.all(same | mirrored)
    # both happen (P(40 draws all alike) = 2^-39)
    assert 0 < mirrored.sum() < len(x)


def test_bad_input_errors(tmp_path):
    ds, _ = _disk_dataset(tmp_path)
    with pytest.raises(ValueError, match="empty"):
        make_input(ds.subset([]), image_size=8, batch_size=2)
    with pytest.raises(ValueError, match="labels must be"):
        make_input(ds, image_size=8, batch_size=2, labels="soft")
    with pytest.raises(ValueError, match="Unknown augmentation"):
        make_input(ds, image_size=8, batch_size=2, augment="p3")
    with pytest.raises(ValueError, match="num_classes"):
        make_input(ds, image_size=8, batch_size=2, num_classes=1)
    (tmp_path / "3.png").write_bytes(b"garbage")
    with pytest.raises(Exception, match="3.png"):
        _batches(make_input(ds, image_size=8, batch_size=2))


@pytest.mark.backend
@pytest.mark.parametrize("augment", [None, "p1", "p2"])
def test_pipeline_feeds_model_fit(tmp_path, augment):
    ds, _ = _disk_dataset(tmp_path, n=8, size=24)
    inputs = keras.Input((16, 16, 3))
    h = keras.layers.Rescaling(1 / 255.0)(inputs)
    h = keras.layers.Conv2D(4, 3, activation="relu")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(h))
    model.compile("adam", "sparse_categorical_crossentropy")
    pipe = make_input(ds, image_size=16, batch_size=4, augment=augment, shuffle=True)
    history = model.fit(pipe, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    if keras.backend.backend() == "tensorflow":
        assert type(pipe).__module__.startswith("tensorflow")
    else:
        assert isinstance(pipe, keras.utils.PyDataset)


# -- test-time geometry (P1: resize 256, centre 224) -----------------------------------
def _square_image(side=256, square=112):
    """A grey image with a centred white square of a known side."""
    im = np.full((side, side, 3), 60, np.uint8)
    lo = (side - square) // 2
    im[lo : lo + square, lo : lo + square] = 255
    return im


@pytest.mark.backend
def test_test_resize_is_the_centre_crop_of_the_256_resize(tmp_path):
    # A 256-pixel image needs no resize at test_resize=256: the crop must be rows and
    # columns 16..239 exactly ((256 − 224) / 2 = 16 on each side).
    im = np.random.default_rng(3).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    ds = Dataset(pd.DataFrame({"label": [1], "subject": ["s"]}), images=im[None])
    x = _batches(make_input(ds, image_size=224, batch_size=1, test_resize=256))[0][0][0]
    np.testing.assert_array_equal(x, im[16:240, 16:240].astype(np.float32))
    # Files take the same path; at a 112 input the resize side scales to 128 (= 112·256/224).
    write_image(tmp_path / "a.png", im)
    disk = Dataset(
        pd.DataFrame({"image": ["a.png"], "label": [1], "subject": ["s"]}), root=tmp_path
    )
    y = _batches(make_input(disk, image_size=112, batch_size=1, test_resize=256))[0][0][0]
    np.testing.assert_array_equal(y, resize_image(im, (128, 128))[8:120, 8:120].astype(np.float32))


@pytest.mark.backend
def test_test_resize_shows_faces_at_their_training_size():
    # A 112-pixel square in a 256 image: P1's training crops keep it at 112 pixels; the
    # old test path (whole image → 224) shrank it to 98 = 112 · 224/256.
    ds = Dataset(pd.DataFrame({"label": [0], "subject": ["s"]}), images=_square_image()[None])
    crop = _batches(make_input(ds, image_size=224, batch_size=1, test_resize=256))[0][0][0]
    whole = _batches(make_input(ds, image_size=224, batch_size=1))[0][0][0]
    assert int((crop[112] == 255).all(-1).sum()) == 112
    assert int((whole[112] > 200).all(-1).sum()) in (97, 98, 99)


def test_recipe_uses_test_resize_for_prediction_only():
    from painzoo.preprocess.spec import center_crop, resize_before_crop, resolve_input_spec
    from painzoo.training import Recipe
    from painzoo.training.trainer import input_pipeline

    assert Recipe.preset("p1").test_resize is None and Recipe.preset("p2").test_resize is None
    assert resize_before_crop((224, 224), 256) == (256, 256)
    assert resize_before_crop((150, 64), 256) == (round(150 * 256 / 224), round(64 * 256 / 224))
    a = np.arange(7 * 9).reshape(7, 9, 1)
    np.testing.assert_array_equal(center_crop(a, (3, 4)), a[2:5, 2:6])
    with pytest.raises(ValueError, match="test_resize"):
        resize_before_crop((224, 224), 200)
    with pytest.raises(ValueError, match="test_resize"):  # before any training
        Recipe.preset("p1", test_resize=128)
    im = np.random.default_rng(4).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    ds = Dataset(pd.DataFrame({"label": [1], "subject": ["s"]}), images=im[None])
    recipe = Recipe.preset("p1", batch_size=1, test_resize=256)
    spec = resolve_input_spec(None, image_size=(224, 224), recipe=recipe)
    x = input_pipeline(recipe, ds, spec, augment=None, shuffle=False)
    np.testing.assert_array_equal(_batches(x)[0][0][0], im[16:240, 16:240].astype(np.float32))
    train = input_pipeline(recipe, ds, spec, augment="p1", shuffle=False)
    assert _batches(train)[0][0].shape == (1, 224, 224, 3)


def test_a_worker_thread_budget_bounds_the_input_threads(tmp_path, monkeypatch):
    """Benchmark workers set PAINZOO_THREADS: tf.data's pool and decoding threads follow it."""
    ds, images = _disk_dataset(tmp_path)
    free = make_input(ds, image_size=12, batch_size=3, device_resident=False, workers=4)
    monkeypatch.setenv("PAINZOO_THREADS", "1")
    bounded = make_input(ds, image_size=12, batch_size=3, device_resident=False, workers=4)
    if keras.backend.backend() == "tensorflow":
        assert bounded.options().threading.private_threadpool_size == 1
        assert free.options().threading.private_threadpool_size in (None, 0)
    else:
        assert bounded.workers == 1 and free.workers == 4
    # The same batches either way.
    for (xa, ya), (xb, yb) in zip(_batches(free), _batches(bounded), strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


@pytest.fixture
def backend_determinism_off():
    """Backend ops free to pick any order (as in ``Recipe.fit`` outside ``painzoo benchmark``)."""
    from painzoo.benchmark.units import enable_determinism

    was = os.environ.get("TF_DETERMINISTIC_OPS") == "1"
    enable_determinism(False)
    yield
    enable_determinism(was)


@pytest.mark.backend
@pytest.mark.parametrize("augment", ["p2", "painzoo"])
def test_one_seed_gives_the_same_augmented_batches_every_time(
    tmp_path, backend_determinism_off, augment
):
    """The random draws of an augmentation follow the data order, not thread timing.

    On TensorFlow the augmenting map ran on parallel threads that drew from one
    random state in whatever order they ran: two runs with one seed mirrored
    different images (about a third of 246 london-dev photographs per epoch).
    ``"painzoo"`` has no batched form: on PyTorch and JAX its batches are made
    by worker threads, which restart the layers' random state for each batch.
    """
    ds, _ = _disk_dataset(tmp_path, n=120, size=24)

    def epochs(seed):
        pipe = make_input(
            ds, image_size=24, batch_size=8, augment=augment, shuffle=True, seed=seed
        )
        return np.stack([np.concatenate([b[0] for b in _batches(pipe)]) for _ in range(3)])

    a, b = epochs(5), epochs(5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, epochs(6))


def test_the_random_layers_of_an_augmentation_draw_independently():
    """Each layer has a seed of its own: a mirror says nothing about the brightness.

    Built with one seed, every layer of a preset started from one generator
    state and drew the same number: with ``"painzoo"`` every mirrored image was
    darkened and every other one brightened (correlation -0.86 here).
    """
    image = np.full((26, 26, 3), 60.0, np.float32)
    image[:, 13:] = 160.0  # bright right half: a mirror puts it on the left
    aug = get_augmentation("painzoo", 24, seed=3)
    assert aug.load_size == (26, 26)
    mirrored, shift = [], []
    for _ in range(80):
        out = keras.ops.convert_to_numpy(aug(image))
        mirrored.append(out[:, :12].mean() > out[:, 12:].mean())
        shift.append(out.mean() - image.mean())  # brightness; crops and rotation move it little
    mirrored = np.array(mirrored, float)
    assert 0.25 < mirrored.mean() < 0.75
    assert abs(np.corrcoef(mirrored, shift)[0, 1]) < 0.4


@pytest.mark.backend
def test_host_batches_do_not_depend_on_the_order_threads_make_them(tmp_path):
    """PyTorch/JAX: a batch's augmentation depends on (seed, epoch, batch) only.

    Keras fetches a ``PyDataset``'s batches on worker threads; they drew from
    one random state in the order they ran, so one seed gave other batches
    from run to run. Made last-to-first, the batches must be the same.
    """
    ds, _ = _disk_dataset(tmp_path, n=24, size=24)

    def pipe():
        return make_input(ds, image_size=24, batch_size=4, augment="painzoo", shuffle=True, seed=5)

    if hasattr(pipe(), "as_numpy_iterator"):
        pytest.skip("tf.data augments in data order on one thread (test above)")
    forward, backward = pipe(), pipe()
    for _ in range(2):  # two epochs: the second draws anew
        a = [forward[i][0] for i in range(len(forward))]
        b = [backward[i][0] for i in reversed(range(len(backward)))][::-1]
        np.testing.assert_array_equal(np.stack(a), np.stack(b))
        forward.on_epoch_end()
        backward.on_epoch_end()
    assert not np.array_equal(np.stack(a), np.stack([pipe()[i][0] for i in range(len(a))]))
