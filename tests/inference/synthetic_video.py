"""Synthetic faces and videos for the inference tests (no network, no files shipped)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from painzoo.datasets.synthetic import human

# Pain expression: brow lowering, lid tightening, nose wrinkle, eyes closed.
PAIN_AUS = np.array([4.0, 3.5, 4.0, 3.0, 3.0, 1.0])


def render_faces(labels, *, size: int = 64, seed: int = 0, subjects: int = 2) -> np.ndarray:
    """One RGB uint8 face per label (1 = pain), ``subjects`` people in turn.

    The people are the same for every ``seed`` (as a resident filmed on
    several days); the seed changes pose, noise and blur.
    """
    idents = [human.human_identity(f"person{j}", 0) for j in range(subjects)]
    out = np.empty((len(labels), size, size, 3), np.uint8)
    for i, label in enumerate(labels):
        rng = np.random.default_rng([seed, i])
        aus = PAIN_AUS * float(label) + rng.uniform(0.0, 0.4, 6) * float(label)
        aus[5] = float(label)
        pose = {
            "yaw": rng.uniform(-6, 6),
            "roll": rng.normal(0, 2),
            "scale": rng.uniform(0.95, 1.05),
            "dx": rng.normal(0, 0.01),
            "dy": rng.normal(0, 0.01),
        }
        style = {"noise": rng.uniform(1, 3), "blur": rng.uniform(0.0, 0.4), "clutter": 0}
        person = idents[int(rng.integers(subjects))]  # independent of the label
        out[i], _, _ = human.render_human(size, person, aus, pose, rng, style=style)
    return out


def write_video(path, frames, fps: float, codec: str | None = None) -> Path:
    """Write RGB frames with ``cv2.VideoWriter`` (MJPG in .avi, mp4v in .mp4)."""
    path = Path(path)
    codec = codec or ("MJPG" if path.suffix == ".avi" else "mp4v")
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), float(fps), (w, h))
    assert writer.isOpened(), f"OpenCV cannot write {codec} into {path}"
    for rgb in frames:
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    return path
