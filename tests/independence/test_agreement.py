"""The fast backend reproduces the reference libraries on the same data.

Tolerances: KCI/HSIC/χ²/G² p-values agree to 1e-6 relative.  The libraries compute
p = 1 − CDF, which cannot resolve p-values below ~1e-16, while the fast backend uses the
survival function; hence an absolute floor of 1e-14 in the comparison.  RCIT draws the
same random features under the same seed, so it agrees to the same tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest

from personax.independence import kernels, test
from personax.independence.fast import prepare_kci

from .conftest import make_pair

REL, ABS = 1e-6, 1e-14


def close(a: float, b: float) -> bool:
    return abs(a - b) <= REL * abs(b) + ABS


@pytest.mark.parametrize("kind", ["cc", "cd", "dd"])
@pytest.mark.parametrize("n", [40, 300, 1500])
@pytest.mark.parametrize("dependent", [False, True])
def test_kernel_tests_match_reference(kind, n, dependent):
    x, y = make_pair(kind, n, seed=n + len(kind), dependent=dependent)
    for name, opts in (("kci", {}), ("hsic_gamma", {"hyppo": False}), ("rcit", {})):
        f = test(name, x, y, backend="fast", device="cpu", seed=3, **opts)
        r = test(name, x, y, backend="reference", seed=3, **opts)
        assert f.n == r.n == n
        assert close(f.pvalue, r.pvalue), (name, f.pvalue, r.pvalue)
        assert f.statistic == pytest.approx(r.statistic, rel=1e-9)


@pytest.mark.parametrize("name", ["kci", "hsic_gamma"])
def test_every_strategy_matches_reference(name):
    # each exact strategy (forced) reproduces the library on continuous and few-valued y
    from personax.independence.fast import hsic_from_moments, kci_from_moments, prepare_hsic

    rng = np.random.default_rng(7)
    n = 700
    x = rng.normal(size=n)
    y_cont = np.sin(2 * x) + rng.normal(size=n)
    y_disc = np.round(rng.normal(size=n) + 0.3 * x)
    opts = {"hyppo": False} if name == "hsic_gamma" else {}
    prep = prepare_kci if name == "kci" else prepare_hsic
    for y in (y_cont, y_disc):
        r = test(name, x, y, backend="reference", **opts)
        px, cx = prep(x[:, None])
        py, cy = prep(y[:, None])
        costs = kernels.strategy_costs(n, kernels.n_levels(px), kernels.n_levels(py),
                                       need_sq_cross=name == "hsic_gamma")
        assert len(costs) >= 2
        for strategy in costs:
            m = kernels.pair_moments(px, cx, py, cy, "cpu", strategy=strategy, need_sq_cross=name == "hsic_gamma")
            f = kci_from_moments(m) if name == "kci" else hsic_from_moments(m, standardize=True, sigma=1 / np.sqrt(2))
            assert close(f.pvalue, r.pvalue), (name, strategy, f.pvalue, r.pvalue)


@pytest.mark.parametrize("n", [500, 2000, 2001])
def test_continuous_pairs_take_the_cheap_path_at_every_size(n):
    # no distinct-value threshold: a continuous pair never takes the cubic grouped path
    rng = np.random.default_rng(n)
    x = rng.normal(size=n)
    y = np.sin(x) + 2 * rng.normal(size=n)
    f = test("kci", x, y)
    assert f.details["strategy"] == "continuous×continuous"
    assert close(f.pvalue, test("kci", x, y, backend="reference").pvalue)


def test_three_strategies_give_identical_moments():
    rng = np.random.default_rng(11)
    n = 700
    x = rng.normal(size=(n, 1))
    g = rng.integers(0, 4, size=(n, 1)).astype(float)
    px, cx = prepare_kci(x)
    pg, cg = prepare_kci(g)
    a = kernels.moments_grouped_grouped(kernels.group(px), cx, kernels.group(pg), cg, "cpu")
    b = kernels.moments_continuous_vs_grouped(px, cx, [(kernels.group(pg), cg), (kernels.group(pg), cg)], "cpu")
    c = kernels.moments_continuous_continuous(px, cx, pg, cg, "cpu")
    for m in (b[0], b[1], c):
        for field in ("cross", "sq_cross", "trace_x", "trace_y", "fro2_x", "fro2_y", "offsum_x", "offsum_y"):
            assert getattr(m, field) == pytest.approx(getattr(a, field), rel=1e-10, abs=1e-8), field


@pytest.mark.parametrize("name", ["chi2", "g2"])
@pytest.mark.parametrize("dependent", [False, True])
def test_contingency_tests_match_causallearn_and_pingouin(name, dependent):
    x, y = make_pair("dd", 800, seed=5, dependent=dependent)
    f = test(name, x, y)
    r = test(name, x, y, backend="reference")
    assert close(f.pvalue, r.pvalue)
    assert f.statistic == pytest.approx(r.statistic, rel=1e-10)
    assert close(f.pvalue, r.details["pingouin_pvalue"])
    assert f.details["dof"] == r.details["dof"] == 9


def test_rcit_matches_reference_across_seeds():
    x, y = make_pair("cc", 500, seed=2, dependent=False)
    ps = []
    for seed in range(5):
        f = test("rcit", x, y, seed=seed)
        r = test("rcit", x, y, backend="reference", seed=seed)
        assert close(f.pvalue, r.pvalue)
        assert (f.pvalue < 0.05) == (r.pvalue < 0.05)
        ps.append(f.pvalue)
    assert len(set(np.round(ps, 12))) > 1  # the seed really changes the features


@pytest.mark.slow
def test_hsic_decisions_match_hyppo_on_clear_cases():
    # hyppo uses a median-heuristic kernel and a chi-square null: compare decisions only,
    # on clearly independent / clearly dependent data
    for dependent in (False, True):
        x, y = make_pair("cc", 400, seed=21, dependent=dependent)
        r = test("hsic_gamma", x, y, backend="reference")
        f = test("hsic_gamma", x, y)
        assert (f.pvalue < 0.05) == (r.details["hyppo_pvalue"] < 0.05) == dependent


def test_hsic_raw_parity_mode_differs_from_standardised_and_matches_reference():
    rng = np.random.default_rng(4)
    height = 170 + 10 * rng.normal(size=300)            # cm: the raw kernel is almost a delta kernel
    trait = np.round(2 + (height - 170) / 10 + rng.normal(size=300))
    raw_f = test("hsic_gamma", trait, height, standardize=False)
    raw_r = test("hsic_gamma", trait, height, backend="reference", standardize=False, hyppo=False)
    std_f = test("hsic_gamma", trait, height)
    assert close(raw_f.pvalue, raw_r.pvalue)
    assert std_f.pvalue < raw_f.pvalue  # standardising restores power lost to units


def test_multivariate_inputs_match_reference():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(200, 2))
    y = x[:, :1] * x[:, 1:] + rng.normal(size=(200, 1))
    for name in ("kci", "hsic_gamma"):
        opts = {"hyppo": False} if name == "hsic_gamma" else {}
        assert close(test(name, x, y, **opts).pvalue, test(name, x, y, backend="reference", **opts).pvalue)
