"""Recipes: the papers' presets, optimisers, class weights, precision, fit/predict."""

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.utils.class_weight import compute_class_weight

from painzoo.datasets import Dataset
from painzoo.training import Recipe
from painzoo.training.optimizers import AdamL2
from painzoo.training.trainer import validation_split


def _bright_dark(rng, n=48, size=16):
    labels = np.arange(n) % 2
    base = np.where(labels[:, None, None, None] == 1, 200, 50)
    images = np.clip(base + rng.normal(0, 20, (n, size, size, 3)), 0, 255).astype(np.uint8)
    frame = pd.DataFrame({"label": labels, "subject": [f"s{i % 8}" for i in range(n)]})
    return Dataset(frame, images=images, name="toy")


def _tiny_model(size=16):
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    # Eight filters and a moderate learning rate: with four filters at lr 0.05 every
    # ReLU can die in the first steps for some backends' random streams (seen on JAX).
    x = keras.layers.Conv2D(8, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))


def test_presets_follow_the_papers():
    p1 = Recipe.preset("p1")
    # P1 §4.1: Adam, lr 1e-4, weight decay 0.01, batch 64, crop + flip augmentation.
    assert (p1.learning_rate, p1.weight_decay, p1.batch_size, p1.augment) == (1e-4, 0.01, 64, "p1")
    opt = p1.make_optimizer()
    # P1's "Adam … weight decay 0.01" is PyTorch's coupled L2, not decoupled AdamW.
    assert isinstance(opt, AdamL2) and not isinstance(opt, keras.optimizers.AdamW)
    assert opt.l2 == pytest.approx(0.01) and opt.weight_decay is None
    assert float(keras.ops.convert_to_numpy(opt.learning_rate)) == pytest.approx(1e-4)
    # P2: lr 1e-3, 30 epochs, rotation/mirroring/contrast augmentation.
    p2 = Recipe.preset("p2")
    assert (p2.learning_rate, p2.epochs, p2.augment) == (1e-3, 30, "p2")
    opt2 = p2.make_optimizer()  # plain Adam (each backend has its own subclass of it)
    assert isinstance(opt2, keras.optimizers.Adam)
    assert not isinstance(opt2, keras.optimizers.AdamW)
    ref = Recipe.preset("p2", optimizer="rmsprop", learning_rate=1e-4)
    assert isinstance(ref.make_optimizer(), keras.optimizers.RMSprop)
    assert p2.validation_split == 0 and p1.class_weight is None


def test_bad_values_are_named():
    with pytest.raises(ValueError, match="p1"):
        Recipe.preset("p3")
    with pytest.raises(ValueError, match="optimizer"):
        Recipe(optimizer="lamb")
    with pytest.raises(ValueError, match="epochz"):
        Recipe.from_config({"preset": "p1", "epochz": 3})


def test_from_config_merges_preset_and_fields():
    r = Recipe.from_config({"preset": "p1", "epochs": 3, "class_weight": "balanced"})
    assert (r.epochs, r.learning_rate, r.class_weight) == (3, 1e-4, "balanced")


def test_balanced_class_weights_equal_sklearn():
    labels = np.array([0] * 541 + [1] * 597)
    ref = compute_class_weight("balanced", classes=np.array([0, 1]), y=labels)
    got = Recipe(class_weight="balanced").class_weights(labels)
    assert got[0] == pytest.approx(ref[0]) and got[1] == pytest.approx(ref[1])
    assert Recipe().class_weights(labels) is None


def test_precision_scope_sets_and_restores_policy():
    before = keras.mixed_precision.dtype_policy().name
    with Recipe(precision="mixed_bfloat16").precision_scope():
        assert keras.mixed_precision.dtype_policy().name == "mixed_bfloat16"
        layer = keras.layers.Dense(2)
        assert layer.compute_dtype == "bfloat16"
    assert keras.mixed_precision.dtype_policy().name == before
    # "mixed" on a CPU-only machine keeps float32 (mixed precision only helps on GPUs).
    from painzoo.training.trainer import gpu_available

    if not gpu_available():
        assert Recipe(precision="mixed").resolved_precision() == "float32"


@pytest.mark.backend
def test_fit_and_predict_learn_a_separable_task(rng):
    ds = _bright_dark(rng)
    recipe = Recipe(learning_rate=0.01, epochs=15, batch_size=16, class_weight="balanced")
    model = _tiny_model()
    history = recipe.fit(model, ds, progress=True)
    assert len(history.history["loss"]) == 15
    assert history.history["loss"][-1] < history.history["loss"][0]
    p = recipe.predict(model, ds)
    assert p.shape == (len(ds),) and np.all((p >= 0) & (p <= 1))
    assert np.mean((p >= 0.5) == ds.labels) > 0.9


@pytest.mark.backend
def test_validation_split_holds_out_subjects(rng):
    ds = _bright_dark(rng)
    recipe = Recipe(epochs=1, batch_size=16, validation_split=0.25)
    train, val = validation_split(recipe, ds)
    assert not set(train.subjects) & set(val.subjects)
    history = recipe.fit(_tiny_model(), ds)
    assert "val_loss" in history.history


# -- P1's optimiser: Adam with PyTorch's coupled L2 weight decay ----------------------
def _torch_adam_reference(theta, grads, lr, wd, beta_1=0.9, beta_2=0.999, eps=1e-8):
    """NumPy transcription of torch.optim.Adam's algorithm box (float64)."""
    theta = np.array(theta, np.float64)
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        g = np.asarray(g, np.float64) + wd * theta
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        m_hat, v_hat = m / (1 - beta_1**t), v / (1 - beta_2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta


def _keras_steps(opt, theta, grads):
    var = keras.Variable(np.asarray(theta, np.float32))
    for g in grads:
        opt.apply_gradients([(keras.ops.convert_to_tensor(np.asarray(g, np.float32)), var)])
    return keras.ops.convert_to_numpy(var).astype(np.float64)


@pytest.mark.backend
@pytest.mark.parametrize("steps", [1, 4])
def test_p1_optimizer_matches_pytorch_adam_with_weight_decay(steps):
    import torch

    rng = np.random.default_rng(1)
    # Large weights and small gradients: there the coupled L2 term dominates the step,
    # where decoupled AdamW (lr · wd · θ) would move the weights by about 1e-6 only.
    theta = rng.normal(0, 3.0, (5, 3))
    grads = [rng.normal(0, 0.01, (5, 3)) for _ in range(steps)]
    lr, wd = 1e-2, 0.01
    reference = _torch_adam_reference(theta, grads, lr, wd)

    recipe = Recipe.preset("p1", learning_rate=lr)
    ours = _keras_steps(recipe.make_optimizer(), theta, grads)

    p = torch.nn.Parameter(torch.tensor(theta, dtype=torch.float64))
    torch_opt = torch.optim.Adam([p], lr=lr, weight_decay=wd)
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        torch_opt.step()
    from_torch = p.detach().numpy()

    np.testing.assert_allclose(reference, from_torch, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours, from_torch, rtol=0, atol=2e-6)
    # Decoupled decay (the old p1 optimiser) lands measurably elsewhere.
    adamw = _keras_steps(keras.optimizers.AdamW(learning_rate=lr, weight_decay=wd), theta, grads)
    assert np.abs(adamw - from_torch).max() > 1e-3


@pytest.mark.backend
def test_adam_l2_without_decay_is_pytorch_adam_and_serialises():
    import torch

    rng = np.random.default_rng(2)
    theta, grads = rng.normal(0, 1, (4,)), [rng.normal(0, 1, (4,)) for _ in range(3)]
    opt = AdamL2(learning_rate=1e-3, weight_decay=0.0)
    ours = _keras_steps(opt, theta, grads)
    p = torch.nn.Parameter(torch.tensor(theta, dtype=torch.float64))
    torch_opt = torch.optim.Adam([p], lr=1e-3)
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        torch_opt.step()
    np.testing.assert_allclose(ours, p.detach().numpy(), rtol=0, atol=1e-6)

    config = keras.optimizers.serialize(AdamL2(learning_rate=1e-4, weight_decay=0.01))
    again = keras.optimizers.deserialize(config)
    assert isinstance(again, AdamL2) and again.l2 == pytest.approx(0.01)
    assert again.epsilon == pytest.approx(1e-8)


def test_adamw_stays_available_by_name():
    opt = Recipe.preset("p1", optimizer="adamw").make_optimizer()
    assert isinstance(opt, keras.optimizers.AdamW)
    assert float(opt.weight_decay) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="weight_decay"):
        AdamL2(weight_decay=-1)


def _predict_new_models(recipe, n_models):
    """``recipe.predict`` of ``n_models`` fresh models, each checked against NumPy."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (11, 16, 16, 3)).astype(np.uint8)
    ds = Dataset(pd.DataFrame({"label": [0, 1] * 5 + [0], "subject": ["s"] * 11}), images=images)
    for _ in range(n_models):
        inputs = keras.Input((16, 16, 3))
        x = keras.layers.GlobalAveragePooling2D()(keras.layers.Rescaling(1 / 255)(inputs))
        model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
        p = recipe.predict(model, ds)  # batches of 4: the last one has 3 images
        w, b = (np.asarray(v) for v in model.layers[-1].get_weights())
        logits = (images / 255.0).mean(axis=(1, 2)) @ w + b  # by hand, in NumPy
        direct = np.exp(logits[:, 1]) / np.exp(logits).sum(axis=1)
        np.testing.assert_allclose(p, direct, atol=1e-5)


@pytest.mark.backend
def test_predict_returns_the_probability_of_pain_of_every_row():
    """Prediction runs compiled where the backend compiles (a TensorFlow graph,
    JAX's jit): same probabilities as NumPy, a short last batch included."""
    _predict_new_models(Recipe.preset("p2", batch_size=4, augment=None), 2)


class _CountCalls(keras.layers.Layer):
    """Identity that counts the Python calls of its ``call``: once per batch when the
    model runs eagerly, once per trace when it runs compiled."""

    calls = 0

    def call(self, x):
        type(self).calls += 1
        return x


@pytest.mark.backend
@pytest.mark.skipif(keras.backend.backend() == "torch", reason="PyTorch runs eagerly")
def test_predict_traces_the_model_instead_of_calling_it_per_batch():
    """recipe.predict called the model eagerly batch after batch; a compiled call
    runs the Python code of its layers only while tracing (at most once per shape)."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (41, 16, 16, 3)).astype(np.uint8)
    ds = Dataset(pd.DataFrame({"label": [0, 1] * 20 + [0], "subject": ["s"] * 41}), images=images)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.GlobalAveragePooling2D()(_CountCalls()(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    _CountCalls.calls = 0
    p = Recipe.preset("p2", batch_size=4, augment=None).predict(model, ds)  # 11 batches
    assert p.shape == (41,)
    assert _CountCalls.calls <= 3, _CountCalls.calls


@pytest.mark.backend
def test_a_model_that_predicted_is_freed_and_saves_as_before(tmp_path):
    """The compiled call lives on the model: once the model is dropped, both go
    (a cache keyed by the model kept every unit's network alive in a worker)."""
    import gc
    import weakref

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 16, 16, 3)).astype(np.uint8)
    ds = Dataset(pd.DataFrame({"label": [0, 1] * 3, "subject": ["s"] * 6}), images=images)
    model = _tiny_model()
    p = Recipe.preset("p2", batch_size=4, augment=None).predict(model, ds)
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(
        again.predict(images.astype("float32"), verbose=0)[:, 1], p, atol=1e-5
    )
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.function tracing")
def test_predicting_with_one_new_model_per_unit_does_not_warn_of_retracing(caplog):
    """A benchmark builds a model per unit; model.predict traced Keras' one predict
    step once per model and TensorFlow warned of retracing after five of them."""
    import logging

    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        _predict_new_models(Recipe.preset("p2", batch_size=4, augment=None), 7)
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.function tracing")
def test_fit_traces_the_training_step_once():
    """Keras created the weighted accuracy's variables while tracing the first step on
    TensorFlow, and TensorFlow then traced the whole step a second time."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (32, 16, 16, 3)).astype(np.uint8)
    ds = Dataset(pd.DataFrame({"label": [0, 1] * 16, "subject": ["s"] * 32}), images=images)
    model = _tiny_model()
    traced = []
    step = model.train_step
    model.train_step = lambda data: traced.append(1) or step(data)  # runs only when traced
    Recipe.preset("p2", batch_size=8, epochs=2, augment=None).fit(model, ds)
    assert len(traced) == 1
