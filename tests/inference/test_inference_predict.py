"""painzoo.predict / painzoo predict on images and videos."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from synthetic_video import render_faces, write_video

import painzoo
from painzoo.cli import main
from painzoo.inference import COLUMNS, summarize_video
from painzoo.preprocess import FaceCropper


# -- learning: the pain half of the video scores higher -------------------------------------
@pytest.mark.slow
@pytest.mark.backend
def test_pain_half_of_a_video_scores_higher(trained_model, pain_video, tmp_path):
    path, native, n = pain_video
    rows = painzoo.predict(trained_model, [path], fps=5, out=tmp_path / "p.csv")
    assert list(rows.columns) == list(COLUMNS)
    # 5 of 10 native frames per second: frames 0, 2, 4, … (computed independently).
    assert rows["frame"].tolist() == list(range(0, n, 2))
    assert rows["time_s"].tolist() == pytest.approx([i / native for i in range(0, n, 2)])
    assert rows["face_found"].all()  # no detection asked: the card says no face crop
    first = rows.loc[rows["time_s"] < 4.0, "p_pain"].mean()
    second = rows.loc[rows["time_s"] >= 4.0, "p_pain"].mean()
    assert second > first + 0.2, (first, second)
    # The CSV holds the same rows, the summary and the timeline exist.
    on_disk = pd.read_csv(tmp_path / "p.csv")
    assert list(on_disk.columns) == list(COLUMNS)
    np.testing.assert_allclose(on_disk["p_pain"], rows["p_pain"], atol=1e-6)
    summary = pd.read_csv(tmp_path / "p_summary.csv")
    assert summary["frames"].tolist() == [len(rows)]
    assert (tmp_path / "p_timelines" / "switch.png").stat().st_size > 1000


@pytest.mark.slow
@pytest.mark.backend
def test_predict_matches_the_keras_model_on_arrays(trained_model):
    from painzoo.inference import load_model

    model = load_model(trained_model)
    images = render_faces(np.tile([0, 1], 10), size=48, seed=3)
    rows = painzoo.predict(model, images, batch_size=7)  # batches that do not divide 20
    direct = model.keras_model.predict(images.astype(np.float32), verbose=0)[:, 1]
    np.testing.assert_allclose(rows["p_pain"].to_numpy(), direct, atol=1e-5)
    assert rows["label"].tolist() == (direct >= 0.5).astype(int).tolist()
    assert rows["input"].tolist() == [f"array[{i}]" for i in range(20)]


@pytest.mark.slow
def test_cli_train_and_predict(tmp_path, pain_video):
    config = tmp_path / "tiny.yaml"
    config.write_text(
        "name: tiny\nimage_size: 32\nrecipe: {preset: p2, epochs: 1, batch_size: 16}\n"
        "data:\n  cppain: {synthetic: cppain, args: {image_size: 32, scale: 0.3}}\n"
        "models: [songnet]\nexperiments:\n  - {data: cppain, protocols: [loso]}\n"
    )
    results = tmp_path / "results"
    results.mkdir()
    pd.DataFrame(
        [
            {
                "data": "cppain",
                "model": "songnet",
                "model_name": "songnet",
                "protocol_label": "loso",
                "accuracy": 0.75,
                "f1": 0.5,
            },
            {
                "data": "other",
                "model": "songnet",
                "model_name": "songnet",
                "protocol_label": "loso",
                "accuracy": 0.1,
                "f1": 0.1,
            },
        ]
    ).to_csv(results / "summary.csv", index=False)
    out = tmp_path / "model"
    argv = ["train", "--config", str(config), "--model", "songnet", "--out", str(out)]
    assert main([*argv, "--results", str(results), "--no-progress"]) == 0
    card = json.loads((out / "model.json").read_text())
    from painzoo.datasets.synthetic import make_synthetic

    ds = make_synthetic("cppain", image_size=32, scale=0.3)
    frame = ds.frame
    assert card["training_data"]["images"] == len(ds)
    for value, name in enumerate(("no_pain", "pain")):
        part = frame[frame["label"] == value]
        assert card["training_data"]["per_class"][name] == {
            "images": len(part),
            "subjects": part["subject"].nunique(),
        }
    assert card["input"]["image_size"] == [32, 32]
    assert card["input"]["value_range"] == [0, 255]
    assert card["class_names"] == ["no_pain", "pain"]
    assert card["recipe"]["epochs"] == 1
    assert card["backend"] and card["keras_version"] and card["painzoo_version"]
    assert [b["accuracy"] for b in card["benchmark"]] == [0.75]
    text = (out / "model.json").read_text()
    assert not any(f'"{s}"' in text for s in frame["subject"].unique())  # counts, never ids

    csv = tmp_path / "pred.csv"
    path = pain_video[0]
    assert (
        main(["predict", str(out), str(path), "--out", str(csv), "--fps", "2", "--no-progress"])
        == 0
    )
    rows = pd.read_csv(csv)
    assert len(rows) == 16 and list(rows.columns) == list(COLUMNS)
    assert (tmp_path / "pred_summary.csv").is_file()
    assert (tmp_path / "pred_timelines" / "switch.png").is_file()


# -- every sampled frame gets a row -------------------------------------------------------------
def _bright_faces_only(image):
    """A detector that 'finds' a face only in frames that are not blank."""
    if image.std() < 5:
        return []
    h, w = image.shape[:2]
    return [(w * 0.2, h * 0.2, w * 0.6, h * 0.6)]


def test_frames_without_a_face_keep_their_row(tmp_path, tiny_model):
    faces = render_faces(np.zeros(30, int), size=64, seed=1)
    blank = np.full_like(faces[0], 120)
    frames = [blank if 10 <= i < 18 else f for i, f in enumerate(faces)]
    path = write_video(tmp_path / "gap.avi", frames, fps=10)
    cropper = FaceCropper(_bright_faces_only, size=32, min_face_size=1, on_no_face="skip")
    rows = painzoo.predict(tiny_model, path, face_crop=cropper, fps=10)
    assert rows["frame"].tolist() == list(range(30))
    missing = rows["frame"].between(10, 17)
    assert not rows.loc[missing, "face_found"].any()
    assert rows.loc[missing, "p_pain"].isna().all()
    assert rows.loc[missing, ["box_x", "label"]].isna().all().all()
    assert rows.loc[~missing, "face_found"].all()
    assert rows.loc[~missing, "p_pain"].notna().all()
    summary = rows.attrs["summary"].iloc[0]
    assert summary["frames"] == 30 and summary["frames_with_face"] == 22
    assert summary["seconds_analysed"] == pytest.approx(2.2)


def test_summary_against_a_direct_count():
    p = [0.2, 0.7, 0.8, np.nan, 0.9, 0.6, 0.1, 0.55, 0.51, 0.52, 0.3]
    rows = pd.DataFrame({"input": "v.mp4", "time_s": np.arange(len(p)) * 0.2, "p_pain": p})
    s = summarize_video(rows, threshold=0.5, fps=5)
    scored = [x for x in p if not math.isnan(x)]
    assert s["frames_with_face"] == len(scored)
    assert s["share_above_threshold"] == pytest.approx(sum(x >= 0.5 for x in scored) / len(scored))
    # Runs at or above 0.5 (a NaN breaks a run): [0.7, 0.8], [0.9, 0.6], [0.55, 0.51, 0.52].
    runs, run = [], 0
    for x in p:
        run = run + 1 if (not math.isnan(x) and x >= 0.5) else 0
        runs.append(run)
    assert s["longest_episode_s"] == pytest.approx(max(runs) * 0.2)
    assert s["seconds"] == pytest.approx(len(p) * 0.2)
    assert s["mean_p_pain"] == pytest.approx(np.nanmean(p), abs=1e-6)


# -- bad input ------------------------------------------------------------------------------
def test_bad_video_is_named_and_earlier_rows_are_written(tmp_path, tiny_model):
    from painzoo.datasets.io import write_image

    good = tmp_path / "face.png"
    write_image(good, render_faces([1], size=64, seed=2)[0])
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x01garbage" * 500)
    csv = tmp_path / "rows.csv"
    with pytest.raises(ValueError, match="broken.mp4") as err:
        painzoo.predict(tiny_model, [good, bad], out=csv)
    assert "rows.csv" in str(err.value)
    rows = pd.read_csv(csv)
    assert rows["input"].tolist() == [str(good)]
    assert rows["p_pain"].notna().all()


def test_no_face_in_any_frame_is_named_with_rows_written(tmp_path, tiny_model):
    frames = [np.full((96, 96, 3), 90 + i, np.uint8) for i in range(10)]
    path = write_video(tmp_path / "empty_room.avi", frames, fps=5)
    csv = tmp_path / "rows.csv"
    with pytest.raises(ValueError, match="No face found in any.*empty_room.avi"):
        painzoo.predict(tiny_model, path, face_crop="haar", out=csv)
    rows = pd.read_csv(csv)
    assert len(rows) == 10 and not rows["face_found"].any()
    # With on_error="warn" the rows come back instead.
    with pytest.warns(UserWarning, match="empty_room.avi"):
        rows = painzoo.predict(tiny_model, path, face_crop="haar", on_error="warn")
    assert len(rows) == 10


def test_a_model_that_is_not_painzoos_is_named(tmp_path):
    from painzoo.inference import load_model

    folder = tmp_path / "not_a_model"
    folder.mkdir()
    (folder / "model.json").write_text(json.dumps({"name": "something else"}))
    with pytest.raises(ValueError, match=r"not_a_model.*model.json.*not a painzoo model card"):
        painzoo.predict(folder, [tmp_path])
    junk = tmp_path / "weights.keras"
    junk.write_bytes(b"PK not really a zip")
    with pytest.raises(ValueError, match="weights.keras is not a painzoo model"):
        load_model(junk)
    assert main(["predict", str(folder), str(tmp_path), "--no-progress"]) == 2


def test_cli_reports_a_bad_input_and_fails(tmp_path, tiny_model, capsys):
    folder = tmp_path / "m"
    tiny_model.keras_model.save(folder.with_suffix(".keras"))
    bad = tmp_path / "broken.avi"
    bad.write_bytes(b"xx" * 300)
    code = main(
        [
            "predict",
            str(folder.with_suffix(".keras")),
            str(bad),
            "--out",
            str(tmp_path / "x.csv"),
            "--no-progress",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "broken.avi" in err
    assert "painzoo predict: warning: " in err and "no model.json" in err


# -- a model that did not learn says so --------------------------------------------------------
@pytest.mark.slow
def test_the_card_holds_the_training_curve_and_its_flag(trained_model):
    from painzoo.inference import load_model

    training = load_model(trained_model).card["training"]
    # the fixture's model learns the cue (the video test checks it on new faces)
    assert training["flag"] == "" and training["epochs_run"] == 15
    assert training["loss_last"] < training["loss_first"]
    assert training["train_accuracy"] > 0.8


def test_a_training_that_did_not_learn_warns_and_is_flagged_in_the_card(tmp_path, tiny_cnn):
    from painzoo.datasets import Dataset
    from painzoo.inference import load_model

    labels = np.tile([0, 1], 12)
    images = render_faces(labels, size=32, seed=1)
    ds = Dataset(
        pd.DataFrame({"label": labels, "subject": [f"s{i % 4}" for i in range(24)]}),
        images=images,
        name="faces",
    )
    with pytest.warns(UserWarning, match="painzoo train tiny_cnn.*not_learning"):
        painzoo.train(
            model=tiny_cnn,
            data=ds,
            out=tmp_path,
            recipe={"preset": "p2", "epochs": 3, "learning_rate": 1e-12, "augment": None},
            image_size=32,
            face_crop=None,
            seed=0,
        )
    training = load_model(tmp_path).card["training"]
    assert training["flag"] == "not_learning" and training["epochs_run"] == 3
