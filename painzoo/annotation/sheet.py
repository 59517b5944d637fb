"""Rating sheets: one row per image, one column per rater × action unit (``r<k>_<au>``)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

__all__ = [
    "KEY_NAME",
    "PSPI_UNITS",
    "RATER_FOLDER",
    "SHEET_NAME",
    "allowed_values",
    "find_key",
    "join_key",
    "rating_cells",
    "scale_units",
    "sheet_agreement_report",
    "sheet_layout",
    "sheet_scores",
    "undefined_reason",
]

#: The action units of the PSPI (Prkachin & Solomon), as rating-sheet columns.
PSPI_UNITS = ("au4", "au6", "au7", "au9", "au10", "au43")

#: File name of the blinded rating sheet, inside :data:`RATER_FOLDER`.
SHEET_NAME = "rating_sheet.csv"
#: The folder ``painzoo frames`` writes for the raters (sheet and crops only).
RATER_FOLDER = "for_raters"
#: File name of the key (id → video, frame, time, subject), beside :data:`RATER_FOLDER`.
KEY_NAME = "rating_key.csv"

_RGS_VALUES = (0, 1, 2)
_FACS_VALUES = (0, 1, 2, 3, 4, 5)  # FACS intensity: 0 absent, 1-5 = A-E
_AU43_VALUES = (0, 1)  # eyes closed, coded 0/1 as in UNBC-McMaster


def scale_units(scale: str) -> tuple[str, ...]:
    """The action units of ``"rgs"`` (Rat Grimace Scale) or ``"pspi"``."""
    from painzoo.annotation.rgs import RGS_ACTION_UNITS

    key = str(scale).lower()
    if key == "rgs":
        return tuple(RGS_ACTION_UNITS)
    if key == "pspi":
        return PSPI_UNITS
    raise ValueError(f"scale must be 'rgs' or 'pspi'; received {scale!r}.")


def allowed_values(scale: str, unit: str) -> tuple[int, ...]:
    """The scores a rater may enter for ``unit`` of ``scale`` (RGS 0–2; PSPI AU 0–5, AU43 0/1).

    Example:
        >>> allowed_values("rgs", "ear"), allowed_values("pspi", "au43")
        ((0, 1, 2), (0, 1))
    """
    units = scale_units(scale)
    if unit not in units:
        raise ValueError(f"{unit!r} is not a unit of the {scale.upper()}; its units are {units}.")
    if str(scale).lower() == "rgs":
        return _RGS_VALUES
    return _AU43_VALUES if unit == "au43" else _FACS_VALUES


def sheet_layout(columns) -> tuple[str, list[int], tuple[str, ...]] | None:
    """``(scale, rater numbers, units)`` if ``columns`` hold ``r<k>_<au>`` columns, else ``None``.

    Raises:
        ValueError: If some rater lacks a unit's column (the message names them).
    """
    for scale in ("rgs", "pspi"):
        units = scale_units(scale)
        pattern = re.compile(r"^r(\d+)_(" + "|".join(units) + r")$")
        found: dict[int, set[str]] = {}
        for c in columns:
            m = pattern.match(str(c))
            if m:
                found.setdefault(int(m.group(1)), set()).add(m.group(2))
        if not found:
            continue
        for r, have in sorted(found.items()):
            missing = [u for u in units if u not in have]
            if missing:
                raise ValueError(
                    f"Rater r{r} lacks the column(s) {[f'r{r}_{u}' for u in missing]}; a "
                    f"{scale.upper()} rating sheet needs every rater to have all of {list(units)}."
                )
        return scale, sorted(found), units
    return None


def _where(frame, i: int) -> str:
    # Line of the CSV (the header is line 1, as a spreadsheet's row numbers) and the id.
    where = f"line {i + 2}"
    if "id" in frame.columns:
        value = frame["id"].iloc[i]
        if isinstance(value, str) and value.strip():
            where += f" (id {value.strip()})"
    return where


def _show(value) -> str:
    if isinstance(value, str):
        text = value if len(value) <= 20 else value[:17] + "..."
        return repr(text)
    return f"{value:g}" if isinstance(value, (int, float, np.number)) else repr(value)


def rating_cells(frame, columns, allowed=None, *, name: str = "the sheet", what: str = "rating"):
    """The cells of ``columns`` as floats ``[rows, len(columns)]`` (NaN = empty), checking every one.

    ``frame`` is the table as read; ``allowed`` is ``None`` (any finite number), a tuple of values
    for every column, or a dict column → tuple; ``name`` (the file) and ``what`` (e.g.
    ``"RGS score"``) are used in messages.

    Raises:
        ValueError: Naming each bad cell by its CSV line, id and column, with the values allowed
            (the first five problems, and how many).
    """
    import pandas as pd

    out = np.empty((len(frame), len(columns)), dtype=float)
    problems: list[str] = []
    rules: dict[str, tuple] = {}
    n_bad = 0
    for j, column in enumerate(columns):
        cells = frame[column]
        text = cells.astype(str).str.strip()
        empty = cells.isna().to_numpy() | (text == "").to_numpy()
        values = pd.to_numeric(cells.where(~empty), errors="coerce").to_numpy(dtype=float)
        ok_set = allowed.get(column) if isinstance(allowed, dict) else allowed
        if ok_set is None:
            good = np.isfinite(values)
        else:
            good = np.isin(values, np.asarray(ok_set, dtype=float))
            rules[", ".join(map(str, ok_set))] = ok_set
        bad = ~empty & ~good
        n_bad += int(bad.sum())
        for i in np.flatnonzero(bad)[: max(0, 5 - len(problems))]:
            raw = cells.iloc[i]
            kind = "not a number" if np.isnan(values[i]) else "not an allowed value"
            problems.append(f"{_where(frame, int(i))}, column {column}: {_show(raw)} is {kind}")
        out[:, j] = np.where(empty, np.nan, values)
    if n_bad:
        if rules:
            allowed_text = "; ".join(
                f"{text}{_units_with(columns, allowed, rule)}" for text, rule in rules.items()
            )
            hint = f"Allowed: {allowed_text}."
        else:
            hint = "Every rating must be a number."
        more = f" (and {n_bad - len(problems)} more)" if n_bad > len(problems) else ""
        raise ValueError(
            f"{name}: {n_bad} cell(s) are not valid {what}s: "
            + "; ".join(problems)
            + f"{more}. {hint} Leave a cell empty for a missing (or uncertain) rating; "
            "fix these cells and run again."
        )
    return out


def _units_with(columns, allowed, rule) -> str:
    if not isinstance(allowed, dict):
        return ""
    units = dict.fromkeys(str(c).split("_", 1)[-1] for c in columns if allowed.get(c) == rule)
    return f" ({', '.join(units)})"


def sheet_scores(frame, *, name: str = "the sheet"):
    """Scores of a rating sheet as ``(scores [images, raters, units], scale, raters, units)``.

    Raises:
        ValueError: If the table has no ``r<k>_<au>`` columns, or a cell is not a value of the
            scale (see :func:`rating_cells`).
    """
    layout = sheet_layout(frame.columns)
    if layout is None:
        raise ValueError(
            "The table has no rater × action-unit columns (r1_orbital, r1_au4, …); "
            "`painzoo frames` writes rating sheets with them."
        )
    scale, raters, units = layout
    columns = [f"r{r}_{u}" for r in raters for u in units]
    allowed = {f"r{r}_{u}": allowed_values(scale, u) for r in raters for u in units}
    cells = rating_cells(frame, columns, allowed, name=name, what=f"{scale.upper()} score")
    scores = cells.reshape(len(frame), len(raters), len(units))
    return scores, scale, raters, units


def undefined_reason(table, label: str) -> str:
    """Why the ICC of ``table`` (targets × raters, complete) is not a number, in words."""
    x = np.asarray(table, dtype=float)
    if np.ptp(x) == 0:
        return f"ICC undefined: every rating of {label} is the same ({x.flat[0]:g})"
    if np.ptp(x.mean(axis=1)) == 0:
        return f"ICC undefined: every image has the same mean rating of {label}"
    return f"ICC undefined: the ratings of {label} do not vary between images"


def sheet_agreement_report(frame, form: str = "2,k", *, name: str = "the sheet") -> str:
    """ICC per action unit and of each rater's total score (RGS sum or PSPI), as text.

    Images missing a unit's score are left out of its ICC and the total's; the report counts them.

    Raises:
        ValueError: With fewer than two raters, a cell that is not a value of the scale (naming
            it), or fewer than two fully scored images for every unit.
    """
    from painzoo.annotation.icc import icc

    scores, scale, raters, units = sheet_scores(frame, name=name)
    if len(raters) < 2:
        raise ValueError(
            f"{name} has one rater (r{raters[0]}); agreement needs at least two raters' columns."
        )
    lines = [
        f"Rating sheet: {scale.upper()}, {scores.shape[0]} images x {len(raters)} raters "
        f"({', '.join(f'r{r}' for r in raters)}); ICC({form})"
    ]
    if scale == "rgs":
        totals = scores.sum(axis=2)
        total_name = "RGS total"
    else:
        from painzoo.annotation.pspi import pspi

        complete = ~np.isnan(scores).any(axis=2)
        filled = np.where(np.isnan(scores), 0.0, scores)
        au = {u: filled[..., i] for i, u in enumerate(units)}
        totals = np.where(
            complete,
            pspi(au["au4"], au["au6"], au["au7"], au["au9"], au["au10"], au["au43"]),
            np.nan,
        )
        total_name = "PSPI"
    width = max(len(u) for u in (*units, total_name))
    scored = 0
    for label, table in [
        *((u, scores[..., i]) for i, u in enumerate(units)),
        (total_name, totals),
    ]:
        complete = ~np.isnan(table).any(axis=1)
        note = f"  ({int((~complete).sum())} image(s) with a missing score left out)" * bool(
            (~complete).sum()
        )
        if complete.sum() < 2:
            lines.append(f"{label:<{width}}  not enough fully scored images{note}")
            continue
        scored += 1
        r = icc(table[complete], form=form)
        if not np.isfinite(r.value):
            lines.append(f"{label:<{width}}  {undefined_reason(table[complete], label)}{note}")
            continue
        lines.append(
            f"{label:<{width}}  {r.value:6.3f}  95% CI [{r.ci_low:.3f}, {r.ci_high:.3f}]  "
            f"{r.band}{note}"
        )
    if not scored:
        raise ValueError(
            f"{name}: no action unit has two or more fully scored images; fill in the rater "
            "columns first."
        )
    return "\n".join(lines)


def find_key(sheet_path: str | os.PathLike) -> Path | None:
    """The key of a blinded sheet: ``rating_key.csv`` beside the sheet's folder or the sheet, else ``None``."""
    sheet_path = Path(sheet_path)
    for candidate in (sheet_path.parent.parent / KEY_NAME, sheet_path.parent / KEY_NAME):
        if candidate.is_file():
            return candidate
    return None


def join_key(frame, sheet_path: str | os.PathLike, key: str | os.PathLike | None = None):
    """A blinded sheet joined by ``id`` with its key's columns, in the sheet's order.

    Args:
        frame: The sheet as read (with an ``id`` column); its own columns win.
        sheet_path: Where the sheet was read from (for messages and :func:`find_key`).
        key: CSV with ``subject``, ``video``, ``frame_index``, ``time_s``; default :func:`find_key`.

    Raises:
        FileNotFoundError: If no key is given and none is found, or the key does not exist.
        ValueError: If the key lacks ``id``, an id of the sheet is missing, empty or repeated, or
            not in the key (naming its line).
    """
    import pandas as pd

    sheet_path = Path(sheet_path)
    if key is None:
        key = find_key(sheet_path)
        if key is None:
            raise FileNotFoundError(
                f"{sheet_path} is a blinded rating sheet (an id per image, no subject); its "
                f"key {KEY_NAME} was not found beside its folder or beside it. Pass the key "
                f"`painzoo frames` wrote (OUT/{KEY_NAME}) explicitly."
            )
    key = Path(key)
    if not key.is_file():
        raise FileNotFoundError(f"Key file {key} does not exist.")
    table = pd.read_csv(key, dtype={"id": str, "subject": str, "video": str})
    if "id" not in table.columns:
        raise ValueError(
            f"{key} has no 'id' column; its columns are {list(table.columns)}. Use the "
            f"{KEY_NAME} that `painzoo frames` wrote with the sheet."
        )
    if "id" not in frame.columns:
        raise ValueError(f"{sheet_path} has no 'id' column to join with the key {key}.")
    ids = frame["id"].astype("string").str.strip()
    empty = ids.isna() | (ids == "")
    if empty.any():
        i = int(np.flatnonzero(empty.to_numpy())[0])
        raise ValueError(f"{sheet_path}: line {i + 2} has no id; restore it from the sheet.")
    repeated = ids.duplicated(keep=False)
    if repeated.any():
        lines = [int(i) + 2 for i in np.flatnonzero(repeated.to_numpy())[:5]]
        raise ValueError(
            f"{sheet_path}: the id on lines {lines} appears more than once; each image's id "
            "must be on one line."
        )
    known = set(table["id"].astype(str).str.strip())
    unknown = ~ids.isin(known)
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise ValueError(
            f"{sheet_path}: {int(unknown.sum())} id(s) are not in the key {key} (first: line "
            f"{i + 2}, id {ids.iloc[i]}); is it the key written with this sheet?"
        )
    table = table.assign(id=table["id"].astype(str).str.strip())
    extra = [c for c in table.columns if c == "id" or c not in frame.columns]
    joined = frame.assign(id=ids.astype(str)).merge(table[extra], on="id", how="left")
    return joined
