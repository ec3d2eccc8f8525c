"""Conditional tests X ⫫ Y | Z: agreement with causal-learn, calibration, power, errors.

The fast conditional tests given a discrete Z (``personax.independence.stratified``) are
checked against causal-learn's ``KCI_CInd``, ``RCIT`` and ``CIT(chisq|gsq)`` on the same
arrays; the tolerances are the ones documented in the stratified module's docstring.
Calibration counts are deterministic (fixed seeds per replicate) and judged by an exact
binomial test of "rejection rate = alpha" at level 0.001.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from personax.errors import ParameterError
from personax.independence import stratified
from personax.independence.given import test_given
from personax.independence.result import IndependenceTestError

ALPHA = 0.05


def triple(kind: str, n: int, seed: int, dependent: bool = False, strength: float = 1.0):
    """(x, y, z): x and y both depend on a discrete Z (2 × 4 strata); under ``dependent``
    they share an extra common cause W as well (conditional dependence); ``kind`` is the
    type of x and y: cc (continuous), dc (x discrete), dd (both discrete)."""
    rng = np.random.default_rng(seed)
    z = np.column_stack([rng.integers(0, 2, n), rng.integers(0, 4, n)]).astype(float)
    w = rng.normal(size=n) * (strength if dependent else 0.0)
    x = z @ [1.0, 0.5] + w + rng.normal(size=n)
    y = z @ [0.5, -0.7] + w ** 2 * np.sign(w) + rng.normal(size=n)
    if kind in ("dc", "dd"):
        x = np.digitize(x, np.quantile(x, [0.25, 0.5, 0.75])).astype(float)
    if kind == "dd":
        y = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3])).astype(float)
    return x, y, z


# --------------------------------------------------------------------------- agreement
@pytest.mark.parametrize("kind", ["cc", "dc", "dd"])
@pytest.mark.parametrize("seed", [0, 1])
def test_conditional_kci_matches_causal_learn(kind, seed):
    for dependent in (False, True):
        x, y, z = triple(kind, 300, seed, dependent, strength=0.5)
        f = test_given("kci", x, y, z)
        r = test_given("kci", x, y, z, backend="reference")
        assert f.details["conditional"] and f.details["strata"] == 8
        # documented: grouped sides exact to ~1e-12; a continuous side keeps the eigenvalues the
        # library truncates (~1e-5 relative)
        tol = 1e-9 if kind == "dd" else 1e-4
        assert f.pvalue == pytest.approx(r.pvalue, rel=tol, abs=1e-12), (kind, seed, dependent)
        assert f.statistic == pytest.approx(r.statistic, rel=1e-9)


@pytest.mark.parametrize("kind", ["cc", "dc", "dd"])
def test_conditional_rcit_matches_causal_learn_under_the_same_seed(kind):
    for seed in (0, 1, 2):
        x, y, z = triple(kind, 400, 10 + seed, dependent=seed == 2, strength=0.6)
        f = test_given("rcit", x, y, z, seed=seed)
        r = test_given("rcit", x, y, z, backend="reference", seed=seed)
        # documented: Cov(f_z) is rank-deficient for few strata; differences 1e-5 ... 3e-3 relative
        assert f.pvalue == pytest.approx(r.pvalue, rel=5e-3, abs=1e-10), (kind, seed)
        assert (f.pvalue < ALPHA) == (r.pvalue < ALPHA)


@pytest.mark.parametrize("name", ["chi2", "g2"])
def test_stratified_contingency_tests_match_causal_learn(name):
    for seed in range(4):
        x, y, z = triple("dd", 500, 20 + seed, dependent=seed % 2 == 1, strength=0.8)
        f = test_given(name, x, y, z)
        r = test_given(name, x, y, z, backend="reference")
        assert f.pvalue == pytest.approx(r.pvalue, rel=1e-10, abs=1e-14), (name, seed)
        assert f.details["strata"] == 8 and f.details["dof"] > 0


def test_stratified_sum_is_the_per_stratum_sum():
    from personax.independence import test

    x, y, z = triple("dd", 600, 3)
    key = z[:, 0] * 4 + z[:, 1]
    f = test_given("chi2", x, y, z)
    stat = dof = 0.0
    for s in np.unique(key):
        m = key == s
        if np.unique(x[m]).size > 1 and np.unique(y[m]).size > 1:
            r = test("chi2", x[m], y[m], min_n=2)
            stat += r.statistic
            dof += r.details["dof"]
    assert f.statistic == pytest.approx(stat, rel=1e-12)
    assert f.details["dof"] == dof


def test_many_traits_in_one_pass_equal_pair_by_pair():
    rng = np.random.default_rng(5)
    n = 500
    z = rng.integers(0, 6, n).astype(float)[:, None]
    y = z[:, 0] + rng.normal(size=n)                       # continuous attribute
    xs = [np.clip(np.round(z[:, 0] / 2 + rng.normal(size=n)), 0, 4)[:, None] for _ in range(4)]
    many = stratified.kci_given_many(xs, y[:, None], z)
    for x, m in zip(xs, many):
        one = stratified.kci_given(x, y[:, None], z)
        assert m.pvalue == pytest.approx(one.pvalue, rel=1e-12)
    rmany = stratified.rcit_given_many(xs, y[:, None], z, seed=3)
    for x, m in zip(xs, rmany):
        assert m.pvalue == pytest.approx(stratified.rcit_given(x, y[:, None], z, seed=3).pvalue, rel=1e-12)


def test_determinism_under_a_seed():
    x, y, z = triple("cc", 300, 7)
    assert test_given("rcit", x, y, z, seed=4).pvalue == test_given("rcit", x, y, z, seed=4).pvalue
    assert test_given("kci", x, y, z).pvalue == test_given("kci", x, y, z).pvalue


# --------------------------------------------------------------------------- calibration
def _rate(name, kind, n, reps, dependent=False, strength=1.0, continuous_z=False, backend="fast"):
    k = 0
    for r in range(reps):
        x, y, z = triple(kind, n, 5000 + r + (777 if dependent else 0), dependent, strength)
        if continuous_z:
            rng = np.random.default_rng(r)
            z = rng.normal(size=n)
            e = rng.normal(size=n) * (strength if dependent else 0.0)   # shared cause beyond Z
            x = np.sin(z) + 0.7 * rng.normal(size=n) + e
            y = z ** 2 / 2 + 0.7 * rng.normal(size=n) + e
        k += test_given(name, x, y, z, seed=r, backend=backend).pvalue < ALPHA
    return k


@pytest.mark.slow
@pytest.mark.parametrize("name,kind", [("kci", "cc"), ("kci", "dc"), ("rcit", "cc"), ("rcit", "dc"),
                                       ("chi2", "dd"), ("g2", "dd")])
def test_type_one_error_given_discrete_z_is_alpha(name, kind):
    # the contingency tests need expected counts of ~10 per cell (8 strata × 4 × 3 cells): at
    # n = 300 (~3 per cell) G² is liberal (measured 29/150 rejections, chi2 15/150)
    reps, n = 150, (1000 if kind == "dd" else 300)
    k = _rate(name, kind, n, reps)
    assert binomtest(k, reps, ALPHA).pvalue > 1e-3, f"{name} {kind}: {k}/{reps} rejections under CI"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["kci", "rcit"])
def test_type_one_error_given_continuous_z_is_alpha(name):
    # continuous Z goes through personax.independence.given.continuous_given (causal-learn today)
    reps = 60
    k = _rate(name, "cc", 150, reps, continuous_z=True)
    assert binomtest(k, reps, ALPHA).pvalue > 1e-3, f"{name} continuous z: {k}/{reps} rejections under CI"


@pytest.mark.parametrize("name,kind", [("kci", "cc"), ("rcit", "cc"), ("kci", "dc"), ("chi2", "dd"),
                                       ("g2", "dd")])
def test_power_under_planted_conditional_dependence(name, kind):
    reps = 20
    k = _rate(name, kind, 400, reps, dependent=True, strength=0.8)
    assert k >= 16, f"{name} {kind}: only {k}/{reps} detections of a planted conditional dependence"


def test_power_given_continuous_z():
    k = _rate("kci", "cc", 150, 8, dependent=True, strength=0.8, continuous_z=True)
    assert k >= 7


def test_marginal_dependence_through_z_is_not_conditional_dependence():
    # x and y are strongly dependent marginally, only through Z: the marginal test rejects,
    # the conditional one (mostly) does not
    from personax.independence import test

    x, y, z = triple("cc", 600, 99)
    assert test("kci", x, y).pvalue < 1e-3
    assert test_given("kci", x, y, z).pvalue > ALPHA


# --------------------------------------------------------------------------- errors
def test_errors_are_clear():
    x, y, z = triple("cc", 100, 0)
    with pytest.raises(ParameterError, match="no conditional form"):
        test_given("hsic_gamma", x, y, z)
    with pytest.raises(ParameterError, match="unknown option"):
        test_given("kci", x, y, z, width=2)
    with pytest.raises(ParameterError, match="backend"):
        test_given("kci", x, y, z, backend="slow")
    with pytest.raises(IndependenceTestError, match="rows"):
        test_given("kci", x, y, z[:50])
    with pytest.raises(IndependenceTestError, match="distinct rows"):
        test_given("chi2", np.round(x), np.round(y), np.random.default_rng(0).normal(size=100), max_levels=50)
    with pytest.raises(IndependenceTestError, match="constant"):
        test_given("kci", np.ones(100), y, z)
    xn = x.copy()
    xn[:95] = np.nan
    with pytest.raises(IndependenceTestError):
        test_given("kci", xn, y, z)
