"""Grad-CAM: shape, range, finiteness, and the CAM identity of a GAP + linear head."""

import keras
import numpy as np
import pytest

import painzoo
from painzoo.cli import main
from painzoo.explain import gradcam
from painzoo.explain.gradcam import find_last_conv_layer

pytestmark = pytest.mark.skipif(
    keras.backend.backend() not in ("tensorflow", "torch"),
    reason="gradcam supports the TensorFlow and PyTorch backends",
)


def _gap_linear_model():
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="conv")(
        inputs / 255.0
    )
    pooled = keras.layers.GlobalAveragePooling2D()(x)
    logits = keras.layers.Dense(2, name="head")(pooled)  # linear output, no softmax
    return keras.Model(inputs, logits)


@pytest.mark.backend
def test_gap_linear_head_gives_class_activation_map(rng):
    # With y_c = w_c · GAP(A) + b, ∂y_c/∂A^k_ij = w_kc / (h·w), so Grad-CAM is
    # ReLU(Σ_k w_kc A^k) up to scale: the CAM of Zhou et al. (2016), computed here
    # from the layer outputs with NumPy.
    import cv2

    model = _gap_linear_model()
    x = rng.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    feats = keras.ops.convert_to_numpy(
        keras.Model(model.inputs[0], model.get_layer("conv").output)(x)
    )
    w = keras.ops.convert_to_numpy(model.get_layer("head").kernel)
    for c in (0, 1):
        cams = np.maximum(np.einsum("nhwk,k->nhw", feats, w[:, c]), 0)
        expected = np.stack(
            [cv2.resize(m, (32, 32), interpolation=cv2.INTER_LINEAR) for m in cams]
        )
        expected /= expected.max(axis=(1, 2), keepdims=True)
        got = gradcam(model, x, layer="conv", label=c)
        np.testing.assert_allclose(got, expected, atol=1e-4)


@pytest.mark.backend
def test_zoo_model_shape_and_finiteness(rng):
    model = painzoo.get_model("resnet18", input_shape=(64, 64, 3))
    assert find_last_conv_layer(model) == "layer4_1_out"
    x = rng.uniform(0, 255, (3, 64, 64, 3)).astype("float32")
    maps = gradcam(model, x)
    assert maps.shape == (3, 64, 64) and maps.dtype == np.float32
    assert np.isfinite(maps).all() and maps.min() >= 0 and maps.max() <= 1
    assert gradcam(model, x[0], label=1).shape == (64, 64)


@pytest.mark.backend
def test_errors():
    model = _gap_linear_model()
    with pytest.raises(ValueError, match="no layer 'nope'"):
        gradcam(model, np.zeros((1, 32, 32, 3)), layer="nope")
    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="4-D feature map"):
        find_last_conv_layer(dense)


@pytest.mark.backend
def test_cli_explain_writes_overlays(tmp_path, rng, capsys):
    from painzoo.datasets.io import write_image

    model = _gap_linear_model()
    path = tmp_path / "tiny.keras"
    model.save(path)
    images = []
    for i in range(2):
        images.append(tmp_path / f"face{i}.png")
        write_image(images[-1], rng.integers(0, 255, (40, 48, 3)).astype(np.uint8))
    out = tmp_path / "maps"
    code = main(
        ["explain", str(path), *map(str, images), "--method", "gradcam", "--out", str(out)]
    )
    assert code == 0
    printed = capsys.readouterr().out.split()
    assert [p.rsplit("/", 1)[-1] for p in printed] == ["face0_gradcam.png", "face1_gradcam.png"]
    from painzoo.datasets.io import read_image

    assert read_image(out / "face0_gradcam.png").shape == (40, 48, 3)
    assert main(["explain", str(path), str(tmp_path / "missing.png")]) == 2
