"""The synthetic generator: published counts, determinism, masks, pose, files."""

import numpy as np
import pandas as pd
import pytest

from painzoo.datasets import Dataset, make_synthetic
from painzoo.datasets.synthetic import human, pspi, rat, rat_level

# P1 Table 2, copied from the paper (No / Moderate / Severe).
P1_TABLE2 = {
    "rat1": (56, 163, 2),
    "rat2": (102, 108, 0),
    "rat3": (148, 50, 0),
    "rat4": (138, 92, 0),
    "rat5": (63, 116, 3),
    "rat6": (34, 62, 1),
}

STILL = {"noise": 0.0, "blur": 0.0, "clutter": 0, "light": (1.0, 0.0)}
FRONTAL = {"yaw": 0.0, "roll": 0.0, "scale": 1.0, "dx": 0.0, "dy": 0.0}


@pytest.fixture(scope="module")
def rats_full():
    # Full counts at a tiny size: the count test needs every image.
    return make_synthetic("ratspain", image_size=16, seed=0)


def test_ratspain_counts_match_p1_table2(rats_full):
    table = pd.crosstab(rats_full.frame["subject"], rats_full.frame["level"])
    for subject, counts in P1_TABLE2.items():
        got = tuple(int(table.loc[subject].get(lvl, 0)) for lvl in range(3))
        assert got == counts, subject
    assert len(rats_full) == 1138
    assert (rats_full.labels == 0).sum() == 541 and (rats_full.labels == 1).sum() == 597
    assert np.array_equal(rats_full.labels, (rats_full.frame["level"] >= 1).to_numpy())


def test_ratspain_label_follows_rgs_rule(rats_full):
    aus = rats_full.frame[["au_orbital", "au_ear", "au_nose", "au_whisker"]].to_numpy()
    assert aus.min() >= 0 and aus.max() <= 2
    expected = np.floor(aus.mean(axis=1) + 0.5).astype(int)
    assert np.array_equal(expected, rats_full.frame["level"].to_numpy())
    assert rat_level([1, 1, 0, 0]) == 1 and rat_level([1, 0, 0, 0]) == 0


@pytest.fixture(scope="module")
def paindb_full():
    return make_synthetic("paindb", image_size=16, seed=0)


def test_paindb_and_cppain_counts(paindb_full):
    ds = paindb_full
    f = ds.frame
    per_source = f.groupby("source").agg(n=("subject", "size"), subjects=("subject", "nunique"))
    assert per_source.loc["unbc"].tolist() == [980, 25]
    assert per_source.loc["mintpain"].tolist() == [800, 20]
    assert per_source.loc["delaware"].tolist() == [803, 240]
    assert len(ds) == 2583 and f["subject"].nunique() == 285
    # PSPI recomputed from the AU columns; label = PSPI > 0.
    expected = f.au_4 + np.maximum(f.au_6, f.au_7) + np.maximum(f.au_9, f.au_10) + f.au_43
    assert np.array_equal(expected.to_numpy(), f["pspi"].to_numpy())
    assert np.array_equal(ds.labels, (f["pspi"] > 0).to_numpy().astype(int))
    assert np.array_equal(ds.labels, (f["level"] > 0).to_numpy().astype(int))
    cp = make_synthetic("cppain", image_size=16)
    assert len(cp) == 109 and cp.frame["subject"].nunique() == 55 and set(cp.sources) == {"cppain"}
    assert set(cp.frame.groupby("subject").size()) == {1, 2}


def test_pspi_worked_example():
    # AU4=2, AU6=1, AU7=3, AU9=0, AU10=2, AU43=1 -> 2 + 3 + 2 + 1 = 8.
    assert pspi(2, 1, 3, 0, 2, 1) == 8


def test_same_arguments_give_identical_pixels():
    a = make_synthetic("ratspain", image_size=32, scale=0.02, seed=3)
    b = make_synthetic("ratspain", image_size=32, scale=0.02, seed=3)
    c = make_synthetic("ratspain", image_size=32, scale=0.02, seed=4)
    assert np.array_equal(a.images, b.images)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert not np.array_equal(a.images, c.images)


def test_scale_keeps_every_subject_and_class(rats_full, paindb_full):
    for full in (rats_full, paindb_full, make_synthetic("cppain", image_size=16)):
        small = make_synthetic(full.name, image_size=16, scale=0.01)
        cells = set(map(tuple, full.frame[["subject", "level"]].to_numpy()))
        assert set(map(tuple, small.frame[["subject", "level"]].to_numpy())) == cells
        counts = full.frame.groupby(["subject", "level"]).size()
        assert len(small) == sum(max(1, round(n * 0.01)) for n in counts)
    half = make_synthetic("ratspain", image_size=16, scale=0.5)
    assert len(half) == sum(max(1, round(n * 0.5)) for c in P1_TABLE2.values() for n in c if n)


def test_max_yaw_zero_is_frontal_and_default_turns():
    frontal = make_synthetic("ratspain", image_size=32, scale=0.05, max_yaw=0)
    assert np.all(frontal.frame["yaw"] == 0)
    turned = make_synthetic("ratspain", image_size=32, scale=0.05)
    assert turned.frame["yaw"].abs().max() > 20
    assert turned.frame["yaw"].abs().max() <= 60


@pytest.mark.parametrize("name", rat.RAT_AUS)
def test_rat_cue_changes_only_inside_its_mask(name):
    ident = rat.rat_identity("rat1")
    aus0 = {k: 0.0 for k in rat.RAT_AUS}
    aus2 = dict(aus0, **{name: 2.0})
    im0, m0, _ = rat.render_rat(
        64, ident, list(aus0.values()), FRONTAL, np.random.default_rng(0), style=STILL
    )
    im2, m2, _ = rat.render_rat(
        64, ident, list(aus2.values()), FRONTAL, np.random.default_rng(0), style=STILL
    )
    changed = np.abs(im0.astype(int) - im2.astype(int)).max(axis=2) > 12
    assert changed.sum() > 10, "the cue should visibly change the face"
    region = m0[name] | m2[name]
    assert changed[region].sum() / changed.sum() > 0.9


@pytest.mark.parametrize(
    ("au_index", "mask"),
    [(0, "au_4"), (1, "au_6_7"), (2, "au_6_7"), (3, "au_9_10"), (4, "au_9_10"), (5, "au_43")],
)
def test_human_cue_changes_only_inside_its_mask(au_index, mask):
    ident = human.human_identity("unbc_01")
    aus = np.zeros(6)
    im0, m0, _ = human.render_human(64, ident, aus, FRONTAL, np.random.default_rng(0), style=STILL)
    aus[au_index] = 1.0 if au_index == 5 else 5.0
    im1, m1, _ = human.render_human(64, ident, aus, FRONTAL, np.random.default_rng(0), style=STILL)
    changed = np.abs(im0.astype(int) - im1.astype(int)).max(axis=2) > 12
    assert changed.sum() > 5
    region = m0[mask] | m1[mask]
    assert changed[region].sum() / changed.sum() > 0.85


def test_masks_and_keypoints_align_with_the_face():
    ds = make_synthetic("ratspain", image_size=64, scale=0.02, max_yaw=0)
    assert set(ds.masks) == {"orbital", "ear", "nose", "whisker"}
    f = ds.frame
    for i in range(len(ds)):
        for side in ("left", "right"):
            x, y = (
                int(round(f.loc[i, f"kp_{side}_eye_x"])),
                int(round(f.loc[i, f"kp_{side}_eye_y"])),
            )
            assert ds.masks["orbital"][i, y, x], "an eye keypoint lies inside the orbital mask"
        assert f.loc[i, "kp_left_eye_x"] < f.loc[i, "kp_right_eye_x"]
        assert f.loc[i, "kp_nose_y"] > f.loc[i, "kp_left_eye_y"]
    people = make_synthetic("cppain", image_size=64, scale=0.1)
    assert set(people.masks) == {"au_4", "au_6_7", "au_9_10", "au_43"}
    assert all(m.shape == (len(people), 64, 64) and m.dtype == bool for m in people.masks.values())


def test_on_disk_and_in_memory_give_the_same_pixels(tmp_path):
    mem = make_synthetic("cppain", image_size=32, scale=0.1, seed=1)
    disk = make_synthetic("cppain", image_size=32, scale=0.1, seed=1, root=tmp_path)
    assert disk.images is None
    assert np.array_equal(mem.load_images(), disk.load_images())
    # Folder layout the folder loader reads, and a manifest with relative paths.
    first = disk.frame.iloc[0]
    assert first["image"].startswith(f"{first['subject']}/{('no_pain', 'pain')[first['label']]}/")
    back = Dataset.from_csv(tmp_path / "manifest.csv")
    assert np.array_equal(back.load_images(), mem.images)
    assert np.array_equal(back.labels, mem.labels)


def test_csv_round_trip_keeps_columns(tmp_path):
    ds = make_synthetic("ratspain", image_size=32, scale=0.02)
    back = Dataset.from_csv(ds.to_csv(tmp_path / "rats.csv"))
    for col in ("label", "subject", "level", "au_orbital", "yaw", "kp_nose_x"):
        assert np.array_equal(back.frame[col].to_numpy(), ds.frame[col].to_numpy()), col
    assert np.array_equal(back.load_images(), ds.images)


def test_rater_noise_zero_has_no_errors_and_bad_arguments_raise():
    ds = make_synthetic("ratspain", image_size=16, scale=0.05, rater_noise=0.0)
    assert not ds.frame["rater_error"].any()
    noisy = make_synthetic("ratspain", image_size=16, scale=0.2, rater_noise=0.5)
    assert 0.3 < noisy.frame["rater_error"].mean() < 0.7
    with pytest.raises(ValueError, match="preset"):
        make_synthetic("mice")
    with pytest.raises(ValueError, match="scale"):
        make_synthetic("ratspain", scale=0)
    with pytest.raises(ValueError, match="rater_noise"):
        make_synthetic("ratspain", rater_noise=2)


def test_sensor_noise_changes_only_the_noise():
    import cv2

    base = make_synthetic("ratspain", image_size=48, scale=0.02)
    noisy = make_synthetic("ratspain", image_size=48, scale=0.02, sensor_noise=(30, 30))
    # Same faces, poses, labels and masks: only the pixels' noise differs.
    pd.testing.assert_frame_equal(base.frame, noisy.frame)
    for k in base.masks:
        np.testing.assert_array_equal(base.masks[k], noisy.masks[k])

    def residual(images):  # high-frequency energy: image minus its 3×3 blur
        x = images.astype(np.float32)
        return np.std(x - np.stack([cv2.blur(im, (3, 3)) for im in x]))

    assert residual(noisy.images) > 2 * residual(base.images)
    people = make_synthetic("cppain", image_size=48, scale=0.1, sensor_noise=(40, 40))
    plain = make_synthetic("cppain", image_size=48, scale=0.1)
    pd.testing.assert_frame_equal(people.frame, plain.frame)
    assert residual(people.images) > 2 * residual(plain.images)
    with pytest.raises(ValueError, match="sensor_noise"):
        make_synthetic("ratspain", image_size=48, scale=0.02, sensor_noise=(9, 3))
    with pytest.raises(ValueError, match="sensor_noise"):
        make_synthetic("ratspain", image_size=48, scale=0.02, sensor_noise=5)


def test_pain_margin_keeps_the_rats_faces_away_from_the_class_border():
    aus = ["au_orbital", "au_ear", "au_nose", "au_whisker"]
    plain = make_synthetic("ratspain", image_size=32, scale=0.3, rater_noise=0)
    clear = make_synthetic("ratspain", image_size=32, scale=0.3, rater_noise=0, pain_margin=1)
    s_plain = plain.frame[aus].sum(axis=1)
    s_clear = clear.frame[aus].sum(axis=1)
    # Without the margin both sides of the border occur (no-pain sum 1, pain sum 2) ...
    assert (s_plain[plain.frame["level"] == 0] == 1).any()
    assert (s_plain[plain.frame["level"] == 1] == 2).any()
    # ... with it, no-pain faces are neutral and moderate pain sums 3-5; severe stays 6-8.
    assert (s_clear[clear.frame["level"] == 0] == 0).all()
    assert s_clear[clear.frame["level"] == 1].between(3, 5).all()
    assert s_clear[clear.frame["level"] == 2].between(6, 8).all()
    # P1's rule level = round(mean AU) (halves up) still gives every row's level.
    rounded = np.floor(s_clear / 4 + 0.5).astype(int)
    np.testing.assert_array_equal(rounded, clear.frame["level"])
    # Counts, subjects and labels are the preset's.
    pd.testing.assert_frame_equal(
        plain.frame[["subject", "level", "label"]], clear.frame[["subject", "level", "label"]]
    )
    with pytest.raises(ValueError, match="pain_margin"):
        make_synthetic("ratspain", image_size=32, scale=0.02, pain_margin=2)


def test_pain_margin_keeps_peoples_pain_faces_three_pspi_steps_from_neutral():
    plain = make_synthetic("paindb", image_size=32, scale=0.1, rater_noise=0)
    clear = make_synthetic("paindb", image_size=32, scale=0.1, rater_noise=0, pain_margin=1)
    f = clear.frame
    # PSPI from the AU columns (AU4 + max(AU6, AU7) + max(AU9, AU10) + AU43), not the pspi column.
    pspi = (
        f["au_4"]
        + np.maximum(f["au_6"], f["au_7"])
        + np.maximum(f["au_9"], f["au_10"])
        + f["au_43"]
    )
    np.testing.assert_array_equal(pspi, f["pspi"])
    pain = f["label"] == 1
    assert (plain.frame.loc[plain.frame["label"] == 1, "pspi"] <= 2).any()  # without: faint pain
    assert (pspi[pain] >= 3).all()
    assert (pspi[~pain] == 0).all()
    # The upper bounds of the ranges hold: UNBC / MInt PAIN level 4 stays PSPI 9-12.
    assert pspi[(f["level"] == 4)].between(9, 12).all()
    pd.testing.assert_frame_equal(
        plain.frame[["subject", "source", "level", "label"]],
        f[["subject", "source", "level", "label"]],
    )


def test_face_scale_frames_peoples_faces_larger_with_the_same_expressions():
    plain = make_synthetic("cppain", image_size=48, scale=0.2, rater_noise=0)
    close = make_synthetic("cppain", image_size=48, scale=0.2, rater_noise=0, face_scale=2.0)
    # The same people with the same action units; only the framing changes.
    aus = [c for c in plain.frame.columns if c.startswith("au_") or c == "pspi"]
    pd.testing.assert_frame_equal(plain.frame[aus], close.frame[aus])
    # Twice the scale covers about four times the pixels in each action-unit region.
    for name in ("au_4", "au_6_7"):
        ratio = close.masks[name].sum() / plain.masks[name].sum()
        assert 3.0 < ratio < 5.0, (name, ratio)
    # The eyes stay inside the frame.
    for side in ("left", "right"):
        assert close.frame[f"kp_{side}_eye_y"].between(0, 47).all()
        assert close.frame[f"kp_{side}_eye_x"].between(0, 47).all()
    with pytest.raises(ValueError, match="face_scale"):
        make_synthetic("cppain", image_size=32, scale=0.1, face_scale=5.0)


def test_a_concat_of_named_synthetic_entries_draws_each_preset_once(monkeypatch):
    """Planning drew PAIN-DB twice, for the entry and again inside the concat naming it."""
    from painzoo.datasets import entries, synthetic

    monkeypatch.setattr(entries, "_CACHE", {})
    monkeypatch.setattr(entries, "_SYNTHETIC", {})
    drawn = []
    make = synthetic.make_synthetic
    monkeypatch.setattr(
        synthetic, "make_synthetic", lambda p, **a: drawn.append(p) or make(p, **a)
    )
    data = {
        "pdb": {"synthetic": "paindb", "args": {"image_size": 32, "scale": 0.02}},
        "cp": {"synthetic": "cppain", "args": {"image_size": 32, "scale": 0.1}},
        "both": {"concat": ["pdb", "cp"]},
    }
    alone = entries.load_entry("pdb", data)
    both = entries.load_entry("both", data)
    assert sorted(drawn) == ["cppain", "paindb"]
    assert alone.name == "pdb" and both.name == "both"
    n = len(alone)
    np.testing.assert_array_equal(both.images[:n], alone.images)
    fresh = make("paindb", image_size=32, scale=0.02)
    np.testing.assert_array_equal(alone.images, fresh.images)
