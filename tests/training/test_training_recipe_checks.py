"""Every numeric recipe field is finite and in range, in Python and in a config alike."""

from __future__ import annotations

import dataclasses
import math

import pytest

from painzoo.benchmark.config import ConfigError, load_config
from painzoo.training.recipe import Recipe

# Values outside each field's range (by the field's documented meaning).
BAD = {
    "learning_rate": [math.nan, math.inf, -1e-3],
    "weight_decay": [math.nan, math.inf, -0.1],
    "batch_size": [0, -4, 8.5],
    "epochs": [0, -1, 2.5],
    "test_resize": [100, math.nan],
    "seed": [-1, 0.5],
    "validation_split": [1.0, -0.1, math.nan],
    "verbose": [3, -1],
    "warmup_fraction": [1.0, math.nan],
    "min_steps": [-1, math.inf],
    "min_batches_per_epoch": [-1, 1.5],
    "label_smoothing": [1.0, -0.1, math.nan],
    "bn_momentum": [1.0, math.nan],
    "dropout": [1.0, math.nan, -0.5],
    "early_stopping": [-1, math.nan],
    "max_step_ratio": [0, math.inf, math.nan],
}


def test_every_numeric_field_is_checked():
    numeric = {
        f.name
        for f in dataclasses.fields(Recipe)
        if any(t in str(f.type).split(" | ") for t in ("int", "float"))
    }
    assert numeric == set(Recipe._NUMBERS) == set(BAD)


@pytest.mark.parametrize("key", sorted(BAD))
def test_a_bad_number_names_the_field_and_its_range(key):
    for value in BAD[key]:
        with pytest.raises(ValueError) as err:
            Recipe(**{key: value})
        message = str(err.value)
        assert message.startswith(f"{key} must be "), message
        assert any(word in message for word in (">", "<", "in [", "in (")), message


def test_good_numbers_still_build():
    recipe = Recipe(epochs=1, batch_size=1, learning_rate=0.0, dropout=0.0, max_step_ratio=0.5)
    assert (recipe.epochs, recipe.batch_size) == (1, 1)
    assert Recipe(epochs=3.0).epochs == 3 and isinstance(Recipe(epochs=3.0).epochs, int)
    with pytest.raises(ValueError, match=r"class_weight\[1\] must be a finite number >= 0"):
        Recipe(class_weight={0: 1.0, 1: math.nan})


CONFIG = """name: t
recipe:
  preset: p2
  {line}
data:
  toy: {{synthetic: cppain}}
models: [songnet]
experiments:
  - {{data: toy, protocols: [loso]}}
"""


@pytest.mark.parametrize(
    "line, words",
    [
        ("learning_rate: .nan", "learning_rate must be a finite number > 0; received nan."),
        ("learning_rate: .inf", "learning_rate must be a finite number > 0; received inf."),
        ("learning_rate: 0", "learning_rate must be a finite number > 0; received 0."),
        ("label_smoothing: 1.0", "label_smoothing must be a finite number in [0, 1)"),
        ("dropout: .nan", "dropout must be a finite number in [0, 1) or null; received nan."),
        ("warmup_fraction: -.inf", "warmup_fraction must be a finite number in [0, 1)"),
        ("max_step_ratio: .inf", "max_step_ratio must be a finite number > 0 or null"),
        ("batch_size: 0", "batch_size must be >= 1; received 0."),
        ("verbose: 5", "verbose must be an integer in [0, 2]; received 5."),
        ("test_resize: 100", "test_resize must be >= 224; received 100."),
    ],
)
def test_a_config_names_file_line_key_and_range(tmp_path, line, words):
    path = tmp_path / "t.yaml"
    path.write_text(CONFIG.format(line=line))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}, line 4: {words}")


@pytest.mark.parametrize("key", ["batch_renorm", "data_init", "ema_momentum", "recompute_bn"])
def test_a_config_naming_a_field_recipes_no_longer_have_says_to_delete_it(tmp_path, key):
    path = tmp_path / "t.yaml"
    path.write_text(CONFIG.format(line=f"{key}: true"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(
        f"{path}, line 4: {key!r} is no longer a recipe field; delete it from the recipe."
    )
    # a model's own recipe too
    text = CONFIG.format(line="epochs: 1").replace(
        "models: [songnet]", f"models:\n  - songnet: {{recipe: {{{key}: false}}}}"
    )
    path.write_text(text)
    with pytest.raises(ConfigError, match=f"line 8: {key!r} is no longer a recipe field"):
        load_config(path)


def test_protocol_seed_and_face_crop_margin_are_checked(tmp_path):
    path = tmp_path / "t.yaml"
    text = CONFIG.format(line="epochs: 1")
    path.write_text(text.replace("[loso]", "[{subject_kfold: {seed: -1}}]"))
    with pytest.raises(ConfigError, match=r"line 9: seed must be >= 0; received -1"):
        load_config(path)
    path.write_text("face_crop: {margin: .nan}\n" + text)
    with pytest.raises(
        ConfigError, match=r"line 1: face_crop margin must be a finite number >= 0"
    ):
        load_config(path)
