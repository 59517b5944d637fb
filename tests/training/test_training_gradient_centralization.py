"""``gradient_centralization``: kernels of networks without normalisation step on centred gradients.

Traced on london-dev, VGG16 and VGG19 from random weights moved their deep
layers' mean outputs up and down threefold within a few epochs while the loss
stayed at ln 2 (docs/default-recipe.md). After a ReLU every input of a unit
is >= 0, so a gradient whose entries share a sign moves the unit's input for
every image at once. Gradient centralization (Yong et al., ECCV 2020)
subtracts from each kernel's gradient its mean over each unit's inputs. The
optimizers are checked against SGD and Adam written out in NumPy on the
centred gradient, and against the property that defines the method: under
SGD the sum of each unit's input weights never changes.
"""

import keras
import numpy as np
import pytest

import painzoo
from painzoo.benchmark.config import ConfigError, check_config
from painzoo.training import Recipe
from painzoo.training.optimizers import ScaledAdamW, ScaledSGD, centralize_gradient

RNG = np.random.default_rng(0)
KERNEL = RNG.normal(size=(3, 3, 4, 5))  # a Conv2D kernel: 3×3 window, 4 inputs, 5 units
GRADS = [
    RNG.normal(0.5, 1.0, KERNEL.shape) for _ in range(3)
]  # entries share a sign, as after a ReLU


def _centred(g):
    """Each unit's gradient minus its mean over the 3 × 3 × 4 = 36 weights, by loops."""
    out = np.array(g, np.float64)
    for unit in range(g.shape[-1]):
        out[..., unit] -= g[..., unit].sum() / g[..., unit].size
    return out


@pytest.mark.backend
def test_centralize_gradient_matches_a_loop_over_units():
    def centre(g):
        tensor = keras.ops.convert_to_tensor(g, "float32")
        return keras.ops.convert_to_numpy(centralize_gradient(tensor))

    np.testing.assert_allclose(centre(GRADS[0]), _centred(GRADS[0]), atol=1e-6)
    dense = RNG.normal(size=(6, 2))
    np.testing.assert_allclose(centre(dense), dense - dense.mean(axis=0), atol=1e-6)


@pytest.mark.backend
def test_sgd_on_centred_gradients_keeps_each_units_weight_sum():
    kernel = keras.Variable(KERNEL.astype("float32"), name="kernel")
    bias = keras.Variable(np.zeros(5, "float32"), name="bias")
    opt = ScaledSGD(learning_rate=0.1, momentum=0.9, centralize=[kernel.path, bias.path])
    for g in GRADS:
        opt.apply([keras.ops.convert_to_tensor(g, "float32"), keras.ops.ones(5)], [kernel, bias])
    got = keras.ops.convert_to_numpy(kernel)
    # SGD with momentum written out on the centred gradient
    theta, velocity = KERNEL.copy(), np.zeros_like(KERNEL)
    for g in GRADS:
        velocity = 0.9 * velocity - 0.1 * _centred(g)
        theta = theta + velocity
    np.testing.assert_allclose(got, theta, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=(0, 1, 2)), KERNEL.sum(axis=(0, 1, 2)), atol=1e-4)
    # without centring the same steps move every unit's sum
    plain = keras.Variable(KERNEL.astype("float32"))
    opt = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    for g in GRADS:
        opt.apply([keras.ops.convert_to_tensor(g, "float32")], [plain])
    moved = keras.ops.convert_to_numpy(plain).sum(axis=(0, 1, 2)) - KERNEL.sum(axis=(0, 1, 2))
    assert np.abs(moved).min() > 1.0
    # a bias has no inputs to centre over: it took the plain steps
    velocity, want = 0.0, 0.0
    for _ in GRADS:
        velocity = 0.9 * velocity - 0.1
        want = want + velocity
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bias), want, rtol=1e-6)


@pytest.mark.backend
def test_adamw_takes_its_moments_of_the_centred_gradient():
    kernel = keras.Variable(KERNEL.astype("float32"), name="kernel")
    opt = ScaledAdamW(learning_rate=0.01, weight_decay=0.05, centralize=[kernel.path])
    for g in GRADS:
        opt.apply([keras.ops.convert_to_tensor(g, "float32")], [kernel])
    theta, m, v = KERNEL.copy(), np.zeros_like(KERNEL), np.zeros_like(KERNEL)
    for t, g in enumerate(GRADS, start=1):
        theta = theta - theta * 0.05 * 0.01  # decoupled decay, as Keras applies it first
        g = _centred(g)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g**2
        alpha = 0.01 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        theta = theta - alpha * m / (np.sqrt(v) + 1e-7)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(kernel), theta, rtol=1e-5, atol=1e-6)


def test_auto_centres_every_kernel_of_a_network_without_normalisation_only():
    vgg = painzoo.get_model("vgg16", input_shape=(32, 32, 3))
    resnet = painzoo.get_model("resnet18", input_shape=(32, 32, 3))
    auto = Recipe.preset("painzoo", gradient_centralization="auto")
    kernels = [
        la.kernel.path
        for la in vgg.layers
        if isinstance(la, (keras.layers.Conv2D, keras.layers.Dense))
    ]
    assert len(kernels) == 14  # VGG16's 13 convolutions and the classifier (SPEC)
    assert auto.centralized_kernels(vgg) == kernels
    assert auto.centralized_kernels(resnet) == []
    assert len(Recipe.preset("painzoo", gradient_centralization=True).centralized_kernels(resnet))
    for name in ("p1", "p2"):  # the papers' training is theirs
        assert Recipe.preset(name).centralized_kernels(vgg) == [], name
    assert Recipe.preset("painzoo").centralized_kernels(vgg) == kernels  # the default
    auto.compile(vgg, total_steps=10)
    assert vgg.optimizer.centralize == sorted(kernels)


def test_the_option_survives_a_saved_model(tmp_path):
    model = painzoo.get_model("alexnet", input_shape=(32, 32, 3))
    Recipe.preset("painzoo", gradient_centralization="auto").compile(model, total_steps=10)
    x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    model.fit(x, np.array([0, 1, 0, 1]), epochs=1, verbose=0)
    model.save(tmp_path / "alexnet.keras")
    loaded = keras.saving.load_model(tmp_path / "alexnet.keras")
    assert loaded.optimizer.centralize == model.optimizer.centralize
    assert "fc7/kernel" in loaded.optimizer.centralize


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_a_bad_value_is_named(value):
    with pytest.raises(ValueError, match="gradient_centralization must be true, false or 'auto'"):
        Recipe.preset("painzoo", gradient_centralization=value)
    config = {
        "data": {"r": {"synthetic": "ratspain"}},
        "models": ["alexnet"],
        "recipe": {"gradient_centralization": "yes"},
        "experiments": [{"data": "r", "protocols": ["loso"]}],
    }
    # checked before any training starts, with the key named
    with pytest.raises(ConfigError, match="recipe.*gradient_centralization must be true"):
        check_config(config)
