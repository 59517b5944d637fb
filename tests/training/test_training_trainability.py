"""Every network of the zoo learns an obvious signal in a few steps, on every backend.

A bright or a dark square in the middle of a grey, noisy image: any working
convolutional network separates the two within a few dozen optimiser steps.
A network that does not points at broken input scaling, BatchNorm, head or
loss. Each network runs at the smallest input it accepts (at least 32 px),
from random weights, under the default recipe without augmentation, and is
then scored in inference mode (so BatchNorm's moving statistics count too).
"""

import keras
import numpy as np
import pandas as pd
import pytest

import painzoo
from painzoo.datasets import Dataset
from painzoo.training import Recipe

# The big Keras applications cost most of the time even at their minimum size.
HEAVY = {"vgg16", "vgg19", "resnet50", "resnet101v2", "inceptionv3", "xception"}
# XLA on the CPU compiles and trains these several times slower than TensorFlow does
# (minutes each); on JAX they run with the slow tests, the TensorFlow run always covers them.
HEAVY_ON_JAX = {"alexnet", "silnet", "resnet18", "painseeker", "painseeker_no_prsc"}
N_IMAGES = 48


def _size(name: str) -> int:
    return max(32, int(painzoo.model_info(name).extra.get("min_input") or 1))


def _squares(size: int, seed: int = 0) -> Dataset:
    """Half the images hold a bright square, half a dark one; label = bright."""
    rng = np.random.default_rng(seed)
    labels = np.arange(N_IMAGES) % 2
    images = rng.normal(128, 25, (N_IMAGES, size, size, 3))
    lo, hi = size // 4, size - size // 4
    for i, label in enumerate(labels):
        images[i, lo:hi, lo:hi] = rng.normal(225 if label else 30, 10, (hi - lo, hi - lo, 3))
    frame = pd.DataFrame({"label": labels, "subject": [f"s{i}" for i in range(N_IMAGES)]})
    return Dataset(frame, images=np.clip(images, 0, 255).astype(np.uint8), name="squares")


def _params():
    for name in painzoo.list_models():
        heavy = HEAVY | (HEAVY_ON_JAX if keras.backend.backend() == "jax" else set())
        marks = [pytest.mark.backend] + ([pytest.mark.slow] if name in heavy else [])
        yield pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", list(_params()))
def test_every_network_learns_an_obvious_signal(name):
    size = _size(name)
    data = _squares(size)
    # no XLA: compiling each network would cost more than training it
    recipe = Recipe.preset(
        "painzoo", epochs=10, min_steps=0, augment=None, seed=1, jit_compile=False
    )
    keras.utils.set_random_seed(1)
    model = painzoo.get_model(name, input_shape=(size, size, 3))
    history = recipe.fit(model, data)
    losses = history.history["loss"]
    assert losses[-1] < losses[0], f"{name}: training loss did not fall: {losses}"
    accuracy = float(np.mean((recipe.predict(model, data) >= 0.5) == data.labels))
    # chance is 50 %; a working network separates bright from dark almost perfectly
    assert accuracy >= 0.8, f"{name} at {size} px reached {accuracy:.2f} training accuracy"
