"""painzoo benchmark refuses an output folder inside a data folder of its config."""

from __future__ import annotations

import numpy as np
import pytest

from painzoo.cli import main
from painzoo.datasets.io import write_image


def _config(tmp_path):
    data = tmp_path / "faces"
    rng = np.random.default_rng(0)
    for s in ("s1", "s2"):
        for lab in ("no_pain", "pain"):
            write_image(data / s / lab / "f.png", rng.integers(0, 255, (16, 16, 3), np.uint8))
    path = tmp_path / "c.yaml"
    path.write_text(
        "name: c\nimage_size: 16\nrecipe: {preset: p2, epochs: 1}\n"
        "data:\n  toy: {loader: load_folder, args: {root: faces}}\n"
        "models: [lbp_svm_r1p8_4x4]\nexperiments:\n  - {data: toy, protocols: [loso]}\n"
    )
    return path, data


@pytest.mark.parametrize("out", ["faces/results", "faces", "c.yaml"])
def test_an_out_in_the_data_folder_is_refused_before_any_work(tmp_path, capsys, out):
    path, data = _config(tmp_path)
    before = sorted(p.name for p in data.rglob("*"))
    target = tmp_path / out
    code = main(["benchmark", "--config", str(path), "--out", str(target), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith(f"painzoo benchmark: error: --out {target} ")
    assert "its data folder" in err or "its config" in err
    assert sorted(p.name for p in data.rglob("*")) == before
    assert not (tmp_path / "faces" / "results").exists()
