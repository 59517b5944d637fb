"""VideoFrames: streamed, timestamp-sampled frames of a video."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import cv2
import numpy as np
import pytest
from synthetic_video import write_video
from truncated_video import write_truncated_avi

from painzoo.inference import VideoFrames, sample_indices
from painzoo.inference.video import TruncatedVideoWarning


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


# -- a video cut short --------------------------------------------------------------------
def test_a_truncated_video_warns_with_decoded_and_declared_frames(tmp_path):
    frames = [np.full((32, 48, 3), 6 * i, np.uint8) for i in range(40)]
    path = write_truncated_avi(tmp_path / "cut.avi", frames, fps=10, keep=10)
    # What the file holds, read independently of VideoFrames.
    cap = cv2.VideoCapture(str(path))
    declared = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    decodable = len(_all_frames(path))
    assert (declared, decodable) == (40, 10)

    video = VideoFrames(path, fps=5)
    assert video.complete is None  # not read yet
    with pytest.warns(TruncatedVideoWarning) as caught:
        got = list(video)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "cut.avi" in message
    assert "10 of the 40 frames" in message and "1.0 s of 4.0 s" in message
    # The frames that are there are still read, as far as they go.
    assert [i for i, _, _ in got] == _expected(10.0, 5.0, decodable)
    assert video.frames_read == decodable and video.complete is False


def test_a_complete_video_gives_no_warning(counting_video):
    path, _, n = counting_video
    video = VideoFrames(path, fps=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(video)
    assert video.frames_read == n and video.complete is True


def test_stopping_early_is_not_truncation(tmp_path):
    frames = [np.full((32, 48, 3), 6 * i, np.uint8) for i in range(40)]
    path = write_truncated_avi(tmp_path / "cut.avi", frames, fps=10, keep=10)
    video = VideoFrames(path, fps=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for index, _, _ in video:
            if index == 3:
                break  # the caller stopped; the file was never read to its end
    assert video.frames_read is None and video.complete is None
