"""Stratified RCIT and χ² / G² given a discrete Z (see :mod:`personax.independence.stratified`,
which re-exports every name)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import special

from personax.independence.fast import median_bandwidth
from personax.independence.nulls import hbe_sf
from personax.independence.result import IndependenceTestError, TestResult
from personax.independence.stratified_base import (
    BACKEND,
    RIDGE,
    _eigh,
    _single_blas,
    group_sums,
    strata_of,
    unique_rows,
)


# --------------------------------------------------------------------------- RCIT
def _standardise(values: np.ndarray, counts: np.ndarray, n: int, what: str) -> np.ndarray:
    mean = counts @ values / n
    std = np.sqrt(counts @ (values - mean) ** 2 / (n - 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (values - mean) / std
    if not np.isfinite(out).all():
        raise IndependenceTestError(
            f"a random Fourier feature of {what} is constant on these rows: RCIT is undefined; "
            "use another seed or KCI")
    return out


def _features(u: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(2.0) * np.cos(np.einsum("kd,fd->kf", u, w) + b.T)


def _zscore_strict(a: np.ndarray, what: str) -> np.ndarray:
    std = a.std(axis=0, ddof=1)
    if not (std > 0).all():
        raise IndependenceTestError(f"{what} has a constant column on these rows: conditional RCIT "
                                    "is undefined; drop that column from the conditioning set")
    return (a - a.mean(axis=0)) / std


@_single_blas
def rcit_given_many(xs: Sequence[np.ndarray], y: np.ndarray, z: np.ndarray, *, seed: int = 0,
                    num_features: int = 5, num_f: int = 100) -> list[TestResult]:
    """Conditional RCIT (causal-learn ``RCIT``) of each x against ``y`` given discrete ``z``."""
    n = y.shape[0]
    F = num_features
    zz = _zscore_strict(z, "the conditioning set")
    zy = _zscore_strict(y, "y")
    st = strata_of(zz)
    yy = np.column_stack([zy, zz])
    rs = np.random.RandomState(int(seed))
    wz, bz = rs.normal(size=(num_f, zz.shape[1])), 2 * np.pi * rs.uniform(size=(num_f, 1))
    draws_x = {}
    sz, sy = median_bandwidth(zz), median_bandwidth(yy)
    fz = _standardise(_features(st.values, wz / sz, bz), st.counts, n, "z")            # (k, num_f)
    czz = fz.T @ (st.counts[:, None] * fz) / (n - 1)
    w, v = _eigh(czz)
    inv_czz = (v / (w + RIDGE)) @ v.T
    out = []
    fy = None
    for x in xs:
        dx = x.shape[1]
        if dx not in draws_x:
            state = np.random.RandomState(int(seed))
            state.normal(size=(num_f, zz.shape[1]))
            state.uniform(size=(num_f, 1))
            wx, bx = state.normal(size=(F, dx)), 2 * np.pi * state.uniform(size=(F, 1))
            wy, by = state.normal(size=(F, yy.shape[1])), 2 * np.pi * state.uniform(size=(F, 1))
            draws_x[dx] = (wx, bx, wy, by)
        wx, bx, wy, by = draws_x[dx]
        if fy is None:
            fy = _standardise(_features(yy, wy / sy, by), np.ones(n), n, "y")            # (n, F)
            sum_y = group_sums(st.index, st.k, fy)
            czy = fz.T @ sum_y / (n - 1)
            ry = fy - (fz @ (inv_czz @ czy))[st.index]
            ryy = (ry[:, :, None] * ry[:, None, :]).reshape(n, F * F)
        zx = _zscore_strict(x, "x")
        sx = median_bandwidth(zx)
        ux, ix, cx = unique_rows(zx)
        fx = _standardise(_features(ux, wx / sx, bx), cx.astype(np.float64), n, "x")      # (kx, F)
        g_key = ix * st.k + st.index
        groups, gi = np.unique(g_key, return_inverse=True)
        gi = gi.reshape(-1)
        gx, gz = groups // st.k, groups % st.k
        gcount = np.bincount(gi, minlength=groups.size).astype(np.float64)
        sum_x = group_sums(gz, st.k, gcount[:, None] * fx[gx])
        czx = fz.T @ sum_x / (n - 1)
        y_by_x = group_sums(ix, ux.shape[0], fy)
        cxy = fx.T @ y_by_x / (n - 1)
        cxy_z = cxy - czx.T @ inv_czz @ czy
        stat = float(n * (cxy_z ** 2).sum())
        rx = fx[gx] - (fz @ (inv_czz @ czx))[gz]                                          # (groups, F)
        s = group_sums(gi, groups.size, ryy)
        a = rx[:, :, None] * rx[:, None, :]
        cov = np.einsum("gik,gjl->ijkl", a, s.reshape(-1, F, F)).reshape(F * F, F * F) / n
        eig = np.linalg.eigvalsh(cov)
        eig = eig[eig > 0]
        try:
            p = hbe_sf(eig, stat)
        except FloatingPointError as exc:
            raise IndependenceTestError(f"rcit given Z: {exc}") from exc
        out.append(TestResult("rcit", stat, p, f"conditional RCIT given discrete Z ({num_f} features of Z, "
                              f"{F} of x and of [y, z]; HBE null)", BACKEND, n,
                              {"sigma_x": sx, "sigma_y": sy, "sigma_z": sz, "seed": int(seed), "strata": st.k,
                               "num_features": F, "num_f": num_f, "approx": "hbe", "conditional": True}))
    return out


def rcit_given(x: np.ndarray, y: np.ndarray, z: np.ndarray, *, seed: int = 0, num_features: int = 5) -> TestResult:
    """Conditional RCIT of x ⫫ y | z for discrete z, seeded (causal-learn ``RCIT`` defaults)."""
    return rcit_given_many([x], y, z, seed=seed, num_features=num_features)[0]


# --------------------------------------------------------------------------- χ² / G²
def _codes(v: np.ndarray) -> tuple[np.ndarray, int]:
    if v.shape[1] == 1:
        u, idx = np.unique(v[:, 0], return_inverse=True)
    else:
        u, idx = np.unique(v, axis=0, return_inverse=True)
    return idx.reshape(-1), int(u.shape[0])


def contingency_given(name: str, x: np.ndarray, y: np.ndarray, z: np.ndarray, *,
                      max_levels: int = 500) -> TestResult:
    """Stratified Pearson X² (``"chi2"``) or G² (``"g2"``) of x ⫫ y | z (sum over strata)."""
    (ix, kx), (iy, ky) = _codes(x), _codes(y)
    for label, k in (("x", kx), ("y", ky)):
        if k > max_levels:
            raise IndependenceTestError(
                f"{label} has {k} distinct values (> max_levels={max_levels}): chi2/g2 need discrete data; "
                "use kci/rcit for continuous variables, bin it, or raise max_levels")
    iz, kz = _codes(z)
    return contingency_given_codes(name, ix, kx, iy, ky, iz, kz)


def contingency_given_codes(name: str, ix: np.ndarray, kx: int, iy: np.ndarray, ky: int, iz: np.ndarray,
                            kz: int) -> TestResult:
    """The stratified χ²/G² from integer codes (0…k−1, all rows complete); levels or strata
    without rows are allowed (they add nothing), so codes of a whole column can be reused
    on a subset of its rows (the battery's fast path)."""
    n = ix.size
    table = np.bincount((iz * kx + ix) * ky + iy, minlength=kz * kx * ky).reshape(kz, kx, ky).astype(np.float64)
    rows, cols = table.sum(2), table.sum(1)
    size = rows.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = rows[:, :, None] * cols[:, None, :] / size[:, None, None]
    pos = expected > 0
    if name == "chi2":
        stat = float(np.sum((table[pos] - expected[pos]) ** 2 / expected[pos]))
        method = "stratified Pearson chi-square (sum over strata)"
    else:
        obs = pos & (table > 0)
        stat = float(2.0 * np.sum(table[obs] * np.log(table[obs] / expected[obs])))
        method = "stratified G-square (sum over strata)"
    present = size > 0
    dof = int((((rows[present] > 0).sum(1) - 1) * ((cols[present] > 0).sum(1) - 1)).sum())
    p = 1.0 if dof == 0 else float(special.chdtrc(dof, stat))
    small = float(np.mean(expected[pos] < 5)) if pos.any() else 0.0
    return TestResult(name, stat, p, method, BACKEND, n,
                      {"dof": dof, "strata": int(present.sum()), "levels_x": int((rows.sum(0) > 0).sum()),
                       "levels_y": int((cols.sum(0) > 0).sum()), "frac_expected_below_5": small,
                       "conditional": True})
