"""The dataset manifest every part of painzoo exchanges: :class:`Dataset`."""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from painzoo.datasets.io import read_image, resize_image, write_image
from painzoo.datasets.labels import check_binary_labels
from painzoo.utils.files import read_json_object

__all__ = [
    "PREPROCESSING_FILE",
    "Dataset",
    "REQUIRED_COLUMNS",
    "find_duplicates",
    "natural_key",
    "read_preprocessing",
]

REQUIRED_COLUMNS = ("image", "label", "subject", "source")


class Dataset:
    """Face images with a pain label and a subject id: a table with one row per image.

    Args:
        frame: Columns ``image`` (path, or ``""`` in memory), ``label`` (1 = pain), ``subject`` and
            ``source``; optional ``level``, ``au_<name>``, ``yaw``, ``roll`` and any others.
        images: Optional uint8 RGB ``[N, H, W, 3]`` aligned with ``frame``.
        masks: Optional region name → bool ``[N, H, W]`` (synthetic images).
        root: Folder that relative paths in ``image`` are resolved against.
        name: A short name used in reports.
        preprocessing: What ``painzoo preprocess`` did to the images, or
            ``None``; it travels with :meth:`subset` and into a model card.

    Raises:
        ValueError: If a required column is missing, a label is missing or
            not an integer, a subject is empty, or ``images`` does not align.

    Example:
        >>> ds = Dataset(pd.DataFrame({"image": ["a.png"], "label": [1],
        ...                            "subject": ["s1"], "source": ["clinic"]}))
        >>> len(ds), ds.labels.tolist()
        (1, [1])
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        images: np.ndarray | None = None,
        masks: dict[str, np.ndarray] | None = None,
        root: str | os.PathLike | None = None,
        name: str = "dataset",
        preprocessing: dict | None = None,
    ):
        frame = frame.copy()
        if "source" not in frame.columns:
            frame["source"] = name
        if "image" not in frame.columns and images is not None:
            frame["image"] = ""
        missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(
                f"The dataset table lacks the column(s) {missing}; a manifest needs "
                f"{list(REQUIRED_COLUMNS)} (source is optional and defaults to the name)."
            )
        frame = frame.reset_index(drop=True)
        frame["image"] = frame["image"].fillna("").astype(str)
        _check_labels(frame)
        frame["label"] = frame["label"].astype(int)
        no_subject = frame["subject"].isna() | (frame["subject"].astype(str).str.strip() == "")
        if no_subject.any():
            bad = frame.index[no_subject]
            raise ValueError(
                f"{len(bad)} row(s) have no subject id (first: {_describe_row(frame, bad[0])}); "
                "every image needs the id of the person or animal it shows, so that "
                "protocols can keep a subject on one side of a split."
            )
        frame["subject"] = frame["subject"].astype(str)
        frame["source"] = frame["source"].astype(str)
        if images is not None:
            images = np.asarray(images)
            if images.ndim != 4 or images.shape[-1] != 3 or len(images) != len(frame):
                raise ValueError(
                    f"images must be uint8 [N, H, W, 3] with N = {len(frame)} rows; "
                    f"received shape {images.shape}."
                )
            if images.dtype != np.uint8:
                raise ValueError(f"images must be uint8 RGB; received dtype {images.dtype}.")
        if masks is not None:
            for key, value in masks.items():
                if len(value) != len(frame):
                    raise ValueError(
                        f"mask {key!r} has {len(value)} entries; the dataset has {len(frame)} rows."
                    )
        self.frame = frame
        self.images = images
        self.masks = dict(masks) if masks else {}
        self.root = Path(root) if root is not None else None
        self.name = name
        self.preprocessing = dict(preprocessing) if preprocessing else None

    # -- views -----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        where = "in memory" if self.images is not None else "on disk"
        return (
            f"Dataset(name={self.name!r}, images={len(self)}, "
            f"subjects={self.frame['subject'].nunique()}, pain={int(self.labels.sum())}, "
            f"{where})"
        )

    @property
    def labels(self) -> np.ndarray:
        """Binary labels, int ``[N]`` (1 = pain)."""
        return self.frame["label"].to_numpy(dtype=int)

    @property
    def subjects(self) -> np.ndarray:
        """Subject ids, str ``[N]``."""
        return self.frame["subject"].to_numpy(dtype=str)

    @property
    def sources(self) -> np.ndarray:
        """Source dataset of every row, str ``[N]``."""
        return self.frame["source"].to_numpy(dtype=str)

    @property
    def image_paths(self) -> list[Path]:
        """Absolute paths of the image files (empty for in-memory rows)."""
        return [self._resolve(p) if p else Path() for p in self.frame["image"]]

    def _resolve(self, path: str) -> Path:
        p = Path(path)
        if not p.is_absolute() and self.root is not None:
            p = self.root / p
        return p

    # -- derived datasets --------------------------------------------------------
    def subset(self, indices: Sequence[int] | np.ndarray) -> Dataset:
        """A new dataset holding the given rows (integer indices or a bool mask)."""
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if len(idx) != len(self):
                raise ValueError(f"A boolean mask needs {len(self)} entries; received {len(idx)}.")
            idx = np.flatnonzero(idx)
        idx = idx.astype(int)
        return Dataset(
            self.frame.iloc[idx].reset_index(drop=True),
            images=None if self.images is None else self.images[idx],
            masks={k: v[idx] for k, v in self.masks.items()} or None,
            root=self.root,
            name=self.name,
            preprocessing=self.preprocessing,
        )

    @classmethod
    def concat(cls, datasets: Iterable[Dataset], name: str | None = None) -> Dataset:
        """Stack datasets row-wise (paths made absolute; pixels kept when all are in memory at one size).

        Raises:
            ValueError: If the list is empty, mixes in-memory and on-disk parts, or sizes differ.
        """
        parts = list(datasets)
        if not parts:
            raise ValueError("Dataset.concat needs at least one dataset; received none.")
        in_memory = [d.images is not None for d in parts]
        frames = []
        for d in parts:
            f = d.frame.copy()
            f["image"] = [str(d._resolve(p)) if p else "" for p in f["image"]]
            frames.append(f)
        frame = pd.concat(frames, ignore_index=True)
        images = None
        if all(in_memory):
            shapes = {d.images.shape[1:] for d in parts}
            if len(shapes) > 1:
                raise ValueError(
                    f"In-memory datasets of different image sizes {sorted(shapes)} cannot be "
                    "stacked; build them at one image_size."
                )
            images = np.concatenate([d.images for d in parts])
        elif any(in_memory):
            raise ValueError(
                "Cannot stack in-memory and on-disk datasets; write the in-memory ones "
                "with ds.to_csv(path) and load them back with Dataset.from_csv(path)."
            )
        masks = None
        keys = set.intersection(*(set(d.masks) for d in parts))
        if keys and images is not None:
            masks = {k: np.concatenate([d.masks[k] for d in parts]) for k in sorted(keys)}
        # Parts prepared differently have no one preprocessing to pass on.
        kept = [d.preprocessing for d in parts]
        preprocessing = kept[0] if all(k == kept[0] for k in kept) else None
        return cls(
            frame,
            images=images,
            masks=masks,
            name=name or "+".join(d.name for d in parts),
            preprocessing=preprocessing,
        )

    # -- pixels ------------------------------------------------------------------
    def load_images(self, size: int | tuple[int, int] | None = None) -> np.ndarray:
        """The images as uint8 ``[N, H, W, 3]`` RGB, resized (area) to ``size`` if given.

        Raises:
            ValueError: If sizes differ without ``size``, or a file cannot be read (naming it).
        """
        hw = None if size is None else ((size, size) if np.isscalar(size) else tuple(size))
        if self.images is not None:
            if hw is None or tuple(self.images.shape[1:3]) == hw:
                return self.images
            return np.stack([resize_image(im, hw) for im in self.images])
        if len(self) == 0:
            return np.zeros((0, *(hw or (0, 0)), 3), np.uint8)
        out = []
        for path in self.image_paths:
            im = read_image(path)
            out.append(im if hw is None else resize_image(im, hw))
        shapes = {im.shape for im in out}
        if len(shapes) > 1:
            raise ValueError(
                f"The images have different sizes ({len(shapes)} distinct shapes); "
                "pass size=… to load_images to resize them to one."
            )
        return np.stack(out)

    # -- checks -----------------------------------------------------------------
    def check(self, *, duplicates: str = "error", where: str | None = None) -> Dataset:
        """Look for repeated images under two subjects or listed twice: a leakage risk for every protocol.

        Returns ``self``; ``duplicates``: ``"error"``, ``"warn"`` or ``"ignore"``; ``where`` names
        the data in messages. Copies within one subject are allowed (:func:`find_duplicates`).

        Raises:
            ValueError: With ``duplicates="error"``, naming the rows and how to fix or allow them.
        """
        if duplicates not in ("error", "warn", "ignore"):
            raise ValueError(
                f"duplicates must be 'error', 'warn' or 'ignore'; received {duplicates!r}."
            )
        if duplicates == "ignore" or len(self) == 0:
            return self
        files = self.frame["image"].to_numpy(dtype=str)
        keys = pd.Series(_file_keys(self))
        on_disk = keys != ""
        repeated = keys[on_disk & keys.duplicated(keep=False)]
        subjects = self.frame["subject"].astype(str)
        problems, fixes = [], []
        if not repeated.empty:
            groups = repeated.groupby(repeated, sort=False).groups
            leaks = [k for k, idx in groups.items() if subjects.loc[idx].nunique() > 1]
            first = leaks[0] if leaks else next(iter(groups))
            idx = list(groups[first])
            shown_rows = ", ".join(str(i) for i in idx[:5]) + (", …" if len(idx) > 5 else "")
            shown_subjects = sorted(set(subjects.loc[idx]), key=natural_key)
            kind = (
                f"{len(leaks)} image(s) appear under two or more subjects (a subject-wise "
                "split can put one image on both sides)"
                if leaks
                else f"{len(groups)} image(s) are listed more than once"
            )
            problems.append(
                f"{kind}; first: {files[idx[0]]} in rows {shown_rows} "
                f"(subject(s) {shown_subjects})"
            )
            fixes.append("remove the repeated rows")
        copies = _copies_across_subjects(self, keys)
        if copies:
            problems.append(
                f"{len(copies)} image(s) are stored as separate copies with identical content "
                "under two or more subjects (the same photograph filed twice: a subject-wise "
                "split can put one copy in training and the other in testing); first: "
                f"{_rows_text(copies[0])} (counting from 0)"
            )
            fixes.append(
                "remove one copy or give the copies one subject "
                "(painzoo.datasets.find_duplicates(dataset) lists every group)"
            )
        if not problems:
            return self
        fix = "; ".join(fixes)
        message = (
            f"{where or f'dataset {self.name!r}'}: " + ". ".join(problems) + ". "
            f"{fix[0].upper()}{fix[1:]}, or allow them with duplicates: warn in the config's "
            "data entry (Dataset.check(duplicates='warn') in Python)."
        )
        if duplicates == "error":
            raise ValueError(message)
        warnings.warn(message, stacklevel=2)
        return self

    def drop_unreadable(self, *, on_bad_image: str = "skip", where: str | None = None) -> Dataset:
        """Decode every image file once; drop (``"skip"``, with a warning) or raise on (``"error"``) those that fail.

        The result (``self`` when none is bad) has the number dropped in
        ``n_bad_images``; in-memory rows are kept.

        Raises:
            ValueError: With ``on_bad_image="error"``, naming the file; also when all are bad.
        """
        if on_bad_image not in ("error", "skip"):
            raise ValueError(f"on_bad_image must be 'error' or 'skip'; received {on_bad_image!r}.")
        bad, reasons = [], []
        if self.images is None:
            for i, path in enumerate(self.image_paths):
                if not str(self.frame["image"].iloc[i]):
                    continue
                try:
                    read_image(path)
                except (ValueError, OSError) as err:
                    if on_bad_image == "error":
                        raise
                    bad.append(i)
                    reasons.append(str(err).split(";")[0])
        out = self
        if bad:
            if len(bad) == len(self):
                raise ValueError(
                    f"{where or f'dataset {self.name!r}'}: every one of the {len(self)} "
                    f"image(s) cannot be decoded (first: {reasons[0]})."
                )
            shown = "; ".join(reasons[:3]) + ("; …" if len(reasons) > 3 else "")
            warnings.warn(
                f"{where or f'dataset {self.name!r}'}: skipped {len(bad)} of {len(self)} "
                f"image(s) that cannot be decoded ({shown}).",
                stacklevel=2,
            )
            out = self.subset(np.setdiff1d(np.arange(len(self)), bad))
        out.n_bad_images = len(bad)
        return out

    # -- reporting ---------------------------------------------------------------
    def summary(self, by: str | None = None) -> pd.DataFrame:
        """Image counts per subject × class (``by``: ``level`` when present, else ``label``), with totals (P1 Table 2 layout)."""
        by = by or ("level" if "level" in self.frame.columns else "label")
        table = pd.crosstab(self.frame["subject"], self.frame[by])
        table = table.reindex(sorted(table.index, key=natural_key))
        table["total"] = table.sum(axis=1)
        table.loc["total"] = table.sum(axis=0)
        table.columns.name = by
        return table

    # -- files -------------------------------------------------------------------
    def to_csv(self, path: str | os.PathLike) -> Path:
        """Write the manifest as CSV (paths relative to it; in-memory images as PNGs in ``<stem>_images/``); returns its path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        frame = self.frame.copy()
        if self.images is not None:
            folder = path.parent / f"{path.stem}_images"
            folder.mkdir(exist_ok=True)
            names = []
            for i, im in enumerate(self.images):
                name = f"{i:06d}.png"
                write_image(folder / name, im)
                names.append(f"{folder.name}/{name}")
            frame["image"] = names
        else:
            base = path.parent.resolve()
            rel = []
            for p in self.image_paths:
                try:
                    rel.append(os.path.relpath(p.resolve(), base))
                except ValueError:  # another drive on Windows
                    rel.append(str(p.resolve()))
            frame["image"] = rel
        frame.to_csv(path, index=False)
        return path

    @classmethod
    def from_csv(cls, path: str | os.PathLike, name: str | None = None) -> Dataset:
        """Read a manifest written by :meth:`to_csv`.

        Raises:
            FileNotFoundError: If the CSV does not exist.
            ValueError: If a label is not 0 or 1 (naming file, line, image), or as the constructor.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"Manifest {path} does not exist.")
        frame = pd.read_csv(path, dtype={"subject": str, "source": str, "image": str})
        if "label" in frame.columns:
            check_binary_labels(frame["label"], source=path, images=frame.get("image"))
        return cls(
            frame, root=path.parent, name=name or path.stem, preprocessing=read_preprocessing(path)
        )


def find_duplicates(dataset: Dataset) -> pd.DataFrame:
    """Rows whose images have identical content (SHA-256 of the file bytes or pixels), in groups.

    Returns:
        One row (``group``, ``row``, ``subject``, ``label``, ``image``, ``sha256``) per dataset
        row that shares its content with another; missing or unreadable files are left out.
    """
    digests = _content_digests(dataset)
    columns = ["group", "row", "subject", "label", "image", "sha256"]
    rows = [i for i, d in enumerate(digests) if d is not None]
    if not rows:
        return pd.DataFrame(columns=columns)
    table = pd.DataFrame({"row": rows, "sha256": [digests[i] for i in rows]})
    table = table[table["sha256"].duplicated(keep=False)]
    order = {d: g for g, d in enumerate(dict.fromkeys(table["sha256"]))}
    table.insert(0, "group", table["sha256"].map(order).astype(int))
    frame = dataset.frame
    table.insert(2, "subject", frame["subject"].to_numpy(dtype=str)[table["row"]])
    table.insert(3, "label", frame["label"].to_numpy(dtype=int)[table["row"]])
    table.insert(4, "image", frame["image"].to_numpy(dtype=str)[table["row"]])
    return table.sort_values(["group", "row"]).reset_index(drop=True)[columns]


def _file_keys(ds: Dataset) -> list[str]:
    """The normalised absolute path of every row's file (``""`` for in-memory rows)."""
    return [
        os.path.normpath(os.path.abspath(ds._resolve(p))) if p else ""
        for p in ds.frame["image"].to_numpy(dtype=str)
    ]


def _content_digests(ds: Dataset) -> list[str | None]:
    """SHA-256 of each row's content where another row may share it, else ``None``."""
    n = len(ds)
    digests: list[str | None] = [None] * n
    if n < 2:
        return digests
    if ds.images is not None:
        flat = np.ascontiguousarray(ds.images).reshape(n, -1)
        # A cheap first sieve: only images whose pixel sum another shares are hashed.
        sums = flat.sum(axis=1, dtype=np.uint64)
        _, inverse, counts = np.unique(sums, return_inverse=True, return_counts=True)
        for i in np.flatnonzero(counts[inverse] > 1):
            digests[i] = hashlib.sha256(flat[i].tobytes()).hexdigest()
        return digests
    rows_of: dict[str, list[int]] = {}
    for i, key in enumerate(_file_keys(ds)):
        if key:
            rows_of.setdefault(key, []).append(i)
    by_size: dict[int, list[str]] = {}
    for key in rows_of:
        try:
            if os.path.isfile(key):
                by_size.setdefault(os.stat(key).st_size, []).append(key)
        except OSError:
            continue
    for keys in by_size.values():
        for key in keys:
            if len(keys) == 1 and len(rows_of[key]) == 1:
                continue  # no other file of its size, listed once: unique
            digest = _file_sha256(key)
            for i in rows_of[key]:
                digests[i] = digest
    return digests


def _file_sha256(path: str) -> str | None:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


def _copies_across_subjects(ds: Dataset, keys: pd.Series) -> list[list[int]]:
    """Groups of rows with one content under two or more subjects, from two or more copies."""
    groups = find_duplicates(ds)
    out = []
    for _, g in groups.groupby("group", sort=True):
        rows = g["row"].tolist()
        files = set(keys.iloc[rows]) if ds.images is None else set(rows)
        if g["subject"].nunique() > 1 and len(files) > 1:
            out.append(rows)
    return out


def _rows_text(rows: list[int]) -> str:
    shown = [str(i) for i in rows[:5]]
    if len(rows) > 5:
        return "rows " + ", ".join(shown) + ", …"
    return "rows " + (", ".join(shown[:-1]) + " and " + shown[-1] if len(shown) > 1 else shown[0])


def _check_labels(frame: pd.DataFrame) -> None:
    labels = pd.to_numeric(frame["label"], errors="coerce")
    bad = frame.index[labels.isna()]
    if len(bad):
        raise ValueError(
            f"{len(bad)} row(s) have a missing or non-numeric label (first: "
            f"{_describe_row(frame, bad[0])}, label={frame.loc[bad[0], 'label']!r}); "
            "give every image 0 (no pain) or 1 (pain), or drop unlabelled rows."
        )
    if not np.all(labels == np.round(labels)):
        raise ValueError("Labels must be integers (0 = no pain, 1 = pain).")


def _describe_row(frame: pd.DataFrame, i: int) -> str:
    image = frame.loc[i, "image"] if "image" in frame.columns else ""
    return f"row {i}" + (f" ({image})" if isinstance(image, str) and image else "")


def natural_key(value) -> list:
    """Sort key that orders embedded numbers by value (``rat2`` before ``rat10``); paths by file name."""
    text = value.name if isinstance(value, Path) else str(value)
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


PREPROCESSING_FILE = "preprocess.json"


def read_preprocessing(manifest: str | os.PathLike) -> dict | None:
    """The record ``painzoo preprocess`` left beside ``manifest``, or ``None``.

    Raises:
        ValueError: If the file exists but is not a JSON object (naming it).
    """
    path = Path(manifest)
    record_path = path.parent / PREPROCESSING_FILE
    if not record_path.is_file():
        return None
    record = read_json_object(
        record_path,
        what="the record painzoo preprocess writes beside its manifest",
        fix="Run painzoo preprocess again or delete the file.",
    )
    if record.get("manifest", path.name) != path.name:
        return None
    return record
