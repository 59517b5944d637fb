"""Rating sheets: one row per image, one column per rater × action unit (``r<k>_<au>``).

``painzoo frames`` writes such a sheet with empty rater columns; raters fill
it in. :func:`sheet_scores` reads the scores back as the
``[images, raters, units]`` array :func:`~painzoo.annotation.rgs_consensus`
takes, and :func:`sheet_agreement_report` (behind ``painzoo agreement`` when
the CSV is a rating sheet) gives the ICC per action unit and of each rater's
total score.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["PSPI_UNITS", "scale_units", "sheet_layout", "sheet_scores", "sheet_agreement_report"]

#: The action units of the PSPI (Prkachin & Solomon), as rating-sheet columns.
PSPI_UNITS = ("au4", "au6", "au7", "au9", "au10", "au43")


def scale_units(scale: str) -> tuple[str, ...]:
    """The action units of ``"rgs"`` (Rat Grimace Scale) or ``"pspi"``."""
    from painzoo.annotation.rgs import RGS_ACTION_UNITS

    key = str(scale).lower()
    if key == "rgs":
        return tuple(RGS_ACTION_UNITS)
    if key == "pspi":
        return PSPI_UNITS
    raise ValueError(f"scale must be 'rgs' or 'pspi'; received {scale!r}.")


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


def sheet_scores(frame) -> tuple[np.ndarray, str, list[int], tuple[str, ...]]:
    """Scores of a rating sheet as ``[images, raters, units]`` (NaN = empty/uncertain).

    Returns:
        ``(scores, scale, raters, units)``.

    Raises:
        ValueError: If the table has no ``r<k>_<au>`` columns.
    """
    import pandas as pd

    layout = sheet_layout(frame.columns)
    if layout is None:
        raise ValueError(
            "The table has no rater × action-unit columns (r1_orbital, r1_au4, …); "
            "`painzoo frames` writes rating sheets with them."
        )
    scale, raters, units = layout
    scores = np.stack(
        [
            np.stack(
                [
                    pd.to_numeric(frame[f"r{r}_{u}"], errors="coerce").to_numpy(float)
                    for u in units
                ],
                axis=1,
            )
            for r in raters
        ],
        axis=1,
    )
    return scores, scale, raters, units


def sheet_agreement_report(frame, form: str = "2,k", *, name: str = "the sheet") -> str:
    """ICC per action unit and of each rater's total score, as text.

    The total is the sum of a rater's RGS scores, or the rater's PSPI
    (:func:`~painzoo.annotation.pspi`, AU43 0/1 as in UNBC) for a PSPI sheet.
    Images missing a score of a unit are left out of that unit's ICC (and
    of the total's); the report says how many.

    Raises:
        ValueError: With fewer than two raters, or fewer than two fully
            scored images for every unit.
    """
    from painzoo.annotation.icc import icc

    scores, scale, raters, units = sheet_scores(frame)
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
            pspi(
                au["au4"], au["au6"], au["au7"], au["au9"], au["au10"], np.minimum(au["au43"], 1)
            ),
            np.nan,
        )
        total_name = "PSPI"
    width = max(len(u) for u in (*units, total_name))
    computed = 0
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
        r = icc(table[complete], form=form)
        computed += 1
        lines.append(
            f"{label:<{width}}  {r.value:6.3f}  95% CI [{r.ci_low:.3f}, {r.ci_high:.3f}]  "
            f"{r.band}{note}"
        )
    if not computed:
        raise ValueError(
            f"{name}: no action unit has two or more fully scored images; fill in the rater "
            "columns first."
        )
    return "\n".join(lines)
