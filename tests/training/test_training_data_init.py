"""``data_init``: data-dependent initialisation of networks without normalisation.

Traced on london-dev, AlexNet's deep layers fell silent under every default
tried: its units see ReLU outputs (all >= 0) of faces that share most of what
they show, so each step moves a unit's input for every photo at once, and a
unit pushed below zero for all of them never returns. ``init_from_data``
standardises each unit's input on the training images, layer by layer, and
starts the classifier at zero (docs/default-recipe.md). The moments are
checked against the layers written out in NumPy.
"""

import keras
import numpy as np
import pandas as pd
import pytest

from painzoo.datasets import Dataset
from painzoo.layers.preprocessing import ImageScaling
from painzoo.training import Recipe

SIZE = 10


def _faces(n=40, seed=0):
    """Images that share a bright base (as faces do) and differ a little."""
    rng = np.random.default_rng(seed)
    images = np.clip(150 + rng.normal(0, 25, (n, SIZE, SIZE, 3)), 0, 255).astype(np.uint8)
    labels = np.arange(n) % 2
    frame = pd.DataFrame({"label": labels, "subject": [f"s{i % 10}" for i in range(n)]})
    return Dataset(frame, images=images, name="faces")


def _plain_net(batchnorm=False):
    """x / 255 → conv 3×3 ReLU → flatten → dense ReLU → softmax, as a zoo network builds it."""
    inputs = keras.Input((SIZE, SIZE, 3))
    x = ImageScaling("unit", name="scaling")(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(x)
    if batchnorm:
        x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(6, activation="relu", name="fc")(x)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="head")(x))


def _weights(model, name):
    return [
        keras.ops.convert_to_numpy(w).astype(np.float64) for w in model.get_layer(name).weights
    ]


def _numpy_forward(model, images):
    """The pre-activations of ``conv`` and ``fc``, and the probabilities, written out in NumPy."""
    x = images.astype(np.float64) / 255.0
    kernel, bias = _weights(model, "conv")
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))  # n, h, w, c, 3, 3
    conv = np.einsum("nhwcij,ijco->nhwo", windows, kernel) + bias
    kernel, bias = _weights(model, "fc")
    fc = np.maximum(conv, 0).reshape(len(x), -1) @ kernel + bias
    kernel, bias = _weights(model, "head")
    logits = np.maximum(fc, 0) @ kernel + bias
    p = np.exp(logits - logits.max(1, keepdims=True))
    return conv.reshape(-1, conv.shape[-1]), fc, p / p.sum(1, keepdims=True)


@pytest.mark.backend
def test_every_hidden_unit_starts_standardised_on_the_images():
    data = _faces()
    keras.utils.set_random_seed(0)
    model = _plain_net()
    before = {name: _weights(model, name)[0] for name in ("conv", "fc")}
    conv, fc, _ = _numpy_forward(model, data.load_images(SIZE))
    # as built, every unit's input is much the same for every image
    assert conv.std(0).max() < 0.5 * np.abs(conv.mean(0)).max()

    assert Recipe.preset("painzoo", data_init=True).init_from_data(model, data) == 3

    conv, fc, p = _numpy_forward(model, data.load_images(SIZE))
    for pre in (conv, fc):
        np.testing.assert_allclose(pre.mean(0), 0.0, atol=1e-4)
        np.testing.assert_allclose(pre.std(0), 1.0, rtol=1e-4)
    np.testing.assert_allclose(p, 0.5)  # the classifier starts at zero: every image at the prior
    # each unit keeps the direction of its weights, rescaled by a positive factor
    for name in ("conv", "fc"):
        after = _weights(model, name)[0]
        factor = (after / before[name]).reshape(-1, after.shape[-1])  # [weights of a unit, units]
        np.testing.assert_allclose(factor, np.broadcast_to(factor[0], factor.shape), rtol=1e-5)
        assert (factor > 0).all()


@pytest.mark.backend
def test_the_zeroed_classifier_takes_bounded_steps():
    # a classifier at zero has no weights to measure its steps against: its inputs are
    # standardised ReLU outputs (mean 1/sqrt(2 pi)) and its outputs logits of size 1
    data = _faces()
    model = _plain_net()
    recipe = Recipe.preset("painzoo", data_init=True, max_step_ratio=0.03, learning_rate=0.1)
    assert "head/kernel" not in recipe.lr_multipliers(model)  # as built: full rate
    recipe.init_from_data(model, data)
    factors = recipe.lr_multipliers(model)
    fan_in = model.get_layer("head").kernel.shape[0]
    ratio = recipe.learning_rate * fan_in / np.sqrt(2 * np.pi)
    assert factors["head/kernel"] == pytest.approx(0.03 / ratio)
    # the hidden kernels are measured against their new, standardising weights
    kernel = _weights(model, "fc")[0]
    ratio = recipe.learning_rate * np.sqrt(kernel.shape[0]) / kernel.std()
    assert factors.get("fc/kernel", 1.0) == pytest.approx(min(1.0, 0.03 / ratio))


def test_networks_with_batchnorm_are_left_as_built():
    data = _faces()
    model = _plain_net(batchnorm=True)
    before = [keras.ops.convert_to_numpy(w) for w in model.weights]
    assert Recipe.preset("painzoo", data_init=True).init_from_data(model, data) == 0
    for old, new in zip(before, model.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(new), old)


def test_fit_initialises_only_a_network_as_built(monkeypatch):
    # a network trained before (its scaling standardised) keeps its weights when trained on
    calls = []
    init = Recipe.init_from_data
    monkeypatch.setattr(
        Recipe, "init_from_data", lambda self, m, d: calls.append(len(d)) or init(self, m, d)
    )
    data = _faces(n=16)
    model = _plain_net()
    recipe = Recipe.preset("painzoo", data_init=True, min_steps=2, epochs=1, augment=None)
    recipe.fit(model, data)
    assert calls == [16]
    recipe.fit(model, data)
    assert calls == [16]
    # off in every preset: painzoo's default centres gradients instead
    assert not any(Recipe.preset(name).data_init for name in ("p1", "p2", "painzoo"))
    with pytest.raises(ValueError, match="data_init"):
        Recipe.preset("painzoo", data_init="yes")
