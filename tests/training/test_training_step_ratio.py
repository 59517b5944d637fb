"""``max_step_ratio``: layers of networks without normalisation take bounded steps.

From random weights on london-dev's photographs AlexNet answered one class in
every fold and SilNet in two of five under the default recipe (AdamW 5e-4):
Adam moves every weight by about the learning rate, so one step can move a
unit's input by ``lr × √fan_in / std(w)`` of its size, 2 for AlexNet's wide
layers and 70 for SilNet's widest. The default recipe now slows each hidden
kernel whose ratio exceeds 0.4 down to 0.4 (docs/default-recipe.md). The
optimizers are checked against Adam written out in NumPy, the factors against
fan-ins worked out by hand from the layer lists and NumPy's std of the weights.
"""

import keras
import numpy as np
import pytest

import painzoo
from painzoo.benchmark.config import ConfigError, load_config
from painzoo.training import Recipe
from painzoo.training.optimizers import (
    AdamL2,
    ScaledAdam,
    ScaledAdamL2,
    ScaledAdamW,
    ScaledRMSprop,
    ScaledSGD,
)

GRADS = [
    [np.array([0.5, -1.0, 2.0]), np.array([[1.0, -0.2]])],
    [np.array([-0.1, 0.3, 0.7]), np.array([[-2.0, 0.4]])],
    [np.array([1.5, 0.0, -0.4]), np.array([[0.3, 0.9]])],
]


def _variables():
    a = keras.Variable(np.array([1.0, 2.0, -1.0], np.float32), name="a")
    b = keras.Variable(np.array([[0.5, -0.5]], np.float32), name="b")
    return a, b


def _run(optimizer, variables):
    for grads in GRADS:
        optimizer.apply([keras.ops.convert_to_tensor(g, "float32") for g in grads], variables)
    return [keras.ops.convert_to_numpy(v) for v in variables]


def _numpy_adam(theta, grads, lr, decay=0.0, b1=0.9, b2=0.999, eps=1e-7):
    """Keras's Adam (epsilon added to √v before the bias correction), decoupled decay first."""
    theta = np.array(theta, np.float64)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        theta = theta - theta * decay * lr[1]  # AdamW: decay at the base rate
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        alpha = lr[0] * np.sqrt(1 - b2**t) / (1 - b1**t)
        theta = theta - alpha * m / (np.sqrt(v) + eps)
    return theta


@pytest.mark.backend
def test_scaled_adam_and_adamw_follow_adam_at_the_scaled_rate():
    for cls, decay in ((ScaledAdam, 0.0), (ScaledAdamW, 0.05)):
        a, b = _variables()
        kwargs = {"weight_decay": decay} if decay else {}
        opt = cls(learning_rate=0.01, lr_multipliers={a.path: 0.25}, **kwargs)
        got_a, got_b = _run(opt, [a, b])
        want_a = _numpy_adam([1.0, 2.0, -1.0], [g[0] for g in GRADS], (0.0025, 0.01), decay)
        want_b = _numpy_adam([[0.5, -0.5]], [g[1] for g in GRADS], (0.01, 0.01), decay)
        np.testing.assert_allclose(got_a, want_a, rtol=1e-5, err_msg=cls.__name__)
        np.testing.assert_allclose(got_b, want_b, rtol=1e-5, err_msg=cls.__name__)


@pytest.mark.backend
def test_other_scaled_optimizers_equal_their_parent_at_the_scaled_rate():
    pairs = (
        (ScaledAdamL2, AdamL2, {"weight_decay": 0.01}),
        (ScaledRMSprop, keras.optimizers.RMSprop, {}),
        (ScaledSGD, keras.optimizers.SGD, {"momentum": 0.9}),
    )
    for scaled, parent, kwargs in pairs:
        a, b = _variables()
        got_a, got_b = _run(
            scaled(learning_rate=0.01, lr_multipliers={b.path: 0.1}, **kwargs), [a, b]
        )
        # the parent optimizer on each variable alone: a at the rate, b at a tenth of it
        for i, (lr, got) in enumerate(((0.01, got_a), (0.001, got_b))):
            alone = keras.Variable(_variables()[i])
            opt = parent(learning_rate=lr, **kwargs)
            for grads in GRADS:
                opt.apply([keras.ops.convert_to_tensor(grads[i], "float32")], [alone])
            want = keras.ops.convert_to_numpy(alone)
            np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=f"{scaled.__name__} {i}")


def test_multipliers_survive_the_config_and_a_saved_model(tmp_path):
    opt = ScaledAdamW(learning_rate=1e-3, weight_decay=0.05, lr_multipliers={"fc6/kernel": 0.5})
    again = ScaledAdamW.from_config(opt.get_config())
    assert again.lr_multipliers == {"fc6/kernel": 0.5}
    model = painzoo.get_model("alexnet", input_shape=(32, 32, 3))
    Recipe.preset("painzoo").compile(model, total_steps=10)
    x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    model.fit(x, np.array([0, 1, 0, 1]), epochs=1, verbose=0)  # builds the optimizer
    model.save(tmp_path / "alexnet.keras")
    loaded = keras.saving.load_model(tmp_path / "alexnet.keras")
    assert type(loaded.optimizer) is ScaledAdamW
    assert loaded.optimizer.lr_multipliers == model.optimizer.lr_multipliers
    assert loaded.optimizer.lr_multipliers  # AlexNet's layers are above the cap at 5e-4
    with pytest.raises(ValueError, match="lr_multipliers must be > 0"):
        ScaledAdam(lr_multipliers={"x": 0.0})


def test_alexnets_factors_bring_each_layers_step_ratio_to_the_cap():
    # 64 px: conv1 /4 -> 16, pool /2 -> 8, pool2 -> 4, pool5 -> 2: 2 x 2 x 256 = 1,024 into fc6
    fan_in = {
        "conv1": 11 * 11 * 3,
        "conv2": 5 * 5 * 96,
        "conv3": 3 * 3 * 256,
        "conv4": 3 * 3 * 384,
        "conv5": 3 * 3 * 384,
        "fc6": 2 * 2 * 256,
        "fc7": 4096,
        "fc8": 4096,
    }
    model = painzoo.get_model("alexnet", input_shape=(64, 64, 3))
    lr, cap = 1e-3, 0.5
    got = Recipe.preset("painzoo", learning_rate=lr, max_step_ratio=cap).lr_multipliers(model)
    want = {}
    for name, n in fan_in.items():
        std = np.std(keras.ops.convert_to_numpy(model.get_layer(name).kernel))
        ratio = lr * np.sqrt(n) / std
        if ratio > cap:
            want[f"{name}/kernel"] = cap / ratio
    assert want  # Glorot weights at 1e-3: every hidden layer is above 0.5
    assert got.keys() == want.keys()  # biases and the classifier keep the rate
    for key in want:
        assert got[key] == pytest.approx(want[key], rel=1e-5)
    # a smaller rate needs less slowing: at 1e-5 no layer is above the cap
    assert Recipe.preset("painzoo", learning_rate=1e-5).lr_multipliers(model) == {}
    assert Recipe.preset("painzoo").max_step_ratio == 0.4
    assert Recipe.preset("p1").lr_multipliers(model) == {}  # the papers' recipes: one rate
    assert Recipe.preset("p2").lr_multipliers(model) == {}


def test_networks_with_batchnorm_keep_one_rate():
    recipe = Recipe.preset("painzoo", max_step_ratio=1e-6)
    for name in ("resnet18", "painseeker"):
        model = painzoo.get_model(name, input_shape=(66, 66, 3))
        assert recipe.lr_multipliers(model) == {}, name


def test_the_default_trains_alexnet_with_the_scaled_rates():
    # Before max_step_ratio, the default compiled AlexNet with one rate for all its layers.
    model = painzoo.get_model("alexnet", input_shape=(64, 64, 3))
    recipe = Recipe.preset("painzoo")
    recipe.compile(model, total_steps=10)
    assert type(model.optimizer) is ScaledAdamW
    fc7 = keras.ops.convert_to_numpy(model.get_layer("fc7").kernel)
    ratio = 5e-4 * np.sqrt(4096) / np.std(fc7)
    assert model.optimizer.lr_multipliers["fc7/kernel"] == pytest.approx(0.4 / ratio, rel=1e-5)
    resnet = painzoo.get_model("resnet18", input_shape=(32, 32, 3))
    recipe.compile(resnet, total_steps=10)
    assert type(resnet.optimizer) is keras.optimizers.AdamW


def test_bad_numbers_are_named():
    # A YAML 1e-4 is the string "1e-4": the recipe used to accept it and fail in training.
    with pytest.raises(ValueError, match=r"learning_rate must be a finite number .*1\.0e-4"):
        Recipe.preset("painzoo", learning_rate="1e-4")
    with pytest.raises(ValueError, match="max_step_ratio"):
        Recipe.preset("painzoo", max_step_ratio=0)
    config = {
        "data": {"r": {"synthetic": "ratspain"}},
        "models": ["alexnet"],
        "recipe": {"max_step_ratio": "wide"},
        "experiments": [{"data": "r", "protocols": ["loso"]}],
    }
    with pytest.raises(ConfigError, match="max_step_ratio must be a finite number"):
        load_config(config)
