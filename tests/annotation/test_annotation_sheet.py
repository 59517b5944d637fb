"""Rating sheets: every cell is a value of the scale, constant units, and the key join."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from painzoo.annotation import agreement_report
from painzoo.annotation.sheet import allowed_values, join_key, sheet_scores
from painzoo.cli import main

RGS = ("orbital", "ear", "nose", "whisker")
PSPI = ("au4", "au6", "au7", "au9", "au10", "au43")


def _rgs_sheet(n=8, raters=3, seed=0):
    """A blinded RGS sheet as `painzoo frames` writes it, filled with 0/1/2."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, (n, 4))
    scores = np.clip(truth[:, None, :] + rng.integers(-1, 2, (n, raters, 4)), 0, 2)
    ids = [f"a{i:07x}" for i in range(n)]
    frame = pd.DataFrame({"id": ids, "image": [f"images/{i}.png" for i in ids]})
    for r in range(raters):
        for j, au in enumerate(RGS):
            frame[f"r{r + 1}_{au}"] = scores[:, r, j]
    return frame, scores


def _save(frame, tmp_path, name="rating_sheet.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("value", ["7", "-1", "0.5", "3"])
def test_rgs_scores_off_the_scale_are_named(tmp_path, capsys, value):
    frame, _ = _rgs_sheet()
    frame = frame.astype({"r2_ear": object})
    frame.loc[3, "r2_ear"] = value
    path = _save(frame, tmp_path)
    assert main(["agreement", str(path)]) == 2
    err = capsys.readouterr().err
    # Line 5 of the file (the header is line 1) holds row 3; the id and column are named.
    assert (
        f"line 5 (id {frame.loc[3, 'id']}), column r2_ear: {value} is not an allowed value" in err
    )
    assert "0, 1, 2" in err and "empty" in err


@pytest.mark.parametrize("value", ["two", "1?"])
def test_text_in_a_rating_cell_is_named_not_dropped(tmp_path, value):
    frame, _ = _rgs_sheet()
    frame = frame.astype({"r1_nose": object})
    frame.loc[0, "r1_nose"] = value
    path = _save(frame, tmp_path)
    with pytest.raises(
        ValueError, match=r"line 2 \(id a0000000\), column r1_nose: .* not a number"
    ):
        agreement_report(path)


def test_every_bad_cell_is_counted_and_the_first_five_named(tmp_path):
    frame, _ = _rgs_sheet()
    frame = frame.astype({c: object for c in frame.columns if c.startswith("r")})
    for i in range(7):
        frame.loc[i, "r3_whisker"] = "x"
    with pytest.raises(ValueError, match=r"7 cell\(s\).*line 6 .*\(and 2 more\)") as err:
        sheet_scores(frame, name="sheet.csv")
    assert "line 7 " not in str(err.value)


def test_empty_cells_stay_missing(tmp_path, capsys, icc_2k):
    frame, scores = _rgs_sheet()
    frame = frame.astype({"r1_orbital": object})
    frame.loc[2, "r1_orbital"] = ""
    path = _save(frame, tmp_path)
    assert main(["agreement", str(path)]) == 0
    orbital = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("orb"))
    keep = np.arange(len(frame)) != 2
    assert f"{icc_2k(scores[keep, :, 0].astype(float)):.3f}" in orbital
    assert "1 image(s) with a missing score left out" in orbital


def test_a_constant_unit_is_reported_and_the_others_computed(tmp_path, capsys, icc_2k):
    frame, scores = _rgs_sheet()
    for r in range(3):
        frame[f"r{r + 1}_ear"] = 1
    scores[:, :, 1] = 1
    path = _save(frame, tmp_path)
    assert main(["agreement", str(path)]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert "ICC undefined: every rating of ear is the same (1)" in lines["ear"]
    for j, au in enumerate(RGS):
        if au != "ear":
            assert f"{icc_2k(scores[:, :, j].astype(float)):.3f}" in lines[au]
    assert f"{icc_2k(scores.sum(2).astype(float)):.3f}" in lines["RGS"]


def test_pspi_values_follow_facs_intensities_and_au43_is_binary(tmp_path):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"id": [f"b{i:07x}" for i in range(6)]})
    for r in (1, 2):
        for u in PSPI:
            frame[f"r{r}_{u}"] = rng.integers(0, 2 if u == "au43" else 6, 6)
    scores, scale, raters, units = sheet_scores(frame)
    assert scale == "pspi" and units == PSPI and raters == [1, 2]
    np.testing.assert_array_equal(scores[:, 1, :], frame[[f"r2_{u}" for u in PSPI]].to_numpy())
    assert allowed_values("pspi", "au4") == (0, 1, 2, 3, 4, 5)
    for column, value in (("r1_au4", 6), ("r2_au43", 2)):
        bad = frame.copy()
        bad.loc[1, column] = value
        allowed = "0, 1 (au43)" if column.endswith("au43") else "0, 1, 2, 3, 4, 5 (au4"
        with pytest.raises(ValueError, match=f"column {column}: {value} is not") as err:
            sheet_scores(bad)
        assert allowed in str(err.value)


def test_plain_ratings_csv_names_text_cells_and_constant_tables(tmp_path, capsys):
    data = pd.DataFrame({"video": ["v1", "v2", "v3"], "a": [1, 2, 3], "b": ["2", "two", "3"]})
    path = _save(data, tmp_path, "ratings.csv")
    with pytest.raises(ValueError, match=r"line 3, column b: 'two' is not a number"):
        agreement_report(path)
    same = pd.DataFrame({"a": [4, 4, 4], "b": [4, 4, 4]})
    path = _save(same, tmp_path, "same.csv")
    assert main(["agreement", str(path)]) == 0
    assert "ICC(2,k) undefined: every rating of the rater columns is the same (4)" in (
        capsys.readouterr().out
    )


def test_load_ratspain_names_a_cell_that_is_not_an_rgs_score(tmp_path):
    from painzoo.datasets.loaders import load_ratspain

    frame, _ = _rgs_sheet(raters=5)
    frame.insert(1, "subject", "1")
    for i in frame["id"]:
        (tmp_path / "images").mkdir(exist_ok=True)
        (tmp_path / "images" / f"{i}.png").write_bytes(b"")
    frame = frame.astype({"r4_orbital": object})
    frame.loc[1, "r4_orbital"] = "1?"
    path = _save(frame, tmp_path)
    with pytest.raises(ValueError, match=r"line 3 \(id a0000001\), column r4_orbital"):
        load_ratspain(path)


def test_join_key_restores_the_key_columns_in_sheet_order(tmp_path):
    key = pd.DataFrame(
        {
            "id": ["c0000001", "c0000002", "c0000003"],
            "subject": ["s1", "s1", "s2"],
            "video": ["a.avi", "a.avi", "b.avi"],
            "frame_index": [0, 4, 8],
            "time_s": [0.0, 1.0, 2.0],
        }
    )
    (tmp_path / "for_raters").mkdir()
    key.to_csv(tmp_path / "rating_key.csv", index=False)
    sheet = pd.DataFrame({"id": ["c0000003", "c0000001"], "r1_ear": [1, 2]})
    sheet_path = tmp_path / "for_raters" / "rating_sheet.csv"
    joined = join_key(sheet, sheet_path)
    assert joined["id"].tolist() == ["c0000003", "c0000001"]
    assert joined["video"].tolist() == ["b.avi", "a.avi"]
    assert joined["time_s"].tolist() == [2.0, 0.0]
    with pytest.raises(ValueError, match=r"not in the key .*line 3, id c0000009"):
        join_key(pd.DataFrame({"id": ["c0000001", "c0000009"]}), sheet_path)
    with pytest.raises(ValueError, match=r"lines \[2, 3\] appears more than once"):
        join_key(pd.DataFrame({"id": ["c0000001", "c0000001"]}), sheet_path)
    with pytest.raises(FileNotFoundError, match="rating_key.csv was not found"):
        join_key(sheet, tmp_path / "a" / "b" / "sheet.csv")
