"""Recipe(distribute="mirrored"): one model trained across several devices."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from painzoo.training.recipe import Recipe

# Splitting the CPU into two logical devices must happen before TensorFlow
# initialises its devices, so it runs in a fresh interpreter.
SCRIPT = textwrap.dedent(
    """
    import json
    import sys

    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import keras
    import numpy as np
    import pandas as pd

    from painzoo.datasets import Dataset
    from painzoo.training.recipe import Recipe


    def build():
        inputs = keras.Input((16, 16, 3))
        x = keras.layers.Rescaling(1 / 255.0)(inputs)
        x = keras.layers.Conv2D(4, 3, activation="relu")(x)
        x = keras.layers.GlobalAveragePooling2D()(x)
        return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))


    rng = np.random.default_rng(0)
    labels = np.tile([0, 1], 8)
    images = np.clip(
        np.where(labels == 1, 170, 80)[:, None, None, None] + rng.normal(0, 40, (16, 16, 16, 3)),
        0,
        255,
    ).astype(np.uint8)
    frame = pd.DataFrame({"label": labels, "subject": np.repeat(list("abcd"), 4), "source": "x"})
    ds = Dataset(frame, images=images)
    keras.utils.set_random_seed(0)
    initial = build().get_weights()
    out = {"initial": [w.tolist() for w in initial]}
    for distribute in (None, "mirrored"):
        # One batch holding every image: each step sees the same data in any order.
        recipe = Recipe(
            optimizer="sgd", learning_rate=0.05, batch_size=16, epochs=3, distribute=distribute
        )
        with recipe.scope():
            model = build()
        model.set_weights(initial)
        history = recipe.fit(model, ds)
        out[str(distribute)] = {
            "replicas": model.distribute_strategy.num_replicas_in_sync,
            "devices": list(getattr(recipe.distribution(), "extended").worker_devices)
            if distribute
            else [],
            "loss": history.history["loss"],
            "weights": [w.tolist() for w in model.get_weights()],
            "p_pain": recipe.predict(model, ds).tolist(),
        }
    json.dump(out, sys.stdout)
    """
)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="MirroredStrategy is TF's")
def test_mirrored_on_two_logical_cpus_matches_one_device(tmp_path):
    script = tmp_path / "mirrored.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    single, mirrored = out["None"], out["mirrored"]
    assert single["replicas"] == 1
    assert mirrored["replicas"] == 2 and len(mirrored["devices"]) == 2
    np.testing.assert_allclose(mirrored["loss"], single["loss"], rtol=1e-5, atol=1e-6)
    moved = 0.0
    for w0, w1, w2 in zip(out["initial"], single["weights"], mirrored["weights"]):
        np.testing.assert_allclose(w2, w1, rtol=1e-4, atol=1e-5)
        moved = max(moved, float(np.abs(np.asarray(w1) - np.asarray(w0)).max()))
    assert moved > 1e-3  # the steps changed the weights, so agreement means something
    np.testing.assert_allclose(mirrored["p_pain"], single["p_pain"], atol=1e-5)


def test_distribute_values_and_the_torch_message(monkeypatch):
    assert Recipe().distribution() is None
    assert Recipe.from_config({"preset": "p2", "distribute": "mirrored"}).distribute == "mirrored"
    with pytest.raises(ValueError, match="distribute must be one of"):
        Recipe(distribute="multi_worker")
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    recipe = Recipe(distribute="mirrored")
    with pytest.raises(ValueError, match="TensorFlow or JAX backend.*--executor ray"):
        with recipe.scope():
            pass


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="MirroredStrategy is TF's")
def test_a_model_built_outside_the_scope_is_refused():
    recipe = Recipe(distribute="mirrored", epochs=1)
    model = keras.Sequential(
        [keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    with pytest.raises(ValueError, match="recipe.scope"):
        recipe.fit(model, None)
