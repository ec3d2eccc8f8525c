"""Kernel helpers of conditional KCI: Gaussian Gram matrices, centring, pivoted Cholesky factors."""

from __future__ import annotations

import numpy as np
import torch
from scipy.linalg.lapack import dpstrf as _dpstrf

from personax.independence.conditional.limits import DTYPE, KCI_MAX_RANK, KCI_TOL

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
    candidate × candidate residual matrix (kernel minus the previous columns' part, which
    needs the previous columns on the candidates only) goes to the greedy pivoted Cholesky
    (largest residual first; LAPACK ``dpstrf``), which picks up to ``block`` pivots,
    skipping candidates made redundant by earlier pivots; only the picked pivots' residual
    kernel rows are computed on all n rows, and the new columns follow by one triangular
    solve.  The cost is that of the plain pivoted Cholesky, ≈ n·r²/2 multiply-adds for rank r
    (computing every candidate's row on all n rows cost ``cand_factor`` times more).  The
    result is the exact Cholesky factor of K on the chosen pivots (the greedy Nyström
    factor); only the pivot choice is restricted to each block's candidates.  A factor may
    pass the tolerance by up to one block (more accuracy, never less).

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
        S = _sqdist(xc, xc).mul_(-c).exp_()                                   # (B, kc, kc) kernel among candidates
        if width:
            prev = store[:, :width]                                           # (B, w, n)
            pc = prev.gather(2, cand[:, None, :].expand(B, width, kc))        # (B, w, kc)
            S -= pc.transpose(1, 2) @ pc
        S = S.cpu().numpy()                                                   # residual among candidates
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
        sel = torch.zeros(B, used, dtype=torch.int64, device=dev)             # positions among the candidates
        ok_all = torch.zeros(B, used, dtype=torch.bool, device=dev)
        for b, (pk, fac) in enumerate(zip(picks, facs)):
            m = len(pk)
            if m:
                G[b, :m, :m] = torch.as_tensor(fac, dtype=DTYPE, device=dev)
                sel[b, :m] = torch.as_tensor(pk, device=dev)
                ok_all[b, :m] = True
        # residual kernel rows on all n rows, for the picked pivots only (the n-long update is
        # the dominant cost: computing it for the picks, not for every candidate)
        rows_sel = cand.gather(1, sel)                                        # (B, used) row indices
        xs = x.gather(1, rows_sel[..., None].expand(B, used, d))
        Csel = _sqdist(xs, x).mul_(-c).exp_()                                 # (B, used, n)
        if width:
            Csel -= prev.gather(2, rows_sel[:, None, :].expand(B, width, used)).transpose(1, 2) @ prev
        Lnew = torch.linalg.solve_triangular(G, Csel, upper=False)            # (B, used, n)
        Lnew.mul_(ok_all[:, :, None])  # padding rows (G = I there) carry row 0's kernel: zero them
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
