"""Turn rater scores into labels and measure how much raters agree."""

from __future__ import annotations

import os

import numpy as np

from painzoo.annotation.icc import ICC_FORMS, ICCResult, agreement_band, icc
from painzoo.annotation.pspi import binarize, pspi
from painzoo.annotation.rgs import RGS_ACTION_UNITS, RGSConsensus, rgs_consensus

__all__ = [
    "pspi",
    "binarize",
    "icc",
    "ICCResult",
    "ICC_FORMS",
    "agreement_band",
    "rgs_consensus",
    "RGSConsensus",
    "RGS_ACTION_UNITS",
    "agreement_report",
]


_ID_COLUMNS = {"id", "image", "target", "subject", "file", "filename", "name", "path", "video"}


def agreement_report(csv_path: str | os.PathLike, form: str = "2,k") -> str:
    """Inter-rater agreement of a ratings CSV (one row per target, one column per rater), as text.

    A rating sheet of ``painzoo frames`` gets one ICC per action unit
    (:func:`painzoo.annotation.sheet.sheet_agreement_report`). Columns with no number, an unnamed
    index and id columns (``id``, ``image``, ``target``, ``subject``, ``file``, ``filename``,
    ``name``, ``path``, ``video``) are ignored; rows with a missing rating are dropped and counted.
    The text gives the ICC with its 95 % CI, the F test, Fleiss' band and the size.

    Args:
        csv_path: Path of the CSV file.
        form: ICC form (``"1,1"`` … ``"3,k"``); P2 reports ``"2,k"``.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If fewer than two numeric rater columns or two complete rows remain, a rating
            cell is not a number (or, on a rating sheet, not a value of the scale) — naming its
            line, id and column —, or the form is unknown.
    """
    import pandas as pd

    path = os.fspath(csv_path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Ratings file {path} does not exist.")
    frame = pd.read_csv(path)
    from painzoo.annotation.sheet import (
        rating_cells,
        sheet_agreement_report,
        sheet_layout,
        undefined_reason,
    )

    if sheet_layout(frame.columns) is not None:  # a rating sheet of `painzoo frames`
        return sheet_agreement_report(frame, form=form, name=path)
    raters = _rater_columns(frame, path)
    try:
        cells = rating_cells(frame, raters, name=path, what="rating")
    except ValueError as err:
        raise ValueError(
            f"{err} A column without ratings is ignored when it is named id, image, target, "
            "subject, file, filename, name, path or video, or when none of its cells is a number."
        ) from None
    table = pd.DataFrame(cells, columns=raters)
    complete = table.notna().all(axis=1)
    if complete.sum() < 2:
        raise ValueError(
            f"{path} has {int(complete.sum())} row(s) in which every rater gave a rating; the "
            "ICC needs at least two."
        )
    ratings = table[complete].to_numpy(dtype=float)
    result = icc(ratings, form=form)
    if np.isfinite(result.value):
        lines = [
            f"ICC({result.form}) = {result.value:.3f}  "
            f"{round(result.confidence * 100)}% CI [{result.ci_low:.3f}, {result.ci_high:.3f}]  "
            f"({result.description})",
            f"F({result.df1:g}, {result.df2:g}) = {result.f_value:.3f}, p = {result.p_value:.3g}",
            f"Agreement: {result.band} (Fleiss: < 0.40 low, 0.40-0.75 fair/good, > 0.75 excellent)",
        ]
    else:
        reason = undefined_reason(ratings, "the rater columns")
        lines = [reason.replace("ICC undefined", f"ICC({result.form}) undefined") + "."]
    lines.append(
        f"{result.n_targets} targets x {result.n_raters} raters ({', '.join(map(str, raters))})"
    )
    if (~complete).any():
        lines.append(f"Dropped {int((~complete).sum())} row(s) with a missing rating.")
    return "\n".join(lines)


def _rater_columns(frame, path: str) -> list:
    """The columns holding ratings: not an id or index column, and some cell a number."""
    import pandas as pd

    candidates = [
        c
        for c in frame.columns
        if str(c).strip().lower() not in _ID_COLUMNS and not str(c).startswith("Unnamed:")
    ]
    numeric = frame[candidates].apply(pd.to_numeric, errors="coerce")
    raters = [c for c in candidates if numeric[c].notna().any()]
    if len(raters) < 2:
        raise ValueError(
            f"{path} has {len(raters)} numeric rater column(s) ({raters}); the ICC needs one "
            "row per target and at least two numeric columns, one per rater."
        )
    return raters
