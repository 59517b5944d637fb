"""One check for every number painzoo takes, from a config or the command line."""

from __future__ import annotations

import math
import numbers

__all__ = ["check_number", "describe_range"]


def describe_range(
    low=None, high=None, *, low_open: bool = False, high_open: bool = False, integer=False
) -> str:
    """The allowed values as text: ``"an integer >= 1"``, ``"a number in [0, 1)"``."""
    kind = "an integer" if integer else "a finite number"
    if low is not None and high is not None:
        return f"{kind} in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{kind} {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"{kind} {'<' if high_open else '<='} {high:g}"
    return kind


def check_number(
    value,
    name: str,
    *,
    low=None,
    high=None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
    none: bool = False,
    fix: str | None = None,
):
    """Return ``value`` if it is a finite number in range, else raise naming ``name``.

    Bools and strings fail; with ``integer``, ``3.0`` passes and comes back as ``3``.
    ``low``/``high`` bound the value (``None``: unbounded; ``low_open``/``high_open`` exclude the
    bound); ``none`` allows ``None``; ``fix`` is advice appended to the message.

    Raises:
        ValueError: ``"learning_rate must be a finite number > 0; received nan."``
    """
    if value is None and none:
        return None
    allowed = describe_range(low, high, low_open=low_open, high_open=high_open, integer=integer)
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        ok = math.isfinite(float(value))
    if ok and integer:
        ok = float(value).is_integer()
        value = int(value) if ok else value
    if ok:
        v = float(value)
        if low is not None and (v < low or (low_open and v == low)):
            ok = False
        if high is not None and (v > high or (high_open and v == high)):
            ok = False
    if not ok:
        shown = repr(value) if not isinstance(value, float) else f"{value:g}"
        message = f"{name} must be {allowed}; received {shown}."
        if isinstance(value, str):
            message += " (YAML reads 1e-4 as a string; write 1.0e-4.)"
        if fix:
            message += f" {fix}"
        raise ValueError(message)
    return value
