"""Learners: one fit / predict_proba for Keras networks and scikit-learn baselines."""

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.svm import SVC

import painzoo
from painzoo.datasets import Dataset
from painzoo.models.lbp_svm import LBPSVM, lbp_histograms
from painzoo.preprocess import InputSpec
from painzoo.registry import ModelInfo, _unregister, register_model
from painzoo.training.learner import KerasLearner, SklearnLearner, get_learner, learner_class
from painzoo.training.recipe import Recipe


def _bright_dark(n=24, size=16, seed=0):
    """Pain images are brighter; 6 subjects, labels alternate."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    base = np.where(labels[:, None, None, None] == 1, 170, 90)
    images = np.clip(base + rng.normal(0, 40, (n, size, size, 3)), 0, 255).astype(np.uint8)
    frame = pd.DataFrame({"label": labels, "subject": [f"s{i % 6}" for i in range(n)]})
    return Dataset(frame, images=images, name="toy")


@pytest.fixture
def learner_net():
    @register_model("learner_test_net", info=ModelInfo(input_shape=(16, 16, 3)))
    def learner_test_net(num_classes=2, input_shape=(16, 16, 3), weights=None):
        inputs = keras.Input(input_shape)
        x = keras.layers.Rescaling(1 / 255.0)(inputs)
        x = keras.layers.GlobalAveragePooling2D()(x)
        return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(x))

    yield "learner_test_net"
    _unregister("learner_test_net")


def test_the_learner_follows_the_registry_kind(learner_net):
    assert learner_class("lbp_svm_r1p8_4x4") is SklearnLearner
    assert learner_class("lbp_svm_r2p8_6x6") is SklearnLearner  # not registered, but an LBP name
    assert learner_class("songnet") is KerasLearner
    assert isinstance(get_learner("lbp_svm_r3p8_8x8"), SklearnLearner)
    assert isinstance(get_learner(learner_net), KerasLearner)
    with pytest.raises(ValueError, match="Unknown model 'songnett'"):
        get_learner("songnett")


def test_sklearn_learner_matches_an_svm_on_the_lbp_features():
    ds = _bright_dark()
    train, test = ds.subset(np.arange(16)), ds.subset(np.arange(16, 24))
    spec = InputSpec(16, 16)  # the images' own size (the model's default is 224)
    learner = get_learner(
        "lbp_svm_r1p8_4x4", recipe=Recipe(class_weight="balanced"), input_spec=spec
    )
    p = learner.fit(train).predict_proba(test)
    # Independently: features, SVC(kernel="linear", C=1, balanced), logistic of the margin.
    f_train = lbp_histograms(train.images, radius=1, grid=4, norm="counts")
    f_test = lbp_histograms(test.images, radius=1, grid=4, norm="counts")
    svm = SVC(kernel="linear", C=1.0, class_weight="balanced").fit(f_train, train.labels)
    expected = 1 / (1 + np.exp(-svm.decision_function(f_test)))
    assert p.shape == (8,) and p.dtype == np.float64
    np.testing.assert_allclose(p, expected, rtol=1e-6)
    assert learner.estimator.class_weight == "balanced"
    assert learner.losses is None  # no epochs: the learning flags skip the loss checks


def test_sklearn_learner_reads_images_at_the_unit_size():
    ds = _bright_dark(size=16)
    learner = get_learner("lbp_svm_r1p8_4x4", input_spec=InputSpec(8, 8)).fit(ds)
    small = ds.load_images(8)
    assert small.shape[1:3] == (8, 8)
    np.testing.assert_allclose(
        learner.predict_proba(ds), learner.estimator.predict_proba(small)[:, 1]
    )


@pytest.mark.backend
def test_keras_learner_trains_records_losses_and_predicts(learner_net):
    ds = _bright_dark()
    recipe = Recipe(epochs=3, batch_size=8, learning_rate=1e-2, augment=None, seed=0)
    learner = get_learner(learner_net, recipe=recipe, input_spec=InputSpec(16, 16)).fit(ds)
    assert len(learner.losses) == 3 and np.all(np.isfinite(learner.losses))
    p = learner.predict_proba(ds)
    # The network's own softmax on the same uint8 images, column 1 = pain.
    expected = learner.model.predict(ds.images.astype("float32"), verbose=0)[:, 1]
    np.testing.assert_allclose(p, expected, rtol=1e-4, atol=1e-5)
    assert learner.model.input_shape == (None, 16, 16, 3)
    learner.close()
    assert learner.model is None


def test_registry_lists_the_baselines_as_sklearn_models():
    everything = painzoo.list_models(kind=None)
    baselines = painzoo.list_models(kind="sklearn")
    assert baselines == sorted(f"lbp_svm_r{r}p8_{g}x{g}" for r in (1, 3) for g in (4, 8, 16))
    assert set(baselines) <= set(everything)
    assert not set(baselines) & set(painzoo.list_models())  # the default lists networks
    info = painzoo.model_info("lbp_svm_r3p8_16x16")
    assert info.kind == "sklearn" and "p1" in info.tags
    clf = painzoo.get_model("lbp_svm_r3p8_16x16", C=0.5)
    assert isinstance(clf, LBPSVM) and (clf.radius, clf.points, clf.grid, clf.C) == (3, 8, 16, 0.5)
    with pytest.raises(ValueError, match="binary"):
        painzoo.get_model("lbp_svm_r1p8_4x4", num_classes=3)
    with pytest.raises(ValueError, match="kind"):
        ModelInfo(kind="torch")
    with pytest.raises(ValueError, match="kind"):
        painzoo.list_models(kind="torch")


@pytest.mark.backend
def test_saved_models_predict_as_the_learner_did(learner_net, tmp_path):
    import joblib

    ds = _bright_dark()
    keras_learner = get_learner(learner_net, recipe=Recipe(epochs=1, batch_size=8, augment=None))
    keras_learner.fit(ds).save(tmp_path / "net.keras")
    reloaded = keras.saving.load_model(tmp_path / "net.keras")
    np.testing.assert_allclose(
        reloaded.predict(ds.images.astype("float32"), verbose=0)[:, 1],
        keras_learner.predict_proba(ds),
        rtol=1e-4,
        atol=1e-5,
    )
    lbp = get_learner("lbp_svm_r1p8_4x4", input_spec=InputSpec(16, 16)).fit(ds)
    lbp.save(tmp_path / "lbp.joblib")
    np.testing.assert_allclose(
        joblib.load(tmp_path / "lbp.joblib").predict_proba(ds.images)[:, 1], lbp.predict_proba(ds)
    )


def test_painzoo_train_fits_and_saves_through_the_learner(learner_net, tmp_path, monkeypatch):
    """painzoo.train and the benchmark's units train a network by one code path."""
    calls = []

    def spy(name):
        original = getattr(KerasLearner, name)

        def method(self, *args, **kwargs):
            calls.append(name)
            return original(self, *args, **kwargs)

        return method

    for name in ("fit", "save"):
        monkeypatch.setattr(KerasLearner, name, spy(name))
    ds = _bright_dark()
    recipe = Recipe(epochs=2, batch_size=8, learning_rate=1e-2, augment=None, seed=3)
    trained = painzoo.train(data=ds, model=learner_net, out=tmp_path / "m", recipe=recipe)
    assert calls == ["fit", "save"]
    keras.utils.set_random_seed(99)  # the learner seeds the initial weights itself
    alone = get_learner(learner_net, recipe=recipe).fit(ds)  # a unit's learner, same recipe
    for got, want in zip(trained.keras_model.get_weights(), alone.model.get_weights()):
        np.testing.assert_array_equal(got, want)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's graphs")
def test_a_closed_learner_leaves_no_training_graph_alive(learner_net):
    """TensorFlow registers a gradient for every traced training step and never
    forgets it; the registration held the step's graph, and with it the network's
    weights and optimizer slots, after the learner was closed (a worker grew by
    about 150 MB per ResNet-18 unit)."""
    import gc

    from tensorflow.python.framework.func_graph import FuncGraph

    def graphs():
        gc.collect()
        return sum(isinstance(o, FuncGraph) for o in gc.get_objects())

    before = graphs()
    for seed in (0, 1):
        learner = get_learner(learner_net, recipe=Recipe.preset("p2", epochs=1, seed=seed))
        learner.fit(_bright_dark())
        learner.predict_proba(_bright_dark(seed=1))
        learner.close()
    assert graphs() <= before
