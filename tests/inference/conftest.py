"""Fixtures of the inference tests: a small trained model and synthetic videos."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from synthetic_video import render_faces, write_video  # noqa: E402

SIZE = 48


def _register_tiny_cnn():
    """A one-convolution network that learns the synthetic pain cue in seconds."""
    import keras

    import painzoo
    from painzoo.registry import ModelInfo

    if "tiny_cnn" in painzoo.list_models():
        return

    @painzoo.register_model(info=ModelInfo(name="tiny_cnn", input_shape=(SIZE, SIZE, 3)))
    def tiny_cnn(num_classes=2, input_shape=None, weights=None):
        inputs = keras.Input(input_shape or (SIZE, SIZE, 3))
        x = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(inputs)
        x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
        x = keras.layers.AveragePooling2D(4)(x)
        x = keras.layers.Flatten()(x)
        outputs = keras.layers.Dense(num_classes, activation="softmax")(x)
        return keras.Model(inputs, outputs, name="tiny_cnn")


@pytest.fixture(scope="session")
def tiny_cnn():
    """The name of a one-convolution zoo entry registered for these tests."""
    _register_tiny_cnn()
    return "tiny_cnn"


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory):
    """A tiny CNN at 48 px trained on 120 synthetic faces (half in pain); its folder."""
    import painzoo
    from painzoo.datasets import Dataset

    _register_tiny_cnn()
    labels = np.tile([0, 1], 60)
    # Rendered at the video's 64 px; training resizes them to 48 px as predict does.
    images = render_faces(labels, size=64, seed=0)
    subjects = [f"s{i % 6}" for i in range(len(labels))]
    ds = Dataset(pd.DataFrame({"label": labels, "subject": subjects}), images=images, name="faces")
    out = tmp_path_factory.mktemp("model")
    painzoo.train(
        model="tiny_cnn",
        data=ds,
        out=out,
        recipe={
            "preset": "p2",
            "epochs": 15,
            "learning_rate": 1e-2,
            "augment": None,
            "batch_size": 16,
        },
        image_size=SIZE,
        face_crop=None,
        seed=0,
    )
    return out


@pytest.fixture(scope="session")
def pain_video(tmp_path_factory):
    """8 s at 10 fps (80 frames), 64 px: no pain for 4 s, then pain. ``(path, fps, n)``."""
    labels = np.repeat([0, 1], 40)
    frames = render_faces(labels, size=64, seed=7)
    path = tmp_path_factory.mktemp("video") / "switch.avi"
    write_video(path, frames, fps=10)
    return path, 10.0, len(frames)


@pytest.fixture
def tiny_model():
    """An untrained 2-class Keras model at 32 px (for tests that need no learning)."""
    import keras

    from painzoo.inference import PainModel

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(2, activation="softmax")(x)
    return PainModel.from_keras(keras.Model(inputs, outputs))
