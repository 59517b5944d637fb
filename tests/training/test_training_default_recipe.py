"""painzoo's default recipe: the plan of steps, the schedule, the loss, BatchNorm, early stopping."""

import math

import keras
import numpy as np
import pandas as pd
import pytest

import painzoo
from painzoo.datasets import Dataset
from painzoo.training import Recipe
from painzoo.training.augment import get_augmentation
from painzoo.training.recipe import PRESETS
from painzoo.training.trainer import SparseSmoothedCrossentropy


def _bright_dark(n=32, size=16, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    base = np.where(labels[:, None, None, None] == 1, 200, 50)
    images = np.clip(base + rng.normal(0, 20, (n, size, size, 3)), 0, 255).astype(np.uint8)
    frame = pd.DataFrame({"label": labels, "subject": [f"s{i % 8}" for i in range(n)]})
    return Dataset(frame, images=images, name="toy")


def _tiny_model(size=16, batchnorm=True):
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.Conv2D(8, 3, activation="relu")(x)
    if batchnorm:
        x = keras.layers.BatchNormalization()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))


@pytest.fixture
def input_calls(monkeypatch):
    """(images, augment, shuffle) of every input pipeline a Recipe builds, in order."""
    import painzoo.training.trainer as trainer_module

    calls = []
    make_input = trainer_module.make_input

    def recording_make_input(dataset, **kwargs):
        calls.append((len(dataset), kwargs["augment"], kwargs["shuffle"]))
        return make_input(dataset, **kwargs)

    monkeypatch.setattr(trainer_module, "make_input", recording_make_input)
    return calls


def test_a_config_without_preset_gets_the_painzoo_default():
    assert Recipe.from_config(None) == Recipe.preset("painzoo")
    got = Recipe.from_config({"epochs": 7})
    assert got == Recipe.preset("painzoo", epochs=7)
    assert Recipe.from_config({"preset": "p2", "epochs": 7}) == Recipe.preset("p2", epochs=7)


@pytest.mark.parametrize("name", ["p1", "p2"])
def test_the_papers_presets_keep_their_exact_training(name):
    recipe = Recipe.preset(name)
    for n in (10, 66, 1138, 5000):
        plan = recipe.training_plan(n)
        batch = min(PRESETS[name]["batch_size"], n)
        assert plan["batch_size"] == batch and plan["epochs"] == PRESETS[name]["epochs"]
        assert plan["total_steps"] == math.ceil(n / batch) * PRESETS[name]["epochs"]
    # constant learning rate, plain cross-entropy, BatchNorm as built
    assert isinstance(recipe.learning_rate_schedule(1000), float)
    assert recipe.make_loss() == "sparse_categorical_crossentropy"
    assert recipe.bn_momentum is None and recipe.set_bn_momentum(_tiny_model()) == 0


@pytest.mark.parametrize(
    ("n", "batch", "epochs"),
    [
        (66, 8, 100),  # 9 steps/epoch: 30 epochs = 270 < 900 steps -> 100 epochs
        (300, 32, 90),  # 10 steps/epoch: 900 steps exactly
        (120, 15, 113),  # 8 steps/epoch: ceil(900 / 8) = 113
        (960, 32, 30),  # 30 steps/epoch: 30 epochs are 900 steps
        (3000, 32, 30),  # large sets are untouched
        (5, 5, 900),  # never a batch larger than the set
    ],
)
def test_small_sets_get_enough_steps_in_small_batches(n, batch, epochs):
    plan = Recipe.preset("painzoo").training_plan(n)
    assert (plan["batch_size"], plan["epochs"]) == (batch, epochs)
    assert plan["steps_per_epoch"] == math.ceil(n / batch)
    assert plan["total_steps"] >= 900


def test_warmup_then_cosine_schedule():
    recipe = Recipe.preset("painzoo", learning_rate=1e-3)
    total = 200
    schedule = recipe.learning_rate_schedule(total)
    lr = np.array([float(keras.ops.convert_to_numpy(schedule(s))) for s in range(total + 1)])
    warm = 20  # 10 % of the steps
    # independent formula: linear warm-up from lr/100, then cosine to 1 % of lr
    expect = np.where(
        np.arange(total + 1) < warm,
        1e-5 + (1e-3 - 1e-5) * np.arange(total + 1) / warm,
        1e-3 * (0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * (np.arange(total + 1) - warm) / 180))),
    )
    np.testing.assert_allclose(lr, expect, rtol=1e-4)
    assert lr.argmax() == warm and lr[-1] == pytest.approx(1e-5, rel=1e-3)


def test_smoothed_loss_equals_the_formula():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), 6).astype(np.float32)
    y = rng.integers(0, 3, 6)
    eps = 0.1
    target = np.full((6, 3), eps / 3) + (1 - eps) * np.eye(3)[y]
    expect = np.mean(-np.sum(target * np.log(probs), axis=1))
    got = SparseSmoothedCrossentropy(eps)(y, probs)
    assert float(keras.ops.convert_to_numpy(got)) == pytest.approx(expect, rel=1e-5)
    # serialisable with a model
    again = SparseSmoothedCrossentropy.from_config(SparseSmoothedCrossentropy(0.2).get_config())
    assert again.label_smoothing == 0.2


def test_bn_momentum_reaches_every_batchnorm_layer():
    model = painzoo.get_model("resnet18", input_shape=(32, 32, 3))
    assert Recipe.preset("painzoo", bn_momentum=0.8).set_bn_momentum(model) == 20
    norms = [la for la in model.layers if isinstance(la, keras.layers.BatchNormalization)]
    assert len(norms) == 20 and all(la.momentum == 0.8 for la in norms)


def test_bad_new_fields_are_named():
    for field, value in (
        ("schedule", "step"),
        ("warmup_fraction", 1.0),
        ("label_smoothing", -0.1),
        ("bn_momentum", 1.0),
        ("min_steps", -1),
        ("augment", "flipp"),
        ("model_aids", "yes"),
    ):
        with pytest.raises(ValueError, match=field):
            Recipe.preset("painzoo", **{field: value})


def test_painzoo_augmentation_keeps_size_and_range():
    aug = get_augmentation("painzoo", 64, seed=1)
    assert aug.load_size == (70, 70)
    image = np.random.default_rng(0).uniform(0, 255, (70, 70, 3)).astype(np.float32)
    out = keras.ops.convert_to_numpy(aug(image))
    assert out.shape == (64, 64, 3)
    assert np.isfinite(out).all() and out.min() >= -1e-3 and out.max() <= 255 + 1e-3


def test_the_default_augments_training_images_and_never_test_images(input_calls):
    data = _bright_dark(n=16)
    recipe = Recipe.preset("painzoo", min_steps=2, epochs=1)
    recipe.fit(_tiny_model(), data)
    recipe.predict(_tiny_model(), data)
    assert input_calls == [(16, "painzoo", True), (16, None, False)]
    aug = get_augmentation(recipe.augment, 16)
    assert aug.load_size == (18, 18)  # round(1.1 x 16): crops of a slightly larger load


@pytest.mark.backend
def test_fit_follows_the_plan_and_learns():
    data = _bright_dark(n=32)
    recipe = Recipe.preset("painzoo", min_steps=80, epochs=3, augment=None)
    plan = recipe.training_plan(len(data))
    assert (plan["batch_size"], plan["epochs"]) == (8, 20)
    # Seeded: from some random starts (e.g. seed 2 on PyTorch) this tiny network settles on
    # the inverted mapping within 80 steps, through either input pipeline alike.
    keras.utils.set_random_seed(0)
    model = _tiny_model()
    history = recipe.fit(model, data)
    assert len(history.history["loss"]) == 20
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert np.mean((recipe.predict(model, data) >= 0.5) == data.labels) > 0.9


@pytest.mark.backend
def test_early_stopping_stops_when_the_validation_loss_stalls():
    data = _bright_dark(n=32)
    # learning rate 0 and no BatchNorm (whose moving statistics would still change):
    # the validation loss never improves, so training stops after 1 + patience epochs.
    recipe = Recipe.preset(
        "painzoo",
        epochs=20,
        min_steps=0,
        learning_rate=0.0,
        schedule="constant",
        augment=None,
        validation_split=0.25,
        early_stopping=2,
    )
    history = recipe.fit(_tiny_model(batchnorm=False), data)
    assert len(history.history["loss"]) == 3 and "val_loss" in history.history


@pytest.mark.parametrize("field", ["batch_renorm", "data_init", "ema_momentum", "recompute_bn"])
def test_fields_recipes_no_longer_have_are_refused_with_what_to_do(field):
    assert field not in Recipe.preset("painzoo").to_dict()
    for make in (
        lambda: Recipe.from_config({field: True}),
        lambda: Recipe.from_config({"preset": "p2", field: True}),
        lambda: Recipe.preset("painzoo", **{field: True}),
        lambda: Recipe.preset("p1").replace(**{field: True}),
    ):
        with pytest.raises(ValueError, match=rf"\['{field}'\] no longer exist; delete them"):
            make()
