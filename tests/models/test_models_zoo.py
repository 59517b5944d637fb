"""Every registered model: forward pass, one training step, .keras round trip,
input-size limits, and P2's parameter counts (SPEC §3, P2 Table 3)."""

import keras
import numpy as np
import pytest

import painzoo
from painzoo.models import applications

# SPEC §3: model.count_params() at the default input with 2 and 6 classes,
# and the figure printed in P2 Table 3.
P2_COUNTS = {
    "alexnet": (88_702_338, 88_718_726, "88.7 M"),
    "songnet": (147_586, 172_678, "172.7 K"),
    "weinet": (679_650, 1_728_230, "1.7 M"),
    "silnet": (184_849_986, 184_852_038, "184.9 M"),
    "vgg16": (14_715_714, None, "14.7 M"),
    "vgg19": (20_025_410, None, "20 M"),
    "resnet50": (23_591_810, None, "23.6 M"),
    "resnet101v2": (42_630_658, None, "42.6 M"),
    "inceptionv3": (21_806_882, None, "21.8 M"),
    "xception": (20_865_578, None, "20.9 M"),
}
# Builds with more than ~40 M parameters at the default input.
LARGE = {"alexnet", "silnet", "resnet101v2"}

# Which keras.applications preprocess_input each application must reproduce.
PREPROCESS = {
    "vgg16": keras.applications.vgg16.preprocess_input,
    "vgg19": keras.applications.vgg19.preprocess_input,
    "resnet50": keras.applications.resnet50.preprocess_input,
    "resnet101v2": keras.applications.resnet_v2.preprocess_input,
    "inceptionv3": keras.applications.inception_v3.preprocess_input,
    "xception": keras.applications.xception.preprocess_input,
}

# Applications whose he_init aid draws He-normal kernels and scales x / 255.
HE_INIT = {"vgg16", "vgg19"}

# Keras' own cache file names for the no-top ImageNet weights.
IMAGENET_FILES = {
    "vgg16": "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "vgg19": "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "resnet50": "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "resnet101v2": "resnet101v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "inceptionv3": "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "xception": "xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
}


def _small_model(name, num_classes):
    """Build ``name`` at its declared minimum input (``extra["min_input"]``), so
    the forward pass also proves that minimum; otherwise at the smallest of a
    few sizes that it accepts."""
    declared = painzoo.model_info(name).extra.get("min_input")
    sizes = [declared] if declared else [32, 64, 96, 128, 160, 224]
    for size in sizes:
        try:
            return painzoo.get_model(name, num_classes=num_classes, input_shape=(size, size, 3))
        except ValueError:
            if size == sizes[-1]:
                raise
    raise AssertionError("unreachable")


def _predict(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def _table_value(text):
    """'88.7 M' -> (88.7, 1e6, 1 decimal)."""
    number, unit = text.split()
    decimals = len(number.split(".")[1]) if "." in number else 0
    return float(number), {"K": 1e3, "M": 1e6}[unit], decimals


def _rounds_to_table(count, text):
    value, scale, decimals = _table_value(text)
    return round(count / scale, decimals) == value


@pytest.mark.backend
@pytest.mark.parametrize("name", painzoo.list_models())
def test_forward_fit_and_keras_round_trip(name, rng, tmp_path):
    num_classes = 3
    model = _small_model(name, num_classes)
    size = model.input_shape[1]
    x = rng.uniform(0, 255, size=(4, size, size, 3)).astype("float32")
    y = np.array([0, 1, 2, 1])

    probs = _predict(model, x)
    assert probs.shape == (4, num_classes)
    assert np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert (probs >= 0).all()

    # Eager: tracing a 300-layer graph for a single step costs seconds per model.
    model.compile(
        optimizer=keras.optimizers.SGD(1e-3),
        loss="sparse_categorical_crossentropy",
        run_eagerly=True,
    )
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])

    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_allclose(_predict(restored, x), _predict(model, x), rtol=1e-4, atol=1e-6)

    if name in PREPROCESS:
        # By default the scaling layer equals Keras' preprocess_input for that
        # network (what its ImageNet weights expect); the VGGs built with the
        # he_init aid from random weights scale x / 255 instead.
        expected = PREPROCESS[name](x.copy())
        scaling = keras.Model(model.input, model.get_layer("scaling").output)
        np.testing.assert_allclose(_predict(scaling, x), expected, rtol=1e-5, atol=1e-3)
        if name in HE_INIT:
            he = painzoo.get_model(name, input_shape=model.input_shape[1:], he_init=True)
            scaled = keras.Model(he.input, he.get_layer("scaling").output)
            np.testing.assert_allclose(_predict(scaled, x), x / 255.0, rtol=1e-6)


@pytest.mark.parametrize("name", sorted(n for n in painzoo.list_models() if n in P2_COUNTS))
def test_input_below_minimum_raises(name):
    # The forward test above runs each model at exactly this minimum.
    minimum = painzoo.model_info(name).extra["min_input"]
    with pytest.raises(ValueError, match=rf"{name} needs inputs of at least {minimum}"):
        painzoo.get_model(name, input_shape=(minimum - 1, minimum - 1, 3))


def test_documented_keras_minimums_hold():
    # keras.applications documents these minimums; painzoo's must not be larger.
    documented = {"vgg16": 32, "vgg19": 32, "resnet50": 32, "resnet101v2": 32}
    documented.update({"inceptionv3": 75, "xception": 71})
    for name, size in documented.items():
        assert painzoo.model_info(name).extra["min_input"] <= size


@pytest.fixture
def fast_init(monkeypatch):
    """Zero initialisers: parameter counts depend only on shapes, and drawing
    185 M Glorot-normal numbers dominates a SilNet build."""

    def zeros(self, shape, dtype=None):
        return keras.ops.zeros(shape, dtype=dtype or "float32")

    for cls in (keras.initializers.GlorotNormal, keras.initializers.GlorotUniform):
        monkeypatch.setattr(cls, "__call__", zeros)


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n in LARGE else n for n in P2_COUNTS],
)
def test_parameter_counts_match_spec_and_p2_table3(name, fast_init):
    params_2, params_6, table = P2_COUNTS[name]
    model = painzoo.get_model(name, num_classes=2)
    assert model.count_params() == params_2
    assert painzoo.model_info(name).params == params_2

    # The head is Dense(F -> c): going from 2 to 6 classes adds 4 * (F + 1).
    features = model.get_layer("predictions").input.shape[-1]
    expected_6 = params_2 + 4 * (features + 1)
    if params_6 is not None:
        assert expected_6 == params_6
    assert painzoo.model_info(name).params_6 == expected_6
    assert _rounds_to_table(expected_6, table), (name, expected_6, table)

    if name in ("songnet", "weinet"):  # cheap enough to build twice
        keras.backend.clear_session()
        assert painzoo.get_model(name, num_classes=6).count_params() == expected_6


def test_p2_table3_needs_six_class_heads_for_three_models():
    # SPEC §3: SongNet, WeiNet and SilNet match Table 3 only with 6 classes.
    for name in ("songnet", "weinet", "silnet"):
        params_2, params_6, table = P2_COUNTS[name]
        assert not _rounds_to_table(params_2, table)
        assert _rounds_to_table(params_6, table)


def test_flatten_models_count_depends_on_input_shape():
    # WeiNet: three convolutions keep H×W; the head sees H·W·64 features.
    convs = (7 * 7 * 3 * 32 + 32) + (7 * 7 * 32 * 32 + 32) + (7 * 7 * 32 * 64 + 64)
    for side in (16, 40):
        model = painzoo.get_model("weinet", input_shape=(side, side, 3))
        assert model.count_params() == convs + (side * side * 64 + 1) * 2
    # SongNet: four stride-2 'same' pools -> ceil(side / 16) per axis, 32 channels.
    convs = (5 * 5 * 3 * 64 + 64) + (5 * 5 * 64 * 64 + 64) + (3 * 3 * 64 * 32 + 32)
    convs += 3 * 3 * 32 * 32 + 32
    model = painzoo.get_model("songnet", input_shape=(40, 72, 3))
    assert model.count_params() == convs + (3 * 5 * 32 + 1) * 2
    # Applications end in global pooling: the count does not change.
    assert painzoo.get_model("vgg16", input_shape=(64, 48, 3)).count_params() == 14_715_714


@pytest.mark.backend
def test_compiled_fit_step(rng):
    model = painzoo.get_model("weinet", input_shape=(16, 16, 3))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = rng.uniform(0, 255, size=(4, 16, 16, 3)).astype("float32")
    before = model.get_layer("predictions").get_weights()[0].copy()
    model.fit(x, np.array([0, 1, 0, 1]), batch_size=2, epochs=1, verbose=0)
    assert not np.allclose(model.get_layer("predictions").get_weights()[0], before)


@pytest.mark.backend
@pytest.mark.parametrize("name", ["songnet", "vgg16"])
def test_weights_file_round_trip(name, rng, tmp_path):
    shape = (32, 32, 3)
    # A weights file loads under the scaling its ImageNet weights expect
    # ("caffe" for VGG, the default); one trained from random weights with the
    # he_init aid (x / 255) is saved whole, as a .keras file.
    source = painzoo.get_model(name, input_shape=shape)
    path = tmp_path / f"{name}.weights.h5"
    source.save_weights(path)
    keras.utils.set_random_seed(1)
    other = painzoo.get_model(name, input_shape=shape)
    loaded = painzoo.get_model(name, input_shape=shape, weights=str(path))
    x = rng.uniform(0, 255, size=(2, *shape)).astype("float32")
    np.testing.assert_allclose(_predict(loaded, x), _predict(source, x), rtol=1e-5, atol=1e-6)
    assert not np.allclose(_predict(other, x), _predict(source, x))


def test_weights_errors(tmp_path):
    with pytest.raises(ValueError, match="from scratch"):
        painzoo.get_model("songnet", weights="imagenet")
    with pytest.raises(FileNotFoundError, match="missing.weights.h5"):
        painzoo.get_model("weinet", input_shape=(8, 8, 3), weights=tmp_path / "missing.weights.h5")
    with pytest.raises(ValueError, match="received 'imagenet21k'"):
        painzoo.get_model("vgg16", weights="imagenet21k")


@pytest.mark.parametrize("name", sorted(IMAGENET_FILES))
def test_imagenet_offline_error_names_cache_file(name, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise OSError("URL fetch failure: no network")

    monkeypatch.setattr(applications, "get_file", offline)
    with pytest.raises(RuntimeError) as err:
        painzoo.get_model(name, weights="imagenet")
    message = str(err.value)
    assert str(tmp_path / "models" / IMAGENET_FILES[name]) in message
    assert "weights=None" in message
    assert painzoo.model_info(name).weights == ("imagenet",)


@pytest.mark.backend
def test_imagenet_weights_come_from_keras_cache(rng, tmp_path, monkeypatch):
    # A stand-in for the cached ImageNet file: a VGG16 base with known weights.
    keras.utils.set_random_seed(3)
    base = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    cached = tmp_path / "vgg16_base.weights.h5"
    base.save_weights(cached)
    calls = []

    def cached_get_file(fname, origin, **kwargs):
        calls.append((fname, kwargs.get("cache_subdir")))
        return str(cached)

    monkeypatch.setattr(applications, "get_file", cached_get_file)
    keras.utils.set_random_seed(0)
    model = painzoo.get_model("vgg16", input_shape=(32, 32, 3), weights="imagenet")
    assert calls == [(IMAGENET_FILES["vgg16"], "models")]
    for layer in (layer for layer in base.layers if layer.weights):
        for got, want in zip(model.get_layer(layer.name).weights, layer.weights):
            np.testing.assert_array_equal(
                keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want)
            )
