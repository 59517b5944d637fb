"""painzoo preprocess never writes into its source folder; its numbers are checked first."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from painzoo.cli import main
from painzoo.datasets.io import write_image


def _source(folder):
    """A subject/label folder of faces plus the manifest a user keeps in it."""
    rng = np.random.default_rng(0)
    for s in ("s1", "s2"):
        for lab in ("no_pain", "pain"):
            write_image(folder / s / lab / "f.png", rng.integers(0, 255, (40, 40, 3), np.uint8))
    pd.DataFrame(
        {"image": ["s1/pain/f.png"], "level": [4], "AU4": [2.0], "left_eye_x": [12.5]}
    ).to_csv(folder / "manifest.csv", index=False)
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("dst", ["", "crops", "s1/crops"])
def test_dst_equal_to_or_inside_src_is_refused(tmp_path, capsys, dst):
    src = tmp_path / "data"
    before = _source(src)
    out = src / dst if dst else src
    code = main(["preprocess", str(src), str(out), "--detector", "none", "--size", "16"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert (
        err.startswith(f"painzoo preprocess: error: DST {out} ") and f"source folder {src};" in err
    )
    assert "nothing was written" in err and f"e.g. {tmp_path / 'data-crops'}" in err
    after = {p: p.read_bytes() for p in src.rglob("*") if p.is_file()}
    assert after == before  # the manifest keeps its level, AU and keypoint columns
    assert not (src / "images").exists()


def test_a_folder_beside_the_source_works(tmp_path):
    src = tmp_path / "data"
    before = _source(src)
    out = tmp_path / "data-crops"
    assert main(["preprocess", str(src), str(out), "--detector", "none", "--size", "16"]) == 0
    assert len(pd.read_csv(out / "manifest.csv")) == 4
    assert {p: p.read_bytes() for p in src.rglob("*") if p.is_file()} == before
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    "flag, value, words",
    [
        ("--size", "0", "size must be an integer >= 1; received 0"),
        ("--margin", "nan", "margin must be a finite number >= 0; received nan"),
        ("--margin", "inf", "margin must be a finite number >= 0; received inf"),
        ("--margin", "-0.1", "margin must be a finite number >= 0; received -0.1"),
    ],
)
def test_bad_numbers_are_refused_before_anything_is_written(tmp_path, capsys, flag, value, words):
    src = tmp_path / "data"
    _source(src)
    out = tmp_path / "out"
    assert main(["preprocess", str(src), str(out), "--detector", "none", flag, value]) == 2
    assert words in capsys.readouterr().err
    assert not out.exists()
