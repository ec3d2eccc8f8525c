"""Conditional independence tests X ⫫ Y | Z: the entry point :func:`test_given` and its dispatch.

Which code answers a conditional test:

=============================  ==========================================  =================
conditioning set Z             ``backend="fast"``                          ``"reference"``
=============================  ==========================================  =================
discrete (≤ ``MAX_STRATA``      :mod:`personax.independence.stratified`:    causal-learn
distinct rows)                  exact stratified group sums                 ``KCI_CInd``,
                                                                            ``RCIT``, ``CIT``
continuous (more distinct rows) :func:`continuous_given` (see below)        same
=============================  ==========================================  =================

:func:`continuous_given` is the **one switch point** for conditional tests given a
continuous Z on the fast backend.  For now it calls causal-learn (dense n×n kernels,
O(n³) time; seconds per test at n = 1,000, minutes at n ≈ 4,000); the fast conditional
KCI/RCIT for continuous data (Level II issue) replaces its body when it lands — nothing
else needs to change.

Cleaning (:func:`clean_triple`) extends the pairwise rules of
:mod:`personax.independence.prepare` to the conditioning set: rows with a missing value in
x, y or any column of z are dropped; a constant x or y is refused; string columns must be
encoded first.  χ²/G² given Z need every conditioning column to be discrete.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from personax.errors import ParameterError
from personax.independence import stratified
from personax.independence.prepare import DEFAULT_MIN_N, as_2d_float, clean_pair
from personax.independence.reference import seeded_global_numpy
from personax.independence.result import IndependenceTestError, TestResult

#: tests with a conditional form, and their options (defaults)
CONDITIONAL_TESTS: dict[str, dict[str, Any]] = {
    "kci": {},
    "rcit": {"num_features": 5},
    "chi2": {"max_levels": 500},
    "g2": {"max_levels": 500},
}
MAX_STRATA = stratified.MAX_STRATA


def clean_triple(x: Any, y: Any, z: Any, *, min_n: int = DEFAULT_MIN_N) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Listwise deletion over x, y and every column of z, then the pairwise guards.

    Returns float64 arrays (m, dx), (m, dy), (m, dz) of the complete rows.

    Raises
    ------
    IndependenceTestError
        Length mismatch, too few complete rows, or a constant x or y.
    """
    xa, ya, za = as_2d_float(x, "x"), as_2d_float(y, "y"), as_2d_float(z, "z (conditioning set)")
    if not (xa.shape[0] == ya.shape[0] == za.shape[0]):
        raise IndependenceTestError(
            f"x, y and z have {xa.shape[0]}, {ya.shape[0]} and {za.shape[0]} rows: pass aligned samples")
    keep = np.isfinite(xa).all(axis=1) & np.isfinite(ya).all(axis=1) & np.isfinite(za).all(axis=1)
    masked = xa.copy()
    masked[~keep] = np.nan   # clean_pair then drops exactly the incomplete rows and applies its guards
    xc, yc = clean_pair(masked, ya, min_n=min_n)
    return xc, yc, za[keep]


def check_options(name: str, options: dict[str, Any]) -> tuple[str, int, dict[str, Any]]:
    """(registry name, min_n, merged options) of a conditional test; ParameterError if it has none."""
    from personax.independence.registry import get_spec

    key = get_spec(name).name
    if key not in CONDITIONAL_TESTS:
        raise ParameterError(f"test {name!r} has no conditional form (X ⫫ Y | Z)",
                             hint=f"use one of {', '.join(CONDITIONAL_TESTS)} with a conditioning set")
    opts = dict(options)
    min_n = int(opts.pop("min_n", DEFAULT_MIN_N))
    unknown = sorted(set(opts) - set(CONDITIONAL_TESTS[key]))
    if unknown:
        raise ParameterError(f"unknown option(s) {unknown} for conditional {key!r}",
                             hint=f"allowed: {', '.join(['min_n', *CONDITIONAL_TESTS[key]])}")
    return key, min_n, {**CONDITIONAL_TESTS[key], **opts}


def test_given(name: str, x: Any, y: Any, z: Any, *, backend: str = "fast", device: str = "auto", seed: int = 0,
               **options: Any) -> TestResult:
    """Run one conditional independence test of X ⫫ Y | Z.

    Parameters
    ----------
    name : {"kci", "rcit", "chi2", "g2"}
        Test (causal-learn's conditional definitions; see :mod:`personax.independence.stratified`).
    x, y : array-like (n,) or (n, d)
    z : array-like (n,) or (n, dz)
        Conditioning set (numbers; encode categories as integer codes first).
    backend : {"fast", "reference"}
        ``"fast"``: exact stratified sums when z has at most ``MAX_STRATA`` distinct rows,
        else :func:`continuous_given`; ``"reference"``: causal-learn.
    device : str
        torch device of the fast KCI passes.
    seed : int
        RCIT's random features (same draws as the reference under the same seed).
    **options
        ``min_n``; ``num_features`` (rcit); ``max_levels`` (chi2, g2).

    Returns
    -------
    TestResult
        ``details["conditional"]`` is True, ``details["strata"]`` the number of distinct
        rows of z on the fast stratified path.

    Raises
    ------
    IndependenceTestError
        Too few complete rows, a constant x or y, too many levels for χ²/G².
    ParameterError
        A test without a conditional form, an unknown option or backend.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> z = rng.integers(0, 3, 500)
    >>> x, y = z + rng.normal(size=500), z + rng.normal(size=500)   # dependent only through z
    >>> bool(test_given("kci", x, y, z).pvalue > 0.01)
    True
    """
    from personax.independence.registry import check_backend
    from personax.utils import make_rng, resolve_device

    key, min_n, opts = check_options(name, options)
    try:
        check_backend(backend)
    except ValueError as exc:
        raise ParameterError(str(exc), hint="backend='fast' or backend='reference'") from exc
    make_rng(seed)
    xa, ya, za = clean_triple(x, y, z, min_n=min_n)
    if key in ("chi2", "g2"):
        k = stratified.n_strata(za)
        if k > opts["max_levels"]:
            raise IndependenceTestError(
                f"the conditioning set has {k} distinct rows (> max_levels={opts['max_levels']}): chi2/g2 "
                "given Z need discrete conditioning variables; use kci/rcit or bin them")
    if backend == "reference":
        return reference_given(key, xa, ya, za, seed=seed, **opts)
    dev = resolve_device(device)
    if stratified.n_strata(za) > MAX_STRATA and key in ("kci", "rcit"):
        return continuous_given(key, xa, ya, za, seed=seed, device=dev, **opts)
    return fast_given(key, xa, ya, za, seed=seed, device=dev, **opts)


test_given.__test__ = False  # a public API name, not a pytest test function


def fast_given(name: str, x: np.ndarray, y: np.ndarray, z: np.ndarray, *, seed: int = 0, device: str = "cpu",
               **opts: Any) -> TestResult:
    """The exact stratified path on cleaned arrays (z discrete)."""
    if name == "kci":
        return stratified.kci_given(x, y, z, device=device)
    if name == "rcit":
        return stratified.rcit_given(x, y, z, seed=seed, num_features=int(opts.get("num_features", 5)))
    return stratified.contingency_given(name, x, y, z, max_levels=int(opts.get("max_levels", 500)))


def continuous_given(name: str, x: np.ndarray, y: np.ndarray, z: np.ndarray, *, seed: int = 0,
                     device: str = "cpu", **opts: Any) -> TestResult:
    """Conditional KCI/RCIT given a continuous Z on the fast backend: the switch point.

    Today this calls causal-learn (:func:`reference_given`) and labels the result with
    ``details["path"] = "reference (no fast continuous-Z path yet)"``.  When the fast
    conditional tests for continuous data land, point this function at them.
    """
    res = reference_given(name, x, y, z, seed=seed, **opts)
    return TestResult(res.test, res.statistic, res.pvalue, res.method, "fast", res.n,
                      {**res.details, "path": "reference (no fast continuous-Z path yet)"})


def reference_given(name: str, x: np.ndarray, y: np.ndarray, z: np.ndarray, *, seed: int = 0,
                    **opts: Any) -> TestResult:
    """causal-learn's conditional tests, called as documented, on cleaned arrays."""
    n = x.shape[0]
    if name == "kci":
        from causallearn.utils.KCI.KCI import KCI_CInd

        p, stat = KCI_CInd().compute_pvalue(x.copy(), y.copy(), z.copy())
        method = "causal-learn KCI_CInd (defaults: Gaussian kernels, empirical width, Gamma null)"
        details: dict[str, Any] = {"library": "causal-learn"}
    elif name == "rcit":
        from causallearn.utils.RCIT.RCIT import RCIT

        if int(opts.get("num_features", 5)) != 5:
            raise IndependenceTestError("the reference conditional RCIT always uses 5 features for x and y; "
                                        "use backend='fast' for other num_features")
        if not (z.std(axis=0, ddof=1) > 0).all():
            raise IndependenceTestError("the conditioning set has a constant column on these rows: conditional "
                                        "RCIT is undefined; drop that column")
        with seeded_global_numpy(seed), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            p, stat = RCIT().compute_pvalue(x.copy(), y.copy(), z.copy())
        method = "causal-learn RCIT (100 features of Z, 5 of x and [y, z]; lpd4 -> HBE fallback)"
        details = {"library": "causal-learn", "seed": int(seed), "warnings": [str(w.message) for w in caught]}
    else:
        from causallearn.utils.cit import CIT

        if x.shape[1] != 1 or y.shape[1] != 1:
            raise IndependenceTestError("the reference chi2/g2 take 1-D x and y; use backend='fast'")
        data = np.column_stack([x[:, 0], y[:, 0], z])
        p = float(CIT(data, "chisq" if name == "chi2" else "gsq")(0, 1, list(range(2, data.shape[1]))))
        stat = float("nan")
        method = f"causal-learn {'chisq' if name == 'chi2' else 'gsq'} given S (sum over strata)"
        details = {"library": "causal-learn"}
    if not np.isfinite(p):
        raise IndependenceTestError(f"causal-learn conditional {name} returned p={p!r}")
    return TestResult(name, float(stat), float(min(max(p, 0.0), 1.0)), method, "reference", n,
                      {**details, "conditional": True})
