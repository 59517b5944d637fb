"""The user's chain on real photographs, through the command line.

``tests/data/faces`` holds real photographs (Face Research Lab London Set,
CC BY 4.0; neutral vs smiling as a stand-in for no pain vs pain): 8 people
to train on, 3 new people. The chain: a folder of uncropped photographs →
``painzoo preprocess`` (MTCNN) → ``painzoo train`` on the crops →
``painzoo predict`` on other people's *uncropped* photographs and on a video
made from the photographs, with the card's settings → ``painzoo explain``.
MTCNN runs on TensorFlow only, so these tests are not repeated on the other
backends.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from painzoo.cli import main

FACES = Path(__file__).parent / "data" / "faces"
SIZE = 64  # the network's input side
CROP = 96  # the side painzoo preprocess writes
FPS = 5


def _run(*argv) -> int:
    return main([str(a) for a in argv])


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """Crops of the 8 training people, a SongNet trained on them, and its folder."""
    root = tmp_path_factory.mktemp("chain")
    crops = root / "crops"
    assert _run("preprocess", FACES / "train", crops, "--layout", "label", "--size", CROP) == 0
    config = root / "faces.yaml"
    config.write_text(
        f"name: faces\nimage_size: {SIZE}\n"
        "recipe: {preset: painzoo, epochs: 40, min_steps: 600, batch_size: 8}\n"
        "data:\n  faces: {manifest: crops/manifest.csv}\n"
        "models: [songnet]\nexperiments:\n  - {data: faces, protocols: [loso]}\n"
    )
    model = root / "model"
    argv = ["train", "--config", config, "--model", "songnet", "--out", model, "--seed", "0"]
    assert _run(*argv, "--no-progress") == 0
    return root


def _no_face_photo(path: Path) -> Path:
    """A real photograph without a face (scikit-image's cup of coffee)."""
    from skimage.data import coffee

    from painzoo.datasets.io import write_image

    write_image(path, coffee())
    return path


def test_the_card_records_the_crop_painzoo_preprocess_made(chain):
    record = json.loads((chain / "crops" / "preprocess.json").read_text())
    card = json.loads((chain / "model" / "model.json").read_text())
    assert record["face_crop"]["detector"] == "mtcnn"
    assert record["face_crop"]["size"] == CROP
    assert record["counts"]["images"] == 16
    assert card["face_crop"] == record["face_crop"]
    assert card["preprocessing"]["format"] == "painzoo-preprocess"
    assert card["training_data"]["image_size"]["median"] == [CROP, CROP]
    assert card["training"]["flag"] == ""  # it learned its training images


def test_loaders_of_the_crops_know_what_made_them(chain):
    from painzoo.datasets import load_csv, load_folder

    record = json.loads((chain / "crops" / "preprocess.json").read_text())
    assert load_csv(chain / "crops" / "manifest.csv").preprocessing == record
    assert load_folder(chain / "crops" / "images", layout="label").preprocessing == record
    # the uncropped photographs carry no record
    assert load_folder(FACES / "train", layout="label").preprocessing is None


def test_predict_on_uncropped_photos_scores_as_the_crops_pipeline(chain, tmp_path):
    """Card's settings on other people's photographs == preprocess, then score the crops."""
    whole = tmp_path / "whole.csv"
    assert _run("predict", chain / "model", FACES / "new", "--out", whole, "--no-progress") == 0
    crops = tmp_path / "new-crops"
    assert _run("preprocess", FACES / "new", crops, "--layout", "label", "--size", CROP) == 0
    cropped = tmp_path / "cropped.csv"
    argv = ["predict", chain / "model", crops / "manifest.csv", "--out", cropped]
    assert _run(*argv, "--face-crop", "none", "--no-progress") == 0

    a = pd.read_csv(whole)
    b = pd.read_csv(cropped)
    manifest = pd.read_csv(crops / "manifest.csv")
    a["key"] = [Path(p).stem for p in a["input"]]
    b["key"] = [Path(p).stem for p in b["input"]]
    manifest["key"] = [Path(p).stem for p in manifest["image"]]
    boxes = ["box_x", "box_y", "box_w", "box_h"]
    manifest = manifest[["key", *boxes]].rename(columns={c: f"{c}_preprocess" for c in boxes})
    joined = a.merge(b, on="key", suffixes=("", "_crop")).merge(manifest, on="key")
    assert len(joined) == 6
    assert joined["face_found"].all()
    # the same square as painzoo preprocess cut, and the same probability
    for col in boxes:
        np.testing.assert_array_equal(joined[col], joined[f"{col}_preprocess"])
    np.testing.assert_allclose(joined["p_pain"], joined["p_pain_crop"], atol=1e-4)
    # crops scored with --face-crop none: nothing looked for a face, so it is left empty
    assert b["face_found"].isna().all()


def test_a_photograph_without_a_face_is_not_scored(chain, tmp_path):
    photo = _no_face_photo(tmp_path / "coffee.jpg")
    out = tmp_path / "pred.csv"
    assert _run("predict", chain / "model", photo, "--out", out, "--no-progress") == 0
    row = pd.read_csv(out).iloc[0]
    assert not row["face_found"]
    assert np.isnan(row["p_pain"])


def test_the_video_timeline_rises_where_the_smile_starts(chain, tmp_path):
    """3 s neutral, 3 s smiling, 2 s without a face, of a person the model was trained on."""
    import cv2
    from skimage.data import coffee

    from painzoo.datasets.io import read_image

    neutral = read_image(FACES / "train" / "no_pain" / "001_03.jpg")
    smile = read_image(FACES / "train" / "pain" / "001_08.jpg")
    empty = cv2.resize(coffee(), (256, 256))
    frames = [neutral] * (3 * FPS * 2) + [smile] * (3 * FPS * 2) + [empty] * (2 * FPS * 2)
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 2 * FPS, (256, 256))
    for rgb in frames:
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()

    out = tmp_path / "video.csv"
    argv = ["predict", chain / "model", video, "--out", out, "--fps", FPS, "--no-progress"]
    assert _run(*argv) == 0
    rows = pd.read_csv(out)
    t = rows["time_s"].to_numpy()
    assert len(rows) == 8 * FPS
    face = rows["face_found"].to_numpy(bool)
    assert face[t < 6].all() and not face[t >= 6].any()
    p = rows["p_pain"].to_numpy(float)
    assert np.nanmean(p[(t >= 3) & (t < 6)]) > np.nanmean(p[t < 3]) + 0.3
    summary = pd.read_csv(tmp_path / "video_summary.csv").iloc[0]
    assert summary["frames_with_face"] == 6 * FPS


def test_explain_crops_as_the_card_says(chain, tmp_path):
    from PIL import Image

    photo = FACES / "new" / "pain" / "064_08.jpg"
    out = tmp_path / "maps"
    argv = ["explain", chain / "model", photo, "--method", "gradcam", "--out", out]
    assert _run(*argv) == 0
    with Image.open(out / "064_08_gradcam.png") as im:
        assert im.size == (CROP, CROP)  # the face the network saw, not the 256 px photograph


def test_a_card_without_a_crop_says_inputs_are_scored_whole(tmp_path):
    """A model trained on images cropped elsewhere: one notice, face_found empty, size warning."""
    import keras

    from painzoo.inference import PainModel
    from painzoo.inference.predict import predict

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Rescaling(1 / 255.0)(inputs))
    model = PainModel.from_keras(keras.Model(inputs, keras.layers.Dense(2, "softmax")(x)))
    model.card["training_data"] = {"image_size": {"median": [32, 32]}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = predict(model, [FACES / "new" / "pain"], out=None)
    messages = [str(w.message) for w in caught]
    assert sum("scored whole" in m and "records no face crop" in m for m in messages) == 1
    assert sum("far larger than the model's training images" in m for m in messages) == 1
    assert rows["face_found"].isna().all() and rows["p_pain"].notna().all()


def _clip(path: Path) -> Path:
    """4 s of a person from the fixture: 2 s neutral, 2 s smiling, moving a little (10 fps)."""
    import cv2

    from painzoo.datasets.io import read_image

    rng = np.random.default_rng(0)
    faces = [read_image(FACES / "new" / "no_pain" / "091_03.jpg")] * 20
    faces += [read_image(FACES / "new" / "pain" / "091_08.jpg")] * 20
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (256, 256))
    for rgb in faces:
        dx, dy = rng.uniform(-6, 6, 2)
        moved = cv2.warpAffine(rgb, np.float32([[1, 0, dx], [0, 1, dy]]), (256, 256))
        writer.write(cv2.cvtColor(moved, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def test_frames_fill_the_sheet_agreement(tmp_path, capsys):
    """frames on a real video -> raters fill the blinded sheet -> agreement; no refill."""
    video = _clip(tmp_path / "patient_day1.avi")
    out = tmp_path / "rating"
    argv = ["frames", video, "--out", out, "--every", "0.5", "--raters", "3", "--seed", "0"]
    assert _run(*argv, "--no-progress") == 0
    sheet_path = out / "for_raters" / "rating_sheet.csv"
    sheet = pd.read_csv(sheet_path)
    key = pd.read_csv(out / "rating_key.csv").set_index("id")
    # nothing the raters get names the video
    given = [p.name for p in (out / "for_raters").rglob("*")] + list(sheet.columns)
    assert not any("patient" in name for name in given)
    assert len(sheet) >= 4
    truth = np.where(key.loc[sheet["id"], "time_s"].to_numpy() >= 2, 2, 0)
    for r in (1, 2, 3):
        for unit in ("orbital", "ear", "nose", "whisker"):
            sheet[f"r{r}_{unit}"] = truth
    sheet.loc[0, "r3_ear"] = 1  # one disagreement
    sheet.to_csv(sheet_path, index=False)
    capsys.readouterr()
    assert _run("agreement", sheet_path) == 0
    report = capsys.readouterr().out
    assert "orbital" in report and "ICC" in report
    # a second run into the folder of the filled sheet is refused; the ratings stay
    before = sheet_path.read_bytes()
    assert _run(*argv, "--no-progress") == 2
    assert sheet_path.read_bytes() == before
    # a score off the scale is named, not used
    sheet.loc[1, "r2_nose"] = 7
    sheet.to_csv(sheet_path, index=False)
    assert _run("agreement", sheet_path) == 2
    assert "r2_nose" in capsys.readouterr().err


def test_the_chain_refuses_to_overwrite_inputs_and_bad_numbers(chain, tmp_path, capsys):
    """Outputs over inputs and numbers out of range stop before anything is written."""
    photo = tmp_path / "photo.jpg"
    photo.write_bytes((FACES / "new" / "pain" / "064_08.jpg").read_bytes())
    model = chain / "model"
    kept = {p: p.read_bytes() for p in (photo, model / "model.keras", model / "model.json")}
    cases = [
        ["predict", model, photo, "--out", photo],
        ["predict", model, photo, "--out", model / "model.keras"],
        ["predict", model, photo, "--out", model / "scores.csv"],
        ["predict", model, photo, "--out", tmp_path / "p.csv", "--threshold", "1.5"],
        ["predict", model, photo, "--out", tmp_path / "p.csv", "--fps", "0"],
        [
            "train",
            "--config",
            chain / "faces.yaml",
            "--model",
            "songnet",
            "--out",
            tmp_path / "m",
            "--epochs",
            "0",
        ],
        ["preprocess", FACES / "train", FACES / "train" / "crops", "--layout", "label"],
    ]
    for argv in cases:
        assert _run(*argv) == 2, argv
        assert "error" in capsys.readouterr().err
    assert all(p.read_bytes() == data for p, data in kept.items())
    assert not (tmp_path / "p.csv").exists() and not (tmp_path / "m").exists()
    assert not (FACES / "train" / "crops").exists()
    config = chain / "faces.yaml"
    nan = chain / "nan.yaml"  # beside faces.yaml: its manifest path is relative
    nan.write_text(
        config.read_text().replace("preset: painzoo,", "preset: painzoo, learning_rate: .nan,")
    )
    assert _run("train", "--config", nan, "--model", "songnet", "--out", tmp_path / "m2") == 2
    assert "learning_rate" in capsys.readouterr().err
