"""Loaders for image folders, CSV manifests and the published pain datasets (point them at your licensed copy)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from painzoo.annotation.rgs import RGS_ACTION_UNITS
from painzoo.datasets.io import cache_root, check_file_name, display_path, is_image_file
from painzoo.datasets.labels import check_binary_labels, level_to_label
from painzoo.datasets.manifest import Dataset, natural_key, read_preprocessing

__all__ = [
    "DEFAULT_LABEL_NAMES",
    "RGS_ACTION_UNITS",
    "load_csv",
    "load_delaware",
    "load_folder",
    "load_mintpain",
    "load_ratspain",
    "load_unbc",
    "paindb",
]

#: Label folder names understood by :func:`load_folder` (matched case-insensitively).
DEFAULT_LABEL_NAMES: dict[str, int] = {
    "no_pain": 0,
    "nopain": 0,
    "no-pain": 0,
    "no pain": 0,
    "pain": 1,
    "0": 0,
    "1": 1,
}

_DEFAULT_SUBJECT_PATTERN = r"^(?P<subject>[A-Za-z]*\d+|[^_\-\s.]+)"


# -- generic folders and CSVs -------------------------------------------------------
def load_folder(
    root: str | os.PathLike,
    *,
    layout: str = "subject/label",
    label_names: Mapping[str, int] | None = None,
    subject_pattern: str | None = None,
    name: str | None = None,
) -> Dataset:
    """Load a folder of face images sorted by subject and label.

    Args:
        root: The top folder.
        layout: ``"subject/label"`` (``root/<subject>/<label>/<image>``) or ``"label"``
            (``root/<label>/<image>``, subject from the file name). Images below a label folder
            take its label.
        label_names: Folder name → label, added to :data:`DEFAULT_LABEL_NAMES` (case-insensitive).
        subject_pattern: With ``layout="label"``, a regular expression searched in the file name;
            the subject is its group ``subject``, else its first group, else the whole match
            (default: leading letters+digits, or all before the first ``_``, ``-``, space or dot).
        name: Dataset name and ``source``; defaults to the folder name.

    Raises:
        FileNotFoundError: If ``root`` does not exist.
        ValueError: If a label folder is not in the mapping, a folder below a label folder is named
            as the other label (``pain/no_pain/``), a file name has no subject, the layout is
            unknown, or no image is found.

    Warns:
        UserWarning: Naming ignored non-image files and counting images outside any label folder or
            below one (never naming a subject).
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"Image folder {root} does not exist.")
    mapping = {k.lower(): int(v) for k, v in DEFAULT_LABEL_NAMES.items()}
    mapping.update({str(k).lower(): int(v) for k, v in (label_names or {}).items()})
    name = name or root.name
    if looks_like_mintpain(root):
        # Its folders carry participant names: they must not become subject ids.
        raise ValueError(
            f"{display_path(root)} looks like the MInt PAIN database (Sub<N> <name>/"
            "Annotated_data_…), whose folder names hold participant names; load it with "
            "load_mintpain (or `painzoo preprocess SRC DST --layout mintpain`), which "
            "replaces them with Sub<NN>."
        )
    rows = _folder_rows(root, layout, mapping, subject_pattern, name)
    if not rows:
        expected = "<subject>/<label>/" if layout == "subject/label" else "<label>/"
        raise ValueError(
            f"No image files found under {root} with layout={layout!r}; expected "
            f"root/{expected}<image>."
        )
    return Dataset(
        pd.DataFrame(rows), root=root, name=name, preprocessing=_folder_preprocessing(root)
    )


def _folder_rows(root: Path, layout: str, mapping: dict, subject_pattern, name: str) -> list:
    """The rows of :func:`load_folder`; warns of the files it leaves out or reads deeper."""
    rows: list[dict] = []
    ignored: list[str] = []
    # Where images lie off the layout's depth: counted per place, named by pattern only.
    deeper = _Deeper(layout)
    unlabelled: dict[str, int] = {}
    if layout == "subject/label":
        _strays(root, root, ignored, unlabelled, "<image>", layout)
        for subject_dir in _sorted_dirs(root):
            if subject_dir.name.startswith("."):
                continue
            for entry in sorted(subject_dir.iterdir()):
                if not entry.is_dir():
                    _strays_one(entry, root, ignored, unlabelled, "<subject>/<image>", layout)
                    continue
                if entry.name.startswith("."):
                    continue  # .ipynb_checkpoints and friends
                label = _map_label(entry.name, mapping, entry.relative_to(root))
                for f in _label_files(entry, root, ignored, deeper, mapping, label, layout):
                    rows.append(_row(f, root, label, subject_dir.name, name))
    elif layout == "label":
        pattern = re.compile(subject_pattern or _DEFAULT_SUBJECT_PATTERN)
        for label_dir in _sorted_dirs(root):
            if label_dir.name.startswith("."):
                continue
            label = _map_label(label_dir.name, mapping, label_dir.relative_to(root))
            for f in _label_files(label_dir, root, ignored, deeper, mapping, label, layout):
                rows.append(_row(f, root, label, _parse_subject(f, pattern, root), name))
        _strays(root, root, ignored, unlabelled, "<image>", layout)
    else:
        raise ValueError(
            f"Unknown layout {layout!r}; expected 'subject/label' (root/<subject>/<label>/) "
            "or 'label' (root/<label>/ with the subject in the file name)."
        )
    _warn_ignored(ignored, root)
    _warn_unlabelled(unlabelled, root, layout)
    deeper.warn(root)
    return rows


def _folder_preprocessing(root: Path) -> dict | None:
    """The ``painzoo preprocess`` record of a folder of its crops (``DST/images``), if any."""
    if root.name == "images":
        return read_preprocessing(root.parent / "manifest.csv")
    return None


def load_csv(
    path: str | os.PathLike,
    *,
    root: str | os.PathLike | None = None,
    name: str | None = None,
    check_files: bool = True,
) -> Dataset:
    """Load a CSV manifest with the columns ``image,label,subject`` (plus ``source``, ``level``, ``au_*``, anything).

    ``root`` (default: the CSV's folder) resolves ``image`` paths; ``name`` defaults to its stem.

    Raises:
        FileNotFoundError: If the CSV or (with ``check_files``) an image is missing.
        ValueError: For a missing required column, a label not 0/1, an empty subject, or no rows.
    """
    path = Path(path)
    frame = _read_csv(path, required=("image", "label", "subject"))
    return _finish_csv(frame, path, root, name or path.stem, check_files)


def _read_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"Manifest {path} does not exist.")
    try:
        frame = pd.read_csv(path, dtype={"image": str, "subject": str, "source": str})
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{display_path(path)} is not UTF-8 text (byte {err.start}); save the CSV as UTF-8."
        ) from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{path} lacks the column(s) {missing}; its columns are {list(frame.columns)}. "
            f"A manifest needs {list(required)} (see docs/data.md)."
        )
    if len(frame) == 0:
        raise ValueError(f"{path} has a header but no rows; the dataset would be empty.")
    return frame


def _finish_csv(frame, path: Path, root, name: str, check_files: bool) -> Dataset:
    root = Path(root) if root is not None else path.parent
    if frame["image"].isna().any():
        i = int(np.flatnonzero(frame["image"].isna().to_numpy())[0])
        raise ValueError(f"{path}: row {i} has no image path.")
    check_binary_labels(frame["label"], source=path, images=frame["image"])
    if check_files:
        missing = [p for p in frame["image"] if not _resolve(root, p).is_file()]
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} image file(s) listed in {path} do not exist (first: "
                f"{_resolve(root, missing[0])}); paths are relative to {root}."
            )
    return Dataset(frame, root=root, name=name, preprocessing=read_preprocessing(path))


# -- UNBC-McMaster --------------------------------------------------------------------
def load_unbc(
    root: str | os.PathLike,
    *,
    threshold: float = 0,
    frames_per_subject_class: int | None = 20,
    seed: int = 0,
) -> Dataset:
    """Load the UNBC-McMaster Shoulder Pain Expression Archive (``label = PSPI > threshold``).

    Layout::

        Images/<subject>/<sequence>/<frame>.png
        Frame_Labels/PSPI/<subject>/<sequence>/<frame>_facs.txt   one float
        Frame_Labels/FACS/<subject>/<sequence>/<frame>_facs.txt   rows "AU intensity"

    Args:
        root: The archive's top folder.
        frames_per_subject_class: Frames per subject and class (P2: 20); ``None`` keeps all.
        seed: Seed of the frame sampling.

    Returns:
        A :class:`Dataset` with ``level`` = PSPI (0–16), ``sequence`` and ``au_<n>`` (0 where
        not coded; only when ``Frame_Labels/FACS`` exists).

    Raises:
        FileNotFoundError: If ``Images/`` is missing or a frame has no PSPI file.
        ValueError: If a PSPI file does not hold a number, or no frame is found.

    Reference:
        Lucey et al., "Painful data: The UNBC-McMaster shoulder pain
        expression archive database", FG 2011. Sampling: P2, Data section.
    """
    root = Path(root)
    images = root / "Images"
    if not images.is_dir():
        raise FileNotFoundError(
            f"{images} does not exist; load_unbc expects the archive's top folder holding "
            "Images/ and Frame_Labels/."
        )
    rows = []
    ignored: list[str] = []
    for subject_dir in _sorted_dirs(images):
        for seq_dir in _sorted_dirs(subject_dir):
            for f in _files(seq_dir, root, ignored):
                rel = f.relative_to(images)
                pspi_file = root / "Frame_Labels" / "PSPI" / rel.parent / f"{f.stem}_facs.txt"
                level = _read_number(pspi_file)
                rows.append(
                    {
                        "image": str(f.relative_to(root)),
                        "label": level_to_label(level, threshold),
                        "subject": subject_dir.name,
                        "source": "unbc",
                        "level": level,
                        "sequence": seq_dir.name,
                    }
                )
    _warn_ignored(ignored, root)
    if not rows:
        raise ValueError(f"No frames found under {images}/<subject>/<sequence>/.")
    frame = _sample(pd.DataFrame(rows), frames_per_subject_class, seed)
    facs_root = root / "Frame_Labels" / "FACS"
    if facs_root.is_dir():
        aus = []
        for image in frame["image"]:
            rel = Path(image).relative_to("Images")
            aus.append(_read_facs(facs_root / rel.parent / f"{rel.stem}_facs.txt"))
        codes = sorted({k for a in aus for k in a})
        for code in codes:
            frame[f"au_{code}"] = [a.get(code, 0.0) for a in aus]
    return Dataset(frame, root=root, name="unbc")


def _read_number(path: Path) -> float:
    if not path.is_file():
        raise FileNotFoundError(f"PSPI label file {path} does not exist.")
    text = path.read_text().split()
    try:
        return float(text[0])
    except (IndexError, ValueError):
        raise ValueError(
            f"{path} should hold one number (the PSPI score); it holds {text[:3]!r}."
        ) from None


def _read_facs(path: Path) -> dict[int, float]:
    if not path.is_file():
        return {}
    out: dict[int, float] = {}
    for i, line in enumerate(path.read_text().splitlines()):
        parts = line.split()
        if not parts:
            continue
        try:
            au = int(round(float(parts[0])))
            out[au] = float(parts[1]) if len(parts) > 1 else 1.0
        except ValueError:
            raise ValueError(
                f"{path}, line {i + 1}: expected 'AU intensity' numbers; found {line.strip()!r}."
            ) from None
    return out


# -- MInt PAIN ------------------------------------------------------------------------
_MINT_SUBJECT = re.compile(r"^Sub(\d+)")
_MINT_SWEEP = re.compile(r"_Label(\d)$")


def load_mintpain(
    root: str | os.PathLike,
    *,
    frames_per_subject_class: int | None = 20,
    seed: int = 0,
    link_dir: str | os.PathLike | None = None,
) -> Dataset:
    """Load the MInt PAIN database (RGB frames) without its participant names.

    Layout::

        Sub<N> <participant name>/Annotated_data_SubNN_TrialNN/
            SubNN_TrialNN_SweepNN_Label<0-4>/rgb/*.jpg

    The subject becomes ``Sub<NN>`` and the name appears nowhere: the sampled frames are
    hard-linked (or copied) to ``link_dir/Sub<NN>/`` (default ``<cache>/mintpain/<hash of root>``),
    with ``level`` 0–4, ``label = level > 0``, ``trial`` and ``sweep``.

    Args:
        root: The folder holding the ``Sub<N> …`` folders.
        frames_per_subject_class: Frames per subject and class (P2: 20); ``None`` keeps all.
        seed: Seed of the frame sampling.

    Raises:
        FileNotFoundError: If ``root`` does not exist.
        ValueError: If no ``Sub<N>`` folder or no frame is found.

    Reference:
        Haque et al., "Deep multimodal pain recognition: a database and
        comparison of spatio-temporal visual modalities", FG 2018.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"MInt PAIN folder {root} does not exist.")
    rows = []
    sources: list[Path] = []
    n_unknown = 0
    for top in _sorted_dirs(root):
        m = _MINT_SUBJECT.match(top.name)
        if not m:
            n_unknown += 1  # the name may be a person's: count it, never print it
            continue
        subject = f"Sub{int(m.group(1)):02d}"
        try:
            found = _mint_frames(top, subject)
        except OSError as err:
            # The OS names the full path, participant name included: name the pseudonym.
            raise OSError(
                err.errno,
                f"load_mintpain cannot read {_mint_alias(err.filename, top, subject)}: "
                f"{err.strerror}",
            ) from None
        for row, f in found:
            rows.append(row)
            sources.append(f)
    if n_unknown:
        warnings.warn(
            f"load_mintpain ignored {n_unknown} top-level folder(s) that do not start with "
            "'Sub<N>'.",
            stacklevel=2,
        )
    if not rows:
        raise ValueError(
            f"No MInt PAIN frames found under {root}; expected Sub<N> …/Annotated_data_SubNN_"
            "TrialNN/SubNN_TrialNN_SweepNN_Label<k>/rgb/*.jpg."
        )
    frame = pd.DataFrame(rows)
    frame["_src"] = range(len(frame))
    frame = _sample(frame, frames_per_subject_class, seed)
    if link_dir is None:
        key = hashlib.sha1(os.fsencode(root.resolve())).hexdigest()[:16]
        link_dir = cache_root() / "mintpain" / key
    link_dir = Path(link_dir)
    copied = 0
    for rel, i in zip(frame["image"], frame["_src"]):
        copied += _link(sources[i], link_dir / rel, rel)
    if copied:
        warnings.warn(
            f"load_mintpain copied {copied} frame(s) into {link_dir} because the file system "
            "does not allow hard links there; pass link_dir= on the same drive to save space.",
            stacklevel=2,
        )
    frame = frame.drop(columns="_src")
    return Dataset(frame, root=link_dir, name="mintpain")


def _mint_frames(top: Path, subject: str) -> list[tuple[dict, Path]]:
    """Rows and source files of one participant folder (``top`` holds a name)."""
    out = []
    for trial_dir in _sorted_dirs(top):
        for sweep_dir in _sorted_dirs(trial_dir):
            lm = _MINT_SWEEP.search(sweep_dir.name)
            if not lm:
                continue
            rgb = sweep_dir / "rgb"
            if not rgb.is_dir():
                continue
            level = int(lm.group(1))
            for f in sorted(p for p in rgb.iterdir() if p.is_file() and is_image_file(p)):
                image = Path(subject) / f.relative_to(top)
                check_file_name(image)
                row = {
                    "image": str(image),
                    "label": level_to_label(level),
                    "subject": subject,
                    "source": "mintpain",
                    "level": level,
                    "trial": trial_dir.name.rsplit("_", 1)[-1],
                    "sweep": sweep_dir.name,
                }
                out.append((row, f))
    return out


def _mint_alias(path, top: Path, subject: str) -> str:
    """``path`` with the participant folder replaced by ``Sub<NN>`` (never the name)."""
    try:
        return display_path(Path(subject) / Path(os.fsdecode(path)).relative_to(top))
    except (TypeError, ValueError):
        return f"a folder of {subject}"


def _link(src: Path, dst: Path, alias: str) -> int:
    """Hard-link (or copy) a source frame to its pseudonymised path; errors name ``alias``, never ``src``."""
    try:
        if dst.is_file() and dst.stat().st_size == src.stat().st_size:
            return 0
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.exists():
            dst.unlink()
        try:
            os.link(src, dst)
            return 0
        except OSError:
            shutil.copyfile(src, dst)
            return 1
    except OSError as err:
        try:
            dst.unlink(missing_ok=True)  # no half-copied frame left behind
        except OSError:
            pass
        raise OSError(
            err.errno,
            f"load_mintpain cannot link or copy the frame {display_path(alias)} to "
            f"{display_path(dst)}: {err.strerror}. Free space there, or pass link_dir= on a "
            "drive with room (on the same drive as the database, hard links take none).",
        ) from None


# -- CSV datasets -----------------------------------------------------------------------
def load_delaware(csv: str | os.PathLike, *, root: str | os.PathLike | None = None) -> Dataset:
    """Load the Delaware Pain Database through a CSV manifest.

    Args:
        csv: Manifest of ``image``, ``subject``, ``label`` (1 = pain) or ``level`` (> 0 = pain).
        root: Folder the image paths are relative to (default: the CSV's).

    Raises:
        FileNotFoundError, ValueError: As :func:`load_csv`.

    Reference:
        Mende-Siedlecki et al., "The Delaware Pain Database", Pain 2020.
    """
    path = Path(csv)
    frame = _read_csv(path, required=("image", "subject"))
    frame = _label_from_level(frame, path)
    frame["source"] = "delaware"
    return _finish_csv(frame, path, root, "delaware", check_files=True)


def load_ratspain(
    csv: str | os.PathLike,
    *,
    root: str | os.PathLike | None = None,
    stage1_raters: int = 5,
    key: str | os.PathLike | None = None,
) -> Dataset:
    """Load RatsPain (P1) through a CSV manifest.

    Columns: ``image``, ``subject`` (the rat) and one of ``level`` (0 = no pain, 1 = moderate,
    2 = severe; ``label = level > 0``), ``label`` (0/1), or per-rater AU scores ``r<k>_<au>``
    (0/1/2, empty = uncertain) labelled by :func:`painzoo.annotation.rgs_consensus`;
    unlabelled images are dropped with a warning.

    Args:
        csv: The manifest.
        root: Folder the image paths are relative to (default: the CSV's).
        stage1_raters: Number of stage-1 raters ``r1``… (P1: 5); the rest are stage 2.
        key: The key of ``painzoo frames`` (default: :func:`~painzoo.annotation.sheet.find_key`).

    Raises:
        FileNotFoundError: As :func:`load_csv`.
        ValueError: As :func:`load_csv`; also for incomplete rater columns or a score that is not
            0, 1 or 2 (naming its line and column).

    Reference:
        P1 (Liu et al. 2025), "Labelling" and Table 2.
    """
    path = Path(csv)
    frame = _read_csv(path, required=("image",))
    if "subject" not in frame.columns and "id" in frame.columns:
        from painzoo.annotation.sheet import join_key  # a blinded sheet of `painzoo frames`

        frame = join_key(frame, path, key)
    if "subject" not in frame.columns:
        raise ValueError(
            f"{path} lacks the column(s) ['subject']; its columns are {list(frame.columns)}. "
            "A manifest needs ['image', 'subject'] (see docs/data.md)."
        )
    raters = _rater_columns(frame, path)
    if raters:
        frame = _ratspain_consensus(frame, raters, stage1_raters, path)
    else:
        frame = _label_from_level(frame, path)
    frame["source"] = "ratspain"
    return _finish_csv(frame, path, root, "ratspain", check_files=True)


def _label_from_level(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    frame = frame.copy()
    if "label" in frame.columns:
        return frame
    if "level" not in frame.columns:
        raise ValueError(
            f"{path} needs a 'label' (0/1) or a 'level' (0 = no pain, > 0 = pain) column; "
            f"its columns are {list(frame.columns)}."
        )
    level = pd.to_numeric(frame["level"], errors="coerce")
    if level.isna().any():
        i = int(np.flatnonzero(level.isna().to_numpy())[0])
        raise ValueError(f"{path}: row {i} has a missing or non-numeric level.")
    frame["label"] = level_to_label(level.to_numpy())
    return frame


_RATER_COLUMN = re.compile(r"^r(\d+)_(" + "|".join(RGS_ACTION_UNITS) + r")$")


def _rater_columns(frame: pd.DataFrame, path: Path) -> list[int]:
    found: dict[int, set[str]] = {}
    for c in frame.columns:
        m = _RATER_COLUMN.match(str(c))
        if m:
            found.setdefault(int(m.group(1)), set()).add(m.group(2))
    for r, aus in found.items():
        if len(aus) != len(RGS_ACTION_UNITS):
            missing = sorted(set(RGS_ACTION_UNITS) - aus)
            raise ValueError(
                f"{path}: rater r{r} lacks the column(s) "
                f"{[f'r{r}_{a}' for a in missing]}; every rater needs all four RGS AUs."
            )
    return sorted(found)


def _ratspain_consensus(frame, raters, stage1_raters, path) -> pd.DataFrame:
    try:
        from painzoo.annotation import rgs_consensus
    except ImportError as err:  # pragma: no cover - annotation ships with painzoo
        raise ImportError(
            f"{path} holds per-rater AU scores, which need painzoo.annotation.rgs_consensus "
            f"to become labels ({err}). Add a 'level' column instead."
        ) from None

    from painzoo.annotation.sheet import rating_cells

    def scores(ids):
        cols = [f"r{r}_{au}" for r in ids for au in RGS_ACTION_UNITS]
        # Empty = uncertain; anything else must be 0, 1 or 2 (the error names the cell).
        arr = rating_cells(frame, cols, (0, 1, 2), name=str(path), what="RGS score")
        return arr.reshape(len(frame), len(ids), len(RGS_ACTION_UNITS))  # [images, raters, 4]

    stage1 = [r for r in raters[:stage1_raters]]
    stage2 = [r for r in raters[stage1_raters:]]
    result = rgs_consensus(scores(stage1), scores(stage2) if stage2 else None)
    level = np.asarray(result.labels, dtype=float)
    frame = frame.copy()
    au_scores = getattr(result, "consensus", None)  # agreed AU score, NaN = no consensus
    if au_scores is not None:
        au_scores = np.asarray(au_scores, dtype=float)
        for j, au in enumerate(RGS_ACTION_UNITS):
            frame[f"au_{au}"] = au_scores[:, j]
    keep = ~np.isnan(level)
    if (~keep).any():
        warnings.warn(
            f"load_ratspain: the RGS consensus leaves {int((~keep).sum())} of {len(frame)} "
            f"image(s) in {path.name} unlabelled (low confidence); they are dropped.",
            stacklevel=3,
        )
    frame["level"] = level
    frame = frame[keep].reset_index(drop=True)
    frame["level"] = frame["level"].astype(int)
    frame["label"] = level_to_label(frame["level"].to_numpy())
    return frame


# -- PAIN-DB ----------------------------------------------------------------------------
def paindb(
    unbc: str | os.PathLike | Dataset | None = None,
    mintpain: str | os.PathLike | Dataset | None = None,
    delaware: str | os.PathLike | Dataset | None = None,
    *,
    frames_per_subject_class: int | None = 20,
    seed: int = 0,
    unbc_threshold: float = 0,
) -> Dataset:
    """P2's PAIN-DB: UNBC-McMaster + MInt PAIN + Delaware, relabelled binary (level > 0 is pain).

    Subject ids are prefixed by their source (``unbc:042-ll042``).

    Args:
        unbc, mintpain: Root folder, or a Dataset from its loader (keeping its labels).
        delaware: CSV manifest, or a Dataset from :func:`load_delaware`.
        frames_per_subject_class, seed: Passed to the UNBC and MInt PAIN loaders.
        unbc_threshold: PSPI threshold for a UNBC folder (P2: 0).

    Raises:
        ValueError: If no part is given.

    Reference:
        P2 (Sabater-Gárriz et al. 2024), "Data": 285 users, 2,583 images.
    """
    parts = []
    for source, value, loader in (
        ("unbc", unbc, load_unbc),
        ("mintpain", mintpain, load_mintpain),
        ("delaware", delaware, load_delaware),
    ):
        if value is None:
            continue
        if isinstance(value, Dataset):
            ds = value
        elif source == "delaware":
            ds = loader(value)
        elif source == "unbc":
            ds = loader(
                value,
                threshold=unbc_threshold,
                frames_per_subject_class=frames_per_subject_class,
                seed=seed,
            )
        else:
            ds = loader(value, frames_per_subject_class=frames_per_subject_class, seed=seed)
        frame = ds.frame.copy()
        frame["source"] = source
        frame["subject"] = [f"{source}:{s}" for s in frame["subject"]]
        parts.append(Dataset(frame, images=ds.images, root=ds.root, name=source))
    if not parts:
        raise ValueError(
            "paindb needs at least one of unbc=, mintpain=, delaware= (a folder/CSV or a Dataset)."
        )
    return Dataset.concat(parts, name="paindb")


# -- helpers ------------------------------------------------------------------------------
def _sorted_dirs(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_dir()), key=natural_key)


def _files(folder: Path, root: Path, ignored: list[str]) -> list[Path]:
    out = []
    for p in sorted(folder.iterdir(), key=natural_key):
        if p.is_file() and is_image_file(p):
            out.append(p)
        elif p.name.startswith("."):
            continue  # .DS_Store and friends
        else:
            ignored.append(str(p.relative_to(root)))
    return out


def _is_stray(p: Path) -> bool:
    return p.is_file() and not p.name.startswith(".")


def _shown(rel: Path, layout: str) -> str:
    """A path below ``root`` as it may be shown: a subject folder becomes ``<subject>``."""
    parts = list(rel.parts)
    if layout == "subject/label" and len(parts) > 1:
        parts[0] = "<subject>"
    return "/".join(parts)


def _strays_one(p: Path, root: Path, ignored: list[str], unlabelled: dict, where: str, layout):
    """Sort one file lying outside the label folders into images (counted) and others."""
    if not _is_stray(p):
        return
    if is_image_file(p):
        unlabelled[where] = unlabelled.get(where, 0) + 1
    else:
        ignored.append(_shown(p.relative_to(root), layout))


def _strays(folder: Path, root: Path, ignored, unlabelled, where: str, layout: str) -> None:
    for p in sorted(folder.iterdir(), key=natural_key):
        _strays_one(p, root, ignored, unlabelled, where, layout)


def _warn_unlabelled(unlabelled: dict[str, int], root: Path, layout: str) -> None:
    if not unlabelled:
        return
    total = sum(unlabelled.values())
    places = ", ".join(f"{n} as {where}" for where, n in unlabelled.items())
    into = "<subject>/<label>/" if layout == "subject/label" else "<label>/"
    warnings.warn(
        f"load_folder left out {total} image(s) under {display_path(root)} that lie outside "
        f"any label folder ({places}), so they have no label; move them into {into} "
        f"(layout {layout!r}) to use them.",
        stacklevel=3,
    )


class _Deeper:
    """Counts images read from folders below a label folder, per depth, with one example."""

    def __init__(self, layout: str):
        self.layout = layout
        self.counts: dict[int, int] = {}
        self.example: dict[int, str] = {}

    def add(self, depth: int, label_folder: str) -> None:
        self.counts[depth] = self.counts.get(depth, 0) + 1
        if depth not in self.example:
            head = "<subject>/" if self.layout == "subject/label" else ""
            below = "<folder>/" * depth
            self.example[depth] = f"{head}{display_path(label_folder)}/{below}<image>"

    def warn(self, root: Path) -> None:
        if not self.counts:
            return
        total = sum(self.counts.values())
        parts = [
            f"{n} {_DEPTH_WORDS.get(d, f'{d} folders')} deeper (e.g. {self.example[d]})"
            for d, n in sorted(self.counts.items())
        ]
        expected = "<subject>/<label>/" if self.layout == "subject/label" else "<label>/"
        subject = (
            "the subject of its subject folder"
            if self.layout == "subject/label"
            else "the subject parsed from its file name"
        )
        warnings.warn(
            f"load_folder read {total} image(s) under {display_path(root)} that lie below "
            f"{expected} ({'; '.join(parts)}); each has the label of the label folder it lies "
            f"in and {subject}. Move a folder out of the label folder if its images are not "
            "meant to be part of the data set.",
            stacklevel=3,
        )


_DEPTH_WORDS = {1: "one folder", 2: "two folders", 3: "three folders"}


def _label_files(
    folder: Path,
    root: Path,
    ignored: list[str],
    deeper: _Deeper,
    mapping: dict[str, int],
    label: int,
    layout: str,
) -> list[Path]:
    """The images of a label folder, then of each sub-folder (hidden ones skipped), in natural order."""
    out: list[Path] = []
    seen: set[Path] = set()

    def walk(current: Path, depth: int) -> None:
        try:
            real = current.resolve()
        except OSError:
            real = current
        if real in seen:  # a link back up the tree
            return
        seen.add(real)
        subfolders = []
        for p in sorted(current.iterdir(), key=natural_key):
            if p.name.startswith("."):
                continue  # .DS_Store, .ipynb_checkpoints and friends
            if p.is_dir():
                subfolders.append(p)
            elif p.is_file() and is_image_file(p):
                out.append(p)
                if depth:
                    deeper.add(depth, folder.name)
            else:
                ignored.append(_shown(p.relative_to(root), layout))
        for sub in subfolders:
            other = mapping.get(sub.name.lower())
            if other is not None and other != label:
                head = "<subject>/" if layout == "subject/label" else ""
                at = f"{head}{display_path(folder.name)}/" + "<folder>/" * depth
                raise ValueError(
                    f"Under {display_path(root)}, a folder named as a label "
                    f"('{display_path(sub.name)}', label {other}) lies inside the label folder "
                    f"'{display_path(folder.name)}' (label {label}), at {at}"
                    f"{display_path(sub.name)}/: its images would have both labels. Move it up "
                    "beside the label folder (or rename it)."
                )
            walk(sub, depth + 1)

    walk(folder, 0)
    return out


def _warn_ignored(ignored: list[str], root: Path) -> None:
    if ignored:
        shown = ", ".join(ignored[:5]) + (", …" if len(ignored) > 5 else "")
        warnings.warn(
            f"Ignored {len(ignored)} non-image entr{'y' if len(ignored) == 1 else 'ies'} "
            f"under {root}: {shown}",
            stacklevel=3,
        )


def _map_label(folder: str, mapping: dict[str, int], where: Path) -> int:
    key = folder.lower()
    if key not in mapping:
        # Only the label folder's own name: the subject folder above it may name a person.
        raise ValueError(
            f"Label folder '{display_path(folder)}' is not a known label; known names are "
            f"{sorted(mapping)}. Rename the folder or pass "
            f"label_names={{'{display_path(folder)}': 0 or 1}}."
        )
    return mapping[key]


def looks_like_mintpain(root: str | os.PathLike) -> bool:
    """Whether ``root`` holds MInt PAIN's ``Sub<N> <name>/Annotated_data_…`` folders."""
    try:
        for top in Path(root).iterdir():
            if top.is_dir() and _MINT_SUBJECT.match(top.name):
                if any(c.name.startswith("Annotated_data") for c in top.iterdir() if c.is_dir()):
                    return True
    except OSError:
        return False
    return False


def _parse_subject(f: Path, pattern: re.Pattern, root: Path) -> str:
    m = pattern.search(f.name)
    if m is None:
        raise ValueError(
            f"No subject id found in the file name {f.relative_to(root)} with the pattern "
            f"{pattern.pattern!r}; name files '<subject>_<anything>' or pass subject_pattern=."
        )
    groups = m.groupdict()
    subject = groups.get("subject") or (m.group(1) if m.groups() else m.group(0))
    if not subject:
        raise ValueError(f"The subject pattern matched an empty id in {f.relative_to(root)}.")
    return subject


def _row(f: Path, root: Path, label: int, subject: str, source: str) -> dict:
    check_file_name(f)
    return {
        "image": str(f.relative_to(root)),
        "label": label,
        "subject": subject,
        "source": source,
    }


def _resolve(root: Path, p: str) -> Path:
    q = Path(p)
    return q if q.is_absolute() else root / q


def _sample(frame: pd.DataFrame, k: int | None, seed: int) -> pd.DataFrame:
    """At most ``k`` rows per subject × label, drawn without replacement; order kept."""
    if k is None:
        return frame.reset_index(drop=True)
    if k < 1:
        raise ValueError(f"frames_per_subject_class must be a positive int or None; received {k}.")
    rng = np.random.default_rng(seed)
    keep = []
    for _, idx in frame.groupby(["subject", "label"], sort=True).indices.items():
        keep.extend(idx if len(idx) <= k else rng.choice(idx, size=k, replace=False))
    return frame.iloc[np.sort(np.asarray(keep, dtype=int))].reset_index(drop=True)
