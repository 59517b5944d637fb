"""Exact conversion of torchvision-layout ResNet-18 checkpoints into painzoo models.

The reference network is written here with plain ``torch.nn`` (no torchvision),
following torchvision's ResNet-18 definition, so the test checks painzoo's
layout against an independent implementation.
"""

import warnings

import keras
import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import painzoo  # noqa: E402
from painzoo.models import torch_weights  # noqa: E402

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
TORCH_CLASSES = 3


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, (cout, stride) in enumerate(((64, 1), (128, 2), (256, 2), (512, 2)), start=1):
            setattr(
                self,
                f"layer{i}",
                nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)),
            )
            cin = cout
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)

    def features(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x):
        return self.fc(torch.flatten(self.avgpool(self.features(x)), 1))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A randomised reference net in eval mode, its checkpoints, an input and its outputs."""
    torch.manual_seed(0)
    net = ResNet18(TORCH_CLASSES)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                c = module.num_features
                module.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                module.bias.copy_(torch.rand(c, generator=gen) * 0.2 - 0.1)
                module.running_mean.copy_(torch.rand(c, generator=gen) * 0.2 - 0.1)
                module.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
    net.eval()
    folder = tmp_path_factory.mktemp("ckpt")
    pth = folder / "resnet18.pth"
    torch.save(net.state_dict(), pth)
    from safetensors.torch import save_file

    sft = folder / "resnet18.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(sft))

    images = np.random.default_rng(0).uniform(0, 255, (2, 224, 224, 3)).astype(np.float32)
    normalised = (images / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(normalised.transpose(0, 3, 1, 2)))
        feats = net.features(x).numpy().transpose(0, 2, 3, 1)
        probs = torch.softmax(net(x), dim=-1).numpy()
    state = {k: v.numpy() for k, v in net.state_dict().items()}
    return {
        "pth": pth,
        "safetensors": sft,
        "images": images,
        "features": feats,
        "probs": probs,
        "state": state,
    }


def _features(model, images):
    sub = keras.Model(model.inputs, model.get_layer("layer4_1_out").output)
    return np.asarray(sub.predict(images, verbose=0))


def test_reference_features_are_not_trivial(reference):
    feats = reference["features"]
    assert feats.shape == (2, 7, 7, 512)
    # Non-degenerate activations: a wrong layout would show up far above 1e-4.
    assert 0.05 < feats.std() < 50


@pytest.mark.backend
@pytest.mark.parametrize("fmt", ["pth", "safetensors"])
@pytest.mark.parametrize("name", ["resnet18", "painseeker"])
def test_features_match_torch(reference, fmt, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = painzoo.get_model(name, weights=str(reference[fmt]))
    diff = np.abs(_features(model, reference["images"]) - reference["features"]).max()
    assert diff < 1e-4


@pytest.mark.backend
def test_fc_loads_when_classes_match(reference):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = painzoo.get_model(
            "resnet18", num_classes=TORCH_CLASSES, weights=str(reference["safetensors"])
        )
    probs = np.asarray(model.predict(reference["images"], verbose=0))
    np.testing.assert_allclose(probs, reference["probs"], atol=1e-5)

    seeker = painzoo.get_model(
        "painseeker", num_classes=TORCH_CLASSES, weights=str(reference["pth"])
    )
    head = seeker.get_layer("fc")
    np.testing.assert_array_equal(np.asarray(head.kernel), reference["state"]["fc.weight"].T)
    np.testing.assert_array_equal(np.asarray(head.bias), reference["state"]["fc.bias"])


@pytest.mark.backend
@pytest.mark.parametrize("name", ["resnet18", "painseeker"])
def test_fc_skipped_with_warning_when_classes_differ(reference, name):
    keras.utils.set_random_seed(3)
    with pytest.warns(UserWarning, match="num_classes=2"):
        model = painzoo.get_model(name, num_classes=2, weights=str(reference["safetensors"]))
    keras.utils.set_random_seed(3)
    fresh = painzoo.get_model(name, num_classes=2)
    # The head keeps the initialisation it would have without a checkpoint.
    np.testing.assert_array_equal(
        np.asarray(model.get_layer("fc").kernel), np.asarray(fresh.get_layer("fc").kernel)
    )


@pytest.mark.backend
def test_missing_and_unexpected_keys_are_listed(reference, tmp_path):
    from safetensors.numpy import save_file

    state = dict(reference["state"])
    del state["layer3.1.conv2.weight"]
    state["layer5.0.conv1.weight"] = np.zeros((1, 1, 1, 1), np.float32)
    bad = tmp_path / "bad.safetensors"
    save_file(state, str(bad))
    model = painzoo.get_model("resnet18", num_classes=TORCH_CLASSES, input_shape=(32, 32, 3))
    before = np.asarray(model.get_layer("conv1").kernel).copy()
    with pytest.raises(ValueError, match=r"layer3\.1\.conv2\.weight") as err:
        torch_weights.load_weights(model, bad, num_classes=TORCH_CLASSES)
    assert "layer5.0.conv1.weight" in str(err.value)
    assert "missing" in str(err.value) and "unexpected" in str(err.value)
    # Nothing is assigned from a checkpoint that does not match.
    np.testing.assert_array_equal(np.asarray(model.get_layer("conv1").kernel), before)


@pytest.mark.backend
def test_shape_mismatch_is_reported(reference, tmp_path):
    from safetensors.numpy import save_file

    state = dict(reference["state"])
    state["bn1.weight"] = np.ones(32, np.float32)
    bad = tmp_path / "bad_shape.safetensors"
    save_file(state, str(bad))
    with pytest.raises(ValueError, match=r"bn1\.weight: expected \(64,\)"):
        painzoo.get_model("resnet18", input_shape=(32, 32, 3), weights=str(bad))


@pytest.mark.backend
def test_wrapped_and_data_parallel_checkpoints(reference, tmp_path):
    wrapped = tmp_path / "wrapped.pth"
    torch.save(
        {
            "state_dict": {
                f"module.{k}": torch.from_numpy(v) for k, v in reference["state"].items()
            }
        },
        wrapped,
    )
    model = painzoo.get_model("resnet18", num_classes=TORCH_CLASSES, weights=str(wrapped))
    diff = np.abs(_features(model, reference["images"]) - reference["features"]).max()
    assert diff < 1e-4


@pytest.mark.backend
def test_painzoo_weights_h5_round_trip(tmp_path):
    model = painzoo.get_model("painseeker", input_shape=(96, 96, 3))
    path = tmp_path / "seeker.weights.h5"
    model.save_weights(path)
    keras.utils.set_random_seed(7)
    loaded = painzoo.get_model("painseeker", input_shape=(96, 96, 3), weights=str(path))
    images = np.random.default_rng(1).uniform(0, 255, (2, 96, 96, 3)).astype(np.float32)
    np.testing.assert_allclose(
        loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6
    )


def test_unsupported_inputs_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="not a file path"):
        painzoo.get_model("resnet18", input_shape=(32, 32, 3), weights="imagenet21k")
    with pytest.raises(FileNotFoundError):
        painzoo.get_model("resnet18", input_shape=(32, 32, 3), weights=str(tmp_path / "x.pth"))
    other = tmp_path / "weights.npz"
    other.write_bytes(b"")
    with pytest.raises(ValueError, match="safetensors"):
        painzoo.get_model("resnet18", input_shape=(32, 32, 3), weights=str(other))


def test_pth_without_torch_gives_clear_error(reference, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="needs PyTorch"):
        torch_weights.read_state_dict(reference["pth"])
