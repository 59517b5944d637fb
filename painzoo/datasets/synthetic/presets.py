"""Per-subject image counts of the synthetic presets.

``ratspain`` copies P1 Table 2 exactly. ``paindb`` and ``cppain`` follow P2's totals; where P2
gives only totals the per-subject split is painzoo's choice (``docs/synthetic.md`` lists it).

Reference:
    Liu et al., "PainSeeker", Front. Vet. Sci. 2025, Table 2;
    Sabater-Gárriz et al., "CP-PAIN", Digital Health 2024, Section 2.
"""

from __future__ import annotations

# P1 Table 2: rat -> (no pain, moderate, severe) = levels 0, 1, 2.
RATSPAIN_COUNTS: dict[str, tuple[int, int, int]] = {
    "rat1": (56, 163, 2),
    "rat2": (102, 108, 0),
    "rat3": (148, 50, 0),
    "rat4": (138, 92, 0),
    "rat5": (63, 116, 3),
    "rat6": (34, 62, 1),
}


def ratspain_cells() -> list[tuple[str, str, int, int]]:
    """``(source, subject, level, count)`` for every non-empty cell of RatsPain."""
    return [
        ("ratspain", s, lvl, n)
        for s, counts in RATSPAIN_COUNTS.items()
        for lvl, n in enumerate(counts)
        if n
    ]


def paindb_cells() -> list[tuple[str, str, int, int]]:
    """``(source, subject, level, count)`` for PAIN-DB = UNBC + MInt PAIN + Delaware."""
    cells = []
    for i in range(1, 26):
        s = f"unbc_{i:02d}"
        per_level = (4, 3, 2, 1) if i >= 24 else (8, 6, 4, 2)
        cells.append(("unbc", s, 0, 20))
        cells += [("unbc", s, lvl, n) for lvl, n in enumerate(per_level, start=1)]
    for i in range(1, 21):
        s = f"mintpain_{i:02d}"
        cells.append(("mintpain", s, 0, 20))
        cells += [("mintpain", s, lvl, 5) for lvl in range(1, 5)]
    for i in range(1, 241):
        s = f"delaware_{i:03d}"
        cells.append(("delaware", s, 0, 1))
        cells.append(("delaware", s, 1, 3 if i <= 83 else 2))
    return cells


def cppain_cells() -> list[tuple[str, str, int, int]]:
    """``(source, subject, level, count)`` for the CP-PAIN stand-in (level = label)."""
    cells = []
    for i in range(1, 56):
        s = f"cp_{i:02d}"
        if i != 55:
            cells.append(("cppain", s, 0, 1))
        cells.append(("cppain", s, 1, 1))
    return cells


PRESETS = {"ratspain": ratspain_cells, "paindb": paindb_cells, "cppain": cppain_cells}


def scaled_cells(preset: str, scale: float) -> list[tuple[str, str, int, int]]:
    """Cells of a preset with counts multiplied by ``scale`` (every non-empty cell kept, ≥ 1).

    Raises:
        ValueError: For an unknown preset or a non-positive scale.
    """
    if preset not in PRESETS:
        raise ValueError(f"Unknown synthetic preset {preset!r}; choose one of {sorted(PRESETS)}.")
    if not scale > 0:
        raise ValueError(f"scale must be > 0; received {scale}.")
    return [(src, s, lvl, max(1, int(round(n * scale)))) for src, s, lvl, n in PRESETS[preset]()]
