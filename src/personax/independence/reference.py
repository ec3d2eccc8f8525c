"""The ``reference`` backend: the well-kept libraries, called as documented.

* **KCI** — causal-learn ``KCI_UInd()`` with its defaults (what ``CIT(data, "kci")`` runs
  for an empty conditioning set); dense n×n matrices, ≈ 8 s and ≈ 3 GB at n ≈ 9,000.
* **RCIT** — causal-learn ``RIT()`` (what ``CIT(data, "rcit")`` runs for an empty
  conditioning set).  It draws from NumPy's *global* RNG, so the call is wrapped in
  :func:`seeded_global_numpy`, which saves the global state, seeds it with ``seed``, and
  restores it afterwards: results are reproducible and the caller's global stream is left
  untouched (not thread-safe, like the library itself).  Its Lindsay–Pilla–Basak call
  (momentchi2 ``lpb4``) uses ``np.math``, removed in NumPy 2, so the library's own
  ``except`` branch evaluates the Hall–Buckley–Eagleson approximation instead; the fast
  backend therefore uses HBE too.
* **HSIC** — the authors' Gamma-HSIC (``conditional-independence`` ``hsic_test``, not
  installable here) re-implemented densely from its formula (``official-code.md`` §2.3)
  in float64, plus hyppo's ``Hsic().test(x, y, auto=True)`` (median-heuristic Gaussian
  kernel, chi-square null approximation, ``workers=1``) on the **z-scored** inputs,
  reported in ``details["hyppo_pvalue"]``.  hyppo takes the kernel width from x's median
  distance and uses it for y too, so on raw units (cm against a 1–3 score) its answer
  depends on the units; z-scoring first makes it unit-free.  hyppo's kernel and null
  differ from the Gamma test, so it is compared by decisions, not p-values.
* **HSIC (hyppo)** — ``hsic_hyppo``: the same hyppo call as a test of its own.
* **Conditional KCI / RCIT / Fisher-z** — causal-learn ``KCI_CInd()``, ``RCIT()`` (seeded
  and restored global RNG, as RIT) and ``CIT(data, "fisherz")`` with their defaults (what
  ``CIT(data, method)`` runs for a non-empty conditioning set).
* **χ² / G²** — causal-learn ``CIT(data, "chisq" | "gsq")`` for the p-value, with
  pingouin ``chi2_independence(correction=False)`` ("pearson" and "log-likelihood" rows)
  supplying the statistic and a cross-check p-value in ``details``.

Inputs arrive cleaned by :mod:`personax.independence.prepare` (same rows as ``fast``).
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Iterator

import numpy as np
from scipy import stats

from personax.independence.fast import prepare_hsic, zscore
from personax.independence.result import IndependenceTestError, TestResult

BACKEND = "reference"


@contextlib.contextmanager
def seeded_global_numpy(seed: int) -> Iterator[None]:
    """Seed NumPy's global RNG for the duration of the block, then restore its previous state."""
    state = np.random.get_state()
    np.random.seed(int(seed))
    try:
        yield
    finally:
        np.random.set_state(state)


def kci(x: np.ndarray, y: np.ndarray) -> TestResult:
    """causal-learn unconditional KCI with library defaults (Gamma approximation)."""
    from causallearn.utils.KCI.KCI import KCI_UInd

    p, stat = KCI_UInd().compute_pvalue(x.copy(), y.copy())
    if not np.isfinite(p):
        raise IndependenceTestError(f"causal-learn KCI returned p={p!r} (degenerate kernel)")
    return TestResult("kci", stat, p, "causal-learn KCI_UInd (defaults: Gaussian, empirical width, Gamma)",
                      BACKEND, x.shape[0], {"library": "causal-learn"})


def rcit(x: np.ndarray, y: np.ndarray, *, seed: int = 0) -> TestResult:
    """causal-learn RIT (unconditional RCIT) under a seeded, restored global NumPy RNG."""
    from causallearn.utils.RCIT.RCIT import RIT

    with seeded_global_numpy(seed), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p, stat = RIT().compute_pvalue(x.copy(), y.copy())
    if not np.isfinite(p):
        raise IndependenceTestError(f"causal-learn RCIT returned p={p!r}")
    return TestResult("rcit", stat, p, "causal-learn RIT (5 random Fourier features; lpd4 -> HBE fallback)",
                      BACKEND, x.shape[0], {"library": "causal-learn", "seed": int(seed),
                                            "warnings": [str(w.message) for w in caught]})


def kci_conditional(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> TestResult:
    """causal-learn conditional KCI (``KCI_CInd`` defaults: Gaussian kernels, empirical widths, Gamma)."""
    from causallearn.utils.KCI.KCI import KCI_CInd

    p, stat = KCI_CInd().compute_pvalue(x.copy(), y.copy(), z.copy())
    if not np.isfinite(p):
        raise IndependenceTestError(f"causal-learn KCI_CInd returned p={p!r} (degenerate kernel)")
    return TestResult("kci", stat, p, "causal-learn KCI_CInd (defaults: Gaussian, empirical widths, Gamma)",
                      BACKEND, x.shape[0], {"library": "causal-learn", "d_given": int(z.shape[1]), "conditional": True})


def rcit_conditional(x: np.ndarray, y: np.ndarray, z: np.ndarray, *, seed: int = 0, rcot: bool = False) -> TestResult:
    """causal-learn conditional RCIT (``RCIT(rcit=not rcot)``) under a seeded, restored global RNG."""
    from causallearn.utils.RCIT.RCIT import RCIT

    with seeded_global_numpy(seed), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p, stat = RCIT(rcit=not rcot).compute_pvalue(x.copy(), y.copy(), z.copy())
    if not np.isfinite(p):
        raise IndependenceTestError(f"causal-learn RCIT returned p={p!r}")
    return TestResult("rcit", stat, p, f"causal-learn {'RCoT' if rcot else 'RCIT'} (100/5 random Fourier features)",
                      BACKEND, x.shape[0], {"library": "causal-learn", "seed": int(seed), "rcot": bool(rcot),
                                            "d_given": int(z.shape[1]), "conditional": True,
                                            "warnings": [str(w.message) for w in caught]})


def fisherz(x: np.ndarray, y: np.ndarray, z: np.ndarray | None = None) -> TestResult:
    """causal-learn ``CIT(data, "fisherz")`` on [x, y, z] (1-D x and y)."""
    from causallearn.utils.cit import CIT

    if x.shape[1] != 1 or y.shape[1] != 1:
        raise IndependenceTestError("fisherz takes one column for x and one for y")
    dz = 0 if z is None else z.shape[1]
    data = np.hstack([x, y] + ([z] if dz else []))
    try:
        p = float(CIT(data, "fisherz")(0, 1, list(range(2, 2 + dz))))
    except ValueError as exc:
        raise IndependenceTestError(f"causal-learn fisherz failed: {exc}") from exc
    return TestResult("fisherz", float("nan"), p, "causal-learn FisherZ", BACKEND, x.shape[0],
                      {"library": "causal-learn", "d_given": dz, "conditional": dz > 0})


def gamma_hsic_dense(x: np.ndarray, y: np.ndarray, *, standardize: bool = True,
                     sigma: float = 1 / np.sqrt(2)) -> tuple[float, float, float, float]:
    """Dense Gamma-HSIC (formula of ``official-code.md`` §2.3), float64; returns (stat, p, mean, var)."""
    n = x.shape[0]
    px, c = prepare_hsic(x, standardize=standardize, sigma=sigma)
    py, _ = prepare_hsic(y, standardize=standardize, sigma=sigma)

    def gram(a: np.ndarray) -> np.ndarray:
        sq = ((a[:, None, :] - a[None, :, :]) ** 2).sum(-1)
        return np.exp(-c * sq)

    kx, ky = gram(px), gram(py)
    mux = (kx.sum() - np.trace(kx)) / (n * (n - 1))
    muy = (ky.sum() - np.trace(ky)) / (n * (n - 1))
    def centre(k: np.ndarray) -> np.ndarray:  # HKH by row/column means, O(n^2), in place
        r = k.mean(axis=0)
        k -= r[None, :]
        k -= r[:, None]
        k += r.mean()
        return k

    kxc, kyc = centre(kx), centre(ky)
    prod = kxc * kyc
    stat = prod.sum() / n ** 2
    mean = (1.0 + mux * muy - mux - muy) / n
    coef = 2.0 * (n - 4) * (n - 5) / (n * (n - 1) * (n - 2) * (n - 3))
    b = prod ** 2
    var = coef * (b.sum() - np.trace(b)) / n ** 2
    p = float(stats.gamma.sf(stat, mean ** 2 / var, scale=var / mean))
    return float(stat), p, float(mean), float(var)


def hsic(x: np.ndarray, y: np.ndarray, *, standardize: bool = True, sigma: float = 1 / np.sqrt(2),
         hyppo: bool = True, seed: int = 0) -> TestResult:
    """Dense Gamma-HSIC p-value, with hyppo's chi-square-approximation HSIC as a cross-check."""
    n = x.shape[0]
    if n < 6:
        raise IndependenceTestError(f"Gamma-HSIC needs n >= 6 (its variance has a factor (n-4)(n-5)), got n={n}")
    stat, p, mean, var = gamma_hsic_dense(x, y, standardize=standardize, sigma=sigma)
    details = {"null_mean": mean, "null_var": var, "standardize": standardize, "sigma": sigma,
               "library": "dense numpy Gamma-HSIC (conditional-independence formula)"}
    if hyppo:
        hstat, hp = _hyppo_hsic(x, y, seed)
        details.update({"hyppo_statistic": hstat, "hyppo_pvalue": hp, "hyppo_inputs": "z-scored"})
    mode = "standardised" if standardize else "raw units (parity mode)"
    return TestResult("hsic", stat, p, f"Gamma-HSIC dense reference ({mode}) + hyppo Hsic cross-check",
                      BACKEND, n, details)


def _hyppo_hsic(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[float, float]:
    """hyppo ``Hsic().test`` on z-scored x and y (``auto=True``: chi-square null for n > 20)."""
    from hyppo.independence import Hsic

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        stat, p = Hsic().test(zscore(x), zscore(y), workers=1, auto=True, random_state=int(seed))
    return float(stat), float(p)


def hsic_hyppo(x: np.ndarray, y: np.ndarray, *, seed: int = 0, device: str | None = None) -> TestResult:
    """hyppo's HSIC on z-scored inputs (median-heuristic Gaussian kernel, chi-square null).

    Written in the registry's protocol (``f(x, y, *, seed, device)``; ``device`` is ignored:
    hyppo runs on the CPU), so its :class:`~personax.independence.registry.TestSpec` names
    this function directly: the worked example of adding a test with one spec.
    """
    n = x.shape[0]
    if n < 5:
        raise IndependenceTestError(f"hyppo's Hsic needs n >= 5, got n={n}")
    stat, p = _hyppo_hsic(x, y, seed)
    if not np.isfinite(p):
        raise IndependenceTestError(f"hyppo Hsic returned p={p!r}")
    return TestResult("hsic_hyppo", stat, p, "hyppo Hsic on z-scored data (median-distance Gaussian kernel, "
                      "chi-square approximation)", BACKEND, n,
                      {"library": "hyppo", "inputs": "z-scored", "auto": n > 20, "seed": int(seed)})


def _contingency(name: str, x: np.ndarray, y: np.ndarray, *, max_levels: int = 500) -> TestResult:
    import pandas as pd
    import pingouin
    from causallearn.utils.cit import CIT

    if x.shape[1] != 1 or y.shape[1] != 1:
        raise IndependenceTestError("the reference chi2/g2 take 1-D variables; use backend='fast' for (n, d) data")
    for label, v in (("x", x), ("y", y)):
        k = np.unique(v).size
        if k > max_levels:
            raise IndependenceTestError(
                f"{label} has {k} distinct values (> max_levels={max_levels}): chi2/g2 need discrete data")
    data = np.column_stack([x[:, 0], y[:, 0]])
    p = float(CIT(data, "chisq" if name == "chi2" else "gsq")(0, 1))
    frame = pd.DataFrame({"x": x[:, 0], "y": y[:, 0]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, _, table = pingouin.chi2_independence(frame, "x", "y", correction=False)
    row = table.loc[table["test"] == ("pearson" if name == "chi2" else "log-likelihood")].iloc[0]
    return TestResult(name, float(row["chi2"]), p, f"causal-learn {'chisq' if name == 'chi2' else 'gsq'} "
                      "+ pingouin chi2_independence cross-check", BACKEND, x.shape[0],
                      {"dof": float(row["dof"]), "pingouin_pvalue": float(row["pval"]),
                       "pingouin_statistic": float(row["chi2"]), "library": "causal-learn",
                       "warnings": [str(w.message) for w in caught]})


def chi2(x: np.ndarray, y: np.ndarray, *, max_levels: int = 500) -> TestResult:
    """causal-learn Pearson χ² with a pingouin cross-check."""
    return _contingency("chi2", x, y, max_levels=max_levels)


def g2(x: np.ndarray, y: np.ndarray, *, max_levels: int = 500) -> TestResult:
    """causal-learn G² with a pingouin (log-likelihood) cross-check."""
    return _contingency("g2", x, y, max_levels=max_levels)
