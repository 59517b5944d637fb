"""weights="imagenet" for the ResNet-18 family: download once, check, convert, cache.

The checkpoint is made here (random values in torchvision's key layout) and
served from a ``file://`` URL; no test touches the network.
"""

import keras
import numpy as np
import pytest

import painzoo
from painzoo.models import torch_weights

safetensors_numpy = pytest.importorskip("safetensors.numpy")

SIZE = (96, 96, 3)  # painseeker needs a grid of more than top_k = 5 regions


def _torchvision_state(seed=0) -> dict[str, np.ndarray]:
    """A random ResNet-18 state dict in torchvision's names and (OIHW) layout."""
    rng = np.random.default_rng(seed)
    state = {}
    model = painzoo.get_model("resnet18", num_classes=1000, input_shape=SIZE)
    for layer in model.layers:
        key = layer.name.replace("_", ".")
        if isinstance(layer, keras.layers.Conv2D):
            h, w, cin, cout = layer.kernel.shape
            state[f"{key}.weight"] = rng.normal(0, 0.05, (cout, cin, h, w)).astype(np.float32)
        elif isinstance(layer, keras.layers.BatchNormalization):
            c = layer.gamma.shape[0]
            state[f"{key}.weight"] = rng.uniform(0.5, 1.5, c).astype(np.float32)
            state[f"{key}.bias"] = rng.normal(0, 0.1, c).astype(np.float32)
            state[f"{key}.running_mean"] = rng.normal(0, 0.1, c).astype(np.float32)
            state[f"{key}.running_var"] = rng.uniform(0.5, 2.0, c).astype(np.float32)
            state[f"{key}.num_batches_tracked"] = np.array(7, np.int64)
    state["fc.weight"] = rng.normal(0, 0.01, (1000, 512)).astype(np.float32)
    state["fc.bias"] = np.zeros(1000, np.float32)
    keras.backend.clear_session()
    return state


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A random checkpoint in torchvision's layout, written once per module."""
    state = _torchvision_state()
    served = tmp_path_factory.mktemp("mirror") / "model.safetensors"
    safetensors_numpy.save_file(state, str(served))
    return state, served


@pytest.fixture
def cache(tmp_path, monkeypatch, checkpoint):
    """An empty Keras cache and the checkpoint served from a file:// URL."""
    home = tmp_path / "keras-home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    state, served = checkpoint
    monkeypatch.setenv(torch_weights.RESNET18_URL_ENV, served.as_uri())
    return {"home": home, "state": state, "served": served}


def _cache_entries(home):
    folder = home / "models"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _check_equal_to_source(model, state):
    """Every backbone variable equals the checkpoint, converted here by hand."""
    checked = 0
    for layer in model.layers:
        key = layer.name.replace("_", ".")
        if isinstance(layer, keras.layers.Conv2D):
            expect = np.transpose(state[f"{key}.weight"], (2, 3, 1, 0))
            np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.kernel), expect)
            checked += 1
        elif isinstance(layer, keras.layers.BatchNormalization):
            for var, name in (
                (layer.gamma, "weight"),
                (layer.beta, "bias"),
                (layer.moving_mean, "running_mean"),
                (layer.moving_variance, "running_var"),
            ):
                np.testing.assert_array_equal(
                    keras.ops.convert_to_numpy(var), state[f"{key}.{name}"]
                )
            checked += 1
    assert checked == 20 + 20  # ResNet-18: 20 convolutions, 20 BatchNorms


@pytest.mark.parametrize("name", ["resnet18", "painseeker", "painseeker_no_prsc"])
def test_model_info_lists_imagenet(name):
    assert "imagenet" in painzoo.model_info(name).weights


def test_first_call_downloads_checks_converts_and_caches(cache, monkeypatch):
    model = painzoo.get_model("resnet18", input_shape=SIZE, weights="imagenet")
    _check_equal_to_source(model, cache["state"])
    source, converted = torch_weights.imagenet_resnet18_files()
    assert source.parent == cache["home"] / "models"
    assert source.is_file() and converted.is_file()
    assert _cache_entries(cache["home"]) == sorted([source.name, converted.name])
    # the head (1000 ImageNet classes) is not loaded: 2 classes keep a random head
    assert model.get_layer("fc").kernel.shape == (512, 2)

    # second call, other model of the family: no download at all
    def no_network(*args, **kwargs):
        raise AssertionError("get_file was called although the weights are cached")

    monkeypatch.setattr(keras.utils, "get_file", no_network)
    monkeypatch.setenv(torch_weights.RESNET18_URL_ENV, "https://unreachable.invalid/x")
    seeker = painzoo.get_model("painseeker", input_shape=SIZE, weights="imagenet")
    _check_equal_to_source(seeker, cache["state"])
    # even with the downloaded checkpoint gone, the converted cache suffices
    source.unlink()
    again = painzoo.get_model("painseeker_no_prsc", input_shape=SIZE, weights="imagenet")
    _check_equal_to_source(again, cache["state"])


def test_loaded_backbone_computes_what_the_source_defines(cache):
    """Features of the loaded model equal the same model loaded through the .safetensors path."""
    a = painzoo.get_model("resnet18", input_shape=SIZE, weights="imagenet")
    b = painzoo.get_model(
        "resnet18", num_classes=1000, input_shape=SIZE, weights=str(cache["served"])
    )
    x = np.random.default_rng(3).uniform(0, 255, (2, *SIZE)).astype(np.float32)
    fa = keras.Model(a.input, a.get_layer("avgpool").output).predict(x, verbose=0)
    fb = keras.Model(b.input, b.get_layer("avgpool").output).predict(x, verbose=0)
    np.testing.assert_allclose(fa, fb, rtol=1e-5, atol=1e-5)


def test_offline_gives_one_clear_error_and_leaves_no_file(cache, monkeypatch, tmp_path):
    missing = (tmp_path / "nowhere" / "model.safetensors").as_uri()
    monkeypatch.setenv(torch_weights.RESNET18_URL_ENV, missing)
    source, _ = torch_weights.imagenet_resnet18_files()
    with pytest.raises(RuntimeError) as err:
        painzoo.get_model("painseeker", input_shape=SIZE, weights="imagenet")
    text = str(err.value)
    assert missing in text and str(source) in text and "weights='/path/to" in text
    assert _cache_entries(cache["home"]) == []


@pytest.mark.parametrize("damage", ["truncated", "wrong_tensors"])
def test_corrupt_download_is_rejected_and_not_cached(cache, damage, tmp_path, monkeypatch):
    bad = tmp_path / "bad.safetensors"
    if damage == "truncated":
        bad.write_bytes(cache["served"].read_bytes()[:5000])
    else:  # a valid file holding another network
        state = dict(cache["state"])
        state["layer4.1.conv2.weight"] = np.zeros((512, 512, 1, 1), np.float32)
        del state["layer3.0.bn1.running_var"]
        safetensors_numpy.save_file(state, str(bad))
    monkeypatch.setenv(torch_weights.RESNET18_URL_ENV, bad.as_uri())
    with pytest.raises(RuntimeError) as err:
        painzoo.get_model("resnet18", input_shape=SIZE, weights="imagenet")
    assert bad.as_uri() in str(err.value)
    if damage == "wrong_tensors":
        assert "layer3.0.bn1.running_var" in str(err.value)
        assert "layer4.1.conv2.weight" in str(err.value)
    assert _cache_entries(cache["home"]) == []


def test_url_argument_and_a_file_put_by_hand(cache, monkeypatch):
    monkeypatch.setenv(torch_weights.RESNET18_URL_ENV, "https://unreachable.invalid/x")
    model = painzoo.get_model("resnet18", input_shape=SIZE)
    torch_weights.load_imagenet_resnet18(model, url=cache["served"].as_uri())
    _check_equal_to_source(model, cache["state"])
    # a file put at the cache path by hand is used without any download
    source, converted = torch_weights.imagenet_resnet18_files()
    converted.unlink()
    monkeypatch.setattr(keras.utils, "get_file", lambda *a, **k: 1 / 0)
    hand = painzoo.get_model("resnet18", input_shape=SIZE, weights="imagenet")
    _check_equal_to_source(hand, cache["state"])


def test_config_accepts_weights_imagenet(cache):
    from painzoo.benchmark.config import expand_models

    (spec,) = expand_models([{"resnet18": {"weights": "imagenet"}}])
    model = painzoo.get_model(spec.name, input_shape=SIZE, **spec.kwargs)
    _check_equal_to_source(model, cache["state"])
