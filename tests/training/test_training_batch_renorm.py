"""``batch_renorm``: BatchNorm corrected towards its moving statistics while training.

Batch renormalization (Ioffe, NeurIPS 2017) normalises a training batch by its
own statistics and then applies ``r = σ_B / σ``, ``d = (μ_B − μ) / σ`` (moving
``μ``, ``σ``; clipped; no gradient through them). The layer is checked against
BatchNorm's inference output written out in NumPy (which an unclipped
correction must reproduce), against the clipped formula in NumPy, and against
Keras' own ``renorm=True`` layer (a separate implementation with extra
variables) over one optimiser step.
"""

import keras
import numpy as np
import pandas as pd
import pytest

from painzoo.datasets import Dataset
from painzoo.training import Recipe
from painzoo.training.batch_renorm import D_MAX, R_MAX, renormalizing

RNG = np.random.default_rng(0)
X = RNG.normal(3.0, 2.0, (8, 4, 4, 5)).astype("float32")  # a batch of 8, 4 × 4 maps, 5 units
EPS = 1e-3


def _bn(mean, var, momentum=0.9, scale=True):
    layer = keras.layers.BatchNormalization(momentum=momentum, epsilon=EPS, scale=scale)
    layer.build(X.shape)
    layer.moving_mean.assign(np.asarray(mean, "float32"))
    layer.moving_variance.assign(np.asarray(var, "float32"))
    if scale:
        layer.gamma.assign(np.linspace(0.5, 1.5, 5).astype("float32"))
    layer.beta.assign(np.linspace(-1.0, 1.0, 5).astype("float32"))
    return layer


def _numpy(layer, x, mean, var, clip=True):
    """Batch renormalization written out per channel in float64."""
    x = x.astype(np.float64)
    mu_b = x.mean(axis=(0, 1, 2))
    var_b = x.var(axis=(0, 1, 2))
    sd_b, sd = np.sqrt(var_b + EPS), np.sqrt(np.asarray(var, np.float64) + EPS)
    r, d = sd_b / sd, (mu_b - mean) / sd
    if clip:
        r, d = np.clip(r, 1 / R_MAX, R_MAX), np.clip(d, -D_MAX, D_MAX)
    gamma = keras.ops.convert_to_numpy(layer.gamma) if layer.scale else 1.0
    beta = keras.ops.convert_to_numpy(layer.beta)
    return ((x - mu_b) / sd_b * r + d) * gamma + beta, mu_b, var_b


@pytest.mark.backend
def test_unclipped_training_batch_gives_the_inference_output():
    mean, var = X.mean(axis=(0, 1, 2)) + 0.3, X.var(axis=(0, 1, 2)) * 1.5
    layer = _bn(mean, var)
    inference = (X - mean) / np.sqrt(var + EPS) * np.linspace(0.5, 1.5, 5) + np.linspace(-1, 1, 5)
    with renormalizing([layer]):
        out = keras.ops.convert_to_numpy(layer(X, training=True))
    np.testing.assert_allclose(out, inference, atol=1e-4)
    # plain BatchNorm in training mode differs: it is the batch's own normalisation
    plain = keras.ops.convert_to_numpy(_bn(mean, var)(X, training=True))
    assert np.abs(plain - inference).max() > 0.1


@pytest.mark.backend
@pytest.mark.parametrize("scale", [True, False])  # InceptionV3's BatchNorm has no gamma
def test_corrections_are_clipped_and_moving_statistics_updated(scale):
    mean, var = np.full(5, -20.0), np.full(5, 0.1)  # far off: r and d both clip
    layer = _bn(mean, var, scale=scale)
    want, mu_b, var_b = _numpy(layer, X, mean, var)
    with renormalizing([layer]):
        out = keras.ops.convert_to_numpy(layer(X, training=True))
    np.testing.assert_allclose(out, want, atol=1e-4)
    assert not np.allclose(want, _numpy(layer, X, mean, var, clip=False)[0])
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer.moving_mean), 0.9 * mean + 0.1 * mu_b, rtol=1e-5
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer.moving_variance), 0.9 * var + 0.1 * var_b, rtol=1e-4
    )
    # inference is BatchNorm's: the moving statistics, no correction
    with renormalizing([layer]):
        got = keras.ops.convert_to_numpy(layer(X, training=False))
    mm = keras.ops.convert_to_numpy(layer.moving_mean)
    mv = keras.ops.convert_to_numpy(layer.moving_variance)
    gamma = keras.ops.convert_to_numpy(layer.gamma) if scale else 1.0
    beta = keras.ops.convert_to_numpy(layer.beta)
    np.testing.assert_allclose(got, (X - mm) / np.sqrt(mv + EPS) * gamma + beta, atol=1e-4)


def _net(renorm=False):
    keras.utils.set_random_seed(3)
    inputs = keras.Input((4, 4, 5))
    x = keras.layers.Conv2D(3, 1, name="conv")(inputs)
    extra = {"renorm": True, "renorm_clipping": {"rmax": R_MAX, "rmin": 1 / R_MAX, "dmax": D_MAX}}
    x = keras.layers.BatchNormalization(
        momentum=0.9, epsilon=EPS, name="bn", **(extra if renorm else {})
    )(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="head")(x))


@pytest.mark.backend
def test_one_step_matches_keras_renorm_layer():
    # Keras' renorm=True keeps separate renorm statistics; set them to the moving ones
    ours, theirs = _net(), _net(renorm=True)
    bn_o, bn_t = ours.get_layer("bn"), theirs.get_layer("bn")
    for src, dst in zip(ours.get_layer("conv").weights, theirs.get_layer("conv").weights):
        dst.assign(keras.ops.convert_to_numpy(src))  # a copy: JAX donates buffers
    for src, dst in zip(ours.get_layer("head").weights, theirs.get_layer("head").weights):
        dst.assign(keras.ops.convert_to_numpy(src))  # a copy: JAX donates buffers
    mean, var = np.array([0.5, -0.2, 0.1], "float32"), np.array([0.6, 1.4, 2.0], "float32")
    bn_o.moving_mean.assign(mean)
    bn_o.moving_variance.assign(var)
    bn_t.moving_mean.assign(mean)
    bn_t.moving_variance.assign(var)
    bn_t.renorm_mean.assign(mean)
    bn_t.renorm_stddev.assign(np.sqrt(var + EPS))
    y = np.arange(8) % 2
    for model in (ours, theirs):
        model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    with renormalizing([bn_o]):
        ours.train_on_batch(X, y)
    theirs.train_on_batch(X, y)
    for name in ("conv", "bn", "head"):
        pairs = zip(
            ours.get_layer(name).trainable_weights, theirs.get_layer(name).trainable_weights
        )
        for a, b in pairs:
            np.testing.assert_allclose(
                keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), atol=1e-5
            )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(bn_o.moving_mean),
        keras.ops.convert_to_numpy(bn_t.moving_mean),
        atol=1e-5,
    )


def _faces(n=24):
    rng = np.random.default_rng(1)
    images = np.clip(150 + rng.normal(0, 25, (n, 8, 8, 3)), 0, 255).astype(np.uint8)
    frame = pd.DataFrame({"label": np.arange(n) % 2, "subject": [f"s{i % 6}" for i in range(n)]})
    return Dataset(frame, images=images, name="faces")


def test_fit_renormalizes_only_while_training(monkeypatch):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.BatchNormalization(momentum=0.9, name="bn")(x)  # the preset's momentum
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name="head")(x))
    n_weights, config = len(model.weights), model.get_layer("bn").get_config()
    seen = []
    fit = keras.Model.fit
    monkeypatch.setattr(
        keras.Model,
        "fit",
        lambda self, *a, **k: (
            seen.append(type(self.get_layer("bn")).__name__) or fit(self, *a, **k)
        ),
    )
    recipe = Recipe.preset("painzoo", batch_renorm=True, min_steps=2, epochs=1, augment=None)
    recipe.fit(model, _faces())
    assert seen == ["_Renormalizing"]
    # afterwards a plain BatchNormalization again, with its weights and config
    assert type(model.get_layer("bn")) is keras.layers.BatchNormalization
    assert len(model.weights) == n_weights and model.get_layer("bn").get_config() == config
    Recipe.preset("painzoo", min_steps=2, epochs=1, augment=None).fit(model, _faces())
    assert seen[-1] == "BatchNormalization"
    with pytest.raises(ValueError, match="batch_renorm"):
        Recipe.preset("painzoo", batch_renorm="yes")
