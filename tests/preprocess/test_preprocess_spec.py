"""InputSpec: resolved once, JSON round trip, and non-square inputs end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import painzoo
from painzoo.datasets import Dataset
from painzoo.datasets.io import write_image
from painzoo.preprocess import InputSpec, resolve_input_spec
from painzoo.training.pipeline import make_input
from painzoo.training.recipe import Recipe


def test_json_round_trip_and_validation():
    spec = InputSpec(48, 64, interpolation="bilinear", test_resize=256)
    again = InputSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec and hash(again) == hash(spec)
    assert spec.shape == (48, 64, 3) and spec.crop == "center"
    assert InputSpec(48, 64).crop == "none"
    with pytest.raises(ValueError, match="interpolation"):
        InputSpec(48, 64, interpolation="cubic")
    with pytest.raises(ValueError, match="height"):
        InputSpec(0, 64)
    with pytest.raises(ValueError, match="test_resize"):
        InputSpec(48, 64, test_resize=200)
    with pytest.raises(ValueError, match="Unknown InputSpec field"):
        InputSpec.from_dict({"height": 4, "width": 4, "side": 4})


def test_resolve_from_info_model_config_and_recipe():
    info_shape = painzoo.model_info("songnet").input_shape
    assert resolve_input_spec("songnet").size == tuple(info_shape[:2])
    assert resolve_input_spec("songnet", image_size=96).size == (96, 96)
    assert resolve_input_spec("songnet", image_size=(48, 64)).size == (48, 64)
    model = painzoo.get_model("songnet", input_shape=(40, 56, 3))
    spec = resolve_input_spec(model, recipe=Recipe.preset("p1", test_resize=256))
    assert spec.size == (40, 56) and spec.test_resize == 256
    # 256 -> 224 scaled to the input: round(40 * 256 / 224), round(56 * 256 / 224).
    assert spec.load_size == (46, 64)
    assert resolve_input_spec(spec, interpolation="area").interpolation == "area"
    with pytest.raises(ValueError, match="fixed height and width"):
        resolve_input_spec(None)


def test_p1_tests_on_the_whole_image_resized_to_the_input():
    # P1: the cropped images "were changed the size to 224 x 224 pixels"; no centre crop.
    from painzoo.datasets.io import resize_image

    spec = resolve_input_spec("painseeker", recipe=Recipe.preset("p1"))
    assert spec.size == (224, 224) and spec.crop == "none" and spec.load_size == (224, 224)
    image = np.random.default_rng(1).integers(0, 256, (300, 260, 3), dtype=np.uint8)
    np.testing.assert_array_equal(spec.prepare(image), resize_image(image, (224, 224)))
    # The 256 -> centre 224 variant stays available by name.
    crop = resolve_input_spec("painseeker", recipe=Recipe.preset("p1", test_resize=256))
    assert crop.crop == "center" and crop.load_size == (256, 256)


def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """``[n_out, n_in]``: share of output cell i covered by input pixel j."""
    edges_out = np.arange(n_out + 1) * n_in / n_out
    lo, hi = edges_out[:-1, None], edges_out[1:, None]
    j = np.arange(n_in)[None, :]
    return np.clip(np.minimum(hi, j + 1) - np.maximum(lo, j), 0, None) / (n_in / n_out)


def test_prepare_resizes_then_cuts_the_centre():
    image = np.random.default_rng(0).uniform(0, 255, (90, 120, 3)).astype(np.float32)
    spec = InputSpec(48, 64, test_resize=256)
    out = spec.prepare(image)
    lh, lw = spec.load_size
    assert (lh, lw) == (55, 73)  # round(48 * 256 / 224), round(64 * 256 / 224)
    big = np.einsum("ih,hwc,jw->ijc", _area_weights(90, lh), image, _area_weights(120, lw))
    top, left = (lh - 48) // 2, (lw - 64) // 2
    assert out.shape == (48, 64, 3)
    np.testing.assert_allclose(out, big[top : top + 48, left : left + 64], atol=1e-3)
    assert InputSpec(48, 64).prepare(image).shape == (48, 64, 3)


def _faces(n=16, seed=0):
    """Bright faces are pain: a cue any small CNN learns. Non-square 60 x 80 images."""
    rng = np.random.default_rng(seed)
    labels = np.tile([0, 1], n // 2)
    images = rng.integers(0, 60, (n, 60, 80, 3)).astype(np.uint8)
    images[labels == 1] += 150
    frame = pd.DataFrame({"label": labels, "subject": [f"s{i % 4}" for i in range(n)]})
    return Dataset(frame, images=images, name="faces")


@pytest.mark.backend
@pytest.mark.parametrize("test_resize", [None, 256])
def test_pipeline_feeds_non_square_batches(test_resize):
    spec = InputSpec(48, 64, test_resize=test_resize)
    data = make_input(_faces(), input_spec=spec, batch_size=5)
    batches = [np.asarray(x) for x, _ in data] if not hasattr(data, "__getitem__") else None
    if batches is None:
        batches = [data[i][0] for i in range(len(data))]
    assert [b.shape for b in batches] == [(5, 48, 64, 3)] * 3 + [(1, 48, 64, 3)]
    expected = np.stack([spec.prepare(im) for im in _faces().images[:5]]).astype(np.float32)
    np.testing.assert_array_equal(batches[0], expected)


@pytest.mark.backend
def test_non_square_model_trains_predicts_and_serves(tmp_path):
    ds = _faces()
    model_dir = tmp_path / "model"
    trained = painzoo.train(
        model="songnet",
        data=ds,
        out=model_dir,
        recipe={"preset": "p2", "epochs": 2, "batch_size": 8, "augment": None},
        image_size=(48, 64),
        face_crop=None,
        seed=0,
    )
    assert trained.keras_model.input_shape == (None, 48, 64, 3)
    card = json.loads((model_dir / "model.json").read_text())
    assert card["input"]["image_size"] == [48, 64] and card["input"]["test_resize"] is None

    from painzoo.inference import load_model

    model = load_model(model_dir)
    assert model.input_spec == InputSpec(48, 64)
    rows = painzoo.predict(model, ds.images, batch_size=5)
    direct = model.keras_model.predict(
        np.stack([model.input_spec.prepare(im) for im in ds.images]).astype(np.float32),
        verbose=0,
    )[:, 1]
    np.testing.assert_allclose(rows["p_pain"].to_numpy(), direct, atol=1e-5)
    recipe_p = Recipe.preset("p2", batch_size=8).predict(trained.keras_model, ds)
    np.testing.assert_allclose(recipe_p, direct, atol=1e-5)


@pytest.mark.backend
@pytest.mark.parametrize("given", ["recipe", "input_spec"])
def test_prediction_uses_the_test_time_crop_of_the_card(tmp_path, given):
    """A model trained with P1's 256 -> 224 geometry (the recipe's test_resize, or a
    whole InputSpec given to painzoo.train) is served the same centre crop."""
    ds = _faces()
    for i, im in enumerate(ds.images):
        write_image(tmp_path / f"im{i}.png", im)
    model_dir = tmp_path / "model"
    recipe = {"preset": "p1", "epochs": 1, "batch_size": 8, "augment": None}
    if given == "recipe":
        sizes = {"recipe": {**recipe, "test_resize": 256}, "image_size": (48, 64)}
    else:
        sizes = {"recipe": recipe, "input_spec": InputSpec(48, 64, test_resize=256)}
    painzoo.train(model="songnet", data=ds, out=model_dir, face_crop=None, seed=0, **sizes)
    from painzoo.inference import load_model

    model = load_model(model_dir)
    assert model.input_spec.test_resize == 256
    rows = painzoo.predict(model, ds.images)
    served = np.stack([model.input_spec.prepare(im) for im in ds.images]).astype(np.float32)
    direct = model.keras_model.predict(served, verbose=0)[:, 1]
    np.testing.assert_allclose(rows["p_pain"].to_numpy(), direct, atol=1e-5)
    # The benchmark's path (Recipe.predict) scores the same pixels.
    np.testing.assert_allclose(
        Recipe.preset("p1", test_resize=256).predict(model.keras_model, ds), direct, atol=1e-5
    )


def test_every_model_info_carries_its_default_input_spec():
    """ModelInfo.input_spec is the model's input shape with its test transform; the
    zoo's models all test on the whole image resized to the input, as P1 states."""
    for name in painzoo.list_models(kind=None):
        info = painzoo.model_info(name)
        spec = info.input_spec
        assert spec.shape == tuple(info.input_shape), name
        assert spec.test_resize is None and spec.crop == "none", name
        assert resolve_input_spec(name) == spec == resolve_input_spec(info)


def test_a_model_default_test_crop_holds_unless_the_recipe_sets_one():
    from painzoo.registry import ModelInfo, _unregister, register_model

    info = ModelInfo(name="cropped_net", input_shape=(112, 112, 3), test_resize=256)
    register_model(info=info)(lambda **kw: None)
    try:
        assert resolve_input_spec("cropped_net").load_size == (128, 128)  # 112 * 256 / 224
        spec = resolve_input_spec("cropped_net", image_size=56, recipe=Recipe())
        assert (spec.size, spec.test_resize, spec.load_size) == ((56, 56), 256, (64, 64))
        wider = resolve_input_spec("cropped_net", recipe=Recipe(test_resize=288))
        assert wider.test_resize == 288 and wider.load_size == (144, 144)
    finally:
        _unregister("cropped_net")
    # A test crop smaller than the input is refused when the model is registered.
    with pytest.raises(ValueError, match="test_resize"):
        register_model(info=ModelInfo(name="bad_crop", test_resize=100))(lambda **kw: None)
    _unregister("bad_crop")


def test_painzoo_train_takes_a_size_or_a_spec_not_both(tmp_path):
    with pytest.raises(ValueError, match="image_size or input_spec"):
        painzoo.train(
            model="songnet",
            data=_faces(),
            out=tmp_path / "m",
            image_size=48,
            input_spec=InputSpec(48, 48),
            face_crop=None,
        )
