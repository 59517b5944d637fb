"""Intra-class correlation (Shrout & Fleiss, 1979) and Fleiss' agreement bands."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ICCResult", "icc", "agreement_band", "anova_mean_squares", "ICC_FORMS"]

ICC_FORMS = ("1,1", "1,k", "2,1", "2,k", "3,1", "3,k")

_FORM_NAMES = {
    "1,1": "one-way random, single rater",
    "1,k": "one-way random, mean of k raters",
    "2,1": "two-way random, absolute agreement, single rater",
    "2,k": "two-way random, absolute agreement, mean of k raters",
    "3,1": "two-way mixed, consistency, single rater",
    "3,k": "two-way mixed, consistency, mean of k raters",
}


@dataclass(frozen=True)
class ICCResult:
    """An intra-class correlation with its 1 − alpha interval.

    Attributes:
        form: Shrout & Fleiss form, e.g. ``"2,k"``.
        value: The ICC.
        ci_low, ci_high: Confidence interval from the F distribution.
        f_value, df1, df2, p_value: F test of H0: ICC = 0.
        n_targets, n_raters: Shape of the ratings.
        mean_squares: The ANOVA's (:func:`anova_mean_squares`).
        confidence: Confidence level of the interval.
    """

    form: str
    value: float
    ci_low: float
    ci_high: float
    f_value: float
    df1: float
    df2: float
    p_value: float
    n_targets: int
    n_raters: int
    mean_squares: dict
    confidence: float = 0.95

    @property
    def band(self) -> str:
        """Fleiss' band of :attr:`value` (see :func:`agreement_band`)."""
        return agreement_band(self.value)

    @property
    def description(self) -> str:
        """The model the form assumes, in words."""
        return _FORM_NAMES[self.form]

    def __float__(self) -> float:
        return float(self.value)


def anova_mean_squares(ratings) -> dict:
    """Mean squares ``BMS`` (targets), ``JMS`` (raters), ``EMS`` (residual), ``WMS`` (within targets), ``n``, ``k`` of a two-way ANOVA.

    Raises:
        ValueError: If ``ratings`` (``[n_targets, n_raters]``) is not 2-D,
            holds NaN/inf, or has fewer than two targets or two raters.
    """
    x = np.asarray(ratings, dtype=float)
    if x.ndim != 2:
        raise ValueError(
            f"ratings must be a 2-D array [targets, raters]; received shape {x.shape}."
        )
    n, k = x.shape
    if n < 2 or k < 2:
        raise ValueError(
            f"An ICC needs at least 2 targets and 2 raters; received {n} target(s) × {k} rater(s)."
        )
    if not np.isfinite(x).all():
        bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
        raise ValueError(
            f"ratings contain NaN or inf in {len(bad)} row(s) (first: row {int(bad[0])}); "
            "the ICC needs every rater to score every target — drop incomplete rows."
        )
    grand = x.mean()
    ss_total = ((x - grand) ** 2).sum()
    ss_targets = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_raters = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_error = ss_total - ss_targets - ss_raters
    return {
        "BMS": ss_targets / (n - 1),
        "JMS": ss_raters / (k - 1),
        "EMS": ss_error / ((n - 1) * (k - 1)),
        "WMS": (ss_total - ss_targets) / (n * (k - 1)),
        "n": n,
        "k": k,
    }


def icc(ratings, form: str = "2,k", *, confidence: float = 0.95) -> ICCResult:
    """Intra-class correlation of a targets × raters table (Shrout & Fleiss 1979, Table 2): an :class:`ICCResult`.

    ========  =====================================================
    form      ICC
    ========  =====================================================
    ``1,1``   (BMS − WMS) / (BMS + (k − 1) WMS)
    ``1,k``   (BMS − WMS) / BMS
    ``2,1``   (BMS − EMS) / (BMS + (k − 1) EMS + k (JMS − EMS) / n)
    ``2,k``   (BMS − EMS) / (BMS + (JMS − EMS) / n)
    ``3,1``   (BMS − EMS) / (BMS + (k − 1) EMS)
    ``3,k``   (BMS − EMS) / BMS
    ========  =====================================================

    ``2,k`` is P2's ``(MSP − MSE) / (MSP + (MSR − MSE)/n)``. The interval uses exact F bounds for
    forms 1 and 3 and Satterthwaite's degrees of freedom for form 2 (McGraw & Wong 1996, Table 7).

    Args:
        ratings: Array ``[n_targets, n_raters]``, NaN-free.
        form: ``"1,1"`` … ``"3,k"`` (``"ICC(2,k)"`` and ``"2,K"`` too).
        confidence: Level of the interval.

    Raises:
        ValueError: For an unknown form, a confidence outside (0, 1) or
            unusable ratings (see :func:`anova_mean_squares`).

    Example:
        >>> data = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8],
        ...         [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
        >>> round(icc(data, "2,1").value, 2), round(icc(data, "2,k").value, 2)
        (0.29, 0.62)

    Reference:
        Shrout & Fleiss, Psychological Bulletin 86(2), 1979; McGraw & Wong,
        Psychological Methods 1(1), 1996; P2 (Sabater-Gárriz et al., 2024).
    """
    from scipy import stats

    form = _normalise_form(form)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1); received {confidence}.")
    ms = anova_mean_squares(ratings)
    n, k = ms["n"], ms["k"]
    bms, jms, ems, wms = ms["BMS"], ms["JMS"], ms["EMS"], ms["WMS"]
    q = 1 - (1 - confidence) / 2
    model, unit = form.split(",")
    average = unit == "k"

    with np.errstate(divide="ignore", invalid="ignore"):
        if model == "1":
            value = (bms - wms) / bms if average else (bms - wms) / (bms + (k - 1) * wms)
            f0, df1, df2 = bms / wms, n - 1, n * (k - 1)
            low, high = _f_bounds(f0, df1, df2, k, average, stats, q)
        elif model == "3":
            value = (bms - ems) / bms if average else (bms - ems) / (bms + (k - 1) * ems)
            f0, df1, df2 = bms / ems, n - 1, (n - 1) * (k - 1)
            low, high = _f_bounds(f0, df1, df2, k, average, stats, q)
        else:
            single = (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n)
            value = (bms - ems) / (bms + (jms - ems) / n) if average else single
            f0, df1, df2 = bms / ems, n - 1, (n - 1) * (k - 1)
            low, high = _satterthwaite_bounds(bms, jms, ems, n, k, single, average, stats, q)
    p_value = float(stats.f.sf(f0, df1, df2)) if np.isfinite(f0) else 0.0
    return ICCResult(
        form=form,
        value=float(value),
        ci_low=float(low),
        ci_high=float(high),
        f_value=float(f0),
        df1=float(df1),
        df2=float(df2),
        p_value=p_value,
        n_targets=n,
        n_raters=k,
        mean_squares={key: float(ms[key]) for key in ("BMS", "JMS", "EMS", "WMS")},
        confidence=confidence,
    )


def _f_bounds(f0, df1, df2, k, average, stats, q):
    # Shrout & Fleiss eq. 6 (form 1) and McGraw & Wong Table 7 (form 3).
    f_low = f0 / stats.f.ppf(q, df1, df2)
    f_high = f0 * stats.f.ppf(q, df2, df1)
    if average:
        return 1 - 1 / f_low, 1 - 1 / f_high
    return (f_low - 1) / (f_low + k - 1), (f_high - 1) / (f_high + k - 1)


def _satterthwaite_bounds(bms, jms, ems, n, k, rho, average, stats, q):
    # Shrout & Fleiss eq. 7–8: approximate df of the denominator of ICC(2,1).
    fj = jms / ems
    num = (k - 1) * (n - 1) * (k * rho * fj + n * (1 + (k - 1) * rho) - k * rho) ** 2
    den = (n - 1) * k**2 * rho**2 * fj**2 + (n * (1 + (k - 1) * rho) - k * rho) ** 2
    v = num / den
    f_star = stats.f.ppf(q, n - 1, v)
    f_star_inv = stats.f.ppf(q, v, n - 1)
    if average:
        # McGraw & Wong Table 7, ICC(A,k) — equals Spearman–Brown of the single bounds.
        low = n * (bms - f_star * ems) / (f_star * (jms - ems) + n * bms)
        high = n * (f_star_inv * bms - ems) / (jms - ems + n * f_star_inv * bms)
    else:
        low = n * (bms - f_star * ems) / (f_star * (k * jms + (k * n - k - n) * ems) + n * bms)
        high = (
            n * (f_star_inv * bms - ems) / (k * jms + (k * n - k - n) * ems + n * f_star_inv * bms)
        )
    return low, high


def _normalise_form(form) -> str:
    text = str(form).strip().lower().replace(" ", "")
    if text.startswith("icc(") and text.endswith(")"):
        text = text[4:-1]
    text = text.replace("icc", "").replace("(", "").replace(")", "")
    if text not in ICC_FORMS:
        raise ValueError(
            f"Unknown ICC form {form!r}; expected one of {list(ICC_FORMS)} "
            "(Shrout & Fleiss notation: model,unit)."
        )
    return text


def agreement_band(value: float) -> str:
    """Fleiss' (1986) band of an ICC, as P2 uses it: ``< 0.40`` low, ``0.40``–``0.75`` fair/good, above excellent.

    Raises:
        ValueError: If ``value`` is NaN.

    Example:
        >>> agreement_band(0.751), agreement_band(0.639), agreement_band(0.2)
        ('excellent', 'fair/good', 'low')

    Reference:
        Fleiss, The design and analysis of clinical experiments, Wiley 1986;
        P2 (Sabater-Gárriz et al., 2024), ICCs 0.751 / 0.639 / 0.551.
    """
    v = float(value)
    if np.isnan(v):
        raise ValueError("agreement_band received NaN; the ICC is undefined for these ratings.")
    if v < 0.40:
        return "low"
    if v <= 0.75:
        return "fair/good"
    return "excellent"
