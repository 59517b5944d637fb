"""painzoo frames: candidate frames for rating and the rating sheet round trip."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest
from synthetic_video import render_faces, write_video

from painzoo.annotation import icc
from painzoo.cli import main
from painzoo.inference import extract_frames, rating_columns

BLURRED = (3, 8)  # seconds whose face is blurred
REPEATED = {5: 4, 10: 9}  # second -> the earlier second whose frame it repeats


@pytest.fixture(scope="module")
def planted_video(tmp_path_factory):
    """12 s at 4 fps; a new face every second, two blurred, two repeating the previous."""
    faces = render_faces(np.arange(12) % 2, size=96, seed=11, subjects=2)
    seconds = []
    for s in range(12):
        face = faces[REPEATED.get(s, s)]
        if s in BLURRED:
            face = cv2.GaussianBlur(face, (0, 0), 2.5)
        seconds.append(face)
    frames = [seconds[s] for s in range(12) for _ in range(4)]
    return write_video(tmp_path_factory.mktemp("frames") / "planted.avi", frames, fps=4)


def test_blurred_and_repeated_frames_are_dropped(planted_video, tmp_path):
    result = extract_frames(planted_video, tmp_path / "out", every=1.0, face_crop="none", size=96)
    kept = sorted(result.sheet["time_s"].round().astype(int))
    expected = [s for s in range(12) if s not in BLURRED and s not in REPEATED]
    assert kept == expected
    counts = result.counts[str(planted_video)]
    assert counts["sampled"] == 12 and counts["blurred"] == 2 and counts["duplicates"] == 2
    sheet = pd.read_csv(result.sheet_path)
    assert list(sheet.columns) == [
        "image",
        "subject",
        "video",
        "time_s",
        *rating_columns("rgs", 5),
    ]
    assert sheet[rating_columns("rgs", 5)].isna().all().all()
    for image in sheet["image"]:
        assert (result.sheet_path.parent / image).is_file()
    assert set(sheet["subject"]) == {"planted"}


def test_max_spreads_the_frames_over_the_video(planted_video, tmp_path):
    result = extract_frames(planted_video, tmp_path, every=1.0, max_frames=3, face_crop="none")
    times = result.sheet["time_s"].to_numpy()
    assert len(times) == 3
    # One frame from each third of the 0–11 s span.
    assert [min(int(t // (11 / 3)), 2) for t in times] == [0, 1, 2]  # 11 s is in the last


def test_no_face_in_any_frame_is_named(tmp_path):
    frames = [np.full((80, 80, 3), 100 + i, np.uint8) for i in range(8)]
    path = write_video(tmp_path / "wall.avi", frames, fps=4)
    with pytest.raises(ValueError, match="No face found.*wall.avi"):
        extract_frames(path, tmp_path / "out", face_crop="haar")


def _icc_2k(x):
    """ICC(2,k) from Shrout & Fleiss' mean squares, written out independently."""
    n, k = x.shape
    grand = x.mean()
    bms = k * ((x.mean(1) - grand) ** 2).sum() / (n - 1)
    jms = n * ((x.mean(0) - grand) ** 2).sum() / (k - 1)
    ems = ((x - x.mean(1, keepdims=True) - x.mean(0, keepdims=True) + grand) ** 2).sum() / (
        (n - 1) * (k - 1)
    )
    return (bms - ems) / (bms + (jms - ems) / n)


def test_filled_rgs_sheet_round_trips(planted_video, tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main(
            [
                "frames",
                str(planted_video),
                "--out",
                str(out),
                "--every",
                "1",
                "--face-crop",
                "none",
                "--raters",
                "5",
            ]
        )
        == 0
    )
    sheet_path = out / "rating_sheet.csv"
    sheet = pd.read_csv(sheet_path)
    n = len(sheet)
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, (n, 4))
    scores = np.clip(
        truth[:, None, :] + rng.integers(-1, 2, (n, 5, 4)) * (rng.random((n, 5, 4)) < 0.3), 0, 2
    )
    for r in range(5):
        for j, au in enumerate(("orbital", "ear", "nose", "whisker")):
            sheet[f"r{r + 1}_{au}"] = scores[:, r, j]
    sheet.to_csv(sheet_path, index=False)
    capsys.readouterr()
    assert main(["agreement", str(sheet_path)]) == 0
    report = capsys.readouterr().out
    lines = {line.split()[0]: line for line in report.splitlines()[1:]}
    for j, au in enumerate(("orbital", "ear", "nose", "whisker")):
        assert f"{_icc_2k(scores[:, :, j].astype(float)):.3f}" in lines[au]
        assert f"{icc(scores[:, :, j], '2,k').value:.3f}" in lines[au]
    assert f"{_icc_2k(scores.sum(2).astype(float)):.3f}" in lines["RGS"]

    # The RGS consensus reads the same sheet: five raters who all agree give that score.
    from painzoo.datasets.loaders import load_ratspain

    agree = sheet.copy()
    for r in range(5):
        for j, au in enumerate(("orbital", "ear", "nose", "whisker")):
            agree[f"r{r + 1}_{au}"] = truth[:, j]
    agree.to_csv(sheet_path, index=False)
    ds = load_ratspain(sheet_path)
    level = np.floor(truth.mean(1) + 0.5).astype(int)  # half up, P1's rounding
    assert ds.frame["level"].tolist() == level.tolist()
    assert ds.labels.tolist() == (level > 0).astype(int).tolist()
    assert all(p.is_file() for p in ds.image_paths)


def test_pspi_sheet_has_the_pspi_units_and_agreement_reads_it(planted_video, tmp_path, capsys):
    result = extract_frames(planted_video, tmp_path, face_crop="none", scale="pspi", raters=2)
    units = ["au4", "au6", "au7", "au9", "au10", "au43"]
    assert list(result.sheet.columns[4:]) == [f"r{r}_{u}" for r in (1, 2) for u in units]
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

    expected = _icc_2k(np.stack([pspi(a), pspi(b)], 1))
    pspi_line = next(line for line in report.splitlines() if line.startswith("PSPI "))
    assert f"{expected:.3f}" in pspi_line
