"""Recipes: the papers' presets, optimisers, class weights, precision, fit/predict."""

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.utils.class_weight import compute_class_weight

from painzoo.datasets import Dataset
from painzoo.training import Recipe


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
    assert isinstance(opt, keras.optimizers.AdamW)
    assert float(opt.weight_decay) == pytest.approx(0.01)
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
    from painzoo.training.recipe import gpu_available

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
    train, val = recipe._validation_split(ds)
    assert not set(train.subjects) & set(val.subjects)
    history = recipe.fit(_tiny_model(), ds)
    assert "val_loss" in history.history
