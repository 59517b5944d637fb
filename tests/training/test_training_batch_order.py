"""Stratified batches: every training batch holds the classes in their overall proportion."""

import keras
import numpy as np
import pandas as pd
import pytest

from painzoo.datasets import Dataset
from painzoo.training import Recipe, make_input
from painzoo.training.batch_order import StratifiedOrder


def _worst_window_deviation(labels, order):
    """Largest |count of a class in a run of consecutive images − its share × the run's length|."""
    seq = np.asarray(labels)[order]
    n, worst = len(seq), 0.0
    for c in np.unique(seq):
        hits = np.concatenate([[0], np.cumsum(seq == c)])
        share = np.mean(seq == c)
        for length in range(1, n + 1):
            counts = hits[length:] - hits[:-length]
            worst = max(worst, float(np.max(np.abs(counts - share * length))))
    return worst


@pytest.mark.parametrize("classes", [2, 3, 4])
def test_every_run_of_images_holds_the_classes_in_proportion(classes):
    rng = np.random.default_rng(classes)
    for trial in range(60):
        labels = rng.integers(0, classes, int(rng.integers(classes, 70)))
        order = StratifiedOrder(labels, seed=trial)
        epochs = [order() for _ in range(3)]
        for epoch in epochs:
            assert sorted(epoch.tolist()) == list(range(len(labels)))
            # two classes: within one image either way; K classes: within K - 1
            assert _worst_window_deviation(labels, epoch) < max(1, classes - 1)
        if len(labels) > 6:
            assert not np.array_equal(epochs[0], epochs[1])


def test_a_plain_shuffle_is_far_from_proportion():
    # the check above can fail: a shuffled order of a balanced set has long one-class runs
    labels = np.arange(66) % 2
    order = np.random.default_rng(0).permutation(66)
    assert _worst_window_deviation(labels, order) >= 2


def test_the_same_seed_gives_the_same_orders():
    labels = np.r_[np.zeros(20, int), np.ones(13, int)]
    a, b = StratifiedOrder(labels, seed=5), StratifiedOrder(labels, seed=5)
    for _ in range(3):
        np.testing.assert_array_equal(a(), b())
    assert not np.array_equal(StratifiedOrder(labels, seed=6)(), StratifiedOrder(labels, seed=5)())


def test_stratify_needs_shuffle_and_labels():
    ds = _numbered(6, 3)
    with pytest.raises(ValueError, match="shuffle=True"):
        make_input(ds, image_size=8, batch_size=2, stratify=True)
    with pytest.raises(ValueError, match="no labels"):
        StratifiedOrder([])


def _numbered(n, n_pain, size=8):
    """Image i is filled with the value i (so a batch tells which images it holds)."""
    images = np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None, None], (n, size, size, 3))
    labels = np.zeros(n, int)
    labels[np.random.default_rng(1).choice(n, n_pain, replace=False)] = 1
    frame = pd.DataFrame({"label": labels, "subject": [f"s{i}" for i in range(n)]})
    return Dataset(frame, images=np.ascontiguousarray(images), name="numbered")


def _epochs(pipe, count):
    out = []
    for _ in range(count):
        if hasattr(pipe, "as_numpy_iterator"):
            batches = list(pipe.as_numpy_iterator())
        else:
            batches = [pipe[i] for i in range(len(pipe))]
            pipe.on_epoch_end()
        out.append(
            [(keras.ops.convert_to_numpy(x), keras.ops.convert_to_numpy(y)) for x, y in batches]
        )
    return out


@pytest.mark.backend
@pytest.mark.parametrize("device_resident", [False, "auto"])
def test_stratified_pipeline_batches_on_every_backend(device_resident):
    # 24 images, 9 of them pain: every batch of 8 holds exactly 3 pain images
    ds = _numbered(24, 9)
    pipe = make_input(
        ds,
        image_size=8,
        batch_size=8,
        shuffle=True,
        stratify=True,
        seed=3,
        device_resident=device_resident,
    )
    orders = []
    for batches in _epochs(pipe, 3):
        ids = []
        for x, y in batches:
            index = x[:, 0, 0, 0].astype(int)
            np.testing.assert_array_equal(y, ds.labels[index])  # each image keeps its label
            assert int(np.sum(y == 1)) == 3
            ids.extend(index.tolist())
        assert sorted(ids) == list(range(24))
        orders.append(ids)
    assert orders[0] != orders[1] or orders[1] != orders[2]


def _tiny_model(batch_norm: bool):
    inputs = keras.Input((16, 16, 3))
    h = keras.layers.Rescaling(1 / 255.0)(inputs)
    if batch_norm:
        h = keras.layers.BatchNormalization()(keras.layers.Conv2D(4, 3)(h))
    h = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(h))


@pytest.mark.backend
@pytest.mark.parametrize(
    ("preset", "overrides", "batch_norm", "expected"),
    [
        ("painzoo", {}, False, True),  # "auto": a network without normalisation layers
        ("painzoo", {}, True, False),  # "auto": BatchNorm re-centres the batch itself
        ("painzoo", {"stratify_batches": True}, True, True),
        ("painzoo", {"stratify_batches": False}, False, False),
        ("p2", {}, False, False),
    ],
)
def test_which_recipes_train_on_stratified_batches(
    monkeypatch, preset, overrides, batch_norm, expected
):
    import painzoo.training.trainer as trainer_module

    seen = []
    real = trainer_module.make_input

    def recording(dataset, **kwargs):
        seen.append((kwargs["shuffle"], kwargs.get("stratify", False)))
        return real(dataset, **kwargs)

    monkeypatch.setattr(trainer_module, "make_input", recording)
    ds = _numbered(16, 8, size=16)
    model = _tiny_model(batch_norm)
    recipe = Recipe.preset(preset, epochs=1, min_steps=0, augment=None, **overrides)
    assert recipe.stratifies(model) is expected
    recipe.fit(model, ds)
    recipe.predict(model, ds)
    assert seen == [(True, expected), (False, False)]


@pytest.mark.parametrize("value", ["yes", "Auto", 1, None])
def test_a_bad_stratify_batches_is_named(value):
    with pytest.raises(ValueError, match="stratify_batches must be true, false or 'auto'"):
        Recipe.preset("painzoo", stratify_batches=value)
