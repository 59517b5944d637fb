"""attention_maps (β of P1 Eq. 2 on the M×M grid) and overlay (P1 Figure 4)."""

import os
import subprocess
import sys

import keras
import matplotlib
import numpy as np
import pytest

import painzoo
from painzoo.explain import attention_maps, overlay

SMALL = (96, 96, 3)  # 3×3 grid


@pytest.fixture(scope="module")
def seeker():
    return painzoo.get_model("painseeker", input_shape=SMALL)


def faces(n, size=96, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


@pytest.mark.backend
def test_maps_are_eq2_beta_on_the_grid(seeker):
    x = faces(3)
    maps = attention_maps(seeker, x)
    assert maps.shape == (3, 3, 3) and maps.dtype == np.float32
    feats = keras.Model(seeker.inputs, seeker.get_layer("layer4_1_out").output).predict(
        x.astype(np.float32), verbose=0
    )
    kernel, bias = seeker.get_layer("attention").get_weights()
    # Eq. 2 cell by cell: grid cell (r, c) holds σ(g(x_rc)) / Σ σ(g(·)).
    gates = 1 / (1 + np.exp(-(np.asarray(feats, np.float64) @ kernel[:, 0] + bias[0])))
    expected = gates / gates.sum(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(maps, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(maps.sum(axis=(1, 2)), 1.0, atol=1e-5)


@pytest.mark.backend
def test_single_image_and_resizing(seeker):
    one = attention_maps(seeker, faces(1)[0])
    assert one.shape == (1, 3, 3)
    big = attention_maps(seeker, faces(2, size=150))
    assert big.shape == (2, 3, 3)


@pytest.mark.backend
def test_other_models_are_rejected():
    model = painzoo.get_model("resnet18", input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match="PainSeekerAttention"):
        attention_maps(model, faces(1, size=32))


@pytest.mark.backend
def test_layer_on_region_vectors():
    # The layer may also sit on [B, K, D] region vectors; a square K is laid out as M×M.
    inputs = keras.Input((8, 8, 3))
    grid = keras.layers.Conv2D(4, 2, strides=2, name="conv")(inputs)
    regions = keras.layers.Reshape((16, 4))(grid)
    fused, _ = painzoo.layers.PainSeekerAttention(top_k=3, name="att")(regions)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(fused))
    x = faces(2, size=8).astype(np.float32) / 255
    maps = attention_maps(model, x)
    assert maps.shape == (2, 4, 4)
    feats = keras.Model(inputs, grid).predict(x, verbose=0)
    kernel, bias = model.get_layer("att").get_weights()
    gates = 1 / (1 + np.exp(-(np.asarray(feats, np.float64) @ kernel[:, 0] + bias[0])))
    np.testing.assert_allclose(maps, gates / gates.sum(axis=(1, 2), keepdims=True), rtol=1e-4)


def test_overlay_alpha_zero_is_the_image():
    x = faces(2, size=40)
    maps = np.random.default_rng(1).uniform(size=(2, 5, 5))
    out = overlay(x, maps, alpha=0.0)
    assert out.dtype == np.uint8 and out.shape == x.shape
    np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize("colormap", ["jet", "viridis"])
def test_overlay_nearest_blocks_are_the_colour_map(colormap):
    # 2×2 map over a 40×40 image: each 20×20 block is one region.
    image = np.full((40, 40, 3), 100, np.uint8)
    heat = np.array([[0.2, 0.6], [1.0, 0.4]], np.float32)
    out = overlay(image, heat, alpha=0.5, colormap=colormap, interpolation="nearest")
    assert out.shape == (40, 40, 3) and out.dtype == np.uint8
    cmap = matplotlib.colormaps[colormap]
    normalised = (heat - 0.2) / 0.8
    for (r, c), value in np.ndenumerate(normalised):
        colour = np.asarray(cmap(value)[:3]) * 255
        expected = np.clip(np.rint(0.5 * 100 + 0.5 * colour), 0, 255)
        block = out[r * 20 : (r + 1) * 20, c * 20 : (c + 1) * 20].reshape(-1, 3)
        assert np.all(np.abs(block.astype(int) - expected) <= 1)


def test_overlay_bilinear_keeps_corner_values_and_is_smooth():
    image = np.zeros((1, 64, 64, 3), np.uint8)
    heat = np.array([[[0.0, 0.0], [0.0, 1.0]]], np.float32)
    out = overlay(image, heat, alpha=1.0, colormap="gray")
    # gray colour map: colour = value; the image is black, alpha 1 shows only the map.
    assert out[0, 0, 0].tolist() == [0, 0, 0]
    assert out[0, -1, -1].tolist() == [255, 255, 255]
    assert 0 < out[0, 32, 32, 0] < 255  # interpolated between regions
    assert len(np.unique(out[0, :, :, 0])) > 4


def test_overlay_constant_map_and_errors():
    image = np.full((8, 8, 3), 50, np.uint8)
    out = overlay(image, np.full((2, 2), 0.3), alpha=1.0, colormap="gray")
    np.testing.assert_array_equal(out, 0)  # a constant map normalises to 0
    with pytest.raises(ValueError, match="one map per image"):
        overlay(faces(2, size=8), np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match="alpha"):
        overlay(image, np.zeros((2, 2)), alpha=2)
    with pytest.raises(ValueError, match="colour map"):
        overlay(image, np.zeros((2, 2)), colormap="no-such-map")
    with pytest.raises(ValueError, match="interpolation"):
        overlay(image, np.zeros((2, 2)), interpolation="cubic")


@pytest.mark.backend
def test_end_to_end_overlay_matches_image_size(seeker):
    x = faces(2, size=120)
    pictures = overlay(x, attention_maps(seeker, x))
    assert pictures.shape == x.shape and pictures.dtype == np.uint8


def test_explain_imports_without_tensorflow_on_torch():
    code = (
        "import sys, painzoo.explain; "
        "from painzoo.explain import attention_maps, overlay; "
        "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'"
    )
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
