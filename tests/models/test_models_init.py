"""The initialisation aids, asked for explicitly: residual branches at zero, He-normal VGG kernels.

By default every network is initialised as published (tests/models/test_models_exact.py)."""

import keras
import numpy as np
import pytest

import painzoo
from painzoo.models._common import zero_residual_branches
from painzoo.models.applications import he_initialize


def _add_inputs(model):
    """(layer name, [branch outputs]) of every two-input Add, in inference mode."""
    adds = [la for la in model.layers if isinstance(la, keras.layers.Add)]
    tensors = [t for la in adds for t in la._inbound_nodes[0].input_tensors]
    probe = keras.Model(model.inputs[0], tensors)
    x = np.random.default_rng(0).uniform(0, 255, (2, *model.input_shape[1:])).astype("float32")
    values = [keras.ops.convert_to_numpy(v) for v in probe(x, training=False)]
    return [(la.name, values[2 * i : 2 * i + 2]) for i, la in enumerate(adds)]


def _check_one_branch_zero(model, expected):
    assert zero_residual_branches(model) == expected
    pairs = _add_inputs(model)
    assert len(pairs) == expected
    for name, (a, b) in pairs:
        zero = [not np.any(a), not np.any(b)]
        # exactly one input of each Add is exactly zero: the residual branch,
        # never the shortcut (identity or projection)
        assert sum(zero) == 1, name
        assert np.abs(b if zero[0] else a).max() > 0, name


@pytest.mark.backend
def test_resnet18_blocks_start_as_identity():
    model = painzoo.get_model("resnet18", input_shape=(64, 64, 3))
    _check_one_branch_zero(model, expected=8)
    # the projection shortcuts keep their BatchNorm scale
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization) and "downsample" in layer.name:
            np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.gamma), 1.0)


@pytest.mark.parametrize(
    "build, expected",
    [
        # V1: the branch ends in BatchNorm; four blocks with a projection shortcut
        (lambda: keras.applications.ResNet50(weights=None, input_shape=(64, 64, 3)), 16),
        # V2 (pre-activation): the branch ends in a convolution with a bias
        (lambda: keras.applications.ResNet50V2(weights=None, input_shape=(64, 64, 3)), 16),
        # Xception: the entry-flow branches end in BatchNorm then MaxPooling
        (lambda: keras.applications.Xception(weights=None, input_shape=(71, 71, 3)), 12),
    ],
    ids=["resnet50", "resnet50v2", "xception"],
)
def test_keras_residual_networks_start_as_identity(build, expected):
    _check_one_branch_zero(build(), expected)


def test_networks_without_residual_additions_are_untouched():
    model = painzoo.get_model("songnet", input_shape=(64, 64, 3))
    before = [keras.ops.convert_to_numpy(w).copy() for w in model.weights]
    assert zero_residual_branches(model) == 0
    for old, new in zip(before, model.weights):
        np.testing.assert_array_equal(old, keras.ops.convert_to_numpy(new))


def test_branches_of_equal_length_are_left_alone():
    x = keras.Input((4,))
    a = keras.layers.Dense(4, name="a")(x)
    b = keras.layers.Dense(4, name="b")(x)
    model = keras.Model(x, keras.layers.Add()([a, b]))
    assert zero_residual_branches(model) == 0
    assert np.any(keras.ops.convert_to_numpy(model.get_layer("a").kernel))
    assert np.any(keras.ops.convert_to_numpy(model.get_layer("b").kernel))


def _zero_gammas(model):
    return sum(
        not np.any(keras.ops.convert_to_numpy(la.gamma))
        for la in model.layers
        if isinstance(la, keras.layers.BatchNormalization) and la.gamma is not None
    )


def test_residual_applications_start_at_zero_only_when_asked_and_unless_weights_are_loaded(
    tmp_path,
):
    aided = painzoo.get_model("resnet50", input_shape=(64, 64, 3), zero_init_residual=True)
    assert _zero_gammas(aided) == 16
    keras_init = painzoo.get_model("resnet50", input_shape=(64, 64, 3))  # the default
    assert _zero_gammas(keras_init) == 0
    # a weights file is loaded as saved: its residual branches are not zeroed
    path = tmp_path / "resnet50.weights.h5"
    keras_init.save_weights(path)
    loaded = painzoo.get_model(
        "resnet50", input_shape=(64, 64, 3), weights=str(path), zero_init_residual=True
    )
    assert _zero_gammas(loaded) == 0
    for a, b in zip(keras_init.weights, loaded.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))


def test_resnet101v2_branches_end_in_zero_kernels_only_when_asked():
    def zero_kernels(model):
        return sum(
            not np.any(keras.ops.convert_to_numpy(la.kernel))
            for la in model.layers
            if isinstance(la, keras.layers.Conv2D)
        )

    assert zero_kernels(painzoo.get_model("resnet101v2", input_shape=(32, 32, 3))) == 0
    aided = painzoo.get_model("resnet101v2", input_shape=(32, 32, 3), zero_init_residual=True)
    assert zero_kernels(aided) == 33  # one per block: 3 + 4 + 23 + 3


def test_resnet18_zero_init_residual_zeroes_the_last_batchnorm_of_each_block():
    # torchvision's zero_init_residual: bn2.weight of every BasicBlock, off by default
    def zero_bn2(model):
        return sorted(
            la.name
            for la in model.layers
            if isinstance(la, keras.layers.BatchNormalization)
            and not np.any(keras.ops.convert_to_numpy(la.gamma))
        )

    assert zero_bn2(painzoo.get_model("resnet18", input_shape=(32, 32, 3))) == []
    aided = painzoo.get_model("resnet18", input_shape=(32, 32, 3), zero_init_residual=True)
    blocks = [f"layer{s}_{b}_bn2" for s in range(1, 5) for b in range(2)]
    assert zero_bn2(aided) == sorted(blocks)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("vgg16", "he_init"),
        ("resnet50", "zero_init_residual"),
        ("inceptionv3", "low_resolution_stem"),
        ("resnet18", "keras_init"),
        ("painseeker", "keras_init"),
    ],
)
def test_aid_flags_must_be_true_or_false(name, key):
    with pytest.raises(ValueError, match=rf"{key} must be true or false; received 'auto'"):
        painzoo.get_model(name, input_shape=(96, 96, 3), **{key: "auto"})


def _signal_gain(model, x):
    """Mean square of VGG's last convolution's output over that of its scaled input."""
    scaled = x / 255.0
    body = keras.Model(model.get_layer("scaling").output, model.get_layer("block5_conv4").output)
    out = keras.ops.convert_to_numpy(body(scaled, training=False))
    return float(np.mean(out**2) / np.mean(scaled**2))


@pytest.mark.backend
def test_vgg19_from_random_weights_keeps_the_signal_size(rng):
    x = rng.uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    he = painzoo.get_model("vgg19", input_shape=(64, 64, 3), he_init=True)
    assert he.get_layer("scaling").mode == "unit"
    # He et al. 2015: with std sqrt(2 / fan_in) each ReLU convolution keeps the
    # second moment, so 16 of them (and 4 max-pools) leave it at the same order
    assert 0.2 < _signal_gain(he, x) < 20
    # Keras' Glorot kernels shrink it by orders of magnitude: VGG19 did not learn
    glorot = painzoo.get_model("vgg19", input_shape=(64, 64, 3))  # the default: Keras' VGG19
    assert glorot.get_layer("scaling").mode == "caffe"
    assert _signal_gain(glorot, x) < 1e-3


def test_he_initialize_redraws_every_convolution_independently():
    model = painzoo.get_model("vgg16", input_shape=(32, 32, 3))
    assert he_initialize(model) == 13
    kernels = [la.kernel for la in model.layers if isinstance(la, keras.layers.Conv2D)]
    same_shape = [keras.ops.convert_to_numpy(k) for k in kernels if k.shape == (3, 3, 512, 512)]
    assert len(same_shape) >= 2
    assert not np.allclose(same_shape[0], same_shape[1])
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            w = keras.ops.convert_to_numpy(layer.kernel)
            fan_in = np.prod(w.shape[:3])
            assert abs(w.std() * np.sqrt(fan_in / 2) - 1) < 0.15, layer.name
            assert not np.any(keras.ops.convert_to_numpy(layer.bias))
