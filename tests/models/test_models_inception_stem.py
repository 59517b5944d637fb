"""InceptionV3's low-resolution stem (Szegedy et al. 2016, section 9): with
``low_resolution_stem=True`` the first convolution runs at stride 1, with Keras'
layers, weights and count. By default the stem is Keras' at every size; the
"painzoo" recipe asks for the low-resolution one when both sides are <= 151 px."""

import keras
import numpy as np
import pytest

import painzoo
from painzoo.models.applications import LOW_RESOLUTION_SIDE, with_stride_one_stem
from painzoo.training.recipe import Recipe


def _first_conv(model):
    return next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))


def _out(model, layer_name, x):
    sub = keras.Model(model.input, model.get_layer(layer_name).output)
    return keras.ops.convert_to_numpy(sub(x, training=False))


@pytest.mark.parametrize(
    ("side", "kwargs", "stride"),
    [
        (75, {}, 2),
        (112, {}, 2),
        (LOW_RESOLUTION_SIDE, {}, 2),
        (224, {}, 2),
        (112, {"low_resolution_stem": False}, 2),
        (112, {"low_resolution_stem": True}, 1),
        (224, {"low_resolution_stem": True}, 1),
    ],
)
def test_stem_stride_is_keras_unless_asked(side, kwargs, stride):
    model = painzoo.get_model("inceptionv3", input_shape=(side, side, 3), **kwargs)
    assert tuple(_first_conv(model).strides) == (stride, stride)
    # A stride has no weights: P2 Table 3's count (SPEC §3) at every size and stride.
    assert model.count_params() == 21_806_882


@pytest.mark.parametrize(
    ("shape", "preset", "expected"),
    [
        ((112, 112, 3), "painzoo", {"low_resolution_stem": True}),
        ((LOW_RESOLUTION_SIDE, LOW_RESOLUTION_SIDE, 3), "painzoo", {"low_resolution_stem": True}),
        ((LOW_RESOLUTION_SIDE + 1, LOW_RESOLUTION_SIDE + 1, 3), "painzoo", {}),
        ((100, 140, 3), "painzoo", {"low_resolution_stem": True}),
        ((224, 112, 3), "painzoo", {}),  # only when both sides are small
        (None, "painzoo", {}),  # the default 224 px
        ((112, 112, 3), "p1", {}),
        ((112, 112, 3), "p2", {}),
    ],
)
def test_the_painzoo_recipe_asks_for_the_stem_on_small_inputs_only(shape, preset, expected):
    assert Recipe.preset(preset).model_kwargs_for("inceptionv3", shape) == expected


def test_at_151_px_the_maps_are_those_of_keras_inceptionv3_at_299_px():
    # The threshold's reason: stride 1 at 151 px gives the design geometry of 299 px.
    ours = painzoo.get_model("inceptionv3", input_shape=(151, 151, 3), low_resolution_stem=True)
    keras_net = keras.applications.InceptionV3(
        include_top=False, weights=None, input_shape=(299, 299, 3)
    )
    for name in ("mixed2", "mixed7", "mixed10"):
        assert ours.get_layer(name).output.shape[1:] == keras_net.get_layer(name).output.shape[1:]


@pytest.mark.backend
def test_stride_one_stem_keeps_every_weight_and_subsamples_to_the_stride_two_output(rng):
    keras.utils.set_random_seed(3)
    plain = painzoo.get_model("inceptionv3", input_shape=(80, 80, 3))
    low = with_stride_one_stem(plain)
    assert [w.name for w in low.weights] == [w.name for w in plain.weights]
    for a, b in zip(low.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)

    x = rng.uniform(0, 255, (2, 80, 80, 3)).astype("float32")
    first = _first_conv(plain).name
    stride_two = _out(plain, first, x)
    stride_one = _out(low, first, x)
    assert stride_two.shape[1:3] == (39, 39) and stride_one.shape[1:3] == (78, 78)
    # A valid stride-2 convolution is the stride-1 one read at every other position.
    np.testing.assert_allclose(stride_one[:, ::2, ::2], stride_two, rtol=1e-4, atol=1e-4)

    # ... and the same kernel written out in NumPy (x scaled to [-1, 1] as the model does).
    kernel = keras.ops.convert_to_numpy(_first_conv(low).kernel)
    scaled = x / 127.5 - 1.0
    windows = np.lib.stride_tricks.sliding_window_view(scaled, (3, 3), axis=(1, 2))
    expected = np.einsum("bhwcij,ijco->bhwo", windows, kernel)
    np.testing.assert_allclose(stride_one, expected, rtol=1e-3, atol=1e-3)


def test_weights_file_loads_into_the_low_resolution_stem(tmp_path, rng):
    keras.utils.set_random_seed(5)
    stem = {"input_shape": (96, 96, 3), "low_resolution_stem": True}
    trained = painzoo.get_model("inceptionv3", **stem)
    path = tmp_path / "inception.weights.h5"
    trained.save_weights(path)
    keras.utils.set_random_seed(6)
    loaded = painzoo.get_model("inceptionv3", weights=str(path), **stem)
    assert tuple(_first_conv(loaded).strides) == (1, 1)
    x = rng.uniform(0, 255, (2, 96, 96, 3)).astype("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x, training=False)),
        keras.ops.convert_to_numpy(trained(x, training=False)),
        rtol=1e-5,
        atol=1e-6,
    )


def test_a_model_without_a_convolution_is_refused():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs), name="dense_only")
    with pytest.raises(ValueError, match="dense_only has no Conv2D"):
        with_stride_one_stem(model)
