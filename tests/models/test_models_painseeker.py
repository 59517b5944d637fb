"""The painseeker / painseeker_no_prsc models: registry, sizes, losses, training, saving."""

import keras
import numpy as np
import pytest

import painzoo
from painzoo.layers import PainSeekerAttention

SMALL = (96, 96, 3)  # a 3×3 grid: K = 9 > top_k = 5


def np_prsc(scores, top_k, margin):
    out = []
    for row in np.asarray(scores, np.float64):
        order = np.sort(row)[::-1]
        top, rest = order[:top_k], order[top_k:]
        out.append(np.mean(np.maximum(0.0, margin - (top - rest.mean()))))
    return np.array(out)


def np_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def images(n, shape=SMALL, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, *shape)).astype(np.float32)


def test_registered_with_p1_metadata():
    assert {"painseeker", "painseeker_no_prsc"} <= set(painzoo.list_models("painseeker*"))
    for name in ("painseeker", "painseeker_no_prsc"):
        info = painzoo.model_info(name)
        assert "p1" in info.tags and info.input_shape == (224, 224, 3)
        assert "PainSeeker" in info.citation and info.params == 11_187_651
    assert "painseeker" in painzoo.list_models(tag="p1")


@pytest.mark.backend
@pytest.mark.parametrize("name", ["painseeker", "painseeker_no_prsc"])
def test_parameter_count_and_grid_at_224(name):
    model = painzoo.get_model(name)
    # SPEC §3: ResNet-18 conv part 11,186,112 + g (512 + 1) + h (512·2 + 2).
    assert model.count_params() == 11_186_112 + 513 + 1026 == 11_187_651
    assert tuple(model.get_layer("attention").input.shape) == (None, 7, 7, 512)
    assert model.output_shape == (None, 2)
    assert painzoo.get_model(name, num_classes=6).count_params() == 11_186_112 + 513 + 512 * 6 + 6


@pytest.mark.backend
def test_keyword_overrides_reach_the_layer():
    model = painzoo.get_model(
        "painseeker", input_shape=(112, 112, 3), prsc_weight=0.5, margin=0.15, top_k=3
    )
    layer = model.get_layer("attention")
    assert (layer.prsc_weight, layer.margin, layer.top_k) == (0.5, 0.15, 3)
    assert tuple(layer.input.shape) == (None, 4, 4, 512)
    ablation = painzoo.get_model("painseeker_no_prsc", input_shape=(112, 112, 3), top_k=10)
    assert ablation.get_layer("attention").prsc_weight == 0.0
    assert ablation.get_layer("attention").top_k == 10


@pytest.mark.parametrize("name", ["painseeker", "painseeker_no_prsc"])
def test_declared_minimum_input(name):
    minimum = painzoo.model_info(name).extra["min_input"]
    model = painzoo.get_model(name, input_shape=(minimum, minimum, 3))
    assert tuple(model.get_layer("attention").input.shape[1:3]) == (3, 3)
    with pytest.raises(ValueError, match="2×2 feature grid"):
        painzoo.get_model(name, input_shape=(minimum - 1, minimum - 1, 3))


@pytest.mark.parametrize("shape,top_k,grid", [((64, 64, 3), 5, 2), ((112, 112, 3), 16, 4)])
def test_too_small_a_grid_for_top_k_is_a_clear_error(shape, top_k, grid):
    with pytest.raises(
        ValueError, match=rf"{grid}×{grid} feature grid.*K={grid * grid}.*top_k={top_k}"
    ):
        painzoo.get_model("painseeker", input_shape=shape, top_k=top_k)


@pytest.mark.backend
def test_output_is_probabilities_and_eq3_holds():
    model = painzoo.get_model("painseeker", input_shape=SMALL, num_classes=3)
    x = images(3)
    probs = np.asarray(model.predict(x, verbose=0))
    assert probs.shape == (3, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    # Eq. 1–3 from the backbone features and the layer weights, in NumPy.
    feats = keras.Model(model.inputs, model.get_layer("layer4_1_out").output).predict(x, verbose=0)
    regions = np.asarray(feats, np.float64).reshape(3, -1, 512)
    g_kernel, g_bias = model.get_layer("attention").get_weights()
    gates = 1 / (1 + np.exp(-(regions @ g_kernel[:, 0] + g_bias[0])))
    beta = gates / gates.sum(axis=1, keepdims=True)
    h_kernel, h_bias = model.get_layer("fc").get_weights()
    expected = np_softmax(np.einsum("bk,bkd->bd", beta, regions) @ h_kernel + h_bias)
    np.testing.assert_allclose(probs, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.backend
def test_prsc_term_only_in_painseeker():
    x = images(2)
    seeker = painzoo.get_model("painseeker", input_shape=SMALL)
    seeker(x)
    assert len(seeker.losses) == 1
    ablation = painzoo.get_model("painseeker_no_prsc", input_shape=SMALL)
    ablation(x)
    assert ablation.losses == []


@pytest.mark.backend
def test_compiled_loss_is_eq6():
    model = painzoo.get_model("painseeker", input_shape=SMALL, prsc_weight=1.0, margin=0.3)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=True)
    x, y = images(4), np.array([0, 1, 1, 0])
    logs = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
    probs = np.asarray(model.predict(x, verbose=0), np.float64)
    scores = painzoo.explain.attention_maps(model, x).reshape(4, -1)
    ce = -np.log(probs[np.arange(4), y]).mean()
    np.testing.assert_allclose(logs["loss"], ce + 1.0 * np_prsc(scores, 5, 0.3).mean(), rtol=1e-4)


@pytest.mark.backend
@pytest.mark.parametrize("name", ["painseeker", "painseeker_no_prsc"])
def test_one_batch_fit(name):
    model = painzoo.get_model(name, input_shape=SMALL)
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=1e-4, weight_decay=0.01),
        loss="sparse_categorical_crossentropy",
        # Tracing ResNet-18's train step costs far more than one step on CPU; the graph
        # path of add_loss is covered by the layer tests on a small model.
        run_eagerly=True,
    )
    g_before = model.get_layer("attention").get_weights()[0].copy()
    history = model.fit(images(4), np.array([0, 1, 0, 1]), batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert not np.allclose(model.get_layer("attention").get_weights()[0], g_before)


@pytest.mark.backend
@pytest.mark.parametrize("name", ["painseeker", "painseeker_no_prsc"])
def test_keras_round_trip(name, tmp_path):
    model = painzoo.get_model(name, input_shape=SMALL, top_k=3)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    layer = loaded.get_layer("attention")
    assert isinstance(layer, PainSeekerAttention)
    assert layer.get_config() == model.get_layer("attention").get_config()
    x = images(2)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    loaded(x)
    assert len(loaded.losses) == (1 if name == "painseeker" else 0)
