"""Per-role pieces of conditional KCI: the residualised kernel of x or y given Z (dense or low rank),
the statistic, its null moments and the result record."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch

from personax.errors import ParameterError
from personax.independence.conditional.kernels import (
    center_gram,
    gaussian_gram,
    kci_conditional_width,
    pivoted_cholesky,
)
from personax.independence.conditional.limits import (
    BACKEND,
    CPU_THREADS,
    FACTOR_ELEMENTS,
    KCI_EIG_THRESH,
    KCI_EPSILON,
    KCI_METHODS,
)
from personax.independence.nulls import gamma_sf
from personax.independence.result import IndependenceTestError, TestResult

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
            rks = [int(r) for r in ranks.tolist()]
            # one Woodbury product for the whole chunk (a wide GEMM instead of one per role)
            Fs = [L[b, :, :rk] - L[b, :, :rk].mean(0) for b, rk in enumerate(rks)]
            As = torch.split(self.apply(torch.cat(Fs, 1)), rks, 1)
            # eigendecompositions of the m × m Gram matrices, batched over roles of equal rank
            Ps: list = [None] * len(rks)
            by_rank: dict[int, list[int]] = {}
            for b, rk in enumerate(rks):
                by_rank.setdefault(rk, []).append(b)
            for idx in by_rank.values():
                Ab = torch.stack([As[b] for b in idx])
                G = Ab.transpose(1, 2) @ Ab
                w, P = torch.linalg.eigh(0.5 * (G + G.transpose(1, 2)))
                for j, b in enumerate(idx):
                    Ps[b] = (w[j], P[j])
            for b, rk in enumerate(rks):
                A = As[b]
                w, P = Ps[b]
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
