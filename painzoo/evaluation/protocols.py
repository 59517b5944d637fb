"""Evaluation protocols as scikit-learn-style splitters: the papers' four (see each class).

``split`` takes a :class:`painzoo.datasets.Dataset` or scikit-learn's ``(X, y, groups)`` and yields
``(train_idx, test_idx)``: the protocols plug into ``sklearn.model_selection.cross_validate``.

Seeds (:meth:`Protocol.folds`): K-folds shuffle with ``base seed + repeat`` (or the protocol's own
``seed`` + repeat); unit ``(repeat, fold)`` trains with ``base seed + 1000 · repeat + fold``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from painzoo.datasets.manifest import natural_key

__all__ = [
    "Fold",
    "Protocol",
    "ImageKFold",
    "SubjectKFold",
    "LeaveOneSubjectOut",
    "CrossDataset",
    "get_protocol",
    "PROTOCOLS",
]


@dataclass(frozen=True)
class Fold:
    """One train/test split of a protocol, as the runner sees it.

    Attributes:
        fold, repeat: Indices of the split and of its repeat (0-based).
        seed: Seed for this unit's training.
        train, test: Integer indices of the training and test rows.
        name: A label of the test side (held-out subject or test sources).
    """

    fold: int
    repeat: int
    seed: int
    train: np.ndarray
    test: np.ndarray
    name: str = ""


def _unpack(X, y=None, groups=None, sources=None):
    """Labels, subject groups and sources from a Dataset or sklearn-style arrays."""
    from painzoo.datasets.manifest import Dataset

    if isinstance(X, Dataset):
        return len(X), X.labels, X.subjects, X.sources
    n = len(X) if X is not None else (len(y) if y is not None else len(groups))
    y = None if y is None else np.asarray(y)
    groups = None if groups is None else np.asarray(groups).astype(str)
    sources = None if sources is None else np.asarray(sources).astype(str)
    for name, arr in (("y", y), ("groups", groups), ("sources", sources)):
        if arr is not None and len(arr) != n:
            raise ValueError(f"{name} has {len(arr)} entries; X has {n} rows.")
    return n, y, groups, sources


class Protocol:
    """Base class: ``split``/``get_n_splits`` plus the runner's :meth:`folds`."""

    #: Short name used in run ids and reports.
    name = "protocol"
    #: Whether the protocol keeps every subject on one side of each split.
    subject_disjoint = True
    #: How the papers aggregate this protocol: "pooled" (P1) or "mean" (P2).
    aggregation = "mean"

    def split(self, X, y=None, groups=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_idx, test_idx)`` for every split of one repeat."""
        for fold in self._splits(X, y, groups, repeat=0, base_seed=0):
            yield fold[0], fold[1]

    def folds(self, dataset, *, repeats: int = 1, seed: int = 0) -> list[Fold]:
        """Every split of every repeat as a :class:`Fold`, with the seed of its training (see the module docstring).

        :class:`CrossDataset` uses its own ``repeats`` when ``repeats`` is 1.
        """
        out = []
        for r in range(self._n_repeats(repeats)):
            splits = self._splits(dataset, None, None, repeat=r, base_seed=seed)
            for i, (train, test, label) in enumerate(splits):
                out.append(Fold(i, r, seed + 1000 * r + i, train, test, label))
        return out

    @property
    def label(self) -> str:
        """A readable label for reports and run ids (``loso``, ``subject_kfold5``)."""
        return self.name

    def _n_repeats(self, repeats: int) -> int:
        return int(repeats)

    def _splits(self, X, y, groups, repeat, base_seed=0):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """Number of splits in one repeat."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class _KFold(Protocol):
    """A K-fold protocol: ``n_splits`` folds, shuffled with ``seed`` (see the subclasses)."""

    def __init__(self, n_splits: int = 5, seed: int | None = None):
        self.n_splits = n_splits
        self.seed = seed

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return self.n_splits

    @property
    def label(self) -> str:
        return f"{self.name}{self.n_splits}"

    def _splitter_seed(self, base_seed: int, repeat: int) -> int:
        """``random_state`` of the splitter: the protocol's own seed or the base seed, + repeat."""
        return int(base_seed if self.seed is None else self.seed) + int(repeat)


class ImageKFold(_KFold):
    """Image-level stratified K-fold (P2 scenario 1); subjects may be on both sides.

    ``seed`` shuffles (``None``: the run's base seed, 0 for ``split``).

    Reference:
        Sabater-Gárriz et al., Digital Health 2024, training scenario 1.
    """

    name = "image_kfold"
    subject_disjoint = False

    def _splits(self, X, y, groups, repeat, base_seed=0):
        from sklearn.model_selection import KFold, StratifiedKFold

        n, y, _, _ = _unpack(X, y, groups)
        state = self._splitter_seed(base_seed, repeat)
        if y is not None and np.bincount(np.asarray(y, int)).min(initial=n) >= self.n_splits:
            splitter = StratifiedKFold(self.n_splits, shuffle=True, random_state=state)
        else:
            splitter = KFold(self.n_splits, shuffle=True, random_state=state)
        if n < self.n_splits:
            raise ValueError(
                f"ImageKFold(n_splits={self.n_splits}) needs at least that many images; received {n}."
            )
        for train, test in splitter.split(np.zeros(n), y if y is not None else np.zeros(n)):
            yield train, test, ""


class SubjectKFold(_KFold):
    """Subject-level stratified group K-fold (P2 scenario 2; ``StratifiedGroupKFold``).

    ``seed`` shuffles the subjects (``None``: the run's base seed, 0 for ``split``); ``split``
    raises ``ValueError`` with fewer subjects than folds.

    Reference:
        Sabater-Gárriz et al., Digital Health 2024, training scenario 2.
    """

    name = "subject_kfold"

    def _splits(self, X, y, groups, repeat, base_seed=0):
        from sklearn.model_selection import StratifiedGroupKFold

        n, y, groups, _ = _unpack(X, y, groups)
        if groups is None:
            raise ValueError(
                "SubjectKFold needs the subject of every row: pass groups=… or a Dataset."
            )
        n_subjects = len(np.unique(groups))
        if n_subjects < self.n_splits:
            raise ValueError(
                f"SubjectKFold(n_splits={self.n_splits}) needs at least {self.n_splits} subjects; "
                f"the data has {n_subjects}. Lower n_splits or use LeaveOneSubjectOut."
            )
        y = np.zeros(n, int) if y is None else y
        splitter = StratifiedGroupKFold(
            self.n_splits, shuffle=True, random_state=self._splitter_seed(base_seed, repeat)
        )
        for train, test in splitter.split(np.zeros(n), y, groups):
            yield train, test, ""


class LeaveOneSubjectOut(Protocol):
    """Leave-one-subject-out (P1's leave-one-rat-out, LORO), subjects in natural order.

    Reference:
        Liu et al., Front. Vet. Sci. 2025, "Experimental protocol" and Table 4.
    """

    name = "loso"
    subject_disjoint = True
    aggregation = "pooled"

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        if X is None and groups is None:
            raise ValueError("LeaveOneSubjectOut.get_n_splits needs the data or groups.")
        _, _, groups, _ = _unpack(X, y, groups)
        return len(np.unique(groups))

    def _splits(self, X, y, groups, repeat, base_seed=0):
        n, _, groups, _ = _unpack(X, y, groups)
        if groups is None:
            raise ValueError(
                "LeaveOneSubjectOut needs the subject of every row: pass groups=… or a Dataset."
            )
        subjects = sorted(np.unique(groups), key=natural_key)
        if len(subjects) < 2:
            raise ValueError(
                f"LeaveOneSubjectOut needs at least 2 subjects; received {len(subjects)}."
            )
        for subject in subjects:
            test = groups == subject
            yield np.flatnonzero(~test), np.flatnonzero(test), str(subject)


class CrossDataset(Protocol):
    """Train on every source except ``test_sources``, test on those (P2 scenario 3), ``repeats`` times.

    Each repeat trains with another seed on the same split. With ``split(X, y, groups)``,
    ``groups`` holds each row's *source*.

    Raises:
        ValueError: From ``split``, if a test source is absent or nothing is left to train on.

    Reference:
        Sabater-Gárriz et al., Digital Health 2024, training scenario 3.
    """

    name = "cross_dataset"
    subject_disjoint = True
    aggregation = "mean"

    def __init__(self, test_sources: str | Sequence[str] = "cppain", repeats: int = 5):
        self.test_sources = test_sources
        self.repeats = repeats

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return self.repeats

    def _test_set(self) -> list[str]:
        ts = self.test_sources
        return [ts] if isinstance(ts, str) else [str(t) for t in ts]

    @property
    def label(self) -> str:
        return f"cross_dataset({'+'.join(self._test_set())})"

    def _n_repeats(self, repeats: int) -> int:
        return int(self.repeats if repeats == 1 else repeats)

    def split(self, X, y=None, groups=None):
        """Yield the same ``(train_idx, test_idx)`` once per repeat."""
        for _ in range(self.repeats):
            for train, test, _ in self._splits(X, y, groups, repeat=0, base_seed=0):
                yield train, test

    def _splits(self, X, y, groups, repeat, base_seed=0):
        from painzoo.datasets.manifest import Dataset

        if isinstance(X, Dataset):
            sources = X.sources
        else:
            _, _, _, sources = _unpack(X, y, None, groups)
            if sources is None:
                raise ValueError(
                    "CrossDataset needs the source of every row: pass a Dataset or groups=sources."
                )
        wanted = self._test_set()
        missing = [s for s in wanted if s not in set(sources)]
        if missing:
            raise ValueError(
                f"CrossDataset test source(s) {missing} are not in the data; its sources are "
                f"{sorted(set(sources))}."
            )
        test = np.isin(sources, wanted)
        if test.all():
            raise ValueError(
                f"CrossDataset: every row is from {wanted}; nothing is left to train on."
            )
        yield np.flatnonzero(~test), np.flatnonzero(test), "+".join(wanted)


PROTOCOLS = {
    "image_kfold": ImageKFold,
    "subject_kfold": SubjectKFold,
    "loso": LeaveOneSubjectOut,
    "cross_dataset": CrossDataset,
}
_ALIASES = {
    "imagekfold": "image_kfold",
    "subjectkfold": "subject_kfold",
    "leaveonesubjectout": "loso",
    "leave_one_subject_out": "loso",
    "loro": "loso",
    "crossdataset": "cross_dataset",
}


def get_protocol(spec) -> Protocol:
    """A protocol from ``spec``: a name (``"loso"``), a ``{name: {args}}`` mapping or an instance.

    Raises:
        ValueError: For an unknown name.
    """
    if isinstance(spec, Protocol):
        return spec
    args = {}
    if isinstance(spec, dict):
        if len(spec) != 1:
            raise ValueError(f"A protocol entry must have one key (its name); received {spec!r}.")
        ((spec, args),) = spec.items()
        args = dict(args or {})
    key = str(spec).lower()
    key = _ALIASES.get(key, key)
    if key not in PROTOCOLS:
        raise ValueError(
            f"Unknown protocol {spec!r}; choose one of {sorted(PROTOCOLS)} (or 'loro')."
        )
    return PROTOCOLS[key](**args)
