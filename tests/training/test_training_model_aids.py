"""The "painzoo" recipe's model aids: which networks get which, that the user's
arguments win, and that units, results.csv, the report and the model card record them."""

import json

import keras
import numpy as np
import pandas as pd
import pytest

import painzoo
from painzoo.benchmark import load_config, run
from painzoo.datasets import Dataset
from painzoo.preprocess import InputSpec
from painzoo.registry import ModelInfo, _unregister, register_model
from painzoo.training.aids import MODEL_AIDS
from painzoo.training.learner import get_learner
from painzoo.training.recipe import Recipe

# What the painzoo preset got from get_model's defaults before the networks became exact.
PAINZOO_AIDS_112 = {
    "vgg16": {"he_init": True},
    "vgg19": {"he_init": True},
    "resnet50": {"zero_init_residual": True},
    "resnet101v2": {"zero_init_residual": True},
    "inceptionv3": {"low_resolution_stem": True},
    "resnet18": {"keras_init": True},
    "painseeker": {"keras_init": True},
    "painseeker_no_prsc": {"keras_init": True},
    "alexnet": {},
    "songnet": {},
    "weinet": {},
    "silnet": {},
    "xception": {},
}


@pytest.mark.parametrize("name", sorted(PAINZOO_AIDS_112))
def test_the_painzoo_preset_asks_for_its_aids_and_the_papers_presets_for_none(name):
    shape = (112, 112, 3)
    assert Recipe.preset("painzoo").model_kwargs_for(name, shape) == PAINZOO_AIDS_112[name]
    assert Recipe.from_config(None).model_kwargs_for(name, shape) == PAINZOO_AIDS_112[name]
    for preset in ("p1", "p2"):
        assert Recipe.preset(preset).model_kwargs_for(name, shape) == {}
    assert Recipe.preset("painzoo", model_aids=False).model_kwargs_for(name, shape) == {}


def test_every_aid_is_an_argument_of_its_builder():
    import inspect

    from painzoo import registry

    for name, (kwargs, _) in MODEL_AIDS.items():
        params = inspect.signature(registry._lookup(name)[0]).parameters
        for key in kwargs:
            assert key in params and params[key].default is False, (name, key)


def test_the_users_arguments_win_over_the_aids():
    painzoo_recipe = Recipe.preset("painzoo")
    assert painzoo_recipe.model_kwargs_for("vgg16", None, {"he_init": False}) == {"he_init": False}
    assert painzoo_recipe.model_kwargs_for("resnet50", None, {"weights": "x"}) == {
        "zero_init_residual": True,
        "weights": "x",
    }
    assert Recipe.preset("p2").model_kwargs_for("vgg16", None, {"he_init": True}) == {
        "he_init": True
    }


def test_model_aids_must_be_true_or_false():
    with pytest.raises(ValueError, match="model_aids must be true or false; received 'yes'"):
        Recipe.preset("painzoo", model_aids="yes")


@pytest.fixture
def aided_net(monkeypatch):
    """A tiny network whose ``aid`` argument shows in the model's name; the painzoo
    recipe's table asks for it."""

    @register_model("aided_test_net", info=ModelInfo(input_shape=(16, 16, 3)))
    def aided_test_net(num_classes=2, input_shape=(16, 16, 3), weights=None, aid=False):
        inputs = keras.Input(input_shape)
        x = keras.layers.Rescaling(1 / 255.0)(inputs)
        x = keras.layers.GlobalAveragePooling2D()(x)
        outputs = keras.layers.Dense(num_classes, activation="softmax")(x)
        return keras.Model(inputs, outputs, name=f"aided_{aid}")

    monkeypatch.setitem(MODEL_AIDS, "aided_test_net", ({"aid": True}, "always"))
    yield "aided_test_net"
    _unregister("aided_test_net")


def _toy(n=16, size=16):
    rng = np.random.default_rng(0)
    labels = np.arange(n) % 2
    base = np.where(labels[:, None, None, None] == 1, 170, 90)
    images = np.clip(base + rng.normal(0, 30, (n, size, size, 3)), 0, 255).astype(np.uint8)
    subjects = [f"s{i % 4}" for i in range(n)]
    return Dataset(pd.DataFrame({"label": labels, "subject": subjects}), images=images)


_QUICK = {"epochs": 1, "min_steps": 0, "min_batches_per_epoch": 0, "augment": None}


@pytest.mark.parametrize(
    ("preset", "kwargs", "built", "aids"),
    [
        ("painzoo", {}, {"aid": True}, {"aid": True}),
        ("painzoo", {"aid": False}, {"aid": False}, {}),
        ("p2", {}, {}, {}),
    ],
)
def test_the_keras_learner_builds_with_the_recipes_aids(aided_net, preset, kwargs, built, aids):
    recipe = Recipe.preset(preset, **_QUICK)
    spec = InputSpec(16, 16)
    learner = get_learner(aided_net, kwargs, recipe=recipe, input_spec=spec).fit(_toy())
    assert learner.model.name == f"aided_{built.get('aid', False)}"
    assert learner.model_kwargs == built and learner.model_aids == aids


def test_units_results_and_report_record_the_aids(aided_net, tmp_path):
    manifest = _toy().to_csv(tmp_path / "toy.csv")
    config = load_config(
        {
            "name": "aids",
            "out": str(tmp_path / "out"),
            "image_size": 16,
            "recipe": {"preset": "painzoo", "batch_size": 8, **_QUICK},
            "data": {"toy": {"manifest": str(manifest)}},
            "models": [aided_net, {aided_net: {"aid": False, "label": "exact_net"}}],
            "experiments": [{"data": "toy", "protocols": [{"subject_kfold": {"n_splits": 2}}]}],
            "config_dir": str(tmp_path),
        }
    )
    result = run(config, progress=False)
    assert not result.failed, result.results.get("error")
    runs = tmp_path / "out" / "runs"
    recorded = {}
    for folder in runs.iterdir():
        metrics = json.loads((folder / "metrics.json").read_text())
        unit = json.loads((folder / "config.json").read_text())
        recorded.setdefault(unit["model_label"], set()).add(
            (json.dumps(metrics["model_kwargs"]), json.dumps(metrics["model_aids"]))
        )
    assert recorded == {
        aided_net: {('{"aid": true}', '{"aid": true}')},
        "exact_net": {('{"aid": false}', "{}")},
    }
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    by_model = table.groupby("model")["model_aids"].agg(set).to_dict()
    assert by_model == {aided_net: {'{"aid": true}'}, "exact_net": {"{}"}}
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Model aids" in report
    assert f"- `{aided_net}`: `aid=true`" in report and "exact_net`:" not in report


def test_painzoo_train_builds_with_the_aids_and_the_card_records_them(aided_net, tmp_path):
    model = painzoo.train(
        model=aided_net,
        data=_toy(),
        out=tmp_path / "m",
        recipe={"preset": "painzoo", **_QUICK},
        image_size=16,
        face_crop=None,
    )
    assert model.card["model"]["kwargs"] == {"aid": True}
    card = json.loads((tmp_path / "m" / "model.json").read_text())
    assert card["model"]["kwargs"] == {"aid": True} and card["recipe"]["model_aids"] is True
