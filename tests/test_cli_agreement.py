"""`painzoo agreement RATINGS.csv` prints the ICC, its interval and Fleiss' band."""

import numpy as np
import pandas as pd
import pytest

from painzoo.annotation import agreement_report, icc
from painzoo.cli import main

SF_DATA = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]


@pytest.fixture
def ratings_csv(tmp_path):
    frame = pd.DataFrame(SF_DATA, columns=["rater_a", "rater_b", "rater_c", "rater_d"])
    frame.insert(0, "image", [f"img{i}.png" for i in range(len(frame))])
    frame.insert(1, "subject", range(len(frame)))  # a numeric id is not a rater
    path = tmp_path / "ratings.csv"
    frame.to_csv(path, index=False)
    return path


def test_cli_prints_icc_ci_and_band(ratings_csv, capsys):
    assert main(["agreement", str(ratings_csv), "--form", "2,k"]) == 0
    out = capsys.readouterr().out
    assert "ICC(2,k) = 0.620" in out  # Shrout & Fleiss (1979): 0.62
    assert "95% CI [" in out
    assert "fair/good" in out
    assert "6 targets x 4 raters" in out


def test_default_form_and_other_forms(ratings_csv, capsys):
    assert main(["agreement", str(ratings_csv)]) == 0
    assert "ICC(2,k)" in capsys.readouterr().out
    assert main(["agreement", str(ratings_csv), "--form", "3,k"]) == 0
    out = capsys.readouterr().out
    assert "ICC(3,k) = 0.909" in out and "excellent" in out


def test_incomplete_rows_are_dropped_and_reported(tmp_path):
    data = np.array(SF_DATA, dtype=float)
    data[0, 2] = np.nan
    path = tmp_path / "r.csv"
    pd.DataFrame(data).to_csv(path, index=False)
    text = agreement_report(path, form="2,1")
    assert f"ICC(2,1) = {icc(data[1:], '2,1').value:.3f}" in text
    assert "Dropped 1 row(s)" in text


def test_cli_errors_are_reported(tmp_path, capsys):
    assert main(["agreement", str(tmp_path / "missing.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    one = tmp_path / "one.csv"
    pd.DataFrame({"id": ["a", "b"], "score": [1, 2]}).to_csv(one, index=False)
    assert main(["agreement", str(one)]) == 2
    assert "numeric rater column" in capsys.readouterr().err


def test_a_text_cell_in_a_rater_column_is_an_error_not_a_dropped_column(tmp_path, capsys):
    frame = pd.DataFrame(SF_DATA, columns=["rater_a", "rater_b", "rater_c", "rater_d"])
    frame = frame.astype({"rater_c": object})
    frame.loc[4, "rater_c"] = "6?"
    path = tmp_path / "ratings.csv"
    frame.to_csv(path, index=False)
    assert main(["agreement", str(path)]) == 2
    err = capsys.readouterr().err
    assert "line 6, column rater_c: '6?' is not a number" in err


def test_constant_ratings_say_the_icc_is_undefined(tmp_path, capsys):
    path = tmp_path / "same.csv"
    pd.DataFrame({"a": [2, 2, 2, 2], "b": [2, 2, 2, 2], "c": [2, 2, 2, 2]}).to_csv(
        path, index=False
    )
    assert main(["agreement", str(path), "--form", "3,1"]) == 0
    out = capsys.readouterr().out
    assert "ICC(3,1) undefined: every rating of the rater columns is the same (2)." in out
    assert "4 targets x 3 raters (a, b, c)" in out
