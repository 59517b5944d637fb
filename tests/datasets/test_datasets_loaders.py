"""Loaders read miniature fake trees of every supported layout."""

import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from painzoo.datasets import (
    Dataset,
    load_csv,
    load_delaware,
    load_folder,
    load_mintpain,
    load_ratspain,
    load_unbc,
    paindb,
)
from painzoo.datasets.io import read_image, write_image


def _img(path: Path, value: int = 0, size: int = 8) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    im = np.full((size, size, 3), value % 256, np.uint8)
    im[0, 0] = [1, 2, 3]
    write_image(path, im)
    return path


# -- load_folder ------------------------------------------------------------------------
def test_load_folder_subject_label(tmp_path):
    for s in ("s1", "s2"):
        for lab, n in (("no_pain", 2), ("pain", 3)):
            for i in range(n):
                _img(tmp_path / s / lab / f"{i}.png", i)
    ds = load_folder(tmp_path)
    assert len(ds) == 10
    assert sorted(set(ds.subjects)) == ["s1", "s2"]
    assert int(ds.labels.sum()) == 6
    pain_rows = ds.frame[ds.frame["image"].str.contains("/pain/")]
    assert (pain_rows["label"] == 1).all()
    # every path resolves to the image it names
    assert all(p.is_file() for p in ds.image_paths)


def test_load_folder_numeric_and_custom_label_names(tmp_path):
    _img(tmp_path / "a" / "0" / "x.png")
    _img(tmp_path / "a" / "1" / "y.png")
    _img(tmp_path / "b" / "Calm" / "z.png")
    _img(tmp_path / "b" / "Grimace" / "w.png")
    ds = load_folder(tmp_path, label_names={"calm": 0, "grimace": 1})
    got = dict(zip(ds.frame["image"].map(lambda p: Path(p).stem), ds.labels))
    assert got == {"x": 0, "y": 1, "z": 0, "w": 1}


def test_load_folder_label_layout_parses_subject(tmp_path):
    _img(tmp_path / "pain" / "s01_0001.png")
    _img(tmp_path / "pain" / "s02_0001.png")
    _img(tmp_path / "no_pain" / "s01_0002.png")
    ds = load_folder(tmp_path, layout="label")
    assert sorted(zip(ds.subjects, ds.labels)) == [("s01", 0), ("s01", 1), ("s02", 1)]
    ds2 = load_folder(tmp_path, layout="label", subject_pattern=r"_(?P<subject>\d+)\.png$")
    assert set(ds2.subjects) == {"0001", "0002"}


def test_load_folder_unknown_label_folder_is_a_clear_error(tmp_path):
    _img(tmp_path / "s1" / "maybe" / "x.png")
    with pytest.raises(ValueError, match="maybe.*label_names"):
        load_folder(tmp_path)


def test_load_folder_missing_subject_is_a_clear_error(tmp_path):
    _img(tmp_path / "pain" / "__.png")
    with pytest.raises(ValueError, match="No subject id found.*__.png"):
        load_folder(tmp_path, layout="label", subject_pattern=r"(?P<subject>s\d+)")


def test_load_folder_warns_about_non_image_files(tmp_path):
    _img(tmp_path / "s1" / "pain" / "x.png")
    (tmp_path / "s1" / "pain" / "notes.txt").write_text("hello")
    (tmp_path / "s1" / "pain" / ".DS_Store").write_text("")
    with pytest.warns(UserWarning, match=r"Ignored 1 non-image.*notes\.txt"):
        ds = load_folder(tmp_path)
    assert len(ds) == 1


def _record(fn, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args, **kwargs)
    return result, [str(w.message) for w in caught]


def test_load_folder_reads_folders_below_a_label_folder(tmp_path):
    # Subject and sub-folder names may be people's names: counted, never shown.
    files = [
        "Jane Doe/pain/a.png",
        "Jane Doe/pain/Monday with Anna/b.png",
        "Jane Doe/pain/Monday with Anna/c.png",
        "Jane Doe/pain/Monday with Anna/late/d.png",
        "Jane Doe/no_pain/e.png",
        "rat2/pain/f.png",
    ]
    for i, f in enumerate(files):
        _img(tmp_path / f, 10 * i)
    ds, messages = _record(load_folder, tmp_path)
    # Independently: every image file below root, its subject the top folder and its
    # label the second.
    expected = sorted(
        (p.relative_to(tmp_path).as_posix(), p.relative_to(tmp_path).parts[0])
        + (int(p.relative_to(tmp_path).parts[1] == "pain"),)
        for p in tmp_path.rglob("*.png")
    )
    got = sorted(zip(ds.frame["image"].map(lambda p: Path(p).as_posix()), ds.subjects, ds.labels))
    assert got == expected and len(got) == len(files)
    assert len(messages) == 1
    assert "read 3 image(s)" in messages[0]
    assert "2 one folder deeper (e.g. <subject>/pain/<folder>/<image>)" in messages[0]
    assert "1 two folders deeper (e.g. <subject>/pain/<folder>/<folder>/<image>)" in messages[0]
    for name in ("Jane", "Doe", "Monday", "Anna", "late"):
        assert name not in messages[0]


def test_load_folder_label_layout_reads_folders_below_a_label_folder(tmp_path):
    _img(tmp_path / "pain" / "s01_0001.png", 1)
    _img(tmp_path / "pain" / "session 2" / "s02_0001.png", 2)
    _img(tmp_path / "no_pain" / "s01_0002.png", 3)
    with pytest.warns(
        UserWarning, match=r"read 1 image.*1 one folder deeper \(e\.g\. pain/<folder>"
    ):
        ds = load_folder(tmp_path, layout="label")
    assert sorted(zip(ds.subjects, ds.labels)) == [("s01", 0), ("s01", 1), ("s02", 1)]


def test_load_folder_a_flat_tree_gives_no_depth_warning(tmp_path):
    _img(tmp_path / "s1" / "pain" / "a.png")
    _img(tmp_path / "s1" / "no_pain" / "b.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_folder(tmp_path)) == 2


def test_load_folder_other_label_below_a_label_folder_is_an_error(tmp_path):
    _img(tmp_path / "Jane Doe" / "pain" / "a.png")
    _img(tmp_path / "Jane Doe" / "pain" / "no_pain" / "b.png")
    with pytest.raises(ValueError, match=r"'no_pain'.*inside the label folder 'pain'") as err:
        load_folder(tmp_path)
    assert "<subject>/pain/no_pain/" in str(err.value) and "Jane" not in str(err.value)
    # The same label below it is fine.
    (tmp_path / "Jane Doe" / "pain" / "no_pain").rename(tmp_path / "Jane Doe" / "pain" / "1")
    with pytest.warns(UserWarning, match="read 1 image"):
        assert load_folder(tmp_path).labels.tolist() == [1, 1]


def test_load_folder_counts_images_outside_any_label_folder(tmp_path):
    _img(tmp_path / "Jane Doe" / "pain" / "a.png")
    _img(tmp_path / "Jane Doe" / "b.png")
    _img(tmp_path / "Jane Doe" / "c.png")
    _img(tmp_path / "d.png")
    (tmp_path / "Jane Doe" / "pain" / "notes.txt").write_text("hello")
    ds, messages = _record(load_folder, tmp_path)
    assert len(ds) == 1
    left_out = [m for m in messages if "left out" in m]
    assert len(left_out) == 1
    assert "left out 3 image(s)" in left_out[0]
    assert "1 as <image>" in left_out[0] and "2 as <subject>/<image>" in left_out[0]
    ignored = [m for m in messages if m.startswith("Ignored")]
    assert len(ignored) == 1 and "1 non-image" in ignored[0]
    assert "<subject>/pain/notes.txt" in ignored[0]
    assert not any("Jane" in m for m in messages)


def test_load_folder_empty_is_a_clear_error(tmp_path):
    (tmp_path / "s1" / "pain").mkdir(parents=True)
    with pytest.raises(ValueError, match="No image files found"):
        load_folder(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_folder(tmp_path / "absent")
    with pytest.raises(ValueError, match="Unknown layout"):
        load_folder(tmp_path, layout="label/subject")


# -- load_csv -------------------------------------------------------------------------------
def test_load_csv_relative_paths_and_extra_columns(tmp_path):
    _img(tmp_path / "imgs" / "a.png", 10)
    _img(tmp_path / "imgs" / "b.png", 20)
    pd.DataFrame(
        {
            "image": ["imgs/a.png", "imgs/b.png"],
            "label": [0, 1],
            "subject": ["007", "008"],
            "level": [0, 3],
            "au_4": [0.0, 2.0],
        }
    ).to_csv(tmp_path / "m.csv", index=False)
    ds = load_csv(tmp_path / "m.csv")
    assert ds.subjects.tolist() == ["007", "008"]  # leading zeros kept
    assert ds.frame["au_4"].tolist() == [0.0, 2.0]
    assert read_image(ds.image_paths[1])[1, 1, 0] == 20


def test_load_csv_errors(tmp_path):
    _img(tmp_path / "a.png")
    pd.DataFrame({"image": ["a.png"], "label": [1]}).to_csv(tmp_path / "nosub.csv", index=False)
    with pytest.raises(ValueError, match="subject"):
        load_csv(tmp_path / "nosub.csv")
    pd.DataFrame({"image": ["a.png"], "label": [1], "subject": [np.nan]}).to_csv(
        tmp_path / "emptysub.csv", index=False
    )
    with pytest.raises(ValueError, match="no subject id"):
        load_csv(tmp_path / "emptysub.csv")
    pd.DataFrame({"image": ["a.png"], "label": [3], "subject": ["s"]}).to_csv(
        tmp_path / "lab.csv", index=False
    )
    with pytest.raises(ValueError, match="label .3."):
        load_csv(tmp_path / "lab.csv")
    pd.DataFrame({"image": ["gone.png"], "label": [1], "subject": ["s"]}).to_csv(
        tmp_path / "gone.csv", index=False
    )
    with pytest.raises(FileNotFoundError, match="gone.png"):
        load_csv(tmp_path / "gone.csv")
    pd.DataFrame(columns=["image", "label", "subject"]).to_csv(tmp_path / "empty.csv", index=False)
    with pytest.raises(ValueError, match="no rows"):
        load_csv(tmp_path / "empty.csv")


# -- UNBC ---------------------------------------------------------------------------------------
def _unbc_tree(root: Path, pspi: dict) -> None:
    """pspi: {(subject, sequence, frame): (pspi, {au: intensity})}."""
    for (subj, seq, frame), (score, aus) in pspi.items():
        _img(root / "Images" / subj / seq / f"{frame}.png")
        p = root / "Frame_Labels" / "PSPI" / subj / seq / f"{frame}_facs.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"   {score:.7e}\n")
        f = root / "Frame_Labels" / "FACS" / subj / seq / f"{frame}_facs.txt"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("".join(f"   {au:.7e}   {v:.7e}\n" for au, v in aus.items()))


def test_load_unbc_labels_levels_and_aus(tmp_path):
    frames = {
        ("042-ll042", "ll042t1aaaff", "ll042t1aaaff001"): (0.0, {}),
        ("042-ll042", "ll042t1aaaff", "ll042t1aaaff002"): (3.0, {4: 2.0, 43: 1.0}),
        ("043-jh043", "jh043t2aiaff", "jh043t2aiaff001"): (1.0, {6: 1.0}),
    }
    _unbc_tree(tmp_path, frames)
    ds = load_unbc(tmp_path, frames_per_subject_class=None)
    assert len(ds) == 3 and set(ds.sources) == {"unbc"}
    f = ds.frame.set_index(ds.frame["image"].map(lambda p: Path(p).stem))
    assert f.loc["ll042t1aaaff002", "level"] == 3.0 and f.loc["ll042t1aaaff002", "label"] == 1
    assert f.loc["ll042t1aaaff001", "label"] == 0
    assert f.loc["ll042t1aaaff002", "au_4"] == 2.0 and f.loc["ll042t1aaaff002", "au_43"] == 1.0
    assert f.loc["ll042t1aaaff001", "au_4"] == 0.0  # uncoded AU = 0
    assert f.loc["jh043t2aiaff001", "au_6"] == 1.0
    assert f.loc["jh043t2aiaff001", "subject"] == "043-jh043"
    # threshold moves the boundary
    ds2 = load_unbc(tmp_path, threshold=1, frames_per_subject_class=None)
    assert int(ds2.labels.sum()) == 1


def test_load_unbc_samples_frames_per_subject_and_class(tmp_path):
    frames = {}
    for i in range(12):
        frames[("s1", "q1", f"f{i:03d}")] = (float(i % 3 == 0) * 2, {})  # 4 pain, 8 no pain
    _unbc_tree(tmp_path, frames)
    ds = load_unbc(tmp_path, frames_per_subject_class=3, seed=1)
    counts = ds.frame.groupby("label").size().to_dict()
    assert counts == {0: 3, 1: 3}
    again = load_unbc(tmp_path, frames_per_subject_class=3, seed=1)
    assert ds.frame["image"].tolist() == again.frame["image"].tolist()
    assert len(load_unbc(tmp_path, frames_per_subject_class=None)) == 12


def test_load_unbc_missing_pspi_file(tmp_path):
    _img(tmp_path / "Images" / "s1" / "q1" / "f1.png")
    with pytest.raises(FileNotFoundError, match="f1_facs.txt"):
        load_unbc(tmp_path)


# -- MInt PAIN --------------------------------------------------------------------------------
FAKE_NAME = "Zebedee Quargleworth"


def _mint_tree(root: Path) -> None:
    for n, name in ((1, FAKE_NAME), (12, "Yolanda Xiphos")):
        top = root / f"Sub{n} {name}"
        for trial in (1, 2):
            for sweep, label in ((1, 0), (2, 3)):
                d = (
                    top
                    / f"Annotated_data_Sub{n:02d}_Trial{trial:02d}"
                    / f"Sub{n:02d}_Trial{trial:02d}_Sweep{sweep:02d}_Label{label}"
                    / "rgb"
                )
                for i in range(3):
                    _img(d / f"{i:04d}.jpg", i * 40)


def test_load_mintpain_levels_subjects_and_sampling(tmp_path):
    _mint_tree(tmp_path / "mint")
    ds = load_mintpain(tmp_path / "mint", frames_per_subject_class=None, link_dir=tmp_path / "l")
    assert len(ds) == 2 * 2 * 2 * 3
    assert sorted(set(ds.subjects)) == ["Sub01", "Sub12"]
    assert set(ds.frame["level"]) == {0, 3}
    np.testing.assert_array_equal(ds.labels, (ds.frame["level"] > 0).astype(int))
    for p in ds.image_paths:
        assert read_image(p).shape == (8, 8, 3)
    small = load_mintpain(tmp_path / "mint", frames_per_subject_class=2, link_dir=tmp_path / "l")
    assert small.frame.groupby(["subject", "label"]).size().tolist() == [2, 2, 2, 2]


def test_load_mintpain_never_exposes_participant_names(tmp_path, monkeypatch, caplog):
    _mint_tree(tmp_path / "mint")
    (tmp_path / "mint" / "Readme of Yolanda Xiphos").mkdir()  # a folder that is not Sub<N>
    monkeypatch.setenv("PAINZOO_CACHE", str(tmp_path / "cache"))
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = load_mintpain(tmp_path / "mint", frames_per_subject_class=None)
    texts = [str(w.message) for w in caught] + [caplog.text]
    texts.append(ds.frame.to_csv())
    texts.append(repr(ds) + str(ds.root) + ds.summary().to_string())
    texts += [str(p) for p in ds.image_paths]
    ds.to_csv(tmp_path / "out" / "m.csv")  # to_csv resolves links; hard links carry no name
    texts.append((tmp_path / "out" / "m.csv").read_text())
    for name in (FAKE_NAME, "Zebedee", "Quargleworth", "Yolanda", "Xiphos"):
        assert all(name not in t for t in texts), name
    assert any("do not start with" in str(w.message) for w in caught)
    # the cache holds the pseudonymised tree
    assert str(ds.root).startswith(str(tmp_path / "cache"))


def test_load_mintpain_empty(tmp_path):
    (tmp_path / "m").mkdir()
    with pytest.raises(ValueError, match="No MInt PAIN frames"):
        load_mintpain(tmp_path / "m", link_dir=tmp_path / "l")


# -- Delaware and RatsPain ----------------------------------------------------------------------
def test_load_delaware_from_levels(tmp_path):
    for i in range(4):
        _img(tmp_path / "dpd" / f"{i}.jpg")
    pd.DataFrame(
        {
            "image": [f"dpd/{i}.jpg" for i in range(4)],
            "subject": ["F1", "F1", "M2", "M2"],
            "level": [0, 1, 0, 1],
        }
    ).to_csv(tmp_path / "delaware.csv", index=False)
    ds = load_delaware(tmp_path / "delaware.csv")
    assert ds.labels.tolist() == [0, 1, 0, 1] and set(ds.sources) == {"delaware"}
    pd.DataFrame({"image": ["dpd/0.jpg"], "subject": ["F1"]}).to_csv(
        tmp_path / "bad.csv", index=False
    )
    with pytest.raises(ValueError, match="'label'.*'level'"):
        load_delaware(tmp_path / "bad.csv")


def test_load_ratspain_levels(tmp_path):
    for i in range(3):
        _img(tmp_path / f"{i}.png")
    pd.DataFrame(
        {"image": [f"{i}.png" for i in range(3)], "subject": [1, 1, 2], "level": [0, 1, 2]}
    ).to_csv(tmp_path / "rats.csv", index=False)
    ds = load_ratspain(tmp_path / "rats.csv")
    assert ds.labels.tolist() == [0, 1, 1] and ds.subjects.tolist() == ["1", "1", "2"]


def test_load_ratspain_rater_columns_use_the_rgs_consensus(tmp_path):
    pytest.importorskip("painzoo.annotation")
    aus = ("orbital", "ear", "nose", "whisker")
    # image 0: every rater scores 0 → level 0.
    # image 1: every rater scores (1, 1, 1, 0) → mean 0.75 → level 1 (pain).
    # image 2: raters split 2/2/1 on every AU, no stage 2 → no consensus → dropped.
    # image 3: every rater scores 2 → level 2 (severe).
    per_image = {
        0: [[0, 0, 0, 0]] * 5,
        1: [[1, 1, 1, 0]] * 5,
        2: [[0] * 4, [0] * 4, [1] * 4, [1] * 4, [2] * 4],
        3: [[2, 2, 2, 2]] * 5,
    }
    rows = []
    for i, scores in per_image.items():
        _img(tmp_path / f"{i}.png")
        row = {"image": f"{i}.png", "subject": "3"}
        for r, s in enumerate(scores, start=1):
            row.update({f"r{r}_{au}": v for au, v in zip(aus, s)})
        rows.append(row)
    rows[1]["r5_ear"] = np.nan  # one uncertain score: 4 of 5 still agree
    pd.DataFrame(rows).to_csv(tmp_path / "rats.csv", index=False)
    with pytest.warns(UserWarning, match="1 of 4"):
        ds = load_ratspain(tmp_path / "rats.csv")
    assert ds.frame["image"].tolist() == ["0.png", "1.png", "3.png"]
    assert ds.frame["level"].tolist() == [0, 1, 2]
    assert ds.labels.tolist() == [0, 1, 1]
    assert ds.frame["au_whisker"].tolist() == [0.0, 0.0, 2.0]


def test_load_ratspain_incomplete_rater_columns(tmp_path):
    _img(tmp_path / "0.png")
    pd.DataFrame({"image": ["0.png"], "subject": ["1"], "r1_orbital": [0], "r1_ear": [0]}).to_csv(
        tmp_path / "r.csv", index=False
    )
    with pytest.raises(ValueError, match="r1_nose"):
        load_ratspain(tmp_path / "r.csv")


# -- PAIN-DB ----------------------------------------------------------------------------------------
def test_paindb_merges_with_prefixed_subjects(tmp_path):
    _unbc_tree(tmp_path / "unbc", {("s1", "q", "a"): (0.0, {}), ("s1", "q", "b"): (4.0, {4: 1})})
    _mint_tree(tmp_path / "mint")
    for i in range(2):
        _img(tmp_path / "d" / f"{i}.jpg")
    pd.DataFrame(
        {"image": ["d/0.jpg", "d/1.jpg"], "subject": ["s1", "s1"], "level": [0, 1]}
    ).to_csv(tmp_path / "del.csv", index=False)
    ds = paindb(
        unbc=tmp_path / "unbc",
        mintpain=load_mintpain(
            tmp_path / "mint", frames_per_subject_class=1, link_dir=tmp_path / "l"
        ),
        delaware=tmp_path / "del.csv",
    )
    assert isinstance(ds, Dataset)
    assert ds.frame.groupby("source").size().to_dict() == {"delaware": 2, "mintpain": 4, "unbc": 2}
    assert {"unbc:s1", "delaware:s1", "mintpain:Sub01", "mintpain:Sub12"} == set(ds.subjects)
    np.testing.assert_array_equal(ds.labels, (ds.frame["level"] > 0).astype(int))
    assert all(p.is_file() for p in ds.image_paths)
    with pytest.raises(ValueError, match="at least one"):
        paindb()
