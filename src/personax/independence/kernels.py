"""Exact kernel moments for KCI and Gamma-HSIC without n×n matrices in memory (torch, float64).

Both kernel tests need only a handful of scalars of the centred Gaussian Gram matrices
K̃x = HKxH, K̃y = HKyH (H = I − 11ᵀ/n):

* ``cross``       Σᵢⱼ K̃x,ᵢⱼ K̃y,ᵢⱼ                      (KCI statistic; n²·HSIC)
* ``sq_cross``    Σ_{i≠j} (K̃x,ᵢⱼ K̃y,ᵢⱼ)²               (Gamma-HSIC variance)
* ``trace_*``     tr K̃                                 (KCI null mean)
* ``fro2_*``      Σᵢⱼ K̃ᵢⱼ²                             (KCI null variance)
* ``offsum_*``    Σ_{i≠j} Kᵢⱼ  (uncentred)              (Gamma-HSIC null mean)

:func:`pair_moments` computes them exactly with three strategies, choosing the one of
least estimated cost (:func:`strategy_costs`; no distinct-value threshold, so there is no
cliff where a continuous pair switches paths):

1. **Both variables have few distinct values** (``levels <= max_levels_grouped``):
   a variable with k distinct values has K = P Ku Pᵀ (P the n×k indicator), and its
   centred kernel is again a k×k matrix C indexed by group.  Everything reduces to the
   kx×ky contingency table N: cross = Σ (Nᵀ Cx N) ∘ Cy.  O(n + kx·ky·(kx + ky)): cheap for
   few levels, but cubic when both variables are continuous (k = n).
2. **One variable with few values (k ≤ ``max_levels_mixed``), the other continuous**:
   one blockwise pass over the continuous kernel computes K P, Pᵀ(K∘K)P and ‖K‖²_F;
   centring is then applied algebraically (K̃ᵢⱼ = Kᵢⱼ + aᵢ + aⱼ with a = −rowmean + mean/2).
   Several few-valued partners sharing the same rows are handled in the same pass
   (:func:`moments_continuous_vs_grouped`): the battery uses this to test one attribute
   against all five traits at the cost of one kernel evaluation.
3. **Both continuous**: two blockwise passes (row sums, then centred blocks).

Memory is O(block_rows · n); time O(n² (k + 1)).  Everything is float64.  The exactness
of the identities is what lets the fast backend reproduce causal-learn's KCI p-values to
~1e-10 relative (tests/independence/test_agreement.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

DTYPE = torch.float64
MAX_LEVELS_GROUPED = 2000   # largest k for which grouped forms are built at all (memory k×k)
MAX_LEVELS_MIXED = 64       # largest k of the grouped side of strategy 2
#: Relative cost of one kernel entry (an exp and a squared distance) against one multiply-add.
KERNEL_ENTRY_COST = 12.0
BLOCK_ELEMENTS = 4_000_000  # ≈ 32 MB per float64 block buffer


@dataclass(frozen=True)
class PairMoments:
    """Scalars of the centred Gram matrices of one (x, y) pair; see the module docstring."""

    n: int
    cross: float
    sq_cross: float
    trace_x: float
    trace_y: float
    fro2_x: float
    fro2_y: float
    offsum_x: float
    offsum_y: float
    strategy: str


@dataclass(frozen=True)
class Grouped:
    """A variable in grouped form: distinct rows, index of each row's group, counts."""

    values: np.ndarray   # (k, d) distinct rows
    index: np.ndarray    # (n,) int64 group of each row
    counts: np.ndarray   # (k,) float64

    @property
    def k(self) -> int:
        return int(self.values.shape[0])


def group(data: np.ndarray) -> Grouped:
    """Group the rows of ``data`` (n, d) by their distinct values."""
    values, index, counts = np.unique(data, axis=0, return_inverse=True, return_counts=True)
    return Grouped(values, index.reshape(-1).astype(np.int64), counts.astype(np.float64))


def n_levels(data: np.ndarray) -> int:
    """Number of distinct rows of ``data`` (n, d)."""
    if data.shape[1] == 1:
        return int(np.unique(data[:, 0]).size)
    return int(np.unique(data, axis=0).shape[0])


def _sqdist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances by explicit differences (no ‖a‖²+‖b‖²−2ab cancellation)."""
    if a.shape[1] == 1:
        return (a - b.T).square_()
    return (a[:, None, :] - b[None, :, :]).square_().sum(-1)


def _gauss_(sq: torch.Tensor, c: float) -> torch.Tensor:
    """In place: sq ← exp(−c·sq).  On CPU NumPy's vectorised float64 exp is used on the
    shared buffer (≈ 3× faster than torch's float64 exp there); on GPU torch's."""
    sq.mul_(-c)
    if sq.device.type == "cpu" and sq.is_contiguous():
        buf = sq.numpy()
        np.exp(buf, out=buf)
        return sq
    return sq.exp_()


def _block_rows(n: int, d: int = 1) -> int:
    return max(1, BLOCK_ELEMENTS // max(1, n * d))


def grouped_kernel(g: Grouped, c: float, device: str) -> dict[str, torch.Tensor]:
    """Kernel quantities of a grouped variable: Ku, centred C, and its per-variable scalars."""
    u = torch.as_tensor(g.values, dtype=DTYPE, device=device)
    m = torch.as_tensor(g.counts, dtype=DTYPE, device=device)
    n = m.sum()
    ku = _gauss_(_sqdist(u, u), c)
    rowmean = (ku @ m) / n                     # row mean of K for a member of each group
    total = m @ ku @ m
    sbar = total / n ** 2
    cen = ku - rowmean[:, None] - rowmean[None, :] + sbar
    return {
        "ku": ku, "C": cen, "C2": cen ** 2, "m": m,
        "trace": (m * torch.diagonal(cen)).sum(),
        "fro2": m @ (cen ** 2) @ m,
        "offsum": total - n,
    }


def moments_grouped_grouped(gx: Grouped, cx: float, gy: Grouped, cy: float, device: str, *,
                            qx: dict | None = None) -> PairMoments:
    """Strategy 1: both variables grouped; all sums via the kx×ky contingency table.

    ``qx`` (from :func:`grouped_kernel`) lets a caller reuse x's k×k kernel across partners.
    """
    kx, ky = gx.k, gy.k
    qx = grouped_kernel(gx, cx, device) if qx is None else qx
    qy = grouped_kernel(gy, cy, device)
    joint = np.bincount(gx.index * ky + gy.index, minlength=kx * ky).reshape(kx, ky)
    N = torch.as_tensor(joint, dtype=DTYPE, device=device)
    Cx, Cy = qx["C"], qy["C"]
    cross = ((N.T @ Cx @ N) * Cy).sum()
    sq_total = ((N.T @ qx["C2"] @ N) * (Cy ** 2)).sum()
    diag = (N * (torch.diagonal(Cx) ** 2)[:, None] * (torch.diagonal(Cy) ** 2)[None, :]).sum()
    return PairMoments(
        n=int(gx.index.size), cross=float(cross), sq_cross=float(sq_total - diag),
        trace_x=float(qx["trace"]), trace_y=float(qy["trace"]),
        fro2_x=float(qx["fro2"]), fro2_y=float(qy["fro2"]),
        offsum_x=float(qx["offsum"]), offsum_y=float(qy["offsum"]), strategy="grouped×grouped")


def moments_continuous_vs_grouped(x: np.ndarray, cx: float, partners: list[tuple[Grouped, float]],
                                  device: str) -> list[PairMoments]:
    """Strategy 2: one blockwise pass over Kx serves every grouped partner on the same rows.

    The rows are first sorted by the first partner's groups, so that its group sums
    K P₁ are sums over contiguous column slices (cheaper than a matmul with a one-hot
    matrix); further partners use a matmul with their indicator matrix.  Kx is symmetric,
    so only the blocks on and above the diagonal are evaluated, each one contributing to
    its rows and, mirrored, to its columns.

    Parameters
    ----------
    x : ndarray (n, d)
        Prepared (already scaled) continuous variable.
    cx : float
        Kernel coefficient: k(a, b) = exp(−cx ‖a − b‖²).
    partners : list of (Grouped, c)
        Few-valued variables on the same n rows, with their kernel coefficients.
    device : str
        torch device.

    Returns
    -------
    list of PairMoments, one per partner (x first, partner second).
    """
    n, d = x.shape
    order = np.argsort(partners[0][0].index, kind="stable")
    X = torch.as_tensor(x[order], dtype=DTYPE, device=device)
    idx = [torch.as_tensor(g.index[order], device=device) for g, _ in partners]
    sizes = [g.k for g, _ in partners]
    bounds = np.concatenate([[0], np.cumsum(partners[0][0].counts.astype(np.int64))]).tolist()
    # indicator matrix of the other partners (matmul path)
    offs = np.concatenate([[0], np.cumsum(sizes[1:])]).astype(int)
    rows = torch.arange(n, device=device)
    Po = torch.zeros(n, int(offs[-1]), dtype=DTYPE, device=device)
    for j, off in enumerate(offs[:-1]):
        Po[rows, idx[j + 1] + int(off)] = 1.0
    KP1, KPo, K2P1, PoK2Po = _grouped_block_sums(X, cx, bounds, sizes[0], Po, device)
    k1vec = KP1.sum(1)                          # row sums of Kx
    s = k1vec.sum()
    sum_k2 = K2P1.sum()
    r = k1vec / n
    sbar = s / n ** 2
    a = -r + sbar / 2
    trace_x = float(n - s / n)
    fro2_x = float(sum_k2 - 2.0 * (k1vec @ k1vec) / n + s ** 2 / n ** 2)
    offsum_x = float(s - n)
    out = []
    for j, ((g, cy), k) in enumerate(zip(partners, sizes)):
        gi = idx[j]
        if j == 0:
            KPj = KP1
            PtK2P = torch.zeros(k, k, dtype=DTYPE, device=device).index_add_(0, gi, K2P1)
        else:
            off = int(offs[j - 1])
            KPj = KPo[:, off:off + k]
            PtK2P = PoK2Po[off:off + k, off:off + k]
        cross, sq_cross, q = _grouped_partner(g, cy, gi, k, KPj, PtK2P, r, a, sbar, device)
        out.append(PairMoments(
            n=n, cross=cross, sq_cross=sq_cross,
            trace_x=trace_x, trace_y=float(q["trace"]), fro2_x=fro2_x, fro2_y=float(q["fro2"]),
            offsum_x=offsum_x, offsum_y=float(q["offsum"]), strategy="continuous×grouped"))
    return out


def _grouped_block_sums(X: torch.Tensor, cx: float, bounds: list, k1: int, Po: torch.Tensor, device: str):
    """One blockwise pass over the upper triangle of Kx (and Kx∘Kx): K P₁, K P_o, K² P₁, P_oᵀ K² P_o.

    ``bounds`` delimit the first partner's groups in the (sorted) rows; ``Po`` is the indicator
    matrix of the other partners (no columns when there is one partner).
    """
    n, d = X.shape
    K_o = Po.shape[1]
    KP1 = torch.zeros(n, k1, dtype=DTYPE, device=device)
    KPo = torch.zeros(n, K_o, dtype=DTYPE, device=device)
    K2P1 = torch.zeros(n, k1, dtype=DTYPE, device=device)
    PoK2Po = torch.zeros(K_o, K_o, dtype=DTYPE, device=device)
    step = max(1, min(64, _block_rows(n, d)))

    def accumulate(kb: torch.Tensor, i0: int, i1: int, out: torch.Tensor) -> None:
        # kb holds K[i0:i1, i0:n]; Kx is symmetric, so the block also stands for K[i1:n, i0:i1]
        for a in range(k1):
            c0, c1 = max(bounds[a], i0), bounds[a + 1]
            if c1 > c0:   # row sums over partner-1 group a (columns j >= i0)
                out[i0:i1, a] += kb[:, c0 - i0:c1 - i0].sum(1)
            r0, r1 = max(bounds[a], i0), min(bounds[a + 1], i1)
            if r1 > r0 and i1 < n:   # mirrored part: rows j >= i1, columns i in block and group a
                out[i1:, a] += kb[r0 - i0:r1 - i0, i1 - i0:].sum(0)

    for i0 in range(0, n, step):
        i1 = min(n, i0 + step)
        # only the upper part K[i0:i1, i0:n] is evaluated: half the kernel entries
        kb = _gauss_(_sqdist(X[i0:i1], X[i0:]), cx)
        accumulate(kb, i0, i1, KP1)
        if K_o:
            KPo[i0:i1] += kb @ Po[i0:]
            if i1 < n:
                KPo[i1:] += kb[:, i1 - i0:].T @ Po[i0:i1]
        kb.square_()
        accumulate(kb, i0, i1, K2P1)
        if K_o:
            PoK2Po += Po[i0:i1].T @ (kb[:, :i1 - i0] @ Po[i0:i1])
            if i1 < n:
                m_off = Po[i0:i1].T @ (kb[:, i1 - i0:] @ Po[i1:])
                PoK2Po += m_off + m_off.T
        del kb
    return KP1, KPo, K2P1, PoK2Po


def _grouped_partner(g: Grouped, cy: float, gi: torch.Tensor, k: int, KPj: torch.Tensor, PtK2P: torch.Tensor,
                     r: torch.Tensor, a: torch.Tensor, sbar, device: str) -> tuple[float, float, dict]:
    """Σ K̃x∘K̃y and Σ (K̃x∘K̃y)² (off the diagonal) for one grouped partner, and its kernel summary."""
    q = grouped_kernel(g, cy, device)

    def gsum(v: torch.Tensor) -> torch.Tensor:  # Pᵀv: sums of v over the partner's groups
        return torch.zeros(k, dtype=DTYPE, device=device).index_add_(0, gi, v)

    m = q["m"]
    pr = gsum(r)
    PtKP = torch.zeros(k, k, dtype=DTYPE, device=device).index_add_(0, gi, KPj)
    G1 = PtKP - torch.outer(pr, m) - torch.outer(m, pr) + sbar * torch.outer(m, m)
    Cy = q["C"]
    cross = (G1 * Cy).sum()
    D = Cy ** 2
    t1 = (PtK2P * D).sum()
    pa = gsum(a)
    t2 = 2.0 * (gsum(a ** 2) * (D @ m)).sum()
    t3 = 2.0 * (pa @ D @ pa)
    Q = KPj @ D
    t4 = 4.0 * (a * Q.gather(1, gi[:, None]).squeeze(1)).sum()
    diag = (torch.diagonal(D) * gsum((1.0 + 2.0 * a) ** 2)).sum()
    return float(cross), float(t1 + t2 + t3 + t4 - diag), q


def moments_continuous_continuous(x: np.ndarray, cx: float, y: np.ndarray, cy: float,
                                  device: str, *, need_sq_cross: bool = True) -> PairMoments:
    """Strategy 3: both variables continuous, blockwise.

    With ``need_sq_cross=False`` (KCI) one pass over the blocks on and above the diagonal
    suffices: with a = row means, A = grand mean of a kernel, Σ K̃x∘K̃y = Σ Kx∘Ky − 2n·aₓ·a_y
    + n²AₓA_y and Σ K̃² = Σ K² − 2n·a·a + n²A², so only the raw sums and the row sums are
    needed (each kernel entry is evaluated once for a symmetric pair of blocks).  The
    Gamma-HSIC variance needs Σ (K̃x∘K̃y)², which does not split this way: two passes
    (row sums, then centred blocks); ``sq_cross`` is NaN in the one-pass result.
    """
    n = x.shape[0]
    if not need_sq_cross and str(device) == "cpu":
        return _one_pass_numpy(x, cx, y, cy)
    X = torch.as_tensor(x, dtype=DTYPE, device=device)
    Y = torch.as_tensor(y, dtype=DTYPE, device=device)
    step = _block_rows(n, max(x.shape[1], y.shape[1]))
    if not need_sq_cross:
        step = max(1, step // 2)
        rx = torch.zeros(n, dtype=DTYPE, device=device)
        ry = torch.zeros(n, dtype=DTYPE, device=device)
        sxy = torch.zeros((), dtype=DTYPE, device=device)
        sxx = torch.zeros((), dtype=DTYPE, device=device)
        syy = torch.zeros((), dtype=DTYPE, device=device)
        for i0 in range(0, n, step):
            i1 = min(n, i0 + step)
            kx = _gauss_(_sqdist(X[i0:i1], X[i0:]), cx)
            ky = _gauss_(_sqdist(Y[i0:i1], Y[i0:]), cy)
            dxy, dxx, dyy = _one_pass_block(kx, ky, i0, i1, n, rx, ry)
            sxy += dxy
            sxx += dxx
            syy += dyy
            del kx, ky
        return _one_pass_moments(n, rx, ry, sxy, sxx, syy)
    rx = torch.empty(n, dtype=DTYPE, device=device)
    ry = torch.empty(n, dtype=DTYPE, device=device)
    for start in range(0, n, step):
        stop = min(n, start + step)
        rx[start:stop] = _gauss_(_sqdist(X[start:stop], X), cx).sum(1)
        ry[start:stop] = _gauss_(_sqdist(Y[start:stop], Y), cy).sum(1)
    sx, sy = rx.sum(), ry.sum()
    rx, ry = rx / n, ry / n
    sbx, sby = sx / n ** 2, sy / n ** 2
    cross = torch.zeros((), dtype=DTYPE, device=device)
    sq = torch.zeros((), dtype=DTYPE, device=device)
    fx = torch.zeros((), dtype=DTYPE, device=device)
    fy = torch.zeros((), dtype=DTYPE, device=device)
    for start in range(0, n, step):
        stop = min(n, start + step)
        kx = _gauss_(_sqdist(X[start:stop], X), cx)
        kx.sub_(rx[start:stop, None]).sub_(rx[None, :]).add_(sbx)
        ky = _gauss_(_sqdist(Y[start:stop], Y), cy)
        ky.sub_(ry[start:stop, None]).sub_(ry[None, :]).add_(sby)
        fx += (kx * kx).sum()
        fy += (ky * ky).sum()
        kx.mul_(ky)
        cross += kx.sum()
        sq += (kx * kx).sum()
        del kx, ky
    dx = 1.0 - 2.0 * rx + sbx
    dy = 1.0 - 2.0 * ry + sby
    diag = ((dx * dy) ** 2).sum()
    return PairMoments(
        n=n, cross=float(cross), sq_cross=float(sq - diag),
        trace_x=float(n - sx / n), trace_y=float(n - sy / n), fro2_x=float(fx), fro2_y=float(fy),
        offsum_x=float(sx - n), offsum_y=float(sy - n), strategy="continuous×continuous")


def _np_sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.subtract.outer(a[:, 0], b[:, 0])
    out *= out
    for k in range(1, a.shape[1]):
        d = np.subtract.outer(a[:, k], b[:, k])
        d *= d
        out += d
    return out


def _one_pass_numpy(x: np.ndarray, cx: float, y: np.ndarray, cy: float) -> PairMoments:
    """The one-pass continuous strategy (KCI) in NumPy on the CPU: the same sums, blockwise.

    Element-wise work only (no matrix products), so a single thread is as fast as torch's
    pool on an idle machine and much faster on a busy one (no thread hand-offs per block).
    """
    n = x.shape[0]
    step = max(1, _block_rows(n, max(x.shape[1], y.shape[1])) // 2)
    rx = np.zeros(n)
    ry = np.zeros(n)
    sxy = sxx = syy = 0.0
    for i0 in range(0, n, step):
        i1 = min(n, i0 + step)
        kx = _np_sqdist(x[i0:i1], x[i0:])
        kx *= -cx
        np.exp(kx, out=kx)
        ky = _np_sqdist(y[i0:i1], y[i0:])
        ky *= -cy
        np.exp(ky, out=ky)
        dxy, dxx, dyy = _one_pass_block(kx, ky, i0, i1, n, rx, ry)
        sxy += dxy
        sxx += dxx
        syy += dyy
    return _one_pass_moments(n, rx, ry, sxy, sxx, syy)


def _one_pass_block(kx, ky, i0: int, i1: int, n: int, rx, ry):
    """Add one block ``K[i0:i1, i0:n]`` of both kernels (torch or NumPy) to the row sums ``rx``, ``ry``
    (rows i0:i1 see columns i0:n; mirrored, columns i0:i1 see rows i1:n) and return its shares of
    Σ Kx∘Ky, Σ Kx², Σ Ky² (the off-diagonal part counted twice).  ``kx``, ``ky`` are squared in place."""
    b = i1 - i0
    rx[i0:i1] += kx.sum(1)
    ry[i0:i1] += ky.sum(1)
    if i1 < n:
        rx[i1:] += kx[:, b:].sum(0)
        ry[i1:] += ky[:, b:].sum(0)
    prod = kx * ky
    sxy = prod[:, :b].sum() + 2.0 * prod[:, b:].sum()
    kx *= kx
    ky *= ky
    return sxy, kx[:, :b].sum() + 2.0 * kx[:, b:].sum(), ky[:, :b].sum() + 2.0 * ky[:, b:].sum()


def _one_pass_moments(n: int, rx, ry, sxy, sxx, syy) -> PairMoments:
    """Centred moments from the raw sums and row sums of the one-pass strategy (see
    :func:`moments_continuous_continuous`); ``sq_cross`` is NaN."""
    ax, ay = rx / n, ry / n
    Ax, Ay = ax.mean(), ay.mean()
    cross = sxy - 2.0 * n * (ax @ ay) + n * n * Ax * Ay
    fx = sxx - 2.0 * n * (ax @ ax) + n * n * Ax * Ax
    fy = syy - 2.0 * n * (ay @ ay) + n * n * Ay * Ay
    sx, sy = rx.sum(), ry.sum()
    return PairMoments(n=n, cross=float(cross), sq_cross=float("nan"), trace_x=float(n - sx / n),
                       trace_y=float(n - sy / n), fro2_x=float(fx), fro2_y=float(fy), offsum_x=float(sx - n),
                       offsum_y=float(sy - n), strategy="continuous×continuous")


def swap(m: PairMoments) -> PairMoments:
    """The same moments with the roles of x and y exchanged (all statistics are symmetric)."""
    return PairMoments(n=m.n, cross=m.cross, sq_cross=m.sq_cross, trace_x=m.trace_y,
                       trace_y=m.trace_x, fro2_x=m.fro2_y, fro2_y=m.fro2_x, offsum_x=m.offsum_y,
                       offsum_y=m.offsum_x, strategy=m.strategy)


def strategy_costs(n: int, kx: int, ky: int, *, max_levels_grouped: int = MAX_LEVELS_GROUPED,
                   max_levels_mixed: int = MAX_LEVELS_MIXED, need_sq_cross: bool = True) -> dict[str, float]:
    """Estimated cost (multiply-adds) of each exact strategy for a pair with kx, ky levels.

    * ``grouped×grouped``: the k×k kernels and Nᵀ Cx N, ≈ c·(kx² + ky²) + kx·ky·(kx + ky);
    * ``continuous×grouped`` (the grouped side has k ≤ ``max_levels_mixed`` levels): one
      pass over the upper half of the continuous kernel, ≈ n²/2·(c + 2k + 4);
    * ``continuous×continuous``: two passes over both kernels, ≈ n²·(4c + 10), or one pass
      over the upper half when ``sq_cross`` is not needed (KCI), ≈ n²/2·(2c + 8);

    with c = :data:`KERNEL_ENTRY_COST`.  Strategies that do not apply are absent.
    """
    c = KERNEL_ENTRY_COST
    cc = n * n * (4 * c + 10) if need_sq_cross else n * n / 2 * (2 * c + 8)
    out: dict[str, float] = {"continuous×continuous": cc}
    if kx <= max_levels_grouped and ky <= max_levels_grouped:
        out["grouped×grouped"] = c * (kx * kx + ky * ky) + kx * ky * (kx + ky)
    k = min(kx, ky)
    if k <= max_levels_mixed:
        out["continuous×grouped"] = n * n / 2 * (c + 2 * k + 4)
    return out


def pair_moments(x: np.ndarray, cx: float, y: np.ndarray, cy: float, device: str, *,
                 max_levels_grouped: int = MAX_LEVELS_GROUPED,
                 max_levels_mixed: int = MAX_LEVELS_MIXED, strategy: str | None = None,
                 need_sq_cross: bool = True) -> PairMoments:
    """Exact moments of one pair, by the exact strategy of least estimated cost (:func:`strategy_costs`).

    ``strategy`` forces one (``"grouped×grouped"``, ``"continuous×grouped"``,
    ``"continuous×continuous"``); every strategy gives the same numbers up to rounding.
    ``need_sq_cross=False`` (KCI) allows the one-pass continuous strategy, whose
    ``sq_cross`` is NaN.
    """
    n = x.shape[0]
    lx, ly = n_levels(x), n_levels(y)
    costs = strategy_costs(n, lx, ly, max_levels_grouped=max_levels_grouped, max_levels_mixed=max_levels_mixed,
                           need_sq_cross=need_sq_cross)
    choice = min(costs, key=costs.get) if strategy is None else strategy
    if choice not in costs:
        raise ValueError(f"strategy {choice!r} does not apply to this pair (levels {lx}, {ly}); "
                         f"applicable: {sorted(costs)}")
    if choice == "grouped×grouped":
        return moments_grouped_grouped(group(x), cx, group(y), cy, device)
    if choice == "continuous×grouped":
        if ly <= lx:
            return moments_continuous_vs_grouped(x, cx, [(group(y), cy)], device)[0]
        return swap(moments_continuous_vs_grouped(y, cy, [(group(x), cx)], device)[0])
    return moments_continuous_continuous(x, cx, y, cy, device, need_sq_cross=need_sq_cross)
