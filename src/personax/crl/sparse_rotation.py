"""Truth-free refinement of stage 2: per block, the linear map making cross-modal dependence additive and sparse.

Where every latent's exogenous noise is Gaussian, the stage-2 likelihood cannot tell the
true components of a block from any rotation of them (after scaling each noise to unit
variance): ``N(mu(pa), I)`` and ``N(R mu(pa), I)`` are both factorised.  What still
identifies the components there is structure (:mod:`personax.crl.identifiability`, C4):
in the true coordinates each child depends **additively** on its parents and only on a
**sparse**, distinct set of them.  Stage 2's L1 penalty is a weak, local proxy for that;
measured on design 6 of the family, the fitted child block was the truth up to a rotation
(an oracle rotation lifts its MCC from 0.63 to 0.99).

This module searches the rotations directly, in low dimension, on training rows only:

* a **root block** (first in the block order) is whitened and rotated to minimise the
  log-determinant of the residual covariance of the later blocks under an additive model
  in its coordinates (mixing two parents destroys additivity);
* every **later block** is whitened by the residual covariance of its full additive
  regression on the earlier blocks, then rotated to minimise a BIC score
  ``sum_i min_P [n/2 log RSS_i(P) + |P| k log(n) / 2]`` over parent subsets ``P`` (``k``
  basis functions per parent): the L0 version of the structural-sparsity criterion.

Rotations are found by Jacobi sweeps (a grid search over each Givens angle, as varimax
does) from several random starts.  :func:`block_maps` returns one linear map per block;
:mod:`personax.crl.staged` appends it to a fitted candidate, refits, and lets the usual
truth-free selection rule decide between the refined and the unrefined candidate.
"""

from __future__ import annotations

import itertools
from typing import Callable, Sequence

import numpy as np

__all__ = ["additive_basis", "block_maps", "child_rotation", "root_rotation"]

#: Basis functions per parent in the additive regressions.
N_BASIS = 6
#: Largest parent set searched per child (subsets of the earlier blocks' coordinates).
MAX_PARENTS = 4
#: Largest block refined: the search costs about d² Givens grids per sweep and start
#: (measured on 2 CPU cores: 6.5 s for two blocks of 5 coordinates, 29 s for two of 8);
#: a larger block is left as stage 2 returns it.  Blocks of more than 4 coordinates get
#: fewer random starts.
MAX_BLOCK = 6


def additive_basis(x: np.ndarray, ref: np.ndarray, k: int = N_BASIS) -> np.ndarray:
    """``k`` centred tanh ramps of one coordinate, knots at quantiles of ``ref``: ``(n, k)``."""
    q = np.quantile(ref, np.linspace(0.05, 0.95, k))
    width = max((q[-1] - q[0]) / k * 1.5, 1e-6)
    out = np.tanh((x[:, None] - q) / width)
    return out - out.mean(0)


def _givens(d: int, i: int, j: int, t: float) -> np.ndarray:
    g = np.eye(d)
    c, s = np.cos(t), np.sin(t)
    g[i, i] = g[j, j] = c
    g[i, j], g[j, i] = -s, s
    return g


def _jacobi(pair_scores: Callable[[np.ndarray, int, int], np.ndarray], d: int, rng: np.random.Generator,
            starts: int, sweeps: int) -> np.ndarray:
    """Orthogonal ``R`` minimising a score by Jacobi sweeps from the identity and random starts.

    ``pair_scores(r, i, j)`` returns the score of ``G_ij(t) @ r`` for every angle ``t`` of
    the grid, ``t = 0`` (``r`` itself) first; a sweep moves to the best angle of each pair
    when it lowers the score by more than 1e-9.
    """
    best_v, best_r = np.inf, np.eye(d)
    for start in range(starts):
        r = np.eye(d) if start == 0 else np.linalg.qr(rng.standard_normal((d, d)))[0]
        cur = np.inf
        for _ in range(sweeps):
            moved = False
            for i, j in itertools.combinations(range(d), 2):
                vals = pair_scores(r, i, j)
                a = int(np.argmin(vals))
                cur = min(cur, float(vals[0]))
                if a and vals[a] < vals[0] - 1e-9:
                    r, cur, moved = _givens(d, i, j, _angle(a, len(vals))) @ r, float(vals[a]), True
            if not moved:
                break
        if cur < best_v - 1e-9:
            best_v, best_r = cur, r
    return best_r


def _angle(a: int, grid: int) -> float:
    return float(np.linspace(0.0, np.pi, grid, endpoint=False)[a])


def _search(score: Callable[[np.ndarray], float], d: int, rng: np.random.Generator, starts: int = 8,
            sweeps: int = 5, grid: int = 90) -> np.ndarray:
    """Orthogonal ``R`` minimising ``score(R)`` (one call per Givens angle): :func:`_jacobi`."""
    angles = np.linspace(0.0, np.pi, grid, endpoint=False)

    def pair_scores(r, i, j):
        return np.array([score(r)] + [score(_givens(d, i, j, t) @ r) for t in angles[1:]])

    return _jacobi(pair_scores, d, rng, starts, sweeps)


def _whitener(cov: np.ndarray) -> np.ndarray:
    ev, u = np.linalg.eigh(cov)
    return u @ np.diag(np.clip(ev, 1e-8, None) ** -0.5) @ u.T


def child_rotation(y: np.ndarray, parents: Sequence[np.ndarray], seed: int = 0, k: int = N_BASIS) -> np.ndarray:
    """Linear map ``M`` (``y @ M.T``) of a later block: residual-whitening, then the BIC-sparsest rotation.

    Parameters
    ----------
    y : array (n, d)
        The block's stage-2 components on training rows.
    parents : list of arrays (n, k)
        Additive basis (:func:`additive_basis`) of each candidate parent coordinate.
    """
    n, d = y.shape
    yc = y - y.mean(0)
    full = np.concatenate(parents, 1) if parents else np.zeros((n, 0))
    res = yc - full @ np.linalg.lstsq(full, yc, rcond=None)[0] if full.shape[1] else yc
    w = _whitener(np.cov(res.T).reshape(d, d))
    yw = yc @ w
    subsets = [s for r in range(min(len(parents), MAX_PARENTS) + 1)
               for s in itertools.combinations(range(len(parents)), r)]
    grams = np.empty((len(subsets), d, d))
    for si, sub in enumerate(subsets):
        if sub:
            q, _ = np.linalg.qr(np.concatenate([parents[p] for p in sub], 1))
            rm = yw - q @ (q.T @ yw)
        else:
            rm = yw
        grams[si] = rm.T @ rm
    sizes = np.array([len(s) for s in subsets], dtype=float)[:, None]
    pen = k * np.log(n) / 2.0

    def score(r: np.ndarray) -> float:
        rss = np.einsum("ij,sjk,ik->si", r, grams, r)
        return float((n / 2.0 * np.log(np.maximum(rss, 1e-12)) + pen * sizes).min(0).sum())

    r = _search(score, d, np.random.default_rng(seed), starts=8 if d <= 4 else 3)
    return r @ w.T


def _basis_batch(x: np.ndarray, k: int) -> np.ndarray:
    """:func:`additive_basis` of many candidate coordinates at once: ``(T, n)`` -> ``(T, n, k)``."""
    q = np.quantile(x, np.linspace(0.05, 0.95, k), axis=1).T
    width = np.maximum((q[:, -1] - q[:, 0]) / k * 1.5, 1e-6)
    out = np.tanh((x[:, :, None] - q[:, None, :]) / width[:, None, None])
    return out - out.mean(1, keepdims=True)


def root_rotation(y: np.ndarray, later: np.ndarray, others: Sequence[np.ndarray] = (), seed: int = 0,
                  k: int = N_BASIS, starts: int = 4, sweeps: int = 4, grid: int = 60, rows: int = 2000) -> np.ndarray:
    """Linear map ``M`` of a root block: whitening, then the rotation under which ``later`` is most additive.

    ``later`` holds the components of every later block (training rows); ``others`` the
    additive basis of earlier coordinates outside this block (none for the first block).
    The score, ``log det`` of the residual covariance of ``later`` regressed on the additive
    basis of the rotated coordinates, is evaluated for every angle of a Givens grid at once
    on at most ``rows`` rows.
    """
    n, d = y.shape
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(n, rows, replace=False)) if n > rows else np.arange(n)
    yc = y - y.mean(0)
    w = _whitener(np.cov(yc.T).reshape(d, d))
    yw = (yc @ w)[pick]
    lc = (later - later.mean(0))[pick]
    others = [o[pick] for o in others]
    angles = np.linspace(0.0, np.pi, grid, endpoint=False)
    ca, sa = np.cos(angles)[:, None], np.sin(angles)[:, None]

    def pair_scores(cur: np.ndarray, i: int, j: int) -> np.ndarray:
        fixed = list(others) + [additive_basis(cur[:, m], cur[:, m], k) for m in range(d) if m not in (i, j)]
        q = np.linalg.qr(np.concatenate(fixed, 1))[0] if fixed else np.zeros((len(cur), 0))
        lr = lc - q @ (q.T @ lc)
        ui, uj = ca * cur[:, i] - sa * cur[:, j], sa * cur[:, i] + ca * cur[:, j]
        b = np.concatenate([_basis_batch(ui, k), _basis_batch(uj, k)], 2)
        b = b - q @ (q.T @ b)
        bt = b.transpose(0, 2, 1)
        g = bt @ b + 1e-8 * np.eye(2 * k)
        h = bt @ lr
        res = lr.T @ lr - h.transpose(0, 2, 1) @ np.linalg.solve(g, h)
        return np.linalg.slogdet(res / len(cur))[1]

    def grid_scores(r: np.ndarray, i: int, j: int) -> np.ndarray:
        return pair_scores(yw @ r.T, i, j)

    best_r = _jacobi(grid_scores, d, rng, starts if d <= 4 else min(starts, 2), sweeps)
    return best_r @ w.T


def block_maps(z: Sequence[np.ndarray], order: Sequence[int], seed: int = 0) -> list[np.ndarray]:
    """One linear map per block (``z_b @ M_b.T``): the root block by additivity, later blocks by BIC sparsity.

    Parameters
    ----------
    z : list of arrays (n, d_b)
        Causal stage-2 components of each modality block, training rows.
    order : sequence of int
        Block order of the candidate (edges run from earlier to later blocks).

    Returns
    -------
    list of arrays (d_b, d_b)
        The maps, in the blocks' own order (identity for a block of one coordinate with
        nothing to rotate, and for a block of more than :data:`MAX_BLOCK` coordinates).
    """
    maps: list[np.ndarray] = [np.eye(zb.shape[1]) for zb in z]
    done: list[np.ndarray] = []  # refined components of the blocks processed so far
    for pos, b in enumerate(order):
        zb = z[b]
        if zb.shape[1] > MAX_BLOCK:
            pass  # too costly to search: the block stays as stage 2 returned it (identity map)
        elif pos == 0 and len(order) > 1 and zb.shape[1] > 1:
            later = np.concatenate([z[c] for c in order[1:]], 1)
            maps[b] = root_rotation(zb, later, seed=seed)
        elif pos > 0:
            basis = [additive_basis(col, col) for prev in done for col in prev.T]
            if len(basis) <= 12:
                maps[b] = child_rotation(zb, basis, seed=seed)
        done.append((zb - zb.mean(0)) @ maps[b].T)
    return maps
