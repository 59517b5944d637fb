"""The config schema and the checks made before any training (issue: configs that mean something else)."""

import dataclasses
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from painzoo.benchmark import bundled_configs, load_config, run
from painzoo.benchmark.config import ConfigError, apply_overrides, check_config
from painzoo.benchmark.units import load_data
from painzoo.datasets.entries import prepare_data

GOOD = """\
name: t
image_size: 32
seed: 0
recipe: {preset: p2, epochs: 1, batch_size: 8}
data:
  toy: {manifest: toy.csv}
models:
  - lbp_svm_r1p8_4x4
  - songnet: {recipe: {learning_rate: 1.0e-4}, image_size: 40}
experiments:
  - {data: toy, protocols: [loso, {subject_kfold: {n_splits: 2}}]}
"""


def _manifest(folder, labels=(0, 1, 0, 1), subjects=("s1", "s1", "s2", "s2"), files=None):
    files = list(files or [f"im{i}.png" for i in range(len(labels))])
    for i, f in enumerate(sorted(set(files))):  # one content per file: no copies
        Image.fromarray(np.full((8, 8, 3), 100 + i, np.uint8)).save(folder / f)
    frame = pd.DataFrame({"image": files, "label": list(labels), "subject": list(subjects)})
    frame.to_csv(folder / "toy.csv", index=False)
    return folder / "toy.csv"


def _write(tmp_path, text, name="my.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def _line_of(text, needle):
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_good_config_passes_schema_and_checks(tmp_path):
    _manifest(tmp_path)
    config = load_config(_write(tmp_path, GOOD))
    check_config(config)
    assert config.config_file.endswith("my.yaml")


@pytest.mark.parametrize("name", bundled_configs())
def test_bundled_configs_pass_the_schema(name):
    load_config(name)


@pytest.mark.parametrize(
    "old, new, key, suggestion",
    [
        ("recipe: {preset", "recipie: {preset", "recipie", "recipe"),
        ("image_size: 32", "image_szie: 32", "image_szie", "image_size"),
        (
            "toy: {manifest: toy.csv}",
            "toy: {manifest: toy.csv, on_bad_imag: skip}",
            "on_bad_imag",
            "on_bad_image",
        ),
        ("epochs: 1,", "epoch: 1,", "epoch", "epochs"),
        ("{n_splits: 2}", "{nsplits: 2}", "nsplits", "n_splits"),
        ("image_size: 40}", "imagesize: 40}", "imagesize", "image_size"),
        ("{recipe: {learning_rate", "{recipe: {learning_rat", "learning_rat", "learning_rate"),
        ("{data: toy, protocols", "{data: toy, protocol", "protocol", "protocols"),
    ],
)
def test_unknown_keys_are_named_with_line_and_suggestion(tmp_path, old, new, key, suggestion):
    text = GOOD.replace(old, new)
    assert text != GOOD
    path = _write(tmp_path, text)
    _manifest(tmp_path)
    with pytest.raises(ConfigError) as err:
        check_config(load_config(path))
    message = str(err.value)
    assert message.startswith(f"{path}, line {_line_of(text, key)}: ")
    assert f"unknown key {key!r}" in message
    assert f"did you mean {suggestion!r}?" in message


def test_misspelt_top_level_key_message_reads_as_documented(tmp_path):
    text = GOOD.replace("recipe:", "recipie:")
    path = _write(tmp_path, text)
    with pytest.raises(
        ConfigError,
        match=r"line 4: unknown key 'recipie' in the top level; "
        r"did you mean 'recipe'\?$",
    ):
        load_config(path)


@pytest.mark.parametrize(
    "old, new, needle, words",
    [
        (
            "  - lbp_svm_r1p8_4x4\n  - songnet: {recipe: {learning_rate: 1.0e-4}, image_size: 40}\n",
            " songnet\n",
            "models:",
            "'models' must be a list",
        ),
        ("image_size: 32", 'image_size: "big"', "image_size", "image_size must be an integer"),
        ("image_size: 32", "image_size: 0", "image_size", "image_size must be >= 1"),
        ("image_size: 32", "image_size: [64]", "image_size", "image_size must be a side or"),
        ("image_size: 32", "image_size: [0, 64]", "image_size", "image_size must be [height, w"),
        ("image_size: 32", "image_size: [32, big]", "image_size", "[height, width] (two integ"),
        (
            "image_size: 40}",
            "image_size: [40, 1.5]}",
            "songnet:",
            "image_size of model 'songnet' must be a side or [height, width] (two integers)",
        ),
        ("epochs: 1,", "epochs: 0,", "recipe:", "epochs must be >= 1"),
        ("epochs: 1,", "epochs: -1,", "recipe:", "epochs must be >= 1"),
        ("epochs: 1,", "epochs: 2.5,", "recipe:", "epochs must be an integer"),
        ("seed: 0", "seed: zero", "seed", "seed must be an integer"),
        ("preset: p2", "preset: p3", "recipe:", "recipe preset 'p3' is unknown"),
        (
            "{manifest: toy.csv}",
            "{manifest: toy.csv, synthetic: ratspain}",
            "toy:",
            "exactly one of",
        ),
        ("{data: toy,", "{data: tyo,", "{data: tyo", "did you mean 'toy'?"),
        ("[loso,", "[losso,", "[losso", "protocol 'losso' is unknown; did you mean 'loso'?"),
        (
            "[loso, {subject_kfold: {n_splits: 2}}]",
            "[loso, {subject_kfold: {n_splits: 2}, loso: null}]",
            "{data: toy",
            "a protocol entry must be a name or a one-key mapping {name: {args}}",
        ),
        (
            "  - songnet: {recipe:",
            "  - {songnet: null, alexnet: null}\n  - songnet: {recipe:",
            "{songnet: null",
            "a model entry must be a name or a one-key mapping {name: {overrides}}",
        ),
        (
            "protocols: [loso, {subject_kfold: {n_splits: 2}}]",
            "protocols: []",
            "{data: toy",
            "'protocols' of experiments[0] must be a non-empty list, e.g. [loso]",
        ),
        (
            "  toy: {manifest: toy.csv}\n",
            "  toy: {manifest: toy.csv}\n  both: {concat: [toy, tyo]}\n",
            "both:",
            "data 'both' concatenates 'tyo', which is not defined under 'data'; did you mean 'toy'?",
        ),
    ],
)
def test_bad_values_are_named_with_line(tmp_path, old, new, needle, words):
    text = GOOD.replace(old, new)
    assert text != GOOD
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}, line {_line_of(text, needle)}: ")
    assert words in str(err.value)


def test_yaml_syntax_error_names_the_file(tmp_path):
    path = _write(tmp_path, "name: x\ndata: {a: 1\nmodels: [songnet]\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}, line ")
    assert "<unicode string>" not in str(err.value)


def test_dict_configs_are_checked_too():
    with pytest.raises(ConfigError, match=r"config 't': unknown key 'modles'.*'models'"):
        load_config(
            {"name": "t", "modles": ["songnet"], "models": [], "data": {}, "experiments": []}
        )


def test_unknown_model_protocol_args_and_model_kwargs_fail_before_training(tmp_path):
    _manifest(tmp_path)
    cases = [
        (
            "  - lbp_svm_r1p8_4x4\n",
            "  - songnte\n",
            "songnte",
            "unknown model 'songnte'; did you mean 'songnet'",
        ),
        (
            "image_size: 40}",
            "image_size: 40, dropout_rate: 0.5}",
            "songnet:",
            "unknown key 'dropout_rate'",
        ),
        (
            "[loso,",
            "[{cross_dataset: {test_source: x}},",
            "cross_dataset",
            "did you mean 'test_sources'",
        ),
    ]
    for old, new, needle, words in cases:
        text = GOOD.replace(old, new)
        path = _write(tmp_path, text)
        with pytest.raises(ConfigError) as err:
            check_config(load_config(path))
        assert str(err.value).startswith(f"{path}, line {_line_of(text, needle)}: "), err.value
        assert words in str(err.value)


def test_missing_manifest_and_unknown_loader(tmp_path):
    text = GOOD.replace("manifest: toy.csv", "manifest: nowhere.csv")
    with pytest.raises(ConfigError, match=r"line 6: data 'toy' cannot be loaded: .*nowhere.csv"):
        check_config(load_config(_write(tmp_path, text)))
    text = GOOD.replace("{manifest: toy.csv}", "{loader: load_unbx, args: {root: x}}")
    with pytest.raises(
        ConfigError, match=r"line 6: loader 'load_unbx' is unknown; did you mean 'load_unbc'"
    ):
        load_config(_write(tmp_path, text))
    text = GOOD.replace("{manifest: toy.csv}", "{loader: load_unbc, args: {roots: x}}")
    with pytest.raises(ConfigError, match=r"unknown key 'roots'.*did you mean 'root'"):
        load_config(_write(tmp_path, text))


def test_label_2_in_a_manifest_names_file_and_line(tmp_path):
    csv = _manifest(tmp_path, labels=(0, 1, 2, 1))
    with pytest.raises(ConfigError) as err:
        check_config(load_config(_write(tmp_path, GOOD)))
    assert f"{csv}, line 4 (row 2, im2.png): label '2'" in str(err.value)


def test_overrides_are_range_checked(tmp_path):
    _manifest(tmp_path)
    config = load_config(_write(tmp_path, GOOD))
    for key, value in (("epochs", 0), ("epochs", -1), ("image_size", 0), ("repeats", 0)):
        with pytest.raises(ConfigError, match=f"--{key.replace('_', '-')} must be"):
            apply_overrides(config, **{key: value})
    with pytest.raises(ConfigError, match="unknown model 'nosuchnet'"):
        check_config(apply_overrides(config, models=["nosuchnet"]))


def test_run_refuses_a_bad_config_before_any_unit(tmp_path):
    _manifest(tmp_path)
    text = GOOD.replace("  - lbp_svm_r1p8_4x4\n", "  - songnte\n") + f"out: {tmp_path / 'out'}\n"
    with pytest.raises(ConfigError, match="songnte"):
        run(load_config(_write(tmp_path, text)), progress=False)
    assert not (tmp_path / "out" / "runs").exists()


# -- data checks ----------------------------------------------------------------------
def test_duplicate_rows_and_two_subjects_are_errors_by_default(tmp_path):
    _manifest(
        tmp_path,
        labels=(0, 1, 0, 1),
        subjects=("s1", "s1", "s2", "s2"),
        files=["a.png", "b.png", "c.png", "a.png"],
    )
    data = {"toy": {"manifest": str(tmp_path / "toy.csv")}}
    with pytest.raises(
        ValueError, match=r"under two or more subjects.*a\.png in rows 0, 3.*duplicates: warn"
    ):
        load_data("toy", data)
    data["toy"]["duplicates"] = "warn"
    with pytest.warns(UserWarning, match="under two or more subjects"):
        ds = load_data("toy", data)
    assert len(ds) == 4
    data["toy"]["duplicates"] = "ignore"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_data("toy", data)) == 4


def test_repeated_row_same_subject(tmp_path):
    _manifest(
        tmp_path, files=["a.png", "b.png", "b.png", "c.png"], subjects=("s1", "s2", "s2", "s3")
    )
    with pytest.raises(
        ValueError, match=r"1 image\(s\) are listed more than once; first: b\.png in rows 1, 2"
    ):
        load_data("toy", {"toy": {"manifest": str(tmp_path / "toy.csv")}})


def test_copies_of_one_image_under_two_subjects_stop_the_run_before_training(tmp_path):
    csv = _manifest(tmp_path, labels=(0, 1, 0, 1), subjects=("s1", "s1", "s2", "s2"))
    (tmp_path / "im3.png").write_bytes((tmp_path / "im0.png").read_bytes())  # filed twice
    text = GOOD + f"out: {tmp_path / 'out'}\n"
    with pytest.raises(ConfigError, match=r"separate copies.*rows 0 and 3.*one subject"):
        run(load_config(_write(tmp_path, text)), progress=False)
    assert not (tmp_path / "out" / "runs").exists()
    data = {"toy": {"manifest": str(csv), "duplicates": "warn"}}
    with pytest.warns(UserWarning, match="separate copies"):
        assert len(load_data("toy", data)) == 4


def test_on_bad_image_skip_drops_and_counts(tmp_path):
    _manifest(tmp_path, labels=(0, 1, 0, 1, 0, 1), subjects=("s1",) * 3 + ("s2",) * 3)
    (tmp_path / "im4.png").write_bytes(b"not a png")
    data = {"toy": {"manifest": str(tmp_path / "toy.csv"), "on_bad_image": "skip"}}
    with pytest.warns(UserWarning, match=r"skipped 1 of 6 image\(s\).*im4\.png"):
        ds = prepare_data(_raw(data), data, "toy")
    assert len(ds) == 5 and "im4.png" not in set(ds.frame["image"])
    data["toy"]["on_bad_image"] = "error"
    ds = _raw(data)
    assert len(prepare_data(ds, data, "toy")) == 6  # error mode leaves decoding to training
    with pytest.raises(ValueError, match=r"Cannot decode .*im4\.png"):
        ds.load_images()


def _raw(data):
    from painzoo.datasets import Dataset

    return Dataset.from_csv(data["toy"]["manifest"])


def test_face_crop_on_error_is_accepted(tmp_path):
    _manifest(tmp_path)
    text = GOOD + "face_crop: {detector: none, size: 16, on_error: skip}\n"
    config = load_config(_write(tmp_path, text))
    from painzoo.preprocess import FaceCropper

    assert FaceCropper(**config.face_crop).on_error == "skip"
    with pytest.raises(ConfigError, match="did you mean 'on_error'"):
        load_config(_write(tmp_path, GOOD + "face_crop: {detector: none, on_eror: skip}\n"))


def _doc_configs():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for page in sorted((root / "docs").rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        for i, block in enumerate(re.findall(r"^```yaml[^\n]*\n(.*?)^```", text, re.M | re.S)):
            if "experiments:" in block:
                yield pytest.param(block, id=f"{page.name}[{i}]")


@pytest.mark.parametrize("block", list(_doc_configs()))
def test_configs_shown_in_the_docs_pass_the_schema(block, tmp_path):
    load_config(_write(tmp_path, block, "doc.yaml"))


def test_a_missing_image_in_a_manifest_fails_before_training(tmp_path):
    _manifest(tmp_path)
    (tmp_path / "im3.png").unlink()
    with pytest.raises(
        ConfigError,
        match=r"line 6: data 'toy' cannot be loaded: .*1 image file\(s\) do not exist.*im3\.png",
    ):
        check_config(load_config(_write(tmp_path, GOOD)))


def test_image_size_override_renders_synthetic_data_at_least_that_large():
    from painzoo.benchmark.config import apply_overrides, load_config

    config = load_config("quick")
    synthetic = [k for k, v in config.data.items() if "synthetic" in v.spec]
    renders = {k: config.data[k].spec["args"]["image_size"] for k in synthetic}
    assert synthetic and all(r < 112 for r in renders.values())
    bigger = apply_overrides(config, image_size=112)
    assert {k: bigger.data[k].spec["args"]["image_size"] for k in synthetic} == dict.fromkeys(
        synthetic, 112
    )
    smaller = apply_overrides(config, image_size=32)  # shrinking loses nothing: kept
    assert {k: smaller.data[k].spec["args"]["image_size"] for k in synthetic} == renders
    assert config.data[synthetic[0]].spec["args"]["image_size"] == renders[synthetic[0]]


def test_balance_per_subject_equalises_classes_within_each_subject(tmp_path):
    # s1: 4 no-pain / 2 pain, s2: 1 / 3, s3: pain only (dropped: nothing to pair it with).
    labels = [0, 0, 0, 0, 1, 1] + [0, 1, 1, 1] + [1, 1]
    subjects = ["s1"] * 6 + ["s2"] * 4 + ["s3"] * 2
    _manifest(tmp_path, labels=labels, subjects=subjects)
    text = GOOD.replace("{manifest: toy.csv}", "{manifest: toy.csv, balance: per_subject}")
    config = load_config(_write(tmp_path, text))
    check_config(config)
    ds = load_data("toy", config.data_specs, config_dir=config.config_dir)
    counts = pd.crosstab(pd.Series(ds.subjects, name="s"), pd.Series(ds.labels, name="y"))
    expected = pd.DataFrame({0: [2, 1], 1: [2, 1]}, index=["s1", "s2"])
    np.testing.assert_array_equal(counts.loc[["s1", "s2"], [0, 1]].to_numpy(), expected.to_numpy())
    assert "s3" not in set(ds.subjects)
    # A subset of the original images, each at most once; the smaller class is kept whole.
    full = pd.read_csv(tmp_path / "toy.csv")
    kept = [p.split("/")[-1] for p in ds.frame["image"]]
    assert len(set(kept)) == len(kept) and set(kept) <= set(full["image"])
    assert {"im4.png", "im5.png", "im6.png"} <= set(kept)
    text = GOOD.replace("{manifest: toy.csv}", "{manifest: toy.csv, balance: per_image}")
    with pytest.raises(ConfigError, match=r"line 6: .*balance.*'per_subject'"):
        load_config(_write(tmp_path, text))


def test_an_experiment_can_train_a_subset_of_the_models(tmp_path):
    from painzoo.benchmark.units import plan_units

    _manifest(tmp_path)
    extra = "  - {data: toy, protocols: [{image_kfold: {n_splits: 2}}], models: [songnet]}\n"
    config = load_config(_write(tmp_path, GOOD + extra))
    check_config(config)
    cells = [(u.protocol_label, u.model_name) for u in plan_units(config)]
    # First experiment: both models under loso and subject 2-fold; second: SongNet only.
    assert cells.count(("image_kfold2", "songnet")) == 2
    assert cells.count(("image_kfold2", "lbp_svm_r1p8_4x4")) == 0
    assert cells.count(("loso", "lbp_svm_r1p8_4x4")) == cells.count(("loso", "songnet")) == 2
    # A name the config's models do not list fails with the line and the listed names.
    text = GOOD + extra.replace("[songnet]", "[songnte]")
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, text))
    assert f"line {_line_of(text, 'songnte')}" in str(err.value)
    assert "did you mean 'songnet'" in str(err.value)
    # --models keeps the experiment only where one of its models is still asked for.
    trimmed = apply_overrides(
        load_config(_write(tmp_path, GOOD + extra)), models=["lbp_svm_r1p8_4x4"]
    )
    assert len(trimmed.experiments) == 1 and "models" not in trimmed.raw["experiments"][0]
    # A model named by its label in an experiment is kept when --models names the model.
    labelled = GOOD.replace("image_size: 40}", "image_size: 40, label: song32}")
    labelled += extra.replace("[songnet]", "[song32]")
    kept = apply_overrides(load_config(_write(tmp_path, labelled)), models=["songnet"])
    assert [e.get("models") for e in kept.raw["experiments"]] == [None, ["song32"]]
    assert [e.models for e in kept.experiments] == [("song32",), ("song32",)]


def test_a_model_entry_sets_its_own_image_size_with_the_top_level_key(tmp_path):
    from painzoo.benchmark.units import plan_units

    _manifest(tmp_path)
    config = load_config(_write(tmp_path, GOOD))
    check_config(config)
    sizes = {(u.model_name, u.image_size) for u in plan_units(config)}
    # SongNet's entry says image_size: 40; the baseline takes the top-level 32.
    assert sizes == {("songnet", 40), ("lbp_svm_r1p8_4x4", 32)}
    # The key is the top level's: another name for it is refused before any training.
    renamed = GOOD.replace("image_size: 40}", "input_size: 40}")
    with pytest.raises(ConfigError, match=r"unknown key 'input_size'.*did you mean 'image_size'"):
        check_config(load_config(_write(tmp_path, renamed)))


def test_image_size_height_width_reaches_the_units_and_their_json(tmp_path):
    from painzoo.benchmark.units import Unit, plan_units

    _manifest(tmp_path)
    text = GOOD.replace("image_size: 32", "image_size: [24, 32]")
    config = load_config(
        _write(tmp_path, text.replace("image_size: 40}", "image_size: [40, 40]}"))
    )
    check_config(config)
    units = plan_units(config)
    # SongNet's [40, 40] is a square, planned as the side 40 (the identity of image_size: 40).
    assert {(u.model_name, u.image_size) for u in units} == {
        ("songnet", 40),
        ("lbp_svm_r1p8_4x4", (24, 32)),
    }
    square = plan_units(
        load_config(_write(tmp_path, GOOD.replace("image_size: 32", "image_size: [24, 32]")))
    )
    assert {u.run_id for u in units} == {u.run_id for u in square}
    unit = next(u for u in units if u.image_size == (24, 32))
    assert unit.to_dict()["image_size"] == [24, 32] and Unit.from_json(unit.to_json()) == unit
    assert unit.identity()["image_size"] == (24, 32)
    # The unit carries its resolved input spec (model default, image_size, recipe's crop);
    # it is derived from the identity's fields, so the JSON record does not repeat it.
    assert unit.input_spec.size == (24, 32) and unit.input_spec.test_resize is None
    assert "input_spec" not in unit.to_dict()
    cropped = dataclasses.replace(unit, recipe={**unit.recipe, "test_resize": 256})
    assert (cropped.input_spec.size, cropped.input_spec.load_size) == ((24, 32), (27, 37))


def test_image_size_override_takes_height_and_width(tmp_path):
    from painzoo.benchmark.units import plan_units
    from painzoo.cli import build_parser

    _manifest(tmp_path)
    config = load_config(_write(tmp_path, GOOD))
    args = build_parser().parse_args(["benchmark", "--image-size", "24x32"])
    wide = apply_overrides(config, image_size=args.image_size)
    assert wide.raw["image_size"] == [24, 32]
    # The override replaces the top-level size; SongNet's own entry keeps its 40.
    assert {(u.model_name, u.image_size) for u in plan_units(wide)} == {
        ("songnet", 40),
        ("lbp_svm_r1p8_4x4", (24, 32)),
    }
    assert apply_overrides(config, image_size=(32, 32)).raw["image_size"] == 32
    for bad in [(24,), (0, 32), (24, 1.5)]:
        with pytest.raises(ConfigError, match="image-size"):
            apply_overrides(config, image_size=bad)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["benchmark", "--image-size", "24by32"])
