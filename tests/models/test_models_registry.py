"""The registry around the zoo: names, metadata, errors."""

import inspect
import re
from pathlib import Path

import keras
import pytest

import painzoo
from painzoo import registry
from painzoo.models.zoo import ZOO
from painzoo.registry import ModelInfo, _unregister, model_kind, register_model

P2_MODELS = {
    "alexnet",
    "songnet",
    "weinet",
    "silnet",
    "vgg16",
    "vgg19",
    "resnet50",
    "resnet101v2",
    "inceptionv3",
    "xception",
}
IMAGENET_MODELS = {"vgg16", "vgg19", "resnet50", "resnet101v2", "inceptionv3", "xception"}
# SPEC §3 default inputs.
DEFAULT_INPUTS = {"weinet": (64, 64, 3), "silnet": (150, 150, 3)}
# Authors of each architecture's original paper.
ORIGINAL_AUTHORS = {
    "alexnet": "Krizhevsky",
    "songnet": "Song",
    "weinet": "Li",
    "silnet": "Ramis",
    "vgg16": "Simonyan",
    "vgg19": "Simonyan",
    "resnet50": "He",
    "resnet101v2": "He",
    "inceptionv3": "Szegedy",
    "xception": "Chollet",
}


def test_zoo_is_registered():
    assert P2_MODELS | {"resnet18"} <= set(painzoo.list_models())


@pytest.mark.parametrize("name", sorted(P2_MODELS))
def test_p2_model_info(name):
    info = painzoo.model_info(name)
    assert info.name == name
    assert info.input_shape == DEFAULT_INPUTS.get(name, (224, 224, 3))
    assert "Digital Health" in info.citation and "Sabater-Gárriz" in info.citation
    assert info.citation.startswith(ORIGINAL_AUTHORS[name])
    assert "p2" in info.tags
    if name in IMAGENET_MODELS:
        assert info.weights == ("imagenet",)
        assert "imagenet" in info.tags and "from_scratch" not in info.tags
    else:
        assert info.weights == ()
        assert "from_scratch" in info.tags and "imagenet" not in info.tags
    assert info.params and info.params_6 and info.paper_params and info.description
    assert info.params_6 > info.params


@pytest.mark.parametrize("name", sorted(ZOO))
def test_every_table_entry_names_a_builder_that_exists(name):
    builder, info = registry._lookup(name)
    assert callable(builder) and info == painzoo.model_info(name) and info.name == name
    if info.kind == "keras":  # the table's input is the builder's own default
        assert inspect.signature(builder).parameters["input_shape"].default == info.input_shape


@pytest.mark.parametrize("name", ["songnet", "weinet", "resnet18", "painseeker_no_prsc"])
def test_table_parameter_counts_are_those_of_the_built_network(name):
    info = painzoo.model_info(name)
    model = painzoo.get_model(name)
    assert model.count_params() == info.params and model.input_shape[1:] == info.input_shape
    if info.params_6 is not None:
        keras.backend.clear_session()
        assert painzoo.get_model(name, num_classes=6).count_params() == info.params_6


def test_model_modules_do_not_import_the_registry():
    # The registry imports the zoo's table, never the other way round.
    import_registry = re.compile(
        r"^\s*(from painzoo(\.registry| import registry)|import painzoo)\b", re.M
    )
    for path in Path(painzoo.models.__file__).parent.glob("*.py"):
        assert not import_registry.search(path.read_text(encoding="utf-8")), path.name


def test_model_kind():
    assert model_kind("VGG16") == "keras" and model_kind("lbp_svm_r1p8_4x4") == "sklearn"
    assert model_kind("lbp_svm_r5p4_2x2") == "sklearn"
    assert model_kind("no_such_model") is None


def test_list_models_wildcards_tags_and_order():
    names = painzoo.list_models()
    assert names == sorted(names) == painzoo.list_models()
    assert painzoo.list_models("vgg*") == ["vgg16", "vgg19"]
    assert painzoo.list_models("VGG1?") == ["vgg16", "vgg19"]
    assert painzoo.list_models("resnet*") == ["resnet101v2", "resnet18", "resnet50"]
    assert painzoo.list_models("*net") == ["alexnet", "silnet", "songnet", "weinet"]
    assert painzoo.list_models("nothing*") == []
    assert set(painzoo.list_models(tag="imagenet")) == IMAGENET_MODELS
    assert set(painzoo.list_models(tag="p2")) == P2_MODELS
    assert set(painzoo.list_models(tag="from_scratch")) >= P2_MODELS - IMAGENET_MODELS
    assert painzoo.list_models("vgg*", tag="from_scratch") == []


def test_duplicate_name_raises():
    with pytest.raises(ValueError, match="'songnet' is already registered"):
        register_model("songnet")(lambda **kwargs: None)
    try:

        @register_model(info=ModelInfo(name="zoo_test_dummy"))
        def dummy(num_classes=2, input_shape=None, weights=None):
            return None

        with pytest.raises(ValueError, match="already registered"):
            register_model("ZOO_TEST_DUMMY")(dummy)
    finally:
        _unregister("zoo_test_dummy")
    assert "zoo_test_dummy" not in painzoo.list_models()


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [
        ("vgg61", "vgg16"),
        ("inceptionv4", "inceptionv3"),
        ("songent", "songnet"),
        ("alex", "alexnet"),
    ],
)
def test_unknown_name_suggests_closest(typo, suggestion):
    with pytest.raises(ValueError, match=rf"Unknown model '{typo}'.*'{suggestion}'"):
        painzoo.get_model(typo)
    with pytest.raises(ValueError, match=suggestion):
        painzoo.model_info(typo)


def test_names_are_case_insensitive():
    assert painzoo.model_info("WeiNet").name == "weinet"
    model = painzoo.get_model("WEINET", input_shape=(4, 4, 3))
    assert model.name == "weinet"


@pytest.mark.parametrize("num_classes", [0, -2])
def test_bad_num_classes(num_classes):
    with pytest.raises(
        ValueError, match=rf"num_classes must be at least 1; received {num_classes}"
    ):
        painzoo.get_model("songnet", num_classes=num_classes)


@pytest.mark.parametrize("shape", [(32, 32), (32, 32, 1), (32, 32, 4), (1, 32, 32, 3)])
def test_bad_input_shape(shape):
    with pytest.raises(ValueError, match=r"input_shape must be \(height, width, 3\)"):
        painzoo.get_model("vgg16", input_shape=shape)


@pytest.mark.parametrize(
    ("name", "shape", "minimum"),
    [("vgg16", (31, 64, 3), 32), ("inceptionv3", (224, 74, 3), 75), ("xception", (6, 6, 3), 7)],
)
def test_too_small_input(name, shape, minimum):
    with pytest.raises(ValueError, match=rf"{name} needs inputs of at least {minimum}×{minimum}"):
        painzoo.get_model(name, input_shape=shape)
