"""Conditional RCIT / RCoT (random Fourier features) and Fisher-z, single and batched."""

from __future__ import annotations

import hashlib
import math
from typing import Any, Sequence

import numpy as np

from personax.errors import ParameterError
from personax.independence.conditional.kci import (
    Triple,
    _as_variables,
    _check_triples,
    _prepared_groups,
    _triple_problem,
)
from personax.independence.conditional.limits import BACKEND
from personax.independence.fast import median_bandwidth
from personax.independence.nulls import hbe_sf
from personax.independence.prepare import DEFAULT_MIN_N
from personax.independence.result import IndependenceTestError, TestResult

# --------------------------------------------------------------------------- RCIT / RCoT

def draw_fourier_conditional(seed: int, dx: int, dy: int, dz: int, num_features: int = 5,
                             num_features_z: int = 100) -> dict[str, np.ndarray]:
    """Unit-bandwidth random Fourier parameters in causal-learn's RCIT draw order (z, x, y)."""
    rs = np.random.RandomState(int(seed))
    wz = rs.normal(size=(num_features_z, dz))
    bz = 2 * np.pi * rs.uniform(size=(num_features_z, 1))
    wx = rs.normal(size=(num_features, dx))
    bx = 2 * np.pi * rs.uniform(size=(num_features, 1))
    wy = rs.normal(size=(num_features, dy))
    by = 2 * np.pi * rs.uniform(size=(num_features, 1))
    return {"wz": wz, "bz": bz, "wx": wx, "bx": bx, "wy": wy, "by": by}


def _std_cols(a: np.ndarray) -> np.ndarray:
    return (a - a.mean(0)) / a.std(0, ddof=1)


def _features(a: np.ndarray, w: np.ndarray, b: np.ndarray, sigma: float) -> np.ndarray:
    f = (np.sqrt(2) * np.cos((1 / sigma) * w @ a.T + np.tile(b, (1, a.shape[0])))).T
    with np.errstate(invalid="ignore", divide="ignore"):
        f = (f - f.mean(axis=0)) / f.std(axis=0, ddof=1)
    if not np.isfinite(f).all():
        raise IndependenceTestError(
            "a random Fourier feature is constant on these rows (too few distinct values for the drawn "
            "frequencies): RCIT is undefined; use another seed or KCI")
    return f


def rcit_conditional(x: np.ndarray, y: np.ndarray, z: np.ndarray, *, seed: int = 0, num_features: int = 5,
                     num_features_z: int = 100, rcot: bool = False, cache: dict | None = None) -> TestResult:
    """Conditional RCIT (or RCoT) of x ⫫ y | z on cleaned arrays, seeded (causal-learn ``RCIT``).

    Parameters
    ----------
    x, y, z : ndarray (n, d)
    seed : int
        Seeds the random Fourier features (``numpy.random.RandomState(seed)``).
    num_features, num_features_z : int
        Features for x and y (causal-learn ``num_f2`` = 5) and for z (``num_f`` = 100).
    rcot : bool
        RCoT (y not augmented with z) instead of RCIT (causal-learn's default).
    cache : dict, optional
        Reuse the part that depends only on (z, seed) — the 100 features of z and their
        inverse covariance — across calls with the same z and seed (a batch with one seed
        per conditioning set, as PC uses).  Results are identical with or without it.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=(500, 1))
    >>> x, y = z + 0.5 * rng.normal(size=(500, 1)), z + 0.5 * rng.normal(size=(500, 1))
    >>> rcit_conditional(x, y, z, seed=1).pvalue > 0.01
    True
    """
    n = x.shape[0]
    xs, ys, zs = _std_cols(x), _std_cols(y), _std_cols(z)
    if not rcot:
        ys = np.column_stack([ys, zs])
    draw = draw_fourier_conditional(seed, xs.shape[1], ys.shape[1], zs.shape[1], num_features, num_features_z)
    key = None
    if cache is not None:
        key = (int(seed), zs.shape, num_features_z, hashlib.blake2b(np.ascontiguousarray(zs).tobytes(),
                                                                    digest_size=16).hexdigest())
    if key is not None and key in cache:
        sz, fz, i_czz, z_i = cache[key]
    else:
        sz = median_bandwidth(zs)
        fz = _features(zs, draw["wz"], draw["bz"], sz)
        # the same operations, in the same order, as causal-learn: the covariance of 100 features
        # of a low-dimensional z is nearly singular, so the rounding of each step is amplified
        czz = np.cov(fz, rowvar=False) + np.eye(fz.shape[1]) * 1e-10
        try:
            chol = np.linalg.cholesky(czz)
        except np.linalg.LinAlgError as exc:
            raise IndependenceTestError(f"rcit: the covariance of the features of z is singular ({exc}); "
                                        "use more rows or fewer conditioning variables") from exc
        i_czz = np.linalg.inv(chol).T.dot(np.linalg.inv(chol))
        z_i = fz @ i_czz
        if key is not None:
            cache[key] = (sz, fz, i_czz, z_i)
    sx, sy = median_bandwidth(xs), median_bandwidth(ys)
    fx = _features(xs, draw["wx"], draw["bx"], sx)
    fy = _features(ys, draw["wy"], draw["by"], sy)
    m = n - 1
    cxy = fx.T @ fy / m
    cxz = fx.T @ fz / m
    czy = fz.T @ fy / m
    res_x = fx - z_i @ cxz.T
    res_y = fy - z_i @ czy
    cxy_z = cxy - cxz @ i_czz @ czy
    stat = float(n * np.sum(cxy_z ** 2))
    prod = np.array([res_x[:, i] * res_y[:, j] for i in range(res_x.shape[1]) for j in range(res_y.shape[1])]).T
    cov = 1 / n * prod.T @ prod
    eig = np.linalg.eigvalsh(cov)
    eig = eig[eig > 0]
    p = hbe_sf(eig, stat)
    name = "RCoT" if rcot else "RCIT"
    return TestResult("rcit", stat, p, f"conditional {name} ({num_features}/{num_features_z} random Fourier "
                      "features, HBE null)", BACKEND, n,
                      {"sigma_x": sx, "sigma_y": sy, "sigma_z": sz, "num_features": num_features,
                       "num_features_z": num_features_z, "rcot": bool(rcot), "seed": int(seed), "approx": "hbe",
                       "n_weights": int(eig.size), "d_given": int(z.shape[1]), "conditional": True})


def rcit_batch(variables, triples: Sequence[Triple], *, seeds: int | Sequence[int] = 0, num_features: int = 5,
               num_features_z: int = 100, rcot: bool = False, min_n: int = DEFAULT_MIN_N, clean: bool = True,
               errors: str = "raise") -> list[TestResult]:
    """RCIT/RCoT for many triples (``S = ()``: causal-learn's unconditional RIT, fast.rcit).

    ``seeds`` is one seed for every triple or one per triple.  Other parameters as
    :func:`kci_batch`.
    """
    from personax.independence import fast

    zcache: dict = {}
    return _simple_batch(variables, triples, seeds, "rcit", min_n, clean, errors, num_features_z,
                         lambda x, y, z, sd: rcit_conditional(x, y, z, seed=sd, num_features=num_features,
                                                             num_features_z=num_features_z, rcot=rcot,
                                                             cache=zcache),
                         lambda x, y, sd: fast.rcit(x, y, seed=sd, num_features=num_features))


def fisherz(x: np.ndarray, y: np.ndarray, z: np.ndarray | None = None) -> TestResult:
    """Fisher-z partial-correlation test (causal-learn ``FisherZ``) on cleaned 1-D x, y."""
    from scipy.stats import norm

    if x.shape[1] != 1 or y.shape[1] != 1:
        raise IndependenceTestError("fisherz takes one column for x and one for y")
    n = x.shape[0]
    cols = [x, y] + ([z] if z is not None and z.shape[1] else [])
    data = np.hstack(cols)
    corr = np.corrcoef(data.T)
    try:
        inv = np.linalg.inv(corr)
    except np.linalg.LinAlgError as exc:
        raise IndependenceTestError("fisherz: singular correlation matrix; drop duplicated or collinear "
                                    "variables") from exc
    r = -inv[0, 1] / math.sqrt(abs(inv[0, 0] * inv[1, 1]))
    if abs(r) >= 1:
        r = (1.0 - np.finfo(float).eps) * np.sign(r)
    dz = data.shape[1] - 2
    stat = math.sqrt(n - dz - 3) * abs(0.5 * math.log((1 + r) / (1 - r)))
    p = float(2 * (1 - norm.cdf(stat)))
    return TestResult("fisherz", stat, p, "Fisher-z partial correlation (causal-learn FisherZ)", BACKEND, n,
                      {"partial_r": float(r), "d_given": dz, "conditional": dz > 0})


def fisherz_batch(variables, triples: Sequence[Triple], *, seeds: int | Sequence[int] = 0,
                  min_n: int = DEFAULT_MIN_N, clean: bool = True, errors: str = "raise") -> list[TestResult]:
    """Fisher-z for many triples (one correlation matrix per set of complete rows)."""
    return _simple_batch(variables, triples, seeds, "fisherz", min_n, clean, errors, 100,
                         lambda x, y, z, sd: fisherz(x, y, z), lambda x, y, sd: fisherz(x, y, None))


def _simple_batch(variables, triples, seeds, test, min_n, clean, errors, num_features_z, cond_fn, uncond_fn):
    if errors not in ("raise", "return"):
        raise ParameterError(f"errors={errors!r}: use 'raise' or 'return'")
    vars_ = _as_variables(variables)
    trip = _check_triples(triples, set(vars_))
    if isinstance(seeds, (int, np.integer)):
        seed_list = [int(seeds)] * len(trip)
    else:
        seed_list = [int(s) for s in seeds]
        if len(seed_list) != len(trip):
            raise ParameterError(f"seeds has {len(seed_list)} entries for {len(trip)} triples",
                                 hint="pass one seed, or one per triple")
    results: list[Any] = [None] * len(trip)
    for items, data, m, n_all in _prepared_groups(vars_, trip, min_n):
        for i, (x, y, s) in items:
            try:
                if clean:
                    problem = _triple_problem(test, x, y, s, data, m, n_all, min_n, num_features_z=num_features_z)
                    if problem is not None:
                        raise problem
                if s:
                    results[i] = cond_fn(data[x], data[y], np.hstack([data[v] for v in s]), seed_list[i])
                else:
                    results[i] = uncond_fn(data[x], data[y], seed_list[i])
            except (IndependenceTestError, ParameterError, FloatingPointError) as exc:
                err = exc if not isinstance(exc, FloatingPointError) else IndependenceTestError(f"{test}: {exc}")
                if errors == "raise":
                    raise err from (None if err is exc else exc)
                results[i] = err
    return results
