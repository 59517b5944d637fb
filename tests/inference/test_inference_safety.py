"""painzoo predict / train / explain: no output over an input, every number checked first."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from synthetic_video import render_faces, write_video

import painzoo
from painzoo.cli import main
from painzoo.datasets.io import write_image
from painzoo.inference.card import CARD_FORMAT, CLASS_NAMES, write_card


def _model_folder(folder, flag=""):
    """A painzoo model folder (model.keras + model.json) with an untrained 32 px network."""
    import keras

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(2, activation="softmax")(x)
    folder.mkdir(parents=True, exist_ok=True)
    keras.Model(inputs, outputs).save(folder / "model.keras")
    card = {
        "format": CARD_FORMAT,
        "model": {"name": "tiny", "file": "model.keras"},
        "input": {"image_size": [32, 32], "channels": 3, "value_range": [0, 255]},
        "face_crop": None,
        "class_names": list(CLASS_NAMES),
        "threshold": 0.5,
        "training": {"flag": flag},
    }
    write_card(card, folder)
    return folder


@pytest.fixture
def scene(tmp_path):
    """A model folder, a video, two images and a manifest listing them; their bytes."""
    model = _model_folder(tmp_path / "M")
    video = write_video(tmp_path / "vid.avi", render_faces([0, 1, 0, 1], size=48), fps=4)
    images = tmp_path / "faces"
    for i, face in enumerate(render_faces([0, 1], size=48, seed=3)):
        write_image(images / f"f{i}.png", face)
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame({"image": ["faces/f0.png", "faces/f1.png"], "level": [0, 3]}).to_csv(
        manifest, index=False
    )
    files = [*model.iterdir(), video, manifest, *images.iterdir()]
    return {
        "model": model,
        "video": video,
        "images": images,
        "manifest": manifest,
        "bytes": {p: p.read_bytes() for p in files},
    }


def _untouched(scene):
    for path, data in scene["bytes"].items():
        assert path.read_bytes() == data, path


def _predict(*argv):
    return main(["predict", *map(str, argv), "--no-progress"])


# -- outputs that are inputs --------------------------------------------------------------
@pytest.mark.parametrize(
    "input_key, out, words",
    [
        # the video became a CSV header
        ("video", lambda s: s["video"], "would overwrite its input"),
        # the user's manifest was replaced
        ("manifest", lambda s: s["manifest"], "would overwrite its input"),
        # the trained model was replaced; anything in the model folder is refused
        ("video", lambda s: s["model"] / "model.keras", "inside its model folder"),
        ("video", lambda s: s["model"] / "model.json", "inside its model folder"),
        ("video", lambda s: s["model"] / "predictions.csv", "inside its model folder"),
        # a later run would read the timeline PNGs back as images
        ("images", lambda s: s["images"] / "p.csv", "inside its input folder"),
    ],
)
def test_predict_refuses_an_out_that_is_an_input(scene, capsys, input_key, out, words):
    target = out(scene)
    code = _predict(scene["model"], scene[input_key], "--out", target)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith(f"painzoo predict: error: --out {target} ")
    assert words in err and "nothing was written" in err and "--out a new CSV path" in err
    _untouched(scene)
    assert not [p for p in scene["video"].parent.rglob("*") if ".tmp" in p.name]
    assert not (scene["video"].parent / "predictions.csv").exists()


def test_predict_refuses_a_summary_or_timelines_that_would_replace_an_input(scene, capsys):
    listed = scene["manifest"].with_name("p_summary.csv")
    listed.write_bytes(scene["manifest"].read_bytes())
    scene["bytes"][listed] = listed.read_bytes()
    out = scene["manifest"].with_name("p.csv")
    assert _predict(scene["model"], listed, "--out", out) == 2
    assert f"its summary CSV {listed} would overwrite its input" in capsys.readouterr().err
    assert not out.exists()
    _untouched(scene)


def test_predict_refuses_the_model_folder_of_a_model_given_as_its_file(scene, capsys):
    model_file = scene["model"] / "model.keras"
    out = scene["model"] / "model.json"
    assert _predict(model_file, scene["video"], "--out", out) == 2
    assert f"would be written inside its model folder {scene['model']};" in (
        capsys.readouterr().err
    )
    _untouched(scene)


def test_predict_into_a_new_path_still_works(scene, tmp_path):
    out = tmp_path / "results" / "p.csv"
    assert _predict(scene["model"], scene["video"], scene["manifest"], "--out", out) == 0
    rows = pd.read_csv(out)
    assert rows["input"].str.endswith("vid.avi").sum() == 4 and len(rows) == 6
    assert (tmp_path / "results" / "p_timelines" / "vid.png").is_file()
    _untouched(scene)


# -- an existing output is replaced only by a complete one ------------------------------------
def test_bad_numbers_leave_an_existing_csv_alone(scene, tmp_path, capsys):
    out = tmp_path / "old.csv"
    out.write_text("input,p_pain\nmine,0.9\n")
    for flag, value, words in [
        ("--fps", "0", "fps must be a finite number > 0"),
        ("--fps", "nan", "fps must be a finite number > 0"),
        ("--fps", "inf", "fps must be a finite number > 0"),
        (
            "--threshold",
            "1.5",
            "threshold must be a finite number in [0, 1]; received 1.5",
        ),
        ("--threshold", "nan", "threshold must be a finite number in [0, 1]"),
        ("--batch-size", "0", "batch_size must be an integer >= 1; received 0"),
    ]:
        code = _predict(scene["model"], scene["video"], "--out", out, flag, value)
        assert code == 2 and words in capsys.readouterr().err, (flag, value)
        assert out.read_text() == "input,p_pain\nmine,0.9\n", (flag, value)
    assert sorted(p.name for p in tmp_path.glob("old*")) == ["old.csv"]


def test_ctrl_c_leaves_the_old_csv_intact(scene, tmp_path, monkeypatch):
    import importlib

    predict_module = importlib.import_module("painzoo.inference.predict")

    out = tmp_path / "old.csv"
    out.write_text("old rows\n")
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # after the first video frame has been scored
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    real = predict_module._row
    monkeypatch.setattr(predict_module, "_row", interrupted)
    with pytest.raises(KeyboardInterrupt):
        painzoo.predict(scene["model"], [scene["video"]], out=out, batch_size=1)
    assert len(calls) == 2
    assert out.read_text() == "old rows\n"
    assert sorted(p.name for p in tmp_path.glob("*.csv")) == ["manifest.csv", "old.csv"]
    assert not list(tmp_path.glob(".old*"))


def test_rows_replace_the_old_csv_before_the_input_errors_are_raised(scene, tmp_path):
    out = tmp_path / "old.csv"
    out.write_text("old rows\n")
    bad = tmp_path / "broken.avi"
    bad.write_bytes(b"xx" * 300)
    with pytest.raises(ValueError, match="broken.avi"):
        painzoo.predict(scene["model"], [scene["video"], bad], out=out)
    rows = pd.read_csv(out)
    assert rows["input"].tolist() == [str(scene["video"])] * 4
    assert not list(tmp_path.glob(".old*"))


# -- a model that did not learn -------------------------------------------------------------
def test_a_not_learning_model_warns_once_naming_its_folder(tmp_path, scene):
    model = _model_folder(tmp_path / "lazy", flag="not_learning")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        painzoo.predict(model, [scene["video"], scene["manifest"]], batch_size=1)
    mine = [w for w in caught if "not_learning" in str(w.message)]
    assert len(mine) == 1
    assert str(model) in str(mine[0].message) and "did not learn" in str(mine[0].message)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        painzoo.predict(scene["model"], [scene["video"]])
    assert not [w for w in caught if "not_learning" in str(w.message)]


# -- train ----------------------------------------------------------------------------------
_CONFIG = (
    "name: tiny\nimage_size: 32\nrecipe: {preset: p2, epochs: 1, batch_size: 16%s}\n"
    "data:\n  toy: {manifest: %s}\n"
    "models: [songnet]\nexperiments:\n  - {data: toy, protocols: [loso]}\n"
)


def _toy_data(tmp_path):
    folder = tmp_path / "data"
    faces = render_faces(np.tile([0, 1], 4), size=32, seed=5)
    rows = []
    for i, face in enumerate(faces):
        rel = f"images/s{i % 2}/{i}.png"
        write_image(folder / rel, face)
        rows.append({"image": rel, "label": i % 2, "subject": f"s{i % 2}"})
    pd.DataFrame(rows).to_csv(folder / "manifest.csv", index=False)
    return folder


@pytest.mark.parametrize(
    "extra, words",
    [
        (", learning_rate: .nan", "learning_rate must be a finite number > 0; received nan"),
        (", learning_rate: .inf", "learning_rate must be a finite number > 0; received inf"),
        (", label_smoothing: 1.0", "label_smoothing must be a finite number in [0, 1)"),
        (", dropout: .nan", "dropout must be a finite number in [0, 1) or null"),
        (", weight_decay: -.inf", "weight_decay must be a finite number >= 0"),
    ],
)
def test_train_refuses_bad_recipe_numbers_before_training(tmp_path, capsys, extra, words):
    data = _toy_data(tmp_path)
    config = tmp_path / "tiny.yaml"
    config.write_text(_CONFIG % (extra, data / "manifest.csv"))
    out = tmp_path / "model"
    code = main(["train", "--config", str(config), "--model", "songnet", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and words in err, err
    assert f"{config}, line 3" in err
    assert not out.exists()


@pytest.mark.parametrize(
    "flag, value, words",
    [
        ("--epochs", "0", "epochs must be an integer >= 1; received 0"),
        ("--image-size", "0", "--image-size must be an integer >= 1; received 0"),
        ("--image-size", "48x0", "--image-size must be an integer >= 1; received 0"),
        ("--seed", "-1", "seed must be an integer >= 0; received -1"),
    ],
)
def test_train_refuses_bad_arguments_before_training(tmp_path, capsys, flag, value, words):
    data = _toy_data(tmp_path)
    config = tmp_path / "tiny.yaml"
    config.write_text(_CONFIG % ("", data / "manifest.csv"))
    out = tmp_path / "model"
    argv = ["train", "--config", str(config), "--model", "songnet", "--out", str(out)]
    assert main([*argv, flag, value]) == 2
    assert words in capsys.readouterr().err
    assert not out.exists()


def test_train_refuses_an_out_inside_the_image_folder(tmp_path, capsys):
    data = _toy_data(tmp_path)
    config = tmp_path / "tiny.yaml"
    config.write_text(_CONFIG % ("", data / "manifest.csv"))
    before = sorted(p.relative_to(data) for p in data.rglob("*"))
    for out in (data / "images" / "model", data / "images" / "s0", config):
        argv = ["train", "--config", str(config), "--model", "songnet", "--out", str(out)]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("painzoo train: error: --out ") and "nothing was written" in err, err
    assert sorted(p.relative_to(data) for p in data.rglob("*")) == before


def test_a_card_never_holds_nan(tmp_path):
    card = {
        "format": CARD_FORMAT,
        "benchmark": [{"accuracy": 0.5, "auc": float("nan"), "f1": np.float32("nan")}],
        "training": {"loss_last": float("inf"), "epochs_run": np.int64(3)},
    }
    path = write_card(card, tmp_path)

    def refuse(name):
        raise AssertionError(f"{name} in the card")

    read = json.loads(path.read_text(), parse_constant=refuse)  # strict JSON
    assert read["benchmark"] == [{"accuracy": 0.5, "auc": None, "f1": None}]
    assert read["training"] == {"loss_last": None, "epochs_run": 3}


# -- explain --------------------------------------------------------------------------------
def test_explain_refuses_to_write_over_an_image_or_into_the_model_folder(scene, capsys):
    face = scene["images"] / "f0.png"
    lime_named = scene["images"] / "f1_gradcam.png"
    lime_named.write_bytes(face.read_bytes())
    scene["bytes"][lime_named] = lime_named.read_bytes()
    model_file = scene["model"] / "model.keras"
    f1 = scene["images"] / "f1.png"

    def explain(*args):
        return main(["explain", str(model_file), *map(str, args), "--method", "gradcam"])

    # f1.png's overlay would be f1_gradcam.png, which is an input too
    assert explain(f1, lime_named, "--out", scene["images"]) == 2
    assert f"the overlay {lime_named} would overwrite its image" in capsys.readouterr().err
    assert explain(f1, "--out", scene["model"]) == 2
    assert "would overwrite its model folder" in capsys.readouterr().err
    maps = scene["images"].parent / "maps"
    assert explain(f1, "--num-samples", "0", "--out", maps) == 2
    assert "num_samples must be an integer >= 1; received 0" in capsys.readouterr().err
    assert not maps.exists()
    _untouched(scene)
