r"""Conditional tests X ⫫ Y | Z for a *discrete* conditioning set Z, exact by group sums.

A discrete Z with k distinct rows (strata) makes every kernel of Z a k×k matrix in
disguise, so the conditional tests of causal-learn reduce to stratified group sums.  The
definitions are causal-learn's (``CIT(data, "kci" | "rcit" | "chisq" | "gsq")`` with a
conditioning set); this module evaluates them without n×n matrices.

**KCI** (``KCI_CInd`` defaults).  z-score x, y, z (ddof = 1; a constant column → 0);
x is augmented to ``[x, 0.5·z]``; all three Gaussian kernels use
k(a, b) = exp(−c‖a − b‖²) with c = ½·(1/w²)/d_z, w = 1.2 / 0.7 / 0.4 for n < 200 / < 1200 /
larger (the library's ``set_width_empirical_kci(z)``, for x and y too); K̃ = HKH;
R = ε(K̃z + εI)⁻¹ with ε = 1e-3; KxR = R K̃x R, KyR = R K̃y R; statistic V = Σ KxR∘KyR; null
Gamma with mean tr(UUᵀ) and variance 2 tr((UUᵀ)²), U the products of the eigenvectors of
KxR and KyR scaled by √eigenvalue, keeping eigenvalues above 1e-5 × the largest.

With Kz = P Kᵤ Pᵀ (P the n×k stratum indicator) Woodbury gives R − 11ᵀ/n = I − P N Pᵀ
(N = M + 11ᵀ/n, M = A(εI + DA)⁻¹, A = C Kᵤ Cᵀ, C = I − 1dᵀ/n, D = diag(counts)).  A
variable with few distinct values per stratum ("grouped side": its (value, stratum) groups)
then has KR = P_g A_g P_gᵀ with A_g = B K_g Bᵀ, B = I − G N Gᵀ D_g, a k_g×k_g matrix whose
eigen-decomposition gives the library's truncated spectrum exactly.  Three cases:

* **grouped × grouped** — everything through the contingency table of the two group
  codes; eigenvalue truncation as the library: agreement ≈ 1e-12 in p.
* **grouped × continuous** — one blockwise pass over the continuous kernel collects its
  group sums K P_g and (K∘K) P_g (per stratum, so the cost is n² times the number of
  groups *per stratum*, shared by every grouped partner on the same rows: the battery tests
  one attribute against all traits in one pass); the residualisation is applied
  algebraically (KR_ts = K_ts − U_{t,z(s)} − U_{s,z(t)} + Q_{z(t)z(s)}, U = K P N, Q = N PᵀKP N).
  The grouped side is truncated as the library does; the continuous side is not (its
  spectrum would need an n×n eigen-decomposition): the Gamma moments then include the
  eigenvalues below 1e-5 × the largest that the library drops, a relative difference of
  ~1e-5 in p (measured: ≤ 5e-5; decisions identical).
* **continuous × continuous** — two blockwise passes, no truncation.

**RCIT** (``RCIT`` defaults: 100 random Fourier features of z, 5 of x and of y = [y, z],
median-distance bandwidths from the first 500 rows, ridge 1e-10 on Cov(f_z), Hall–Buckley–
Eagleson null as the library's Lindsay–Pilla–Basak call falls back to under NumPy 2).
Features are drawn from ``numpy.random.RandomState(seed)`` in the library's order (z, x, y),
so a reference run under the same seed sees the same features.  z's features take k
distinct rows, x's (value, stratum) groups few; every covariance is a group sum.  The ridge
inverse of Cov(f_z) is computed by a symmetric eigen-decomposition instead of the
library's inverse of a Cholesky factor: Cov(f_z) has rank < 100 when Z has fewer than 100
strata (condition number ~1e13), so every implementation — the library's own included —
carries rounding error there; measured differences to the library are 1e-5 … 3e-3
relative in p (same features), i.e. identical decisions except within that margin of α.

**χ² / G²** (``chisq`` / ``gsq`` given S): the statistic is the sum over strata of the
per-stratum Pearson X² (likelihood ratio G²) with expected counts from the stratum's own
margins; df = Σ_strata (levels of x present − 1)(levels of y present − 1) (the library's
df with empty rows and columns removed per stratum); p = χ²_df tail, 1 when df = 0.  This
is the stratified sum, not the Cochran–Mantel–Haenszel statistic (which pools one
common association across strata and has (kx−1)(ky−1) df); the sum detects dependence that
differs in direction between strata, at the price of more degrees of freedom.

All functions take cleaned arrays (:func:`personax.independence.given.clean_triple`):
x (n, dx), y (n, dy), z (n, dz), no missing values.

Split along its seams: strata and shared numerics in ``stratified_base``, RCIT and χ² / G²
in ``stratified_rcit``; KCI lives here.  Every name stays importable from this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from personax.independence.fast import zscore
from personax.independence.nulls import gamma_sf
from personax.independence.result import IndependenceTestError, TestResult
from personax.independence.stratified_base import (  # noqa: F401  (re-exported: the old import path)
    BACKEND,
    BLOCK_ELEMENTS,
    DTYPE,
    EIG_THRESH,
    EPSILON,
    MAX_GROUPED,
    MAX_STRATA,
    MAX_TRUNCATED,
    RIDGE,
    Strata,
    _eigh,
    _onehot,
    _single_blas,
    group_sums,
    n_strata,
    strata_of,
    unique_rows,
)
from personax.independence.stratified_rcit import (  # noqa: F401  (re-exported: the old import path)
    _codes,
    _features,
    _standardise,
    _zscore_strict,
    contingency_given,
    contingency_given_codes,
    rcit_given,
    rcit_given_many,
)


# --------------------------------------------------------------------------- KCI
def kci_given_coefficient(n: int, dz: int) -> float:
    """c in exp(−c‖a−b‖²) for all three kernels of conditional KCI (``set_width_empirical_kci``)."""
    w = 1.2 if n < 200 else (0.7 if n < 1200 else 0.4)
    return 0.5 / (w * w) / dz



def _sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)


def _residual_matrix(st: Strata, c: float, n: int) -> np.ndarray:
    """N (k×k) with ε(K̃z + εI)⁻¹ − 11ᵀ/n = I − P N Pᵀ (Woodbury in stratum space)."""
    k = st.k
    ku = np.exp(-c * _sqdist(st.values, st.values))
    cen = np.eye(k) - np.outer(np.ones(k), st.counts) / n
    a = cen @ ku @ cen.T
    m = np.linalg.solve(EPSILON * np.eye(k) + a * st.counts[None, :], a)   # (εI + AD)⁻¹A = A(εI + DA)⁻¹
    return 0.5 * (m + m.T) + 1.0 / n


@dataclass(frozen=True)
class _Side:
    """One variable in (value, stratum) groups: row → group, counts, stratum of each group,
    the residualised kernel A (KR = P A Pᵀ) and its truncated version At."""

    index: np.ndarray
    counts: np.ndarray
    stratum: np.ndarray
    A: np.ndarray
    At: np.ndarray

    @property
    def k(self) -> int:
        return int(self.counts.size)


def _groups(values: np.ndarray, st: Strata):
    key = np.column_stack([values, st.index.astype(np.float64)])
    u, index, counts = unique_rows(key)
    return u[:, :-1], index, counts, u[:, -1].astype(np.int64)


def _n_groups(values: np.ndarray, st: Strata) -> int:
    return int(unique_rows(np.column_stack([values, st.index.astype(np.float64)]))[2].size)



def _truncate(a: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """P A Pᵀ with eigenvalues ≤ 1e-5 × the largest removed, returned in group space."""
    s = np.sqrt(counts)
    w, v = _eigh(s[:, None] * a * s[None, :])
    keep = w > w.max() * EIG_THRESH
    u = v[:, keep] / s[:, None]
    return (u * w[keep]) @ u.T


def _grouped_side(values: np.ndarray, st: Strata, c: float, N: np.ndarray) -> _Side:
    vals, index, counts, stratum = _groups(values, st)
    kern = np.exp(-c * _sqdist(vals, vals))
    # A = B K Bᵀ with B = I − R, R = N[G] Gᵀ D (k×kz times kz×k): O(k²·kz), never k³
    ng = N[stratum]                                               # (k, kz)
    gd = _onehot(stratum, st.k) * counts[:, None]                 # D G (k, kz)
    gkd = gd.T @ kern                                             # Gᵀ D K (kz, k)
    rk = ng @ gkd                                                 # R K
    a = kern - rk - rk.T + ng @ (gkd @ gd) @ ng.T
    a = 0.5 * (a + a.T)
    return _Side(index, counts, stratum, a, _truncate(a, counts) if counts.size <= MAX_TRUNCATED else a)


def _grouped_grouped(sx: _Side, sy: _Side) -> tuple[float, float, float]:
    import scipy.sparse as sp

    # the joint table has at most n non-zeros: sparse products cost n·(kx + ky), not kx·ky·(kx + ky)
    n = sx.index.size
    jt = sp.csr_matrix((np.ones(n), (sy.index, sx.index)), shape=(sy.k, sx.k))   # Jᵀ (ky × kx)
    jt.sum_duplicates()

    def sandwich(a: np.ndarray) -> np.ndarray:   # Jᵀ a J, (ky × ky)
        return np.asarray(jt @ np.asarray(jt @ a).T).T

    stat = float((sandwich(sx.A) * sy.A).sum())
    coo = jt.tocoo()
    mean = float((coo.data * np.diag(sx.At)[coo.col] * np.diag(sy.At)[coo.row]).sum())
    var = float(2.0 * (sandwich(sx.At ** 2) * sy.At ** 2).sum())
    return stat, mean, var


def _gauss(a: torch.Tensor, b: torch.Tensor, c: float) -> torch.Tensor:
    """exp(−c‖a_i − b_j‖²) by explicit differences (no ‖a‖²+‖b‖²−2ab cancellation)."""
    sq = (a - b.T).square_() if a.shape[1] == 1 else (a[:, None, :] - b[None, :, :]).square_().sum(-1)
    return sq.mul_(-c).exp_()


def _gauss_np(a: np.ndarray, b: np.ndarray, c: float) -> np.ndarray:
    sq = np.square(a - b.T) if a.shape[1] == 1 else _sqdist(a, b)
    sq *= -c
    return np.exp(sq, out=sq)


def _step(n: int, d: int) -> int:
    return max(1, BLOCK_ELEMENTS // max(1, n * d))


MAX_VALUES = 3000   # a continuous side with at most this many distinct values: k×k kernel, no n² pass


def _kernel_group_sums(y: np.ndarray, cy: float, cols: np.ndarray, total: int,
                       device: str) -> tuple[np.ndarray, np.ndarray]:
    """K·L and (K∘K)·L for the Gaussian kernel K of ``y`` (n, d) and the 0/1 matrix L
    (n × total) with ones at (t, cols[t, j]) — row t's group column for each partner j.

    Few distinct values of y: K = P Kᵤ Pᵀ, so K·L = (Kᵤ · PᵀL)[index] (exact, k²·total);
    otherwise a blockwise pass over the rows of K (sparse L on the CPU, dense on a GPU).
    """
    import scipy.sparse as sp

    n, m = cols.shape
    uniq, index, _ = unique_rows(y)
    if uniq.shape[0] <= MAX_VALUES:
        ku = _gauss_np(uniq, uniq, cy)
        cont = np.bincount((index[:, None] * total + cols).ravel(), minlength=uniq.shape[0] * total)
        cont = cont.reshape(uniq.shape[0], total).astype(np.float64)
        return (ku @ cont)[index], ((ku * ku) @ cont)[index]
    lt = sp.csr_matrix((np.ones(n * m), (cols.ravel(), np.repeat(np.arange(n), m))), shape=(total, n))
    kp, k2p = np.empty((n, total)), np.empty((n, total))
    step = _step(n, y.shape[1])
    if device == "cpu" or not torch.cuda.is_available():
        for i0 in range(0, n, step):
            kb = _gauss_np(y[i0:i0 + step], y, cy)
            kp[i0:i0 + step] = (lt @ kb.T).T
            kb *= kb
            k2p[i0:i0 + step] = (lt @ kb.T).T
        return kp, k2p
    Y = torch.as_tensor(y, dtype=DTYPE, device=device)
    L = torch.as_tensor(lt.T.toarray(), dtype=DTYPE, device=device)
    for i0 in range(0, n, step):
        kb = _gauss(Y[i0:i0 + step], Y, cy)
        kp[i0:i0 + step] = (kb @ L).cpu().numpy()
        kb.square_()
        k2p[i0:i0 + step] = (kb @ L).cpu().numpy()
    return kp, k2p


def _grouped_continuous(y: np.ndarray, cy: float, st: Strata, N: np.ndarray, sides: Sequence[_Side],
                        device: str) -> list[tuple[float, float, float]]:
    """(V, mean, var) of each grouped side against one continuous variable, from the group
    sums of its kernel (:func:`_kernel_group_sums`), shared by all sides."""
    offsets = np.concatenate([[0], np.cumsum([s.k for s in sides])]).astype(np.int64)
    cols = np.column_stack([s.index + off for s, off in zip(sides, offsets[:-1])])
    kp_all, k2p_all = _kernel_group_sums(y, cy, cols, int(offsets[-1]), device)
    out = []
    for j, s in enumerate(sides):
        k, idx, g = s.k, s.index, s.stratum
        KP, K2P = kp_all[:, offsets[j]:offsets[j + 1]], k2p_all[:, offsets[j]:offsets[j + 1]]
        W, W2 = group_sums(idx, k, KP), group_sums(idx, k, K2P)
        U = group_sums(g, st.k, KP.T).T @ N                             # K P_z N  (P_z = P G)
        Q = N @ group_sums(g, st.k, group_sums(g, st.k, W).T) @ N       # N Gᵀ W G N
        H, E = group_sums(idx, k, U), group_sums(idx, k, U * U)
        F = group_sums(idx, k, U[:, g] * KP)
        d = s.counts
        Hc, Ec, Qg = H[:, g], E[:, g], Q[np.ix_(g, g)]
        dd = np.outer(d, d)
        RW = W - d[None, :] * Hc - d[:, None] * Hc.T + dd * Qg                  # Pᵀ KR P
        S = (W2 + d[None, :] * Ec + d[:, None] * Ec.T + dd * Qg ** 2 - 2.0 * F - 2.0 * F.T
             + 2.0 * Qg * W + 2.0 * Hc * Hc.T - 2.0 * Qg * d[None, :] * Hc - 2.0 * Qg * d[:, None] * Hc.T)  # Pᵀ(KR∘KR)P
        diag = d - 2.0 * np.diagonal(Hc) + d * np.diagonal(Qg)                  # Σ_{t∈g} KR_tt
        out.append((float((s.A * RW).sum()), float((np.diagonal(s.At) * diag).sum()),
                    float(2.0 * (s.At ** 2 * S).sum())))
    return out


def _continuous_continuous(x: np.ndarray, y: np.ndarray, c: float, st: Strata, N: np.ndarray,
                           device: str) -> tuple[float, float, float]:
    """(V, mean, var) with both kernels continuous: two blockwise passes, no truncation."""
    n = x.shape[0]
    X = torch.as_tensor(x, dtype=DTYPE, device=device)
    Y = torch.as_tensor(y, dtype=DTYPE, device=device)
    z = torch.as_tensor(st.index, device=device)
    Nt = torch.as_tensor(N, dtype=DTYPE, device=device)
    step = _step(n, max(x.shape[1], y.shape[1]))
    Pz = torch.as_tensor(_onehot(st.index, st.k), dtype=DTYPE, device=device)
    kxp = torch.zeros(n, st.k, dtype=DTYPE, device=device)
    kyp = torch.zeros(n, st.k, dtype=DTYPE, device=device)
    for i0 in range(0, n, step):
        i1 = min(n, i0 + step)
        kxp[i0:i1] = _gauss(X[i0:i1], X, c) @ Pz
        kyp[i0:i1] = _gauss(Y[i0:i1], Y, c) @ Pz

    def parts(kzp):
        return kzp @ Nt, Nt @ (Pz.T @ kzp) @ Nt

    ux, qx = parts(kxp)
    uy, qy = parts(kyp)
    stat = torch.zeros((), dtype=DTYPE, device=device)
    sq = torch.zeros((), dtype=DTYPE, device=device)
    for i0 in range(0, n, step):
        i1 = min(n, i0 + step)
        zb = z[i0:i1]
        kx = _gauss(X[i0:i1], X, c) - ux[i0:i1][:, z] - ux[:, zb].T + qx[zb][:, z]
        ky = _gauss(Y[i0:i1], Y, c) - uy[i0:i1][:, z] - uy[:, zb].T + qy[zb][:, z]
        kx.mul_(ky)
        stat += kx.sum()
        sq += (kx * kx).sum()
        del kx, ky
    rows = torch.arange(n, device=device)
    dx = 1.0 - 2.0 * ux[rows, z] + qx[z, z]
    dy = 1.0 - 2.0 * uy[rows, z] + qy[z, z]
    return float(stat), float((dx * dy).sum()), float(2.0 * sq)


def _kci_result(stat: float, mean: float, var: float, n: int, strategy: str, k: int) -> TestResult:
    try:
        p = gamma_sf(stat, mean, var)
    except FloatingPointError as exc:
        raise IndependenceTestError(f"kci given Z: {exc} (a variable is constant within every stratum)") from exc
    return TestResult("kci", stat, p, "conditional KCI given discrete Z (stratified group sums, Gamma null)",
                      BACKEND, n, {"null_mean": mean, "null_var": var, "strategy": strategy, "strata": k,
                                   "conditional": True})


@_single_blas
def kci_given_many(xs: Sequence[np.ndarray], y: np.ndarray, z: np.ndarray, *, device: str = "cpu",
                   max_grouped: int = MAX_GROUPED) -> list[TestResult]:
    """Conditional KCI of each x in ``xs`` against one ``y`` given discrete ``z``, same rows.

    Same numbers as :func:`kci_given` pair by pair; grouped x's against a continuous y
    share one pass over y's kernel (the battery's case: traits × one attribute).
    """
    n = y.shape[0]
    zz = zscore(z)
    st = strata_of(zz)
    c = kci_given_coefficient(n, zz.shape[1])
    N = _residual_matrix(st, c, n)
    zy = zscore(y)
    # y in groups only where that is exact *and* cheap; otherwise the pass (cheap when y has
    # few distinct values, whatever the number of strata)
    y_grouped = _n_groups(zy, st) <= min(max_grouped, MAX_TRUNCATED)
    sy = _grouped_side(zy, st, c, N) if y_grouped else None
    results: list[TestResult | None] = [None] * len(xs)
    batch: list[tuple[int, _Side]] = []
    for i, x in enumerate(xs):
        xa = np.column_stack([zscore(x), 0.5 * zz])
        if _n_groups(xa, st) <= max_grouped:
            sx = _grouped_side(xa, st, c, N)
            if sy is not None:
                results[i] = _kci_result(*_grouped_grouped(sx, sy), n, "grouped×grouped", st.k)
            else:
                batch.append((i, sx))
        elif sy is not None:   # continuous x, grouped y: the statistics are symmetric
            (v,) = _grouped_continuous(xa, c, st, N, [sy], device)
            results[i] = _kci_result(*v, n, "continuous×grouped", st.k)
        else:
            results[i] = _kci_result(*_continuous_continuous(xa, zy, c, st, N, device), n,
                                     "continuous×continuous", st.k)
    if batch:
        for (i, _), v in zip(batch, _grouped_continuous(zy, c, st, N, [s for _, s in batch], device)):
            results[i] = _kci_result(*v, n, "grouped×continuous", st.k)
    return results  # type: ignore[return-value]


def kci_given(x: np.ndarray, y: np.ndarray, z: np.ndarray, *, device: str = "cpu") -> TestResult:
    """Conditional KCI of x ⫫ y | z for discrete z (causal-learn ``KCI_CInd`` defaults)."""
    return kci_given_many([x], y, z, device=device)[0]


