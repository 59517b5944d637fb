"""The per-video summary says when a video ended before its declared length."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import pandas as pd
import pytest
from synthetic_video import render_faces, write_video
from truncated_video import write_truncated_avi

import painzoo
from painzoo.inference import SUMMARY_COLUMNS
from painzoo.inference.frames import extract_frames
from painzoo.inference.video import TruncatedVideoWarning


def _header_and_decodable(path) -> tuple[int, int, float]:
    """Declared frames, decodable frames and frame rate, read with OpenCV directly."""
    cap = cv2.VideoCapture(str(path))
    declared, fps = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), cap.get(cv2.CAP_PROP_FPS)
    decodable = 0
    while cap.grab():
        decodable += 1
    cap.release()
    return declared, decodable, fps


@pytest.fixture
def cut_video(tmp_path):
    """40 frames at 10 fps declared in the header, 10 decodable."""
    frames = render_faces(np.zeros(40, int), size=64, seed=3)
    return write_truncated_avi(tmp_path / "cut.avi", frames, fps=10, keep=10)


def test_a_truncated_video_is_named_and_flagged_in_the_summary(tmp_path, tiny_model, cut_video):
    declared, decodable, native = _header_and_decodable(cut_video)
    assert (declared, decodable) == (40, 10)
    out = tmp_path / "p.csv"
    with pytest.warns(TruncatedVideoWarning, match=r"cut\.avi.*10 of the 40 frames"):
        rows = painzoo.predict(tiny_model, cut_video, face_crop=None, fps=5, out=out)
    assert len(rows) == 5  # frames 0, 2, 4, 6, 8: all the file holds
    summary = pd.read_csv(tmp_path / "p_summary.csv")
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    row = summary.iloc[0]
    assert row["seconds"] == pytest.approx(len(rows) / 5)
    assert row["frames_decoded"] == decodable
    assert row["frames_declared"] == declared
    assert row["seconds_declared"] == pytest.approx(declared / native)
    assert not bool(row["complete"])
    assert rows.attrs["summary"]["complete"].tolist() == [False]


def test_a_complete_video_is_marked_complete(tmp_path, tiny_model):
    frames = render_faces(np.zeros(12, int), size=64, seed=4)
    path = write_video(tmp_path / "whole.avi", frames, fps=10)
    declared, decodable, native = _header_and_decodable(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncatedVideoWarning)
        rows = painzoo.predict(tiny_model, path, face_crop=None, fps=5, out=tmp_path / "p.csv")
    summary = pd.read_csv(tmp_path / "p_summary.csv").iloc[0]
    assert summary["frames_decoded"] == decodable == declared == 12
    assert summary["seconds_declared"] == pytest.approx(declared / native)
    assert bool(summary["complete"])
    assert rows.attrs["summary"]["frames_declared"].tolist() == [12]


def test_frames_warns_about_a_truncated_video(tmp_path, cut_video):
    with pytest.warns(TruncatedVideoWarning, match=r"cut\.avi.*10 of the 40 frames"):
        result = extract_frames(cut_video, tmp_path / "out", every=0.2, face_crop="none", size=32)
    assert result.counts[str(cut_video)]["sampled"] == 5
