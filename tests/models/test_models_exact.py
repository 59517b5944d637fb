"""With default arguments get_model builds exactly the published networks.

Each network is compared with an independent build: the six Keras
applications with Keras' own constructors (layer by layer, initialisers,
weights from the same seed, and the first forward pass through Keras'
``preprocess_input``), the papers' small networks with the layer lists of
SPEC §3 written out here, and ResNet-18 with torchvision's layout and
initialisation (against PyTorch's own initialisers where torch is installed).
"""

import re

import keras
import numpy as np
import pytest

import painzoo
from painzoo.layers.painseeker import PainSeekerAttention
from painzoo.layers.preprocessing import ImageScaling

# name -> (keras.applications constructor, small input side, preprocess_input)
APPLICATIONS = {
    "vgg16": ("VGG16", 32, keras.applications.vgg16.preprocess_input),
    "vgg19": ("VGG19", 32, keras.applications.vgg19.preprocess_input),
    "resnet50": ("ResNet50", 32, keras.applications.resnet50.preprocess_input),
    "resnet101v2": ("ResNet101V2", 32, keras.applications.resnet_v2.preprocess_input),
    # 75 px: Keras' minimum, where the stem must be Keras' stride-2 one
    "inceptionv3": ("InceptionV3", 75, keras.applications.inception_v3.preprocess_input),
    "xception": ("Xception", 71, keras.applications.xception.preprocess_input),
}
_HEAD = ("image", "scaling", "global_pool", "predictions")


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _config(layer) -> dict:
    """A layer's config without its name (InceptionV3's unnamed layers are numbered
    by how many layers the process built before)."""
    config = dict(layer.get_config())
    config.pop("name", None)
    return config


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n == "resnet101v2" else n for n in APPLICATIONS],
)
def test_default_application_is_the_keras_network(name, rng):
    constructor, side, preprocess_input = APPLICATIONS[name]
    shape = (side, side, 3)
    keras.utils.set_random_seed(11)
    ours = painzoo.get_model(name, input_shape=shape)
    keras.utils.set_random_seed(11)
    theirs = getattr(keras.applications, constructor)(
        weights=None, include_top=False, input_shape=shape
    )

    body = [layer for layer in ours.layers if layer.name not in _HEAD]
    reference = [la for la in theirs.layers if not isinstance(la, keras.layers.InputLayer)]
    assert [type(la).__name__ for la in body] == [type(la).__name__ for la in reference]
    for a, b in zip(body, reference, strict=True):
        # strides, padding, kernel and bias initialisers (class and config), …
        assert _config(a) == _config(b), a.name
        # … and, from the same seed, the same weights (no redrawn or zeroed ones)
        assert len(a.weights) == len(b.weights), a.name
        for wa, wb in zip(a.weights, b.weights):
            np.testing.assert_array_equal(_np(wa), _np(wb), err_msg=f"{name} {a.name}")

    # the input scaling is Keras' preprocess_input for this network
    x = rng.uniform(0, 255, (2, *shape)).astype("float32")
    features = keras.Model(ours.input, ours.get_layer(body[-1].name).output)
    expected = _np(theirs(preprocess_input(x.copy()), training=False))
    np.testing.assert_allclose(
        _np(features(x, training=False)), expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max()
    )

    # P2's head: global average pooling + Dense(2, softmax), Keras' default initialisers
    assert isinstance(ours.get_layer("global_pool"), keras.layers.GlobalAveragePooling2D)
    head = ours.get_layer("predictions")
    assert (head.units, head.get_config()["activation"]) == (2, "softmax")
    assert isinstance(head.kernel_initializer, keras.initializers.GlorotUniform)
    assert isinstance(head.bias_initializer, keras.initializers.Zeros)
    assert ours.count_params() == theirs.count_params() + 2 * body[-1].output.shape[-1] + 2


# SPEC §3, the layer column, verbatim.
SPEC_LAYERS = {
    "alexnet": "C96 11×11/4 → MP3/2 → C256 5×5 → MP3/2 → C384 3×3 → C384 3×3 → C256 3×3 → "
    "MP3/2 → Flatten → D4096 → Drop.4 → D4096 → D4096 → Drop.4 → Dn",
    "songnet": "C64 5×5 → MP3/2 → C64 5×5 → MP3/2 → C32 3×3 → MP3/2 → Drop.5 → C32 3×3 → "
    "MP3/2 → Drop.5 → Flatten → Dn",
    "weinet": "C32 7×7 → MP2/1 → C32 7×7 → MP2/1 → C64 7×7 → MP2/1 → Flatten → Dn",
    "silnet": "C32 11×11 → MP2/2 → C32 7×7 → C32 7×7 → MP2/1 → C64 5×5 → C64 5×5 → MP2/1 → "
    "Flatten → D512 → Drop.5 → D512 → Dn",
}
# SPEC: "(glorot_normal kernels)" for SilNet's convolutions and hidden dense layers
# (its softmax layer keeps Keras' default, as P2's reference code); the others
# Keras' defaults throughout.
GLOROT_NORMAL = {"silnet"}


def _spec_layers(text: str, num_classes: int, glorot_normal: bool) -> list:
    """Keras layers for a SPEC §3 layer list: all conv/pool ``same``, ReLU, last Dense softmax."""
    init = "glorot_normal" if glorot_normal else "glorot_uniform"
    out = []
    for token in text.split(" → "):
        if m := re.fullmatch(r"C(\d+) (\d+)×(\d+)(?:/(\d+))?", token):
            filters, kh, kw, stride = int(m[1]), int(m[2]), int(m[3]), int(m[4] or 1)
            conv = keras.layers.Conv2D(
                filters, (kh, kw), strides=stride, padding="same", activation="relu",
                kernel_initializer=init,
            )  # fmt: skip
            out.append(conv)
        elif m := re.fullmatch(r"MP(\d+)/(\d+)", token):
            out.append(keras.layers.MaxPooling2D(int(m[1]), strides=int(m[2]), padding="same"))
        elif token == "Flatten":
            out.append(keras.layers.Flatten())
        elif m := re.fullmatch(r"Drop(\.\d+)", token):
            out.append(keras.layers.Dropout(float(m[1])))
        elif m := re.fullmatch(r"D(\d+)", token):
            out.append(keras.layers.Dense(int(m[1]), activation="relu", kernel_initializer=init))
        elif token == "Dn":
            out.append(keras.layers.Dense(num_classes, activation="softmax"))
        else:
            raise AssertionError(f"unparsed SPEC token {token!r}")
    return out


@pytest.mark.parametrize(
    ("name", "side"), [("alexnet", 32), ("songnet", 32), ("weinet", 16), ("silnet", 24)]
)
def test_small_networks_follow_the_spec_layer_list(name, side, rng):
    shape, classes = (side, side, 3), 3
    keras.utils.set_random_seed(5)
    ours = painzoo.get_model(name, input_shape=shape, num_classes=classes)
    keras.utils.set_random_seed(5)
    spec = _spec_layers(SPEC_LAYERS[name], classes, name in GLOROT_NORMAL)
    reference = keras.Sequential([keras.Input(shape), *spec])

    assert isinstance(ours.layers[1], ImageScaling) and ours.layers[1].mode == "unit"
    body = ours.layers[2:]
    assert [type(la).__name__ for la in body] == [type(la).__name__ for la in spec]
    for a, b in zip(body, spec, strict=True):
        assert _config(a) == _config(b), f"{name} {a.name}"
        for wa, wb in zip(a.weights, b.weights, strict=True):
            np.testing.assert_array_equal(_np(wa), _np(wb), err_msg=f"{name} {a.name}")
    # inputs in [0, 255], scaled to [0, 1] inside the model (painzoo's choice)
    x = rng.uniform(0, 255, (2, *shape)).astype("float32")
    np.testing.assert_allclose(
        _np(ours(x, training=False)), _np(reference(x / 255.0, training=False)), atol=1e-6
    )


def test_the_spec_reading_reproduces_the_spec_parameter_counts():
    # the layer lists as read above give SPEC §3's counts (2- and 6-class heads)
    def count(side, layers_text, classes):
        model = keras.Sequential(
            [keras.Input((side, side, 3)), *_spec_layers(layers_text, classes, False)]
        )
        return model.count_params()

    assert count(64, SPEC_LAYERS["weinet"], 2) == 679_650
    assert count(64, SPEC_LAYERS["weinet"], 6) == 1_728_230
    assert count(224, SPEC_LAYERS["songnet"], 2) == 147_586
    assert count(224, SPEC_LAYERS["songnet"], 6) == 172_678


# torchvision's resnet18: (layer, kernel, stride, padding, filters) of every convolution.
TORCHVISION_CONVS = [("conv1", 7, 2, 3, 64)]
for _stage, (_filters, _stride) in enumerate(((64, 1), (128, 2), (256, 2), (512, 2)), start=1):
    for _block in (0, 1):
        _s = _stride if _block == 0 else 1
        TORCHVISION_CONVS += [
            (f"layer{_stage}_{_block}_conv1", 3, _s, 1, _filters),
            (f"layer{_stage}_{_block}_conv2", 3, 1, 1, _filters),
        ]
        if _block == 0 and _s != 1:
            TORCHVISION_CONVS.append((f"layer{_stage}_{_block}_downsample_0", 1, _s, 0, _filters))


def _check_torchvision_resnet18(model, num_classes):
    convs = {la.name: la for la in model.layers if isinstance(la, keras.layers.Conv2D)}
    assert sorted(convs) == sorted(c[0] for c in TORCHVISION_CONVS)
    for name, kernel, stride, padding, filters in TORCHVISION_CONVS:
        conv = convs[name]
        assert conv.kernel.shape[:2] == (kernel, kernel) and conv.filters == filters, name
        assert tuple(conv.strides) == (stride, stride) and conv.padding == "valid", name
        assert conv.bias is None, name
        pad = model.get_layer(f"{name}_pad") if padding else None
        if padding:
            assert pad.get_config()["padding"] == ((padding, padding), (padding, padding)), name
        # kaiming_normal_(mode="fan_out", nonlinearity="relu"): N(0, 2 / fan_out)
        init = conv.kernel_initializer
        assert isinstance(init, keras.initializers.VarianceScaling), name
        config = init.get_config()
        assert (config["scale"], config["mode"], config["distribution"]) == (
            2.0,
            "fan_out",
            "untruncated_normal",
        ), name
    norms = [la for la in model.layers if isinstance(la, keras.layers.BatchNormalization)]
    assert len(norms) == 20
    for bn in norms:  # BatchNorm2d: eps 1e-5, momentum 0.1 (0.9 in Keras), γ = 1, β = 0
        assert (bn.epsilon, bn.momentum) == (1e-5, 0.9), bn.name
        np.testing.assert_array_equal(_np(bn.gamma), 1.0)
        np.testing.assert_array_equal(_np(bn.beta), 0.0)
        np.testing.assert_array_equal(_np(bn.moving_mean), 0.0)
        np.testing.assert_array_equal(_np(bn.moving_variance), 1.0)
    pool = model.get_layer("maxpool")
    assert (pool.pool_size, pool.strides) == ((3, 3), (2, 2))
    assert model.get_layer("maxpool_pad").get_config()["padding"] == ((1, 1), (1, 1))
    # the classifier as torch.nn.Linear(512, num_classes): weight and bias in ±1/√512
    fc = model.get_layer("fc")
    assert (fc.units, fc.get_config()["activation"]) == (num_classes, "softmax")
    bound = 1 / np.sqrt(512)
    kernel = fc.kernel_initializer.get_config()
    assert (kernel["scale"], kernel["mode"], kernel["distribution"]) == (
        pytest.approx(1 / 3),
        "fan_in",
        "uniform",
    )
    bias = fc.bias_initializer.get_config()
    assert (bias["minval"], bias["maxval"]) == (pytest.approx(-bound), pytest.approx(bound))
    assert np.abs(_np(fc.kernel)).max() <= bound and np.abs(_np(fc.bias)).max() <= bound


@pytest.mark.backend
def test_resnet18_is_torchvision_resnet18():
    model = painzoo.get_model("resnet18", input_shape=(32, 32, 3))
    _check_torchvision_resnet18(model, 2)
    assert model.get_layer("scaling").mode == "torch"
    assert model.count_params() == 11_187_138  # SPEC §3: 11,186,112 + fc 512·2 + 2


def test_painseeker_is_resnet18_features_attention_and_h():
    model = painzoo.get_model("painseeker", input_shape=(96, 96, 3))
    # the backbone is the default ResNet-18's, layer for layer (P1 Eq. 1)
    resnet = painzoo.get_model("resnet18", input_shape=(96, 96, 3))
    shared = [la for la in resnet.layers if la.name not in ("avgpool", "fc")]
    for layer in shared:
        assert _config(model.get_layer(layer.name)) == _config(layer), layer.name
    _check_torchvision_resnet18(model, 2)
    # Eq. 2: g is one fully-connected layer 512 -> 1; Eq. 3: h is one 512 -> c
    attention = model.get_layer("attention")
    assert isinstance(attention, PainSeekerAttention)
    assert [tuple(w.shape) for w in attention.weights] == [(512, 1), (1,)]
    config = attention.get_config()
    assert (config["prsc_weight"], config["margin"], config["top_k"]) == (0.1, 0.2, 5)
    assert model.get_layer("fc").kernel.shape == (512, 2)
    assert model.count_params() == 11_187_651  # SPEC §3


def test_keras_init_gives_resnet18_keras_default_initialisers():
    model = painzoo.get_model("resnet18", input_shape=(32, 32, 3), keras_init=True)
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D | keras.layers.Dense):
            assert isinstance(layer.kernel_initializer, keras.initializers.GlorotUniform)
    assert isinstance(model.get_layer("fc").bias_initializer, keras.initializers.Zeros)


def test_resnet18_initial_weights_are_distributed_as_pytorch_draws_them():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = painzoo.get_model("resnet18", input_shape=(32, 32, 3), num_classes=200)
    for name, kernel, _, _, filters in TORCHVISION_CONVS:
        ours = _np(model.get_layer(name).kernel)
        cin = ours.shape[2]
        theirs = torch.empty(filters, cin, kernel, kernel)
        torch.nn.init.kaiming_normal_(theirs, mode="fan_out", nonlinearity="relu")
        theirs = theirs.numpy()
        # 9,408 to 2.4 M draws per layer: standard deviations agree within a few %
        assert ours.std() == pytest.approx(theirs.std(), rel=0.05), name
        assert abs(ours.mean()) < 0.05 * theirs.std(), name
    linear = torch.nn.Linear(512, 200)
    for ours, theirs in (
        (_np(model.get_layer("fc").kernel), linear.weight.detach().numpy()),
        (_np(model.get_layer("fc").bias), linear.bias.detach().numpy()),
    ):
        assert np.abs(ours).max() <= 1 / np.sqrt(512) + 1e-7
        assert ours.std() == pytest.approx(theirs.std(), rel=0.15)
