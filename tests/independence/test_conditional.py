"""Conditional tests X ⫫ Y | Z: agreement with causal-learn, calibration, power, batches, bad input.

Agreement: KCI p-values within 1e-6 relative of ``causallearn.utils.cit``'s KCI (``KCI_CInd``
defaults) on data made here, n ≤ 1,000 and |S| = 0..3, for both computations (``dense``,
the library's algorithm, and ``auto``/``lowrank``, pivoted-Cholesky factors to trace tolerance
1e-12); an absolute floor of 1e-14 because the library's 1 − cdf cannot resolve smaller p.
RCIT/RCoT: identical features under the same seed, so identical p-values (to rounding) and
decisions.  Fisher-z: causal-learn's formula.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from personax.errors import DataError, ParameterError
from personax.independence import CONDITIONAL_TESTS, IndependenceTestError, conditional as C, get_spec, test, test_batch

REL, ABS = 1e-6, 1e-14


def close(a: float, b: float, rel: float = REL) -> bool:
    return abs(a - b) <= rel * abs(b) + ABS


def chain_data(n: int, dz: int, seed: int, dependent: bool):
    """z (n, dz) → x, y nonlinear; with ``dependent`` y also depends on x (a direct edge)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, dz))
    x = np.sin(z.sum(1, keepdims=True)) + 0.6 * rng.normal(size=(n, 1))
    y = np.tanh(z[:, :1]) ** 2 + 0.6 * rng.normal(size=(n, 1)) + (0.8 * x if dependent else 0.0)
    return x, y, z


@pytest.mark.parametrize("n", [150, 600])
@pytest.mark.parametrize("dz", [1, 2, 3])
@pytest.mark.parametrize("dependent", [False, True])
def test_kci_matches_causallearn(n, dz, dependent):
    from causallearn.utils.cit import CIT

    x, y, z = chain_data(n, dz, seed=10 * n + dz, dependent=dependent)
    data = np.hstack([x, y, z])
    ref = float(CIT(data, "kci")(0, 1, list(range(2, 2 + dz))))
    for method in ("dense", "auto", "lowrank"):
        f = test("kci", x, y, given=z, method=method)
        assert close(f.pvalue, ref), (method, f.pvalue, ref)
        assert f.details["conditional"] and f.details["d_given"] == dz
        assert not f.details["rank_capped"]
    assert f.pvalue < 0.01 if dependent else f.pvalue > 0.001


@pytest.mark.slow
def test_kci_matches_causallearn_at_1000_rows():
    from causallearn.utils.KCI.KCI import KCI_CInd

    for dz in (1, 2, 3):
        x, y, z = chain_data(1000, dz, seed=dz, dependent=False)
        ref, stat = KCI_CInd().compute_pvalue(x.copy(), y.copy(), z.copy())
        f = test("kci", x, y, given=z)
        assert close(f.pvalue, ref) and f.statistic == pytest.approx(stat, rel=1e-7)


def test_kci_unconditional_triple_is_kci_uind():
    from causallearn.utils.cit import CIT

    x, y, _ = chain_data(300, 1, seed=3, dependent=True)
    ref = float(CIT(np.hstack([x, y]), "kci")(0, 1, []))
    r = test_batch("kci", {"x": x, "y": y}, [("x", "y", ())])[0]
    assert close(r.pvalue, ref)


def test_kci_is_not_symmetric_like_causallearn():
    x, y, z = chain_data(300, 1, seed=4, dependent=False)
    a = test("kci", x, y, given=z).pvalue
    b = test("kci", y, x, given=z).pvalue
    ref_b = test("kci", y, x, given=z, backend="reference").pvalue
    assert close(b, ref_b) and abs(a - b) > 1e-6  # x is augmented with z/2, y is not


def test_capped_rank_is_flagged_and_close():
    x, y, z = chain_data(800, 2, seed=5, dependent=False)
    exact = test("kci", x, y, given=z)
    capped = test("kci", x, y, given=z, max_rank=120)
    assert capped.details["rank_capped"] and not exact.details["rank_capped"]
    assert capped.details["rank_x"] <= 120 and capped.details["rank_z"] <= 120
    assert abs(capped.pvalue - exact.pvalue) < 0.25


def test_discrete_conditioning_set_is_exact_in_low_rank():
    # gender (0/1) and a 4-level ordinal code: the factor of z has one column per distinct row
    rng = np.random.default_rng(6)
    n = 700
    z = np.column_stack([rng.integers(0, 2, n), rng.integers(0, 4, n)]).astype(float)
    x = z[:, :1] + 0.3 * z[:, 1:] + rng.normal(size=(n, 1))
    y = z[:, :1] - 0.2 * z[:, 1:] + rng.normal(size=(n, 1))
    f = test("kci", x, y, given=z)
    r = test("kci", x, y, given=z, backend="reference")
    assert close(f.pvalue, r.pvalue)
    assert f.details["rank_z"] == 8  # 2 × 4 strata


@pytest.mark.parametrize("rcot", [False, True])
def test_rcit_identical_to_causallearn_across_seeds(rcot):
    x, y, z = chain_data(400, 2, seed=7, dependent=False)
    ps = []
    for seed in range(4):
        f = test("rcit", x, y, given=z, seed=seed, rcot=rcot)
        r = test("rcit", x, y, given=z, seed=seed, rcot=rcot, backend="reference")
        assert close(f.pvalue, r.pvalue, rel=1e-9) and f.statistic == pytest.approx(r.statistic, rel=1e-9)
        assert (f.pvalue < 0.05) == (r.pvalue < 0.05)
        ps.append(f.pvalue)
    assert len(set(np.round(ps, 10))) > 1  # the seed changes the features


def test_fisherz_matches_causallearn():
    x, y, z = chain_data(500, 3, seed=8, dependent=True)
    for k in (0, 1, 3):
        g = z[:, :k] if k else None
        f = test("fisherz", x, y, given=g) if k else get_spec("fisherz", conditional=True).run(x, y)
        r = get_spec("fisherz", conditional=True).run(x, y, g, backend="reference")
        assert close(f.pvalue, r.pvalue, rel=1e-10)


def _calibration(name: str, dz: int, reps: int, n: int, **opts):
    rejections, hits = 0, 0
    for r in range(reps):
        x, y, z = chain_data(n, dz, seed=1000 + r, dependent=False)
        rejections += test(name, x, y, given=z, seed=r, **opts).pvalue < 0.05
        x, y, z = chain_data(n, dz, seed=5000 + r, dependent=True)
        hits += test(name, x, y, given=z, seed=r, **opts).pvalue < 0.05
    return rejections, hits


@pytest.mark.slow
@pytest.mark.parametrize("name", ["kci", "rcit"])
def test_type_one_error_near_alpha_and_power(name):
    """Type-I error near α under X ⫫ Y | Z (continuous Z), power under a planted edge."""
    reps = 80
    rejections, hits = _calibration(name, 1, reps, 200)
    assert binomtest(rejections, reps, 0.05).pvalue > 0.001, rejections
    assert hits / reps > 0.8, hits


@pytest.mark.slow
def test_type_one_error_with_discrete_given():
    """Calibration given a discrete (stratum) Z: X and Y depend on Z only."""
    reps, n = 80, 250
    rejections = 0
    for r in range(reps):
        rng = np.random.default_rng(300 + r)
        g = rng.integers(0, 3, size=(n, 1)).astype(float)
        x = g + rng.normal(size=(n, 1))
        y = -g + rng.normal(size=(n, 1))
        rejections += test("kci", x, y, given=g).pvalue < 0.05
    assert binomtest(rejections, reps, 0.05).pvalue > 0.001, rejections


def test_batch_equals_single_tests_and_groups_rows():
    rng = np.random.default_rng(9)
    n = 400
    a = rng.normal(size=n)
    b = np.tanh(a) + 0.5 * rng.normal(size=n)
    c = b ** 2 + 0.5 * rng.normal(size=n)
    d = rng.normal(size=n)
    d_missing = d.copy()
    d_missing[:40] = np.nan
    variables = {"a": a, "b": b, "c": c, "d": d_missing}
    triples = [("a", "c", ()), ("a", "c", ("b",)), ("b", "d", ("a",)), ("a", "c", ("b", "d")), ("c", "d", ("a", "b"))]
    batch = test_batch("kci", variables, triples)
    for (x, y, s), r in zip(triples, batch):
        g = np.column_stack([variables[v] for v in s]) if s else None
        single = test("kci", variables[x], variables[y], given=g)
        assert close(r.pvalue, single.pvalue, rel=1e-9), (x, y, s)
        assert r.n == (n - 40 if "d" in (x, y, *s) else n)
    seeds = [1, 2, 3, 4, 5]
    rb = test_batch("rcit", variables, triples, seed=seeds)
    for (x, y, s), r, sd in zip(triples, rb, seeds):
        g = np.column_stack([variables[v] for v in s]) if s else None
        assert close(r.pvalue, test("rcit", variables[x], variables[y], given=g, seed=sd).pvalue, rel=1e-9)


def test_batch_through_the_spec():
    spec = CONDITIONAL_TESTS["kci"]
    assert spec.conditional and spec.batch is not None and "max_rank" in spec.conditional_options
    x, y, z = chain_data(200, 1, seed=11, dependent=False)
    r = spec.run_batch(np.hstack([x, y, z]), [(0, 1, (2,))])[0]
    assert close(r.pvalue, spec.run(x, y, z).pvalue, rel=1e-12)
    assert not get_spec("hsic_gamma").conditional
    with pytest.warns(FutureWarning, match="'hsic' is deprecated"):
        assert get_spec("hsic") is get_spec("hsic_gamma")


def test_bad_input_errors_name_the_problem():
    x, y, z = chain_data(60, 1, seed=12, dependent=False)
    with pytest.raises(IndependenceTestError, match="conditioning column") as e:
        test("kci", x, y, given=np.column_stack([z, np.ones(60)]))
    assert isinstance(e.value, DataError)
    with pytest.raises(ParameterError, match="needs at least 70 complete rows"):
        test("kci", x, y, given=np.random.default_rng(0).normal(size=(60, 6)))
    with pytest.raises(ParameterError, match="at least 101"):
        test("rcit", x, y, given=z)  # 100 features of z need more than 100 rows
    zn = z.copy()
    zn[:55] = np.nan
    with pytest.raises(IndependenceTestError, match="complete rows"):
        test("kci", x, y, given=zn)
    with pytest.raises(IndependenceTestError, match="constant"):
        test("kci", np.ones(60), y, given=z)
    with pytest.raises(ParameterError, match="no conditioning set"):
        test("hsic_gamma", x, y, given=z)
    with pytest.raises(ValueError, match="apply only with given"):
        test("kci", x, y, max_rank=10)
    with pytest.raises(ParameterError, match="method"):
        test("kci", x, y, given=z, method="fast")
    with pytest.raises(ParameterError, match="not among the variables"):
        test_batch("kci", {"x": x, "y": y}, [("x", "q", ())])
    res = test_batch("kci", {"x": x, "y": y, "c": np.ones(60)}, [("x", "y", ("c",)), ("x", "y", ())], errors="return")
    assert isinstance(res[0], IndependenceTestError) and res[1].pvalue > 0


def test_pivoted_cholesky_is_exact_on_few_distinct_rows_and_bounded():
    import torch

    rng = np.random.default_rng(13)
    xd = torch.as_tensor(rng.integers(0, 5, size=(2, 300, 2)).astype(float), dtype=torch.float64)
    L, ranks, resid = C.pivoted_cholesky(xd, 0.7, tol=1e-12, max_rank=300)
    for b in range(2):
        K = torch.exp(-0.7 * ((xd[b][:, None] - xd[b][None]) ** 2).sum(-1))
        assert float((K - L[b] @ L[b].T).abs().max()) < 1e-10
    assert ranks.tolist() == [25, 25] and float(resid.max()) < 1e-9
    xc = torch.as_tensor(rng.normal(size=(1, 400, 2)), dtype=torch.float64)
    L, ranks, resid = C.pivoted_cholesky(xc, 3.0, tol=1e-12, max_rank=50)
    K = torch.exp(-3.0 * ((xc[0][:, None] - xc[0][None]) ** 2).sum(-1))
    E = K - L[0] @ L[0].T
    assert int(ranks[0]) == 50 and float(torch.trace(E)) == pytest.approx(float(resid[0]), rel=1e-8)
    assert float(torch.linalg.eigvalsh(E).min()) > -1e-10  # the residual is positive semi-definite


def test_pivoted_cholesky_one_pivot_per_block_is_the_textbook_greedy_factor():
    """block=1, cand_factor=1: each step takes the row of largest residual diagonal, as LAPACK's
    complete-pivoting Cholesky of the dense Gram matrix does; the factors agree column by column."""
    import torch
    from scipy.linalg.lapack import dpstrf

    rng = np.random.default_rng(5)
    x = torch.as_tensor(rng.normal(size=(1, 250, 3)), dtype=torch.float64)
    r = 40
    L, ranks, _ = C.pivoted_cholesky(x, 0.8, tol=0.0, max_rank=r, block=1, cand_factor=1)
    K = torch.exp(-0.8 * ((x[0][:, None] - x[0][None]) ** 2).sum(-1)).numpy()
    fac, piv, _, _ = dpstrf(K.copy(), lower=1)
    ref = np.zeros((250, r))
    ref[piv - 1] = np.tril(fac)[:, :r]
    assert int(ranks[0]) == r
    assert np.abs(L[0].numpy() - ref).max() < 1e-10
    # the blocked default picks different pivots but must approximate K at least as well per column
    Lb, rb, resb = C.pivoted_cholesky(x, 0.8, tol=0.0, max_rank=r)
    assert int(rb[0]) == r and float(resb[0]) <= 1.5 * float(np.trace(K - ref @ ref.T))
