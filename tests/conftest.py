"""Shared test fixtures. Tests run on the Keras backend in KERAS_BACKEND."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed_and_clear():
    """Every test starts from fixed seeds and a fresh Keras session."""
    keras.utils.set_random_seed(0)
    yield
    keras.backend.clear_session()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def icc_2k():
    """ICC(2,k) from Shrout & Fleiss' mean squares, written out independently of painzoo."""

    def icc(x):
        n, k = x.shape
        grand = x.mean()
        bms = k * ((x.mean(1) - grand) ** 2).sum() / (n - 1)
        jms = n * ((x.mean(0) - grand) ** 2).sum() / (k - 1)
        resid = x - x.mean(1, keepdims=True) - x.mean(0, keepdims=True) + grand
        ems = (resid**2).sum() / ((n - 1) * (k - 1))
        return (bms - ems) / (bms + (jms - ems) / n)

    return icc
