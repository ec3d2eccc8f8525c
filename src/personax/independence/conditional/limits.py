"""Constants of the conditional tests and their input checks (conditioning-set size, complete rows)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from personax.errors import ParameterError
from personax.independence.prepare import DEFAULT_MIN_N, as_2d_float
from personax.independence.result import IndependenceTestError

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
#: torch CPU threads used by the KCI engine (env ``PERSONAX_KCI_THREADS``); 0 (default) keeps
#: torch's own setting (``torch.set_num_threads``).  On a quiet two-core machine two threads
#: were 1.1–1.6× faster than one (2,000 rows, |S| = 1–3, 2026-12-03); an earlier measurement
#: on a shared, loaded machine had favoured one thread, so set 1 where cores are contended.
#: GPU runs are unaffected.
CPU_THREADS = int(os.environ.get("PERSONAX_KCI_THREADS", "0"))
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
