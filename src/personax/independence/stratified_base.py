"""Strata of a discrete conditioning set and the shared numerics of the stratified tests (see
:mod:`personax.independence.stratified`, which re-exports every name)."""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass

import numpy as np
import torch

BACKEND = "fast"
EPSILON = 1e-3        # causal-learn KCI_CInd.epsilon_x / epsilon_y
EIG_THRESH = 1e-5     # causal-learn KCI_CInd.thresh
RIDGE = 1e-10         # causal-learn RCIT: Cov(f_z) + 1e-10·I
MAX_GROUPED = 1500    # a KCI side with more (value, stratum) groups takes the blockwise pass
MAX_TRUNCATED = 400   # sides with at most this many groups get the library's eigenvalue truncation
MAX_STRATA = 2000     # more distinct rows of Z than this: not treated as discrete (cost)
DTYPE = torch.float64
BLOCK_ELEMENTS = 4_000_000


def _single_blas(fn):
    """Run ``fn`` with one BLAS/LAPACK thread.  The k×k eigen-decompositions and products
    here are small; with several threads on a busy machine OpenBLAS spends 100× longer
    synchronising than computing (measured: 3.2 s against 0.02 s for a 364×364 ``eigh``)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            from threadpoolctl import threadpool_limits
            limit = threadpool_limits(limits=1, user_api="blas")
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
            limit = contextlib.nullcontext()
        with limit:
            return fn(*args, **kwargs)
    return wrapper


def unique_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distinct rows, row → group index, counts) of ``a`` (n, d), like
    ``np.unique(a, axis=0, return_inverse=True, return_counts=True)`` but through 1-D
    integer codes per column (several times faster than the structured-array sort)."""
    a = np.asarray(a)
    if a.ndim == 1:
        a = a[:, None]
    key = np.zeros(a.shape[0], dtype=np.int64)
    for j in range(a.shape[1]):
        _, code = np.unique(a[:, j], return_inverse=True)
        code = code.reshape(-1)
        key = key * (int(code.max()) + 1) + code
        # re-compress so that the mixed-radix key cannot overflow
        _, key = np.unique(key, return_inverse=True)
        key = key.reshape(-1).astype(np.int64)
    first = np.full(int(key.max()) + 1, a.shape[0], dtype=np.int64)
    np.minimum.at(first, key, np.arange(a.shape[0]))
    return a[first], key, np.bincount(key).astype(np.float64)


@dataclass(frozen=True)
class Strata:
    """The distinct rows of a (z-scored) conditioning set: values, row → stratum index, counts."""

    values: np.ndarray
    index: np.ndarray
    counts: np.ndarray

    @property
    def k(self) -> int:
        return int(self.values.shape[0])


def strata_of(z: np.ndarray) -> Strata:
    """Group the rows of ``z`` (n, dz) into strata (distinct rows)."""
    values, index, counts = unique_rows(z)
    return Strata(values, index, counts)


def n_strata(z: np.ndarray) -> int:
    """Number of distinct rows of ``z`` (n, dz)."""
    return int(unique_rows(z)[2].size)



def _onehot(index: np.ndarray, k: int) -> np.ndarray:
    """(n, k) float64 indicator matrix of ``index``."""
    out = np.zeros((index.size, k))
    out[np.arange(index.size), index] = 1.0
    return out


def group_sums(index: np.ndarray, k: int, values: np.ndarray) -> np.ndarray:
    """(k, m) sums of the rows of ``values`` (n, m) per group (one bincount pass)."""
    n, m = values.shape
    flat = (index[:, None] * m + np.arange(m)[None, :]).ravel()
    return np.bincount(flat, weights=values.ravel(), minlength=k * m).reshape(k, m)



def _eigh(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric eigen-decomposition (LAPACK syevr: here ~10× faster than numpy's syevd)."""
    import scipy.linalg

    return scipy.linalg.eigh(a, driver="evr")
