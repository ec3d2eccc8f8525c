r"""Conditional independence tests X ⫫ Y | Z for the ``fast`` backend: KCI, RCIT/RCoT, Fisher-z.

Every test here follows the definition of the causal-learn class that PC users know
(``causallearn.utils.cit``), so that a p-value of ours can be read against theirs.

KCI (causal-learn ``KCI_CInd`` defaults)
----------------------------------------
* x, y, z are z-scored column-wise (ddof = 1; a constant column would become 0, but this
  module refuses constant columns, see *Bad input*);
* x is augmented with the conditioning set, ẍ = [x, ½z] (y is **not**): the test is not
  symmetric in x and y, and causal-learn's PC always passes the smaller column index as x
  (so does :mod:`personax.crl.graph`);
* Gaussian kernels k(a, b) = exp(−½θ‖a − b‖²) on ẍ, y and z with the *same* θ =
  1/(w²·d_z), w = 1.2 (n < 200), 0.7 (n < 1,200), else 0.4 (``set_width_empirical_kci``);
* each kernel is centred, K̃ = HKH, and x and y are regressed on z with a kernel ridge of
  fixed regularisation ε = 10⁻³: R = ε(K̃z + εI)⁻¹, K̈x = R K̃x R, K̈y = R K̃y R;
* statistic V = Σᵢⱼ K̈x,ᵢⱼ K̈y,ᵢⱼ;
* null: the eigen-pairs (λ, u) of K̈x and of K̈y with λ > 10⁻⁵·λ_max are kept, v = u√λ,
  and the weights of the weighted χ² null are the eigenvalues of UUᵀ with U the n × (rₓr_y)
  matrix of products vₓ,ᵢ ∘ v_y,ⱼ; a Gamma law is matched to their sum
  (mean tr UUᵀ) and twice their sum of squares (variance 2 tr (UUᵀ)²).  We evaluate both
  without forming U: tr UUᵀ = Σₜ ‖vₓ,ₜ‖²‖v_y,ₜ‖² and tr (UUᵀ)² = Σₛₜ (vₓ,ₛ·vₓ,ₜ)²(v_y,ₛ·v_y,ₜ)²
  (:func:`null_variances`, blockwise, O(block·n) memory);
* p = upper tail of the Gamma law (``gammaincc``; the library's 1 − cdf cannot resolve
  p < 1e-16, so tiny p-values differ from the library's by less than 1e-14 absolute).

Two computations of the same quantities (option ``method``):

``"dense"``
    the library's algorithm on n × n matrices (torch, float64): eigendecomposition of K̃z,
    R, K̈ and their eigendecompositions.  O(n³) per variable and conditioning set; the
    literal replica, used to verify the other path.
``"lowrank"`` (default; ``"auto"`` is the same)
    every kernel is replaced by a pivoted-Cholesky factor K ≈ LLᵀ (the greedy Nyström
    factor: columns are added at the row of largest remaining diagonal until the trace of
    the residual K − LLᵀ, which is positive semi-definite, is at most ``tol``·n, or
    ``max_rank`` columns are used).  With F = HL: K̃ ≈ FFᵀ, R F = F − F_z(F_zᵀF_z + εI)⁻¹F_zᵀF
    exactly (Woodbury), K̈ ≈ AAᵀ with A = RF, V = ‖AₓᵀA_y‖²_F, and the eigen-pairs of K̈
    are those of the small Gram matrix AᵀA.  Cost O(n·m²) per kernel with m the rank.
    When the data have few distinct rows (discrete-coded variables) the factor is exact
    after as many columns as there are distinct rows.  The error is controlled by ``tol``
    while the rank stays below ``max_rank``; see ``details["rank_capped"]`` and the
    measured agreement with causal-learn in ``tests/independence/test_conditional.py`` and
    ``benchmarks/results/pc.csv``.  With the defaults (tol = 1e-10, max_rank = 400) the
    p-values match causal-learn's to about 1e-6 relative wherever the rank cap is not
    reached (n ≤ 1,000 with |S| ≤ 1, and all small-n cases); on 2,000 rows with |S| ≥ 2 the
    cap is reached and the p-values agree to about 1e-3 relative (decisions agree unless p
    lies that close to α).

RCIT / RCoT (causal-learn ``RCIT`` class, ``num_f=100``, ``num_f2=5``)
--------------------------------------------------------------------
x, y, z standardised (ddof = 1); for RCIT (``rcot=False``, causal-learn's default) y is
augmented to [y, z]; bandwidths = median non-zero distance among the first min(n, 500)
rows; random Fourier features √2 cos(wᵀa + b), w ~ N(0, σ⁻²I), b ~ U(0, 2π), drawn from
``numpy.random.RandomState(seed)`` in causal-learn's order (z: 100 features, then x: 5,
then y: 5), so the reference run under the same seed sees identical features; features
standardised; residuals of f_x and f_y on f_z by least squares (ridge 1e-10); statistic
n‖Ĉov(fₓ, f_y | f_z)‖²_F; null a weighted χ² with the eigenvalues of the covariance of the
25 residual products, evaluated by Hall–Buckley–Eagleson (causal-learn's Lindsay–Pilla–Basak
call fails under NumPy 2 and falls back to the same HBE).  O(n·100²) per test.

Fisher-z (causal-learn ``FisherZ``)
-----------------------------------
Partial correlation of x and y given z from the inverse of their correlation matrix;
z = √(n − |S| − 3)·|atanh r|; p = 2(1 − Φ(z)).  Linear-Gaussian only (a smoke test).

Conditioning matrices with discrete-coded columns
-------------------------------------------------
``z`` may hold discrete columns (integer codes, 0/1 indicators, one-hot blocks) next to
continuous ones.  Every test treats each column as a number, exactly as causal-learn does:
KCI and RCIT put a Gaussian kernel on the z-scored codes, Fisher-z a linear term.  So

* a binary column is fine (its two codes are one z-scored distance apart);
* a nominal column with more than two levels should be one-hot encoded first (integer
  codes impose an order and distances between the categories); ordinal codes can stay;
* for KCI, a discrete or mixed Z is also a fast case: a column block with k distinct rows
  has an exact rank-k kernel factor, so the low-rank path is exact there.

Bad input
---------
:func:`clean_triple` drops rows with a missing value in x, y or z (listwise), then raises
:class:`~personax.independence.result.IndependenceTestError` (a
:class:`personax.errors.DataError`) for fewer than ``min_n`` rows, a constant x, y or
conditioning column, and :class:`personax.errors.ParameterError` when the conditioning set
has more columns than the rows can support (:func:`max_given_columns`).

Batches
-------
:func:`kci_batch`, :func:`rcit_batch` and :func:`fisherz_batch` take named variables and
many (x, y, S) triples at once (one PC depth level, or one attribute against every trait
given the same covariates).  Triples are grouped by their conditioning set: the kernel
factor of Z, its ridge solve and the factor of every (variable, S) are computed once and
shared by all triples of the group; memory stays bounded by the blocks of
:func:`null_variances` and by chunking the batched factorisations.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
from dataclasses import dataclass
from typing import Any, Hashable, Mapping, Sequence

import numpy as np
import torch

from scipy.linalg.lapack import dpstrf as _dpstrf

from personax.errors import ParameterError
from personax.independence.fast import median_bandwidth, zscore
from personax.independence.nulls import gamma_sf, hbe_sf
from personax.independence.prepare import DEFAULT_MIN_N, as_2d_float
from personax.independence.result import IndependenceTestError, TestResult

BACKEND = "fast"
DTYPE = torch.float64
#: Kernel-ridge regularisation of causal-learn's KCI_CInd (``epsilon_x = epsilon_y``).
KCI_EPSILON = 1e-3
#: Relative eigenvalue threshold of causal-learn's KCI_CInd null (``thresh``).
KCI_EIG_THRESH = 1e-5
#: Default trace tolerance and rank cap of the low-rank path.
KCI_TOL = 1e-12
KCI_MAX_RANK = 2000
KCI_METHODS = ("auto", "lowrank", "dense")
#: ``method="auto"`` computes a conditioning set densely when the (uncapped) factor of its
#: kernel needs more than this fraction of n columns: the x factors would then be nearly
#: full rank and the n × n algorithm is cheaper.
AUTO_DENSE_RANK_FRACTION = 1 / 3
#: ``method="auto"`` computes every conditioning set densely up to this many rows (the n × n
#: algorithm costs milliseconds there).
AUTO_DENSE_MAX_N = 400
#: Complete rows required per conditioning column (see :func:`max_given_columns`).
ROWS_PER_GIVEN_COLUMN = 10
BLOCK_ELEMENTS = 4_000_000   # ≈ 32 MB per float64 block buffer
#: torch CPU threads used by the KCI engine (env ``PERSONAX_KCI_THREADS``).  Its work is a
#: long sequence of medium-size products and eigendecompositions (300 × 300) where thread
#: hand-offs cost more than they gain: on the shared two-core development machine one
#: thread was 2–6× faster than two for each of them.  GPU runs are unaffected.
CPU_THREADS = int(os.environ.get("PERSONAX_KCI_THREADS", "1"))
FACTOR_ELEMENTS = 40_000_000  # batched factorisations are chunked to ≈ 320 MB


# --------------------------------------------------------------------------- input checks

def max_given_columns(n: int, test: str = "kci", *, num_features_z: int = 100) -> int:
    """Largest number of conditioning columns that ``n`` complete rows support.

    The rule is ``n >= 10 * (d_z + 1)`` for every test (a kernel or linear regression on
    ``d_z`` columns with fewer than ten rows per column is noise), plus, for RCIT/RCoT,
    ``n > num_features_z`` (the covariance of the random features of z must be full rank)
    and, for Fisher-z, ``n - d_z - 3 > 0``.
    """
    k = n // ROWS_PER_GIVEN_COLUMN - 1
    if test == "rcit" and n <= num_features_z:
        return 0
    if test == "fisherz":
        k = min(k, n - 4)
    return max(k, 0)


def check_given_size(n: int, dz: int, test: str, *, num_features_z: int = 100) -> None:
    """Raise :class:`personax.errors.ParameterError` when ``dz`` columns are too many for ``n`` rows."""
    kmax = max_given_columns(n, test, num_features_z=num_features_z)
    if dz > kmax:
        need = ROWS_PER_GIVEN_COLUMN * (dz + 1)
        if test == "rcit":
            need = max(need, num_features_z + 1)
        raise ParameterError(
            f"{test}: a conditioning set of {dz} column(s) needs at least {need} complete rows, "
            f"but only {n} are available (at most {kmax} conditioning column(s) are supported)",
            hint="condition on fewer variables (in PC: lower max_depth), or use more rows")


def clean_triple(x: Any, y: Any, z: Any, *, min_n: int = DEFAULT_MIN_N,
                 test: str = "kci", num_features_z: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate x, y and a conditioning matrix z; listwise deletion; guards.

    Parameters
    ----------
    x, y : array-like, (n,) or (n, d)
    z : array-like, (n,) or (n, d_z), d_z >= 1
        May mix continuous and discrete-coded columns (see the module docstring).
    min_n : int
        Smallest number of complete rows accepted.

    Returns
    -------
    (x, y, z) : float64 arrays restricted to the complete rows.

    Raises
    ------
    IndependenceTestError
        Length mismatch, too few complete rows, constant x, y or z column.
    ParameterError
        More conditioning columns than the rows support (:func:`max_given_columns`).
    """
    xa, ya, za = as_2d_float(x, "x"), as_2d_float(y, "y"), as_2d_float(z, "given")
    if not (xa.shape[0] == ya.shape[0] == za.shape[0]):
        raise IndependenceTestError(
            f"x, y and given have {xa.shape[0]}, {ya.shape[0]} and {za.shape[0]} rows: pass aligned "
            "samples (one row per unit)")
    keep = np.isfinite(xa).all(1) & np.isfinite(ya).all(1) & np.isfinite(za).all(1)
    m = int(keep.sum())
    if m < min_n:
        raise IndependenceTestError(
            f"only {m} complete rows (of {xa.shape[0]}) after dropping rows with a missing value in x, y "
            f"or given; at least min_n={min_n} are needed: use variables with fewer missing values or "
            "lower min_n")
    xa, ya, za = xa[keep], ya[keep], za[keep]
    for name, arr in (("x", xa), ("y", ya)):
        if np.all(arr == arr[0]):
            raise IndependenceTestError(
                f"{name} is constant on the {m} complete rows (value {arr[0].tolist()}): independence is "
                "untestable; drop this variable")
    const = [j for j in range(za.shape[1]) if np.all(za[:, j] == za[0, j])]
    if const:
        raise IndependenceTestError(
            f"conditioning column(s) {const} of given are constant on the {m} complete rows: they carry "
            "no information and change the kernel width; drop them from the conditioning set")
    check_given_size(m, za.shape[1], test, num_features_z=num_features_z)
    return xa, ya, za


# --------------------------------------------------------------------------- kernel helpers

def kci_conditional_width(n: int) -> float:
    """causal-learn's empirical width for conditional KCI (``set_width_empirical_kci``)."""
    return 1.2 if n < 200 else (0.7 if n < 1200 else 0.4)


def kci_conditional_coef(n: int, dz: int) -> float:
    """c with k(a, b) = exp(−c‖a − b‖²): c = ½θ, θ = 1/(w²·d_z)."""
    return 0.5 / (kci_conditional_width(n) ** 2 * dz)


def _sqdist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared distances (..., m, n) between the rows of a (..., m, d) and b (..., n, d).

    Explicit differences, one feature at a time (as scipy's ``sqeuclidean``: no
    ‖a‖² + ‖b‖² − 2ab cancellation, and no slow reduction over a short last axis).
    """
    out = None
    for k in range(a.shape[-1]):
        diff = a[..., :, k, None] - b[..., None, :, k]
        diff.square_()
        out = diff if out is None else out.add_(diff)
    return out


def gaussian_gram(a: torch.Tensor, c: float) -> torch.Tensor:
    """Dense exp(−c‖aᵢ − aⱼ‖²) (n × n)."""
    return _sqdist(a, a).mul_(-c).exp_()


def center_gram(k: torch.Tensor) -> torch.Tensor:
    """HKH by row/column sums (causal-learn's ``center_kernel_matrix``)."""
    n = k.shape[-1]
    cs = k.sum(-2)
    return k - (cs[..., None, :] + cs[..., :, None]) / n + cs.sum(-1)[..., None, None] / n ** 2


def pivoted_cholesky(x: torch.Tensor, c: float, *, tol: float = KCI_TOL, max_rank: int = KCI_MAX_RANK,
                     block: int = 32, cand_factor: int = 4) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Batched blocked pivoted Cholesky factors of Gaussian Gram matrices, never forming n × n.

    A factor grows by blocks until the trace of its residual K − LLᵀ (positive
    semi-definite) is at most ``tol·n`` or it has ``max_rank`` columns.  One block: the
    ``cand_factor·block`` rows of largest residual diagonal are the candidates; their
    residual kernel rows are computed at once (one kernel evaluation and one matrix
    product with the previous columns); the greedy pivoted Cholesky (largest residual
    first; LAPACK ``dpstrf``) runs on the small candidate × candidate residual matrix and
    picks up to ``block`` pivots, skipping candidates made redundant by earlier pivots; the
    new columns on all rows follow by one triangular solve.  The result is the exact Cholesky
    factor of K on the chosen pivots (the greedy Nyström factor); only the pivot choice is
    restricted to each block's candidates.  A factor may pass the tolerance by up to one
    block (more accuracy, never less).

    Parameters
    ----------
    x : Tensor (B, n, d)
        B data sets on the same number of rows.
    c : float
        Kernel coefficient, k(a, b) = exp(−c‖a − b‖²) (diagonal 1).
    tol : float
        Stop a factor when the trace of its residual is at most ``tol * n``.
    max_rank : int
        Largest number of columns.
    block, cand_factor : int
        Columns per block; candidates per block = ``cand_factor * block``.

    Returns
    -------
    L : Tensor (B, n, r)
        K_b ≈ L_b L_bᵀ; zero-padded past a factor's own rank.
    ranks : Tensor (B,) of int64
    residual : Tensor (B,)
        Trace of K − LLᵀ per factor (≥ 0; 0 up to rounding when the factor is exact).
    """
    B, n, d = x.shape
    dev = x.device
    R = int(min(max_rank, n))
    diag = torch.ones(B, n, dtype=DTYPE, device=dev)
    ranks = torch.zeros(B, dtype=torch.int64, device=dev)
    limit = tol * n
    store = torch.zeros(B, min(R + block, n + block), n, dtype=DTYPE, device=dev)  # factor columns as rows
    owner = torch.zeros(B, store.shape[1], dtype=torch.bool, device=dev)
    width = 0
    while True:
        active = (diag.sum(1) > limit) & (ranks < R)
        if not bool(active.any()):
            break
        room = (R - ranks).clamp_min(0)
        k = int(min(block, int(room[active].max())))
        kc = int(min(max(cand_factor * k, k), n))
        cand = diag.topk(kc, dim=1).indices                                   # (B, kc)
        xc = x.gather(1, cand[..., None].expand(B, kc, d))
        C = _sqdist(xc, x).mul_(-c).exp_()                                    # (B, kc, n) kernel rows
        if width:
            prev = store[:, :width]                                           # (B, w, n)
            C -= prev.gather(2, cand[:, None, :].expand(B, width, kc)).transpose(1, 2) @ prev
        S = C.gather(2, cand[:, None, :].expand(B, kc, kc)).cpu().numpy()     # residual among candidates
        # greedy pivoted Cholesky on each candidate matrix (LAPACK dpstrf: complete pivoting,
        # stops when the largest remaining diagonal is below 1e-13); keep its first picks
        picks, facs = [], []
        act_np, room_np = active.cpu().numpy(), room.cpu().numpy()
        for b in range(B):
            if not act_np[b]:
                picks.append(np.zeros(0, dtype=np.int64))
                facs.append(np.zeros((0, 0)))
                continue
            fac, piv, rank, _ = _dpstrf(S[b], tol=1e-13, lower=1)
            m = int(min(rank, k, room_np[b]))
            picks.append(piv[:m].astype(np.int64) - 1)
            facs.append(np.tril(fac[:m, :m]))
        used = max(len(pk) for pk in picks)
        if used == 0:
            break
        G = torch.eye(used, dtype=DTYPE, device=dev).repeat(B, 1, 1)
        Csel = torch.zeros(B, used, n, dtype=DTYPE, device=dev)
        ok_all = torch.zeros(B, used, dtype=torch.bool, device=dev)
        for b, (pk, fac) in enumerate(zip(picks, facs)):
            m = len(pk)
            if m:
                G[b, :m, :m] = torch.as_tensor(fac, dtype=DTYPE, device=dev)
                Csel[b, :m] = C[b, torch.as_tensor(pk, device=dev)]
                ok_all[b, :m] = True
        Lnew = torch.linalg.solve_triangular(G, Csel, upper=False)            # (B, used, n)
        Lnew.mul_(ok_all[:, :, None])
        diag -= Lnew.square().sum(1)
        diag.clamp_min_(0.0)
        ranks += ok_all.sum(1)
        if width + used > store.shape[1]:  # pragma: no cover - only with duplicate-free overshoot
            store = torch.cat([store, torch.zeros_like(store[:, :used + block])], 1)
            owner = torch.cat([owner, torch.zeros_like(owner[:, :used + block])], 1)
        store[:, width:width + used] = Lnew
        owner[:, width:width + used] = ok_all
        width += used
    rows, own = store[:, :width], owner[:, :width]
    if B > 1 and width:
        # move each element's real columns to the front (zero padding after)
        order = torch.argsort((~own).to(torch.int8), dim=1, stable=True)
        rows = rows.gather(1, order[:, :, None].expand(B, width, n))
    r = int(ranks.max()) if B else 0
    return rows[:, :r].transpose(1, 2), ranks, diag.sum(1)


# --------------------------------------------------------------------------- KCI: per-role pieces

@dataclass
class _Role:
    """One (variable, conditioning set, role) of KCI: its regressed kernel in two forms."""

    A: torch.Tensor | None      # (n, m) with K̈ ≈ AAᵀ (low rank), or None (dense)
    K: torch.Tensor | None      # (n, n) K̈ (dense), or None
    V: torch.Tensor             # (n, r) kept eigenvectors × √eigenvalue
    diag: torch.Tensor          # (n,) Σ_j V_tj² (diagonal of the truncated K̈)
    rank: int                   # factor rank (dense: n)
    capped: bool                # factor stopped at max_rank before reaching tol
    residual: float             # trace of the factor residual (dense: 0)


def _truncate(w: torch.Tensor, vecs: torch.Tensor) -> torch.Tensor:
    keep = w > w.max() * KCI_EIG_THRESH
    return vecs[:, keep] * w[keep].sqrt()


class _DenseZ:
    """R = ε(K̃z + εI)⁻¹ on n × n matrices (the library's algorithm)."""

    def __init__(self, z: torch.Tensor, c: float):
        kz = center_gram(gaussian_gram(z, c))
        lam, U = torch.linalg.eigh(kz)
        self.R = (U * (KCI_EPSILON / (lam + KCI_EPSILON))) @ U.T
        self.rank, self.capped, self.residual = z.shape[0], False, 0.0

    def role(self, data: torch.Tensor, c: float) -> _Role:
        k = center_gram(gaussian_gram(data, c))
        kr = self.R @ k @ self.R
        w, vecs = torch.linalg.eigh(0.5 * (kr + kr.T))
        V = _truncate(w, vecs)
        return _Role(None, kr, V, V.square().sum(1), data.shape[0], False, 0.0)

    def roles(self, datas: list[torch.Tensor], c: float, tol: float, max_rank: int) -> list[_Role]:
        return [self.role(d, c) for d in datas]


class _LowRankZ:
    """R applied to low-rank factors through the Woodbury identity (see module docstring)."""

    def __init__(self, z: torch.Tensor, c: float, tol: float, max_rank: int):
        L, ranks, resid = pivoted_cholesky(z[None], c, tol=tol, max_rank=max_rank)
        F = L[0, :, :int(ranks[0])]
        F = F - F.mean(0)
        self.F = F
        G = F.T @ F
        G.diagonal().add_(KCI_EPSILON)
        self.chol = torch.linalg.cholesky(G)
        self.rank = int(ranks[0])
        self.capped = self.rank >= min(max_rank, z.shape[0]) and float(resid[0]) > tol * z.shape[0]
        self.residual = float(resid[0])

    def apply(self, F: torch.Tensor) -> torch.Tensor:
        """R F for factors F (..., n, m)."""
        rhs = self.F.T @ F
        return F - self.F @ torch.cholesky_solve(rhs, self.chol)

    def roles(self, datas: list[torch.Tensor], c: float, tol: float, max_rank: int) -> list[_Role]:
        out: list[_Role] = []
        if not datas:
            return out
        # batch the factorisations of same-shaped data sets, chunked to bound memory
        n, d = datas[0].shape
        chunk = max(1, FACTOR_ELEMENTS // max(1, n * min(max_rank, n)))
        for i0 in range(0, len(datas), chunk):
            group = datas[i0:i0 + chunk]
            X = torch.stack(group)
            L, ranks, resid = pivoted_cholesky(X, c, tol=tol, max_rank=max_rank)
            for b in range(len(group)):
                rk = int(ranks[b])
                F = L[b, :, :rk]
                F = F - F.mean(0)
                A = self.apply(F)
                G = A.T @ A
                w, P = torch.linalg.eigh(0.5 * (G + G.T))
                keep = w > w.max() * KCI_EIG_THRESH
                V = A @ P[:, keep]
                out.append(_Role(A, None, V, V.square().sum(1), rk,
                                 rk >= min(max_rank, n) and float(resid[b]) > tol * n, float(resid[b])))
        return out


def _kci_stat_mean(rx: _Role, ry: _Role) -> tuple[float, float]:
    if rx.A is not None and ry.A is not None:
        stat = (rx.A.T @ ry.A).square().sum()
    else:
        kx = rx.K if rx.K is not None else rx.A @ rx.A.T
        ky = ry.K if ry.K is not None else ry.A @ ry.A.T
        stat = (kx * ky).sum()
    return float(stat), float((rx.diag * ry.diag).sum())


def _kci_result(stat: float, mean: float, var: float, n: int, dz: int, method: str, rx: _Role, ry: _Role,
                z_rank: int, z_capped: bool) -> TestResult:
    if not (np.isfinite(mean) and np.isfinite(var) and mean > 0 and var > 0):
        raise IndependenceTestError(
            f"conditional KCI: degenerate null (mean={mean!r}, var={var!r}); after regressing on the "
            "conditioning set nothing of x or y is left (x or y is a function of given)")
    p = gamma_sf(stat, mean, var)
    capped = bool(rx.capped or ry.capped or z_capped)
    return TestResult("kci", stat, p, f"conditional KCI (causal-learn KCI_CInd definition, {method}, Gamma null)",
                      BACKEND, n, {"null_mean": mean, "null_var": var, "gamma_shape": mean ** 2 / var,
                                   "gamma_scale": var / mean, "width": kci_conditional_width(n), "d_given": dz,
                                   "method": method, "rank_x": rx.rank, "rank_y": ry.rank, "rank_z": z_rank,
                                   "eig_x": int(rx.V.shape[1]), "eig_y": int(ry.V.shape[1]),
                                   "rank_capped": capped, "conditional": True})


def _resolve_method(method: str) -> str:
    if method not in KCI_METHODS:
        raise ParameterError(f"method={method!r} is not a conditional KCI method",
                             hint=f"use one of {', '.join(KCI_METHODS)}")
    return method


@contextlib.contextmanager
def cpu_threads(device: str, threads: int = CPU_THREADS):
    """Run the block with ``threads`` torch CPU threads (restored afterwards); no-op off the CPU."""
    if str(device) != "cpu" or threads <= 0 or torch.get_num_threads() == threads:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _check_tol(tol: float, max_rank: int) -> None:
    if not (isinstance(tol, (int, float)) and 0 <= float(tol) < 1):
        raise ParameterError(f"tol={tol!r} must be a number in [0, 1)", hint="e.g. tol=1e-10 (the default)")
    if not (isinstance(max_rank, (int, np.integer)) and int(max_rank) >= 1):
        raise ParameterError(f"max_rank={max_rank!r} must be a positive integer", hint="e.g. max_rank=400")


def kci_conditional(x: np.ndarray, y: np.ndarray, z: np.ndarray, *, device: str = "cpu", method: str = "auto",
                    tol: float = KCI_TOL, max_rank: int = KCI_MAX_RANK) -> TestResult:
    """Conditional KCI of x ⫫ y | z on cleaned arrays (:func:`clean_triple`).

    Parameters
    ----------
    x, y, z : ndarray (n, d)
        Complete rows; z is the conditioning matrix (continuous and/or discrete-coded columns).
    device : str
        torch device.
    method : {"auto", "lowrank", "dense"}
        See the module docstring (``"auto"`` = ``"lowrank"``).
    tol, max_rank : float, int
        Trace tolerance and rank cap of the low-rank factors.

    Returns
    -------
    TestResult
        ``statistic`` V, ``pvalue``; ``details`` holds the Gamma moments, the ranks of the
        factors (``rank_x``, ``rank_y``, ``rank_z``), the kept eigenvalues (``eig_x``,
        ``eig_y``) and ``rank_capped`` (True when a factor stopped at ``max_rank``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=(300, 1))
    >>> x = np.sin(z) + 0.3 * rng.normal(size=(300, 1))
    >>> y = z ** 2 + 0.3 * rng.normal(size=(300, 1))
    >>> kci_conditional(x, y, z).pvalue > 0.05
    True
    """
    return kci_batch({"x": x, "y": y, "z": z}, [("x", "y", ("z",))], device=device, method=method, tol=tol,
                     max_rank=max_rank, clean=False)[0]


# --------------------------------------------------------------------------- batches

Triple = tuple[Hashable, Hashable, Sequence[Hashable]]


def _as_variables(variables: Mapping[Hashable, Any] | np.ndarray) -> dict[Hashable, np.ndarray]:
    if isinstance(variables, np.ndarray):
        if variables.ndim != 2:
            raise ParameterError(f"variables must be a 2-D array (n, p) or a mapping name -> array, "
                                 f"got shape {variables.shape}")
        return {j: variables[:, j:j + 1].astype(np.float64) for j in range(variables.shape[1])}
    if hasattr(variables, "columns") and hasattr(variables, "to_numpy"):  # DataFrame
        return {c: as_2d_float(variables[c], str(c)) for c in variables.columns}
    out = {k: as_2d_float(v, str(k)) for k, v in dict(variables).items()}
    ns = {v.shape[0] for v in out.values()}
    if len(ns) > 1:
        raise IndependenceTestError(f"variables have different numbers of rows {sorted(ns)}: pass aligned samples")
    return out


def _check_triples(triples: Sequence[Triple], names: set) -> list[tuple[Hashable, Hashable, tuple]]:
    out = []
    for t in triples:
        try:
            x, y, s = t
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"triple {t!r} is not (x, y, given)", hint="e.g. ('a', 'b', ('c', 'd'))") from exc
        s = tuple(s) if isinstance(s, (list, tuple)) else ((s,) if s is not None else ())
        for v in (x, y, *s):
            if v not in names:
                raise ParameterError(f"triple {t!r} names variable {v!r}, which is not among the variables",
                                     hint=f"variables are {sorted(map(str, names))[:20]}")
        if x == y or x in s or y in s:
            raise ParameterError(f"triple {t!r}: x, y and the conditioning variables must be distinct")
        out.append((x, y, s))
    return out


def _groups_by_rows(vars_: dict, triples: list, min_n: int):
    """Group triples by their complete-row mask; yields (rows or None, [(i, triple)])."""
    finite = {k: np.isfinite(v).all(1) for k, v in vars_.items()}
    n = next(iter(vars_.values())).shape[0]
    groups: dict[bytes, tuple[np.ndarray, list]] = {}
    for i, (x, y, s) in enumerate(triples):
        mask = finite[x] & finite[y]
        for v in s:
            mask = mask & finite[v]
        key = np.packbits(mask).tobytes()
        groups.setdefault(key, (mask, []))[1].append((i, (x, y, s)))
    for mask, items in groups.values():
        yield (None if bool(mask.all()) else np.flatnonzero(mask)), items, n


def _prepared(vars_: dict, rows, keys, cache: dict):
    """z-scored (ddof=1) numpy copies of variables on the given rows, with the constant guards."""
    out = {}
    for k in keys:
        ck = (k, None if rows is None else rows.tobytes())
        if ck not in cache:
            v = vars_[k] if rows is None else vars_[k][rows]
            cache[ck] = v
        out[k] = cache[ck]
    return out


def _row_checks(name, arr, m, *, given: bool):
    if given:
        const = [j for j in range(arr.shape[1]) if np.all(arr[:, j] == arr[0, j])]
        if const:
            return (f"conditioning variable {name!r} has constant column(s) {const} on the {m} complete rows: "
                    "drop it from the conditioning set")
        return None
    if np.all(arr == arr[0]):
        return (f"{name!r} is constant on the {m} complete rows (value {arr[0].tolist()}): independence is "
                "untestable; drop this variable")
    return None


def _error_result(test: str, n: int, message: str) -> IndependenceTestError:
    return IndependenceTestError(f"{test}: {message}")


def kci_batch(variables: Mapping[Hashable, Any] | np.ndarray, triples: Sequence[Triple], *, device: str = "cpu",
              method: str = "auto", tol: float = KCI_TOL, max_rank: int = KCI_MAX_RANK,
              max_rank_given: int | None = None, min_n: int = DEFAULT_MIN_N, clean: bool = True,
              errors: str = "raise") -> list[TestResult]:
    """Conditional (and unconditional, S = ()) KCI for many (x, y, S) triples.

    Parameters
    ----------
    variables : mapping name -> array (n,) / (n, d), DataFrame, or ndarray (n, p)
        The variables; an ndarray's columns are named 0 … p − 1.  Rows are aligned; rows
        with a missing value are dropped per triple (triples with the same complete rows
        are computed together).
    triples : sequence of (x, y, S)
        S a tuple of names (its variables' columns are stacked, in order, into z).  KCI is
        not symmetric: x is the variable augmented with ½z.  ``S = ()`` gives causal-learn's
        unconditional ``KCI_UInd`` (via :func:`personax.independence.fast.kci`).
    device, method, tol, max_rank
        As :func:`kci_conditional`.
    max_rank_given : int, optional
        A larger rank cap for the kernel of the conditioning set (computed once per set and
        shared by its triples, so a higher cap is cheap); default ``max_rank``.
    min_n : int
        Smallest number of complete rows per triple.
    clean : bool
        Check rows, constants and the conditioning-set size (set False only for arrays
        already validated by :func:`clean_triple`).
    errors : {"raise", "return"}
        On a bad triple raise its error, or return the exception object in its place.

    Returns
    -------
    list of TestResult (or exceptions with ``errors="return"``), in the order of ``triples``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> a = rng.normal(size=400); b = a + rng.normal(size=400); c = b + rng.normal(size=400)
    >>> res = kci_batch({"a": a, "b": b, "c": c}, [("a", "c", ()), ("a", "c", ("b",))])
    >>> res[0].pvalue < 0.01, res[1].pvalue > 0.05
    (True, True)
    """
    from personax.independence import fast

    meth = _resolve_method(method)
    _check_tol(tol, max_rank)
    if errors not in ("raise", "return"):
        raise ParameterError(f"errors={errors!r}: use 'raise' or 'return'")
    vars_ = _as_variables(variables)
    trip = _check_triples(triples, set(vars_))
    results: list[Any] = [None] * len(trip)
    cache: dict = {}
    for rows, items, n_all in _groups_by_rows(vars_, trip, min_n):
        keys = {v for _, (x, y, s) in items for v in (x, y, *s)}
        data = _prepared(vars_, rows, keys, cache)
        m = n_all if rows is None else rows.size
        # per-variable guards (row count, constants), then per-triple size checks
        bad: dict[int, Exception] = {}
        for i, (x, y, s) in items:
            if clean:
                if m < min_n:
                    bad[i] = IndependenceTestError(
                        f"only {m} complete rows (of {n_all}) after dropping missing values; at least "
                        f"min_n={min_n} are needed: use variables with fewer missing values or lower min_n")
                    continue
                msg = _row_checks(x, data[x], m, given=False) or _row_checks(y, data[y], m, given=False)
                for v in s:
                    msg = msg or _row_checks(v, data[v], m, given=True)
                if msg:
                    bad[i] = IndependenceTestError(f"kci: {msg}")
                    continue
                dz = sum(data[v].shape[1] for v in s)
                try:
                    if s:
                        check_given_size(m, dz, "kci")
                except ParameterError as exc:
                    bad[i] = exc
        for i, exc in bad.items():
            if errors == "raise":
                raise exc
            results[i] = exc
        todo = [(i, t) for i, t in items if i not in bad]
        # unconditional triples: the exact Level I path
        for i, (x, y, s) in todo:
            if not s:
                try:
                    results[i] = fast.kci(data[x], data[y], device=device)
                except (IndependenceTestError, FloatingPointError) as exc:
                    if errors == "raise":
                        raise IndependenceTestError(f"kci: {exc}") from exc
                    results[i] = IndependenceTestError(f"kci: {exc}")
        by_s: dict[tuple, list] = {}
        for i, (x, y, s) in todo:
            if s:
                by_s.setdefault(s, []).append((i, x, y))
        with cpu_threads(device):
            for s, group in by_s.items():
                _kci_group(data, s, group, m, meth, tol, int(max_rank), device, results, errors,
                           max_rank_given=None if max_rank_given is None else int(max_rank_given))
    return results


def _kci_group(data: dict, s: tuple, group: list, n: int, method: str, tol: float, max_rank: int, device: str,
               results: list, errors: str, max_rank_given: int | None = None) -> None:
    """All triples (x, y | S) for one conditioning set S on the same rows."""
    zs = zscore(np.hstack([data[v] for v in s]))
    dz = zs.shape[1]
    c = kci_conditional_coef(n, dz)
    Z = torch.as_tensor(zs, dtype=DTYPE, device=device)
    zpart = None
    xkeys = list(dict.fromkeys(x for _, x, _ in group))
    ykeys = list(dict.fromkeys(y for _, _, y in group))
    try:
        # a cap of half the rows or more saves nothing over the exact computation
        if max_rank >= n / 2:
            max_rank = n
        if method == "dense" or (method == "auto" and n <= AUTO_DENSE_MAX_N):
            zpart = _DenseZ(Z, c)
        else:
            zpart = _LowRankZ(Z, c, tol, max(max_rank, min(n, max_rank_given or max_rank)))
            if method == "auto" and max_rank >= n and zpart.rank > AUTO_DENSE_RANK_FRACTION * n:
                # the factors would be nearly full rank: the dense algorithm is cheaper
                zpart = _DenseZ(Z, c)
        used = "dense" if isinstance(zpart, _DenseZ) else "lowrank"
        xdata = [torch.cat([torch.as_tensor(zscore(data[k]), dtype=DTYPE, device=device), 0.5 * Z], 1)
                 for k in xkeys]
        ydata = [torch.as_tensor(zscore(data[k]), dtype=DTYPE, device=device) for k in ykeys]
        xroles = dict(zip(xkeys, _roles_by_shape(zpart, xdata, c, tol, max_rank)))
        yroles = dict(zip(ykeys, _roles_by_shape(zpart, ydata, c, tol, max_rank)))
    except (torch.linalg.LinAlgError, RuntimeError) as exc:  # pragma: no cover - numerical failure
        err = IndependenceTestError(f"kci: numerical failure for conditioning set {s!r}: {exc}")
        if errors == "raise":
            raise err from exc
        for i, _, _ in group:
            results[i] = err
        return
    capped = bool(zpart.capped or any(r.capped for r in (*xroles.values(), *yroles.values())))
    pairs = [(xkeys.index(x), ykeys.index(y)) for _, x, y in group]
    var = null_variances([xroles[k].V for k in xkeys], [yroles[k].V for k in ykeys], pairs,
                         dtype=torch.float32 if capped else DTYPE)
    stats = _stats(xkeys, ykeys, xroles, yroles, group)
    for (i, x, y), v, (stat, mean) in zip(group, var.tolist(), stats):
        try:
            results[i] = _kci_result(stat, mean, v, n, dz, used, xroles[x], yroles[y], zpart.rank, zpart.capped)
        except IndependenceTestError as exc:
            if errors == "raise":
                raise
            results[i] = exc


def _stats(xkeys, ykeys, xroles, yroles, group) -> list[tuple[float, float]]:
    """(V, Gamma mean) per triple; one matrix product per x-role against all its y's."""
    out = {}
    by_x: dict = {}
    for i, x, y in group:
        by_x.setdefault(x, []).append((i, y))
    for x, items in by_x.items():
        rx = xroles[x]
        ys = [yroles[y] for _, y in items]
        if rx.A is not None and all(r.A is not None for r in ys):
            M = rx.A.T @ torch.cat([r.A for r in ys], 1)
            widths = [r.A.shape[1] for r in ys]
            sq = [float(b.square().sum()) for b in torch.split(M, widths, 1)]
        else:
            sq = [_kci_stat_mean(rx, r)[0] for r in ys]
        for (i, _y), st, ry in zip(items, sq, ys):
            out[i] = (st, float((rx.diag * ry.diag).sum()))
    return [out[i] for i, _, _ in group]


def null_variances(vxs: Sequence[torch.Tensor], vys: Sequence[torch.Tensor], pairs: Sequence[tuple[int, int]], *,
                   dtype: torch.dtype = DTYPE) -> torch.Tensor:
    """2·tr (UUᵀ)² = 2 Σₛₜ (vₓ,ₛ·vₓ,ₜ)² (v_y,ₛ·v_y,ₜ)² for many (x, y) pairs of one conditioning set.

    ``vxs``/``vys`` hold the kept, scaled eigenvectors (n, r) of each x- and y-role; ``pairs``
    index into them.  Rows are processed in blocks on and above the diagonal (both Gram
    matrices are symmetric); in each block the squared Gram rows of every x- and y-role
    are computed once, and all x × y sums come from one matrix product of the flattened
    blocks.  Memory O(block·n·(#x + #y)); time O(n²(Σrₓ + Σr_y + #x·#y)/2).  ``dtype``
    float32 halves the time (relative error ~1e-7 on this sum of positive terms); the
    default float64 is used unless a factor was rank-capped.
    """
    dev = vxs[0].device
    n = vxs[0].shape[0]

    def stack(vs):
        r = max(1, max(v.shape[1] for v in vs))
        out = torch.zeros(len(vs), n, r, dtype=dtype, device=dev)
        for j, v in enumerate(vs):
            out[j, :, : v.shape[1]] = v
        return out

    VX, VY = stack(vxs), stack(vys)
    mx, my = VX.shape[0], VY.shape[0]
    step = max(1, min(n, BLOCK_ELEMENTS // max(1, (mx + my) * n)))
    acc = torch.zeros(mx, my, dtype=DTYPE, device=dev)
    for i0 in range(0, n, step):
        i1 = min(n, i0 + step)
        b = i1 - i0
        gx = (VX[:, i0:i1] @ VX[:, i0:].transpose(1, 2)).square_()
        gx[:, :, b:] *= 2.0                       # blocks right of the diagonal stand for two
        gy = (VY[:, i0:i1] @ VY[:, i0:].transpose(1, 2)).square_()
        acc += (gx.reshape(mx, -1) @ gy.reshape(my, -1).T).to(DTYPE)
    xi = torch.as_tensor([p[0] for p in pairs], device=dev)
    yi = torch.as_tensor([p[1] for p in pairs], device=dev)
    return 2.0 * acc[xi, yi]


def _roles_by_shape(zpart, datas: list[torch.Tensor], c: float, tol: float, max_rank: int) -> list[_Role]:
    """Roles of data sets that may differ in width (multi-column variables): batch equal shapes."""
    out: list[_Role | None] = [None] * len(datas)
    by_shape: dict[tuple, list[int]] = {}
    for i, d in enumerate(datas):
        by_shape.setdefault(tuple(d.shape), []).append(i)
    for idx in by_shape.values():
        for i, r in zip(idx, zpart.roles([datas[i] for i in idx], c, tol, max_rank)):
            out[i] = r
    return out  # type: ignore[return-value]


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
    cache: dict = {}
    for rows, items, n_all in _groups_by_rows(vars_, trip, min_n):
        keys = {v for _, (x, y, s) in items for v in (x, y, *s)}
        data = _prepared(vars_, rows, keys, cache)
        m = n_all if rows is None else rows.size
        for i, (x, y, s) in items:
            try:
                if clean:
                    if m < min_n:
                        raise IndependenceTestError(
                            f"only {m} complete rows (of {n_all}) after dropping missing values; at least "
                            f"min_n={min_n} are needed: use variables with fewer missing values or lower min_n")
                    msg = _row_checks(x, data[x], m, given=False) or _row_checks(y, data[y], m, given=False)
                    for v in s:
                        msg = msg or _row_checks(v, data[v], m, given=True)
                    if msg:
                        raise IndependenceTestError(f"{test}: {msg}")
                    if s:
                        check_given_size(m, sum(data[v].shape[1] for v in s), test, num_features_z=num_features_z)
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


__all__ = ["KCI_EPSILON", "KCI_EIG_THRESH", "KCI_TOL", "KCI_MAX_RANK", "KCI_METHODS", "clean_triple",
           "max_given_columns", "check_given_size", "kci_conditional", "kci_batch", "rcit_conditional",
           "rcit_batch", "fisherz", "fisherz_batch", "pivoted_cholesky", "null_variances",
           "draw_fourier_conditional", "kci_conditional_width"]
