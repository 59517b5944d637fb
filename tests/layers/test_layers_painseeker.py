"""PainSeekerAttention and prsc_loss against a NumPy transcription of P1 Eq. 2, 3 and 5."""

import keras
import numpy as np
import pytest

from painzoo.layers import PainSeekerAttention
from painzoo.losses import prsc_loss

# ---- NumPy reference, written from the paper's equations -------------------------------


def np_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def np_regions(x):
    """Eq. 1: [B, M, M, D] -> [B, K, D] (row-major, region j = cell (j // M, j % M))."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 4:
        b, m1, m2, d = x.shape
        out = np.empty((b, m1 * m2, d))
        for r in range(m1):
            for c in range(m2):
                out[:, r * m2 + c] = x[:, r, c]
        return out
    return x


def np_beta(x, kernel, bias):
    """Eq. 2: β_j = σ(g(x_j)) / Σ_k σ(g(x_k)), g(x) = x·w + b."""
    regions = np_regions(x)
    gates = np_sigmoid(regions @ np.asarray(kernel, np.float64)[:, 0] + float(bias[0]))
    return gates / gates.sum(axis=1, keepdims=True)


def np_fused(x, beta):
    regions = np_regions(x)
    return np.einsum("bk,bkd->bd", beta, regions)


def np_prsc(scores, top_k, margin):
    """Eq. 5, one sample at a time."""
    out = []
    for row in np.asarray(scores, np.float64):
        order = np.sort(row)[::-1]
        top, rest = order[:top_k], order[top_k:]
        out.append(np.mean([max(0.0, margin - (t - rest.mean())) for t in top]))
    return np.array(out)


def np_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def random_layer(rng, shape, **kwargs):
    layer = PainSeekerAttention(**kwargs)
    layer.build(shape)
    d = shape[-1]
    kernel = rng.normal(0, 1.0 / np.sqrt(d), (d, 1)).astype(np.float32)
    bias = rng.normal(0, 0.5, (1,)).astype(np.float32)
    layer.set_weights([kernel, bias])
    return layer, kernel, bias


CASES = [  # (input shape without batch, top_k, margin)
    ((2, 2, 3), 1, 0.2),
    ((3, 3, 8), 2, 0.05),
    ((7, 7, 16), 5, 0.2),
    ((4, 4, 5), 10, 0.5),
    ((12, 6), 3, 0.15),
    ((20, 1), 15, 0.1),
]


# ---- Eq. 2 and 3 -----------------------------------------------------------------------


@pytest.mark.backend
@pytest.mark.parametrize("shape,top_k,margin", CASES)
def test_eq2_scores_and_fusion_match_numpy(rng, shape, top_k, margin):
    x = rng.normal(0, 1, (3, *shape)).astype(np.float32)
    layer, kernel, bias = random_layer(rng, (None, *shape), top_k=top_k, margin=margin)
    fused, scores = layer(x)
    beta = np_beta(x, kernel, bias)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(scores), beta, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(fused), np_fused(x, beta), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(keras.ops.convert_to_numpy(scores).sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.backend
@pytest.mark.parametrize("shape,top_k,margin", CASES[:4])
@pytest.mark.parametrize("num_classes", [2, 3])
def test_eq3_probabilities_match_numpy(rng, shape, top_k, margin, num_classes):
    inputs = keras.Input(shape)
    fused, _ = PainSeekerAttention(top_k=top_k, margin=margin, name="attention")(inputs)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="h")(fused)
    model = keras.Model(inputs, outputs)
    weights = [rng.normal(0, 0.3, w.shape).astype(np.float32) for w in model.get_weights()]
    model.set_weights(weights)
    g_kernel, g_bias = model.get_layer("attention").get_weights()
    h_kernel, h_bias = model.get_layer("h").get_weights()
    x = rng.normal(0, 1, (4, *shape)).astype(np.float32)
    expected = np_softmax(np_fused(x, np_beta(x, g_kernel, g_bias)) @ h_kernel + h_bias)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.backend
def test_grid_and_region_inputs_agree(rng):
    x = rng.normal(0, 1, (2, 3, 4, 6)).astype(np.float32)
    layer, _, _ = random_layer(rng, (None, 3, 4, 6), top_k=2)
    fused4, scores4 = layer(x)
    fused3, scores3 = layer(x.reshape(2, 12, 6))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(scores4), keras.ops.convert_to_numpy(scores3), atol=1e-7
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(fused4), keras.ops.convert_to_numpy(fused3), atol=1e-6
    )


# ---- Eq. 5 -----------------------------------------------------------------------------


@pytest.mark.backend
@pytest.mark.parametrize(
    "k,top_k,margin", [(4, 1, 0.2), (9, 3, 0.05), (49, 5, 0.2), (49, 20, 0.5), (30, 29, 0.1)]
)
def test_eq5_prsc_loss_matches_numpy(rng, k, top_k, margin):
    # Unnormalised scores with a wide spread, so some hinges are active and some are not.
    scores = rng.uniform(0, 1, (6, k)).astype(np.float32) ** 3
    got = keras.ops.convert_to_numpy(prsc_loss(scores, top_k=top_k, margin=margin))
    expected = np_prsc(scores, top_k, margin)
    assert got.shape == (6,)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_prsc_loss_of_uniform_scores_is_the_margin():
    # All regions tie: every top score equals the mean of the rest, so each hinge is δ.
    uniform = np.full((3, 49), 1.0 / 49, np.float32)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(prsc_loss(uniform, top_k=5, margin=0.2)), 0.2, rtol=1e-6
    )


def test_prsc_loss_worked_example():
    beta = np.array([[0.4, 0.3, 0.1, 0.1, 0.1]], dtype=np.float32)
    # top = (0.4, 0.3), rest mean = 0.1; hinges max(0, .3 - .3) = 0 and max(0, .3 - .2) = .1.
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(prsc_loss(beta, top_k=2, margin=0.3)), [0.05], atol=1e-6
    )


@pytest.mark.backend
@pytest.mark.parametrize("shape,top_k,margin", CASES)
@pytest.mark.parametrize("prsc_weight", [0.1, 1.5])
def test_layer_adds_exactly_one_prsc_term(rng, shape, top_k, margin, prsc_weight):
    x = rng.normal(0, 1, (5, *shape)).astype(np.float32)
    layer, kernel, bias = random_layer(
        rng, (None, *shape), prsc_weight=prsc_weight, top_k=top_k, margin=margin
    )
    layer(x)
    layer(x)  # a second call replaces the term, it does not accumulate
    assert len(layer.losses) == 1
    expected = prsc_weight * np_prsc(np_beta(x, kernel, bias), top_k, margin).mean()
    np.testing.assert_allclose(
        float(keras.ops.convert_to_numpy(layer.losses[0])), expected, rtol=1e-5, atol=1e-7
    )


@pytest.mark.backend
def test_zero_weight_adds_no_loss(rng):
    layer = PainSeekerAttention(prsc_weight=0.0)
    layer(rng.normal(0, 1, (2, 7, 7, 4)).astype(np.float32))
    assert layer.losses == []


@pytest.mark.backend
def test_training_step_with_prsc_alone_follows_its_gradient(rng):
    shape, top_k, margin, weight, lr = (3, 3, 4), 2, 0.3, 0.5, 1.0
    inputs = keras.Input(shape)
    model = keras.Model(
        inputs, PainSeekerAttention(weight, margin, top_k, name="attention")(inputs)
    )
    layer = model.get_layer("attention")
    kernel = rng.normal(0, 0.5, (4, 1)).astype(np.float32)
    bias = np.array([0.1], np.float32)
    layer.set_weights([kernel, bias])
    x = rng.normal(0, 1, (8, *shape)).astype(np.float32)

    def objective(k, b):
        return weight * np_prsc(np_beta(x, k, b), top_k, margin).mean()

    # Central finite differences of the NumPy objective, in float64 throughout.
    eps = 1e-6
    kernel64, bias64 = kernel.astype(np.float64), bias.astype(np.float64)
    grad_k = np.zeros(kernel.shape)
    for i in range(kernel.shape[0]):
        step = np.zeros(kernel.shape)
        step[i, 0] = eps
        grad_k[i, 0] = (
            objective(kernel64 + step, bias64) - objective(kernel64 - step, bias64)
        ) / (2 * eps)
    grad_b = (objective(kernel64, bias64 + eps) - objective(kernel64, bias64 - eps)) / (2 * eps)
    assert np.abs(grad_k).max() > 1e-4  # the PRSC term is active at this point

    # No compiled loss: model.fit minimises the layer's add_loss term only.
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr))
    history = model.fit(x, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], objective(kernel, bias), rtol=1e-5)
    new_kernel, new_bias = layer.get_weights()
    assert not np.allclose(new_kernel, kernel)
    np.testing.assert_allclose(new_kernel - kernel, -lr * grad_k, rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(new_bias - bias, [-lr * grad_b], rtol=1e-3, atol=1e-6)


@pytest.mark.backend
def test_prsc_term_is_added_to_the_compiled_loss(rng):
    shape, weight = (3, 3, 4), 1.0
    inputs = keras.Input(shape)
    fused, _ = PainSeekerAttention(weight, 0.2, 2, name="attention")(inputs)
    outputs = keras.layers.Dense(2, activation="softmax", name="h")(fused)
    model = keras.Model(inputs, outputs)
    x = rng.normal(0, 1, (6, *shape)).astype(np.float32)
    y = np.array([0, 1, 0, 1, 1, 0])
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="sparse_categorical_crossentropy"
    )
    logs = model.evaluate(x, y, batch_size=6, verbose=0, return_dict=True)
    g_kernel, g_bias = model.get_layer("attention").get_weights()
    h_kernel, h_bias = model.get_layer("h").get_weights()
    beta = np_beta(x, g_kernel, g_bias)
    probs = np_softmax(np_fused(x, beta) @ h_kernel + h_bias)
    ce = -np.log(probs[np.arange(6), y]).mean()
    # Eq. 6: mean over samples of CE + λ · L_PRSC.
    np.testing.assert_allclose(logs["loss"], ce + weight * np_prsc(beta, 2, 0.2).mean(), rtol=1e-5)


# ---- API contract ----------------------------------------------------------------------


@pytest.mark.backend
def test_weights_are_g_only_kernel_then_bias():
    layer = PainSeekerAttention()
    layer.build((None, 7, 7, 32))
    weights = layer.get_weights()
    assert [w.shape for w in weights] == [(32, 1), (1,)]
    assert len(layer.trainable_weights) == 2 and not layer.non_trainable_weights


@pytest.mark.parametrize(
    "shape,top_k", [((None, 3, 3, 8), 9), ((None, 3, 3, 8), 12), ((None, 4, 8), 6)]
)
def test_top_k_must_be_smaller_than_k(shape, top_k):
    regions = shape[1] * shape[2] if len(shape) == 4 else shape[1]
    layer = PainSeekerAttention(top_k=top_k)
    with pytest.raises(ValueError, match=rf"\({regions}\); received {top_k}"):
        layer.build(shape)
    with pytest.raises(ValueError, match=rf"\({regions}\); received {top_k}"):
        prsc_loss(np.full((1, regions), 1.0 / regions, np.float32), top_k=top_k)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="top_k"):
        PainSeekerAttention(top_k=0)
    with pytest.raises(ValueError, match="prsc_weight"):
        PainSeekerAttention(prsc_weight=-1)
    with pytest.raises(ValueError, match=r"\[batch, M, M, D\]"):
        PainSeekerAttention().build((None, 8))
    with pytest.raises(ValueError, match=r"\[batch, K\]"):
        prsc_loss(np.zeros((2, 3, 4), np.float32))


def test_config_holds_exactly_the_constructor_arguments():
    layer = PainSeekerAttention(prsc_weight=0.5, margin=0.15, top_k=3, name="att")
    config = layer.get_config()
    base = keras.layers.Layer(name="att").get_config()
    assert set(config) - set(base) == {"prsc_weight", "margin", "top_k"}
    assert (config["prsc_weight"], config["margin"], config["top_k"]) == (0.5, 0.15, 3)
    clone = PainSeekerAttention.from_config(config)
    assert (clone.prsc_weight, clone.margin, clone.top_k, clone.name) == (0.5, 0.15, 3, "att")


@pytest.mark.backend
def test_keras_round_trip(rng, tmp_path):
    inputs = keras.Input((3, 3, 6))
    outputs = PainSeekerAttention(0.5, 0.1, 3, name="attention")(inputs)
    model = keras.Model(inputs, outputs)
    model.get_layer("attention").set_weights(
        [rng.normal(0, 1, (6, 1)).astype(np.float32), np.array([0.3], np.float32)]
    )
    path = tmp_path / "attention.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    layer = loaded.get_layer("attention")
    assert isinstance(layer, PainSeekerAttention)
    assert (layer.prsc_weight, layer.margin, layer.top_k) == (0.5, 0.1, 3)
    x = rng.normal(0, 1, (2, 3, 3, 6)).astype(np.float32)
    for a, b in zip(model.predict(x, verbose=0), loaded.predict(x, verbose=0)):
        np.testing.assert_allclose(a, b, atol=1e-7)
