"""painzoo frames: candidate frames for blinded rating, the sheet, its key and the round trip."""

from __future__ import annotations

import hashlib
import re

import cv2
import numpy as np
import pandas as pd
import pytest
from synthetic_video import render_faces, write_video

from painzoo.annotation import icc
from painzoo.cli import main
from painzoo.datasets.io import read_image
from painzoo.inference import VideoFrames, extract_frames, rating_columns
from painzoo.preprocess import FaceCropper

BLURRED = (3, 8)  # seconds whose face is blurred
REPEATED = {5: 4, 10: 9}  # second -> the earlier second whose frame it repeats
RGS = ("orbital", "ear", "nose", "whisker")
# What must never reach the raters: a participant's name, a condition, a time point.
IDENTIFYING = ("jane", "doe", "post-op", "post_op", "day1", "planted")


def _planted_frames():
    faces = render_faces(np.arange(12) % 2, size=96, seed=11, subjects=2)
    seconds = []
    for s in range(12):
        face = faces[REPEATED.get(s, s)]
        if s in BLURRED:
            face = cv2.GaussianBlur(face, (0, 0), 2.5)
        seconds.append(face)
    return [seconds[s] for s in range(12) for _ in range(4)]


@pytest.fixture(scope="module")
def planted_video(tmp_path_factory):
    """12 s at 4 fps; a new face every second, two blurred, two repeating the previous."""
    return write_video(tmp_path_factory.mktemp("frames") / "planted.avi", _planted_frames(), fps=4)


@pytest.fixture(scope="module")
def named_video(tmp_path_factory):
    """The same video under a name that identifies a person, a condition and a day."""
    folder = tmp_path_factory.mktemp("Jane_Doe")
    return write_video(folder / "Jane_Doe_post-op_day1.avi", _planted_frames(), fps=4)


def _frames(video, out, *extra):
    args = ["frames", str(video), "--out", str(out), "--every", "1", "--face-crop", "none"]
    return main([*args, "--no-progress", *extra])


def _tree(folder):
    """Every file's bytes and modification time under ``folder``."""
    return {
        p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat())
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _contents(folder):
    return {k: v[0] for k, v in _tree(folder).items()}


def test_blurred_and_repeated_frames_are_dropped(planted_video, tmp_path):
    result = extract_frames(planted_video, tmp_path / "out", every=1.0, face_crop="none", size=96)
    kept = sorted(result.key["time_s"].round().astype(int))
    expected = [s for s in range(12) if s not in BLURRED and s not in REPEATED]
    assert kept == expected
    counts = result.counts[str(planted_video)]
    assert counts["sampled"] == 12 and counts["blurred"] == 2 and counts["duplicates"] == 2
    sheet = pd.read_csv(result.sheet_path)
    assert list(sheet.columns) == ["id", "image", *rating_columns("rgs", 5)]
    assert sheet[rating_columns("rgs", 5)].isna().all().all()
    for image in sheet["image"]:
        assert (result.sheet_path.parent / image).is_file()
    key = pd.read_csv(result.key_path)
    assert list(key.columns) == ["id", "subject", "video", "frame_index", "time_s"]
    assert set(key["subject"]) == {"planted"}
    assert sorted(key["id"]) == sorted(sheet["id"])


def test_max_spreads_the_frames_over_the_video(planted_video, tmp_path):
    result = extract_frames(planted_video, tmp_path, every=1.0, max_frames=3, face_crop="none")
    times = result.key["time_s"].to_numpy()
    assert len(times) == 3
    # One frame from each third of the 0–11 s span.
    assert [min(int(t // (11 / 3)), 2) for t in times] == [0, 1, 2]  # 11 s is in the last


def test_what_raters_get_is_blinded_and_the_key_maps_it_back(named_video, tmp_path, capsys):
    out = tmp_path / "study"
    assert _frames(named_video, out, "--seed", "3") == 0
    printed = capsys.readouterr()
    raters = out / "for_raters"
    # Nothing identifying in any name or file the raters get.
    for path in raters.rglob("*"):
        rel = path.relative_to(raters).as_posix().lower()
        assert not any(word in rel for word in IDENTIFYING), rel
    text = (raters / "rating_sheet.csv").read_text().lower()
    assert not any(word in text for word in IDENTIFYING)
    assert not any(word in (printed.out + printed.err).lower() for word in IDENTIFYING[:3])
    sheet = pd.read_csv(raters / "rating_sheet.csv")
    assert list(sheet.columns) == ["id", "image", *rating_columns("rgs", 5)]
    assert all(re.fullmatch(r"[a-f][0-9a-f]{7}", i) for i in sheet["id"])
    assert sheet["image"].tolist() == [f"images/{i}.png" for i in sheet["id"]]
    assert sorted(p.name for p in (raters / "images").iterdir()) == sorted(
        f"{i}.png" for i in sheet["id"]
    )
    # The crops' modification times do not give away the order they were written in.
    assert len({p.stat().st_mtime for p in (raters / "images").iterdir()}) == 1

    # The key lives outside the raters' folder and maps each id to its frame.
    key = pd.read_csv(out / "rating_key.csv")
    assert not (raters / "rating_key.csv").exists()
    assert set(key["video"]) == {str(named_video)}
    assert set(key["subject"]) == {"Jane_Doe_post-op_day1"}
    by_id = key.set_index("id")
    times = by_id.loc[sheet["id"], "time_s"].to_numpy()
    assert not np.all(np.diff(times) > 0), "rows are in time order"
    assert sorted(times) == sorted(key["time_s"])
    crop = FaceCropper(detector="none", size=224, on_no_face="center")
    decoded = {i: rgb for i, _, rgb in VideoFrames(named_video, fps=1.0)}
    for image_id, row in by_id.iterrows():
        expected = crop(decoded[int(row["frame_index"])]).image
        np.testing.assert_array_equal(read_image(raters / "images" / f"{image_id}.png"), expected)
        assert row["time_s"] == pytest.approx(row["frame_index"] / 4)

    # --seed makes it reproducible; another seed gives other ids and another order.
    assert _frames(named_video, tmp_path / "again", "--seed", "3") == 0
    assert _contents(tmp_path / "again" / "for_raters") == _contents(raters)
    assert _frames(named_video, tmp_path / "other", "--seed", "4") == 0
    other = pd.read_csv(tmp_path / "other" / "for_raters" / "rating_sheet.csv")
    assert set(other["id"]).isdisjoint(sheet["id"])


def test_a_filled_sheet_and_an_earlier_run_are_never_overwritten(planted_video, tmp_path, capsys):
    out = tmp_path / "out"
    assert _frames(planted_video, out, "--seed", "0") == 0
    sheet_path = out / "for_raters" / "rating_sheet.csv"
    sheet = pd.read_csv(sheet_path)
    sheet.loc[0, "r1_ear"] = 2
    sheet.to_csv(sheet_path, index=False)
    before = _tree(out)
    capsys.readouterr()
    assert _frames(planted_video, out, "--seed", "1") == 2
    err = capsys.readouterr().err
    assert str(sheet_path) in err and "1 rating(s)" in err and "another --out" in err
    assert _tree(out) == before  # ratings, crops and key as they were

    # An unrated earlier run is not replaced either (its crops and key stay).
    fresh = tmp_path / "fresh"
    assert _frames(planted_video, fresh) == 0
    before = _tree(fresh)
    assert _frames(planted_video, fresh) == 2
    err = capsys.readouterr().err
    assert "earlier run" in err and "another --out" in err
    assert _tree(fresh) == before

    # A filled sheet of the older layout (OUT/rating_sheet.csv) is protected too.
    old = tmp_path / "old"
    old.mkdir()
    pd.DataFrame({"image": ["a.png"], "r1_orbital": [1], "r2_orbital": [""]}).to_csv(
        old / "rating_sheet.csv", index=False
    )
    assert _frames(planted_video, old) == 2
    assert "1 rating(s)" in capsys.readouterr().err
    assert sorted(p.name for p in old.iterdir()) == ["rating_sheet.csv"]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--every", "0"),
        ("--every", "-1"),
        ("--every", "nan"),
        ("--every", "inf"),
        ("--max", "0"),
        ("--raters", "0"),
        ("--size", "0"),
        ("--seed", "-1"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(
    planted_video, tmp_path, capsys, option, value
):
    out = tmp_path / "out"
    assert _frames(planted_video, out, option, value) == 2
    err = capsys.readouterr().err
    assert option in err and value in err
    assert not out.exists()


def _textured(rgb):
    """A detector: the whole frame is a face unless the frame is flat."""
    h, w = rgb.shape[:2]
    return [(0, 0, w, h)] if rgb.std() > 5 else []


def test_a_failing_video_leaves_nothing_behind(planted_video, tmp_path):
    frames = [np.full((80, 80, 3), 100 + i, np.uint8) for i in range(8)]
    wall = write_video(tmp_path / "Jane_Doe_wall.avi", frames, fps=4)
    out = tmp_path / "out"
    # The first video has faces, the second none: the error comes before any file is written.
    with pytest.raises(ValueError, match="No face found.*video 2 of 2") as err:
        extract_frames([planted_video, wall], out, face_crop={"detector": _textured, "size": 32})
    assert "Jane" not in str(err.value)
    assert not out.exists()
    broken = tmp_path / "Jane_Doe_broken.avi"
    broken.write_bytes(wall.read_bytes()[:2000])
    with pytest.raises(ValueError, match="Cannot open video 2 of 2") as err:
        extract_frames([planted_video, broken], out, face_crop="none")
    assert "Jane" not in str(err.value)
    with pytest.raises(FileNotFoundError, match="Video 2 of 2 does not exist"):
        extract_frames([planted_video, tmp_path / "Jane_Doe_missing.avi"], out, face_crop="none")
    assert not out.exists()


def test_no_face_in_any_frame_is_named_by_position(tmp_path):
    frames = [np.full((80, 80, 3), 100 + i, np.uint8) for i in range(8)]
    path = write_video(tmp_path / "wall.avi", frames, fps=4)
    with pytest.raises(ValueError, match="No face found.*video 1 of 1"):
        extract_frames(path, tmp_path / "out", face_crop="haar")
    assert not (tmp_path / "out").exists()


def test_progress_bar_over_sampled_frames(planted_video, tmp_path, capsys):
    args = ["frames", str(planted_video), "--every", "1", "--face-crop", "none"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert re.search(r"frames: sampling.*12/12", capsys.readouterr().err)
    assert main([*args, "--out", str(tmp_path / "b"), "--no-progress"]) == 0
    assert "frames:" not in capsys.readouterr().err


def test_filled_rgs_sheet_round_trips(planted_video, tmp_path, capsys, icc_2k):
    out = tmp_path / "out"
    assert _frames(planted_video, out, "--raters", "5") == 0
    sheet_path = out / "for_raters" / "rating_sheet.csv"
    sheet = pd.read_csv(sheet_path)
    n = len(sheet)
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, (n, 4))
    scores = np.clip(
        truth[:, None, :] + rng.integers(-1, 2, (n, 5, 4)) * (rng.random((n, 5, 4)) < 0.3), 0, 2
    )
    for r in range(5):
        for j, au in enumerate(RGS):
            sheet[f"r{r + 1}_{au}"] = scores[:, r, j]
    sheet.to_csv(sheet_path, index=False)
    capsys.readouterr()
    assert main(["agreement", str(sheet_path)]) == 0
    report = capsys.readouterr().out
    lines = {line.split()[0]: line for line in report.splitlines()[1:]}
    for j, au in enumerate(RGS):
        assert f"{icc_2k(scores[:, :, j].astype(float)):.3f}" in lines[au]
        assert f"{icc(scores[:, :, j], '2,k').value:.3f}" in lines[au]
    assert f"{icc_2k(scores.sum(2).astype(float)):.3f}" in lines["RGS"]

    # The RGS consensus reads the same sheet and joins the key by id: five raters
    # who all agree give that score, and each row gets its video and time back.
    from painzoo.datasets.loaders import load_ratspain

    agree = sheet.copy()
    for r in range(5):
        for j, au in enumerate(RGS):
            agree[f"r{r + 1}_{au}"] = truth[:, j]
    agree.to_csv(sheet_path, index=False)
    ds = load_ratspain(sheet_path)
    level = np.floor(truth.mean(1) + 0.5).astype(int)  # half up, P1's rounding
    assert ds.frame["level"].tolist() == level.tolist()
    assert ds.labels.tolist() == (level > 0).astype(int).tolist()
    assert all(p.is_file() for p in ds.image_paths)
    key = pd.read_csv(out / "rating_key.csv").set_index("id")
    assert ds.frame["id"].tolist() == sheet["id"].tolist()
    assert ds.frame["time_s"].tolist() == key.loc[sheet["id"], "time_s"].tolist()
    assert set(ds.frame["subject"]) == {"planted"}

    # Without its key a blinded sheet cannot become labels; the error says where to look.
    moved = tmp_path / "elsewhere" / "sheet.csv"
    moved.parent.mkdir()
    agree.to_csv(moved, index=False)
    with pytest.raises(FileNotFoundError, match="rating_key.csv"):
        load_ratspain(moved)
    assert (
        load_ratspain(moved, key=out / "rating_key.csv", root=out / "for_raters")
        .frame["level"]
        .tolist()
        == level.tolist()
    )


def test_pspi_sheet_has_the_pspi_units_and_agreement_reads_it(
    planted_video, tmp_path, capsys, icc_2k
):
    result = extract_frames(planted_video, tmp_path, face_crop="none", scale="pspi", raters=2)
    units = ["au4", "au6", "au7", "au9", "au10", "au43"]
    assert list(result.sheet.columns[2:]) == [f"r{r}_{u}" for r in (1, 2) for u in units]
    sheet = result.sheet.copy()
    rng = np.random.default_rng(1)
    for u in units:
        top = 1 if u == "au43" else 5
        base = rng.integers(0, top + 1, len(sheet))
        sheet[f"r1_{u}"] = base
        sheet[f"r2_{u}"] = np.clip(base + rng.integers(0, 2, len(sheet)), 0, top)
    sheet.to_csv(result.sheet_path, index=False)
    capsys.readouterr()
    assert main(["agreement", str(result.sheet_path)]) == 0
    report = capsys.readouterr().out
    assert "PSPI" in report and "au43" in report
    a = sheet[[f"r1_{u}" for u in units]].to_numpy(float)
    b = sheet[[f"r2_{u}" for u in units]].to_numpy(float)

    def pspi(x):
        return x[:, 0] + np.maximum(x[:, 1], x[:, 2]) + np.maximum(x[:, 3], x[:, 4]) + x[:, 5]

    expected = icc_2k(np.stack([pspi(a), pspi(b)], 1))
    pspi_line = next(line for line in report.splitlines() if line.startswith("PSPI "))
    assert f"{expected:.3f}" in pspi_line
