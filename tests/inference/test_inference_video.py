"""VideoFrames: streamed, timestamp-sampled frames of a video."""

from __future__ import annotations

import math
from fractions import Fraction

import cv2
import numpy as np
import pytest
from synthetic_video import write_video

from painzoo.inference import VideoFrames, sample_indices


def _all_frames(path):
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return frames


def _expected(native, fps, n):
    """Sample k is the first frame at or after k / fps, computed with exact fractions."""
    if fps >= native:
        return list(range(n))
    out, k = [], 0
    while True:
        i = math.ceil(Fraction(k) * Fraction(native) / Fraction(fps))
        if i >= n:
            return out
        out.append(i)
        k += 1


@pytest.fixture
def counting_video(tmp_path):
    """25 frames at 10 fps whose pixel value encodes the frame index."""
    frames = [np.full((32, 48, 3), 8 * i, np.uint8) for i in range(25)]
    return write_video(tmp_path / "count.avi", frames, fps=10), 10.0, 25


@pytest.mark.parametrize("fps", [5.0, 4.0, 3.0, 2.5, 1.0, 10.0, 30.0, None])
def test_frames_and_times_follow_the_timestamps(counting_video, fps):
    path, native, n = counting_video
    got = list(VideoFrames(path, fps=fps))
    want = _expected(native, fps or 1e9, n)
    assert [i for i, _, _ in got] == want
    assert [t for _, t, _ in got] == pytest.approx([i / native for i in want], abs=1e-12)
    # The pixels are those of that frame of the video, read independently.
    reference = _all_frames(path)
    for i, _, rgb in got:
        np.testing.assert_array_equal(rgb, reference[i])
    assert sample_indices(native, fps, n) == want


def test_sampled_frames_carry_their_index(counting_video):
    path, _, _ = counting_video
    for i, _, rgb in VideoFrames(path, fps=5):
        assert abs(float(rgb.mean()) - 8 * i) < 3  # MJPG keeps a flat grey level


def test_unreadable_video_names_the_file(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    with pytest.raises(ValueError, match="broken.mp4"):
        list(VideoFrames(bad))
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        VideoFrames(tmp_path / "missing.mp4")


def test_bad_fps_is_refused(counting_video):
    with pytest.raises(ValueError, match="fps"):
        VideoFrames(counting_video[0], fps=0)
