"""ICC against Shrout & Fleiss (1979) and an independent least-squares ANOVA."""

import numpy as np
import pytest

from painzoo.annotation import agreement_band, icc

# Shrout & Fleiss (1979), Table 1: six targets rated by four judges.
SF_DATA = np.array(
    [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]],
    dtype=float,
)
# Shrout & Fleiss (1979), Table 4 (two decimals).
SF_VALUES = {"1,1": 0.17, "2,1": 0.29, "3,1": 0.71, "1,k": 0.44, "2,k": 0.62, "3,k": 0.91}


@pytest.mark.parametrize("form", sorted(SF_VALUES))
def test_shrout_fleiss_worked_example(form):
    assert round(icc(SF_DATA, form).value, 2) == SF_VALUES[form]


def _anova_by_least_squares(x):
    """Mean squares from a regression on target and rater dummies (no closed forms)."""
    n, k = x.shape
    y = x.ravel()
    target = np.repeat(np.arange(n), k)
    rater = np.tile(np.arange(k), n)
    ones = np.ones((n * k, 1))
    t_dummies = (target[:, None] == np.arange(1, n)).astype(float)
    r_dummies = (rater[:, None] == np.arange(1, k)).astype(float)

    def rss(design):
        beta, *_ = np.linalg.lstsq(design, y, rcond=None)
        return ((y - design @ beta) ** 2).sum()

    rss_mean = rss(ones)
    rss_targets = rss(np.hstack([ones, t_dummies]))
    rss_raters = rss(np.hstack([ones, r_dummies]))
    rss_full = rss(np.hstack([ones, t_dummies, r_dummies]))
    bms = (rss_mean - rss_targets) / (n - 1)
    jms = (rss_mean - rss_raters) / (k - 1)
    ems = rss_full / ((n - 1) * (k - 1))
    wms = rss_targets / (n * (k - 1))
    return {
        "1,1": (bms - wms) / (bms + (k - 1) * wms),
        "1,k": (bms - wms) / bms,
        "2,1": (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n),
        "2,k": (bms - ems) / (bms + (jms - ems) / n),  # P2's ICC(2,k)
        "3,1": (bms - ems) / (bms + (k - 1) * ems),
        "3,k": (bms - ems) / bms,
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_independent_two_way_anova(seed):
    rng = np.random.default_rng(seed)
    n, k = 12, 3 + seed
    x = rng.normal(size=(n, 1)) * 2 + rng.normal(size=(1, k)) + rng.normal(size=(n, k))
    expected = _anova_by_least_squares(x)
    for form, value in expected.items():
        assert icc(x, form).value == pytest.approx(value, rel=1e-9, abs=1e-12)


def test_confidence_interval_contains_estimate_and_is_ordered():
    for form in SF_VALUES:
        r = icc(SF_DATA, form)
        assert r.ci_low < r.value < r.ci_high <= 1
    # A wider confidence level gives a wider interval.
    a, b = icc(SF_DATA, "3,1", confidence=0.8), icc(SF_DATA, "3,1")
    assert b.ci_low < a.ci_low and a.ci_high < b.ci_high


def test_average_rater_interval_is_spearman_brown_of_single_interval():
    # McGraw & Wong's ICC(A,k) bounds equal Spearman–Brown applied to the ICC(A,1) bounds.
    k = SF_DATA.shape[1]
    single, average = icc(SF_DATA, "2,1"), icc(SF_DATA, "2,k")
    sb = lambda r: k * r / (1 + (k - 1) * r)  # noqa: E731
    assert average.ci_low == pytest.approx(sb(single.ci_low))
    assert average.ci_high == pytest.approx(sb(single.ci_high))


@pytest.mark.parametrize(
    "form,rater_sd,noise_sd",
    [("1,1", 0.0, 1.0), ("3,1", 0.0, 1.0), ("2,1", 0.5, 0.5**0.5)],
)
def test_confidence_interval_coverage_by_simulation(form, rater_sd, noise_sd):
    # Data from the random-effects model the form assumes (target sd 1), so the
    # population ICC is 1 / (1 + rater_sd² + noise_sd²); a 95 % interval should
    # contain it in about 95 % of the draws.
    rng = np.random.default_rng(7)
    n, k, reps = 20, 4, 400
    true = 1 / (1 + rater_sd**2 + noise_sd**2)
    hits = 0
    for _ in range(reps):
        x = (
            rng.normal(size=(n, 1))
            + rng.normal(size=(1, k)) * rater_sd
            + rng.normal(size=(n, k)) * noise_sd
        )
        r = icc(x, form)
        hits += r.ci_low <= true <= r.ci_high
    assert 0.91 <= hits / reps <= 0.985


def test_perfect_agreement_and_p_value():
    x = np.arange(10.0)[:, None] * np.ones((1, 3))
    r = icc(x + 1e-9 * np.random.default_rng(0).normal(size=x.shape), "2,k")
    assert r.value == pytest.approx(1.0, abs=1e-6)
    assert r.p_value < 1e-6
    assert icc(SF_DATA, "3,1").p_value < 0.05


def test_form_spellings_and_errors():
    assert icc(SF_DATA, "ICC(2,k)").form == "2,k"
    assert icc(SF_DATA, "2,K").form == "2,k"
    with pytest.raises(ValueError, match="Unknown ICC form"):
        icc(SF_DATA, "4,1")
    bad = SF_DATA.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="row 2"):
        icc(bad)
    with pytest.raises(ValueError, match="at least 2"):
        icc(SF_DATA[:1])
    with pytest.raises(ValueError, match="2-D"):
        icc(SF_DATA.ravel())


@pytest.mark.parametrize(
    "value,band",
    [
        (-0.2, "low"),
        (0.39, "low"),
        (0.40, "fair/good"),
        (0.551, "fair/good"),  # P2: NCAPC
        (0.639, "fair/good"),  # P2: Wong-Baker
        (0.75, "fair/good"),
        (0.751, "excellent"),  # P2: FACS
        (0.95, "excellent"),
    ],
)
def test_agreement_bands(value, band):
    assert agreement_band(value) == band


def test_result_band_and_nan():
    assert icc(SF_DATA, "3,k").band == "excellent"
    with pytest.raises(ValueError, match="NaN"):
        agreement_band(float("nan"))
