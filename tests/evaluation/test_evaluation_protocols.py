"""Protocol invariants: subject disjointness, coverage, determinism, P1 Table 4 counts."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from painzoo.datasets import Dataset
from painzoo.evaluation import (
    CrossDataset,
    ImageKFold,
    LeaveOneSubjectOut,
    SubjectKFold,
    get_protocol,
)

# P1 Table 2 (SPEC §2): per rat, No / Moderate / Severe; binary pain = Moderate + Severe.
RATSPAIN_TABLE2 = {
    "1": (56, 163, 2),
    "2": (102, 108, 0),
    "3": (148, 50, 0),
    "4": (138, 92, 0),
    "5": (63, 116, 3),
    "6": (34, 62, 1),
}
# P1 Table 4: training-set sizes (No / Pain) when the rat is the test rat.
RATSPAIN_TABLE4 = {
    "1": (485, 432),
    "2": (439, 489),
    "3": (393, 547),
    "4": (403, 505),
    "5": (478, 478),
    "6": (507, 534),
}


def _ratspain_frame_only():
    rows = []
    for rat, (no, moderate, severe) in RATSPAIN_TABLE2.items():
        for level, count in ((0, no), (1, moderate), (2, severe)):
            rows += [{"subject": rat, "level": level, "label": int(level > 0)}] * count
    frame = pd.DataFrame(rows).assign(image="", source="ratspain")
    return Dataset(frame, name="ratspain")


def _toy(rng, n_subjects=12, per_subject=10, sources=("a", "b")):
    rows = []
    for s in range(n_subjects):
        p = rng.uniform(0.2, 0.8)
        for _ in range(per_subject):
            rows.append(
                {
                    "image": "",
                    "label": int(rng.random() < p),
                    "subject": f"s{s}",
                    "source": sources[s % len(sources)],
                }
            )
    return Dataset(pd.DataFrame(rows))


def test_loro_reproduces_p1_table4_training_counts():
    ds = _ratspain_frame_only()
    assert len(ds) == 1138 and int((ds.labels == 0).sum()) == 541
    folds = LeaveOneSubjectOut().folds(ds)
    assert [f.name for f in folds] == list(RATSPAIN_TABLE4)
    for f in folds:
        train_labels = ds.labels[f.train]
        counts = (int((train_labels == 0).sum()), int((train_labels == 1).sum()))
        assert counts == RATSPAIN_TABLE4[f.name], f.name


@pytest.mark.parametrize(
    "protocol", [ImageKFold(5, seed=1), SubjectKFold(4, seed=2), LeaveOneSubjectOut()]
)
def test_every_sample_tested_exactly_once_per_repeat(rng, protocol):
    ds = _toy(rng)
    folds = protocol.folds(ds, repeats=2)
    for r in (0, 1):
        tested = np.concatenate([f.test for f in folds if f.repeat == r])
        assert np.array_equal(np.sort(tested), np.arange(len(ds)))
    for f in folds:
        assert len(np.intersect1d(f.train, f.test)) == 0
        assert len(f.train) + len(f.test) == len(ds)


@pytest.mark.parametrize("protocol", [SubjectKFold(5, seed=3), LeaveOneSubjectOut()])
def test_subject_protocols_never_put_a_subject_on_both_sides(rng, protocol):
    ds = _toy(rng, n_subjects=15)
    for train, test in protocol.split(ds):
        assert not set(ds.subjects[train]) & set(ds.subjects[test])


def test_image_kfold_leaks_subjects_and_is_stratified(rng):
    ds = _toy(rng, n_subjects=6, per_subject=40)
    splits = list(ImageKFold(5, seed=0).split(ds))
    assert any(set(ds.subjects[tr]) & set(ds.subjects[te]) for tr, te in splits)
    overall = ds.labels.mean()
    for _, test in splits:
        assert abs(ds.labels[test].mean() - overall) < 0.05


def test_subject_kfold_keeps_label_balance_better_than_chance(rng):
    ds = _toy(rng, n_subjects=30, per_subject=8)
    overall = ds.labels.mean()
    gaps = [abs(ds.labels[te].mean() - overall) for _, te in SubjectKFold(5, seed=0).split(ds)]
    assert max(gaps) < 0.1


@pytest.mark.parametrize("cls", [ImageKFold, SubjectKFold])
def test_same_seed_same_folds_other_seed_other_folds(rng, cls):
    ds = _toy(rng)
    a = [te for _, te in cls(4, seed=7).split(ds)]
    b = [te for _, te in cls(4, seed=7).split(ds)]
    c = [te for _, te in cls(4, seed=8).split(ds)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_repeats_reshuffle_kfold_and_give_distinct_training_seeds(rng):
    ds = _toy(rng)
    folds = SubjectKFold(3, seed=0).folds(ds, repeats=2, seed=10)
    assert len(folds) == 6 and len({f.seed for f in folds}) == 6
    first = [set(ds.subjects[f.test]) for f in folds if f.repeat == 0]
    second = [set(ds.subjects[f.test]) for f in folds if f.repeat == 1]
    assert first != second


def test_cross_dataset_same_split_every_repeat_different_seeds(rng):
    ds = _toy(rng, sources=("paindb", "paindb", "cppain"))
    protocol = CrossDataset("cppain", repeats=5)
    folds = protocol.folds(ds, seed=0)
    assert len(folds) == 5 == protocol.get_n_splits()
    assert len({f.seed for f in folds}) == 5 and [f.repeat for f in folds] == [0, 1, 2, 3, 4]
    for f in folds:
        assert set(ds.sources[f.test]) == {"cppain"}
        assert set(ds.sources[f.train]) == {"paindb"}
        assert np.array_equal(f.test, folds[0].test)
    assert len(list(protocol.split(ds))) == 5
    with pytest.raises(ValueError, match="not in the data"):
        list(CrossDataset("delaware").split(ds))


def test_sklearn_style_split_and_cross_val_score(rng):
    x = rng.normal(size=(60, 3))
    y = (x[:, 0] > 0).astype(int)
    groups = np.repeat(np.arange(12), 5)
    scores = cross_val_score(KNeighborsClassifier(3), x, y, groups=groups, cv=SubjectKFold(4))
    assert len(scores) == 4
    assert LeaveOneSubjectOut().get_n_splits(groups=groups) == 12
    loso = list(LeaveOneSubjectOut().split(x, y, groups))
    assert len(loso) == 12


def test_get_protocol_specs():
    assert isinstance(get_protocol("loro"), LeaveOneSubjectOut)
    p = get_protocol({"cross_dataset": {"test_sources": ["cppain"], "repeats": 2}})
    assert p.repeats == 2 and p.test_sources == ["cppain"]
    with pytest.raises(ValueError, match="Unknown protocol"):
        get_protocol("holdout")


def test_subject_kfold_too_few_subjects_says_how_to_fix(rng):
    ds = _toy(rng, n_subjects=3)
    with pytest.raises(ValueError, match="LeaveOneSubjectOut"):
        list(SubjectKFold(5).split(ds))


@pytest.mark.parametrize("cls", [ImageKFold, SubjectKFold])
def test_base_seed_drives_the_folds(rng, cls):
    # `--seed` used to move only the training seeds: the splitters kept seed=0.
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    ds = _toy(rng)

    def tests(base):
        return [f.test for f in cls(4).folds(ds, seed=base)]

    assert all(np.array_equal(a, b) for a, b in zip(tests(5), tests(5)))
    assert not all(np.array_equal(a, b) for a, b in zip(tests(5), tests(6)))
    # Documented formula: splitter random_state = base seed + repeat, folds of repeat 1
    # of base 5 are scikit-learn's folds with random_state 6.
    if cls is ImageKFold:
        ref = StratifiedKFold(4, shuffle=True, random_state=6).split(np.zeros(len(ds)), ds.labels)
    else:
        ref = StratifiedGroupKFold(4, shuffle=True, random_state=6).split(
            np.zeros(len(ds)), ds.labels, ds.subjects
        )
    repeat1 = [f.test for f in cls(4).folds(ds, repeats=2, seed=5) if f.repeat == 1]
    assert all(np.array_equal(a, b) for a, (_, b) in zip(repeat1, ref, strict=True))
    # Training seeds: base + 1000 · repeat + fold.
    seeds = [(f.repeat, f.fold, f.seed) for f in cls(4).folds(ds, repeats=2, seed=5)]
    assert all(s == 5 + 1000 * r + i for r, i, s in seeds)
    # A protocol's own seed pins the folds whatever the base seed.
    pinned = [[f.test for f in cls(4, seed=3).folds(ds, seed=b)] for b in (0, 9)]
    assert all(np.array_equal(a, b) for a, b in zip(*pinned))
