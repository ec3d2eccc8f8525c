"""Input handling shared by both backends: shape checks, listwise deletion, guards.

Both backends see exactly the same cleaned arrays, so differences between them are
differences of computation only.  The rules (documented once, here):

* ``x`` and ``y`` are 1-D (n,) or 2-D (n, d) numeric arrays with the same n; pandas
  Series/nullable integers are accepted (``pd.NA`` → NaN); strings are rejected (encode
  categories first, e.g. ``pandas.factorize``).
* Rows with a NaN (or ±inf) in either variable are dropped (listwise deletion).
* Fewer than ``min_n`` rows left (default 10; an all-NaN pair leaves 0) → error.
* A variable that is constant on the rows left → error: no test can detect dependence
  on a constant, and the libraries would return NaN (KCI) or 1 (χ²) silently.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from personax.independence.result import IndependenceTestError

DEFAULT_MIN_N = 10


def as_2d_float(values: Any, name: str) -> np.ndarray:
    """Convert ``values`` to a float64 (n, d) array with NaN for missing entries."""
    try:
        import pandas as pd

        if isinstance(values, (pd.Series, pd.DataFrame)):
            if isinstance(values, pd.Series):
                values = values.to_frame()
            bad = [c for c in values.columns
                   if not (pd.api.types.is_numeric_dtype(values[c]) or pd.api.types.is_bool_dtype(values[c]))]
            if bad:
                raise IndependenceTestError(
                    f"{name} has non-numeric column(s) {bad}: encode categories as integers first "
                    "(e.g. pandas.factorize) before testing")
            values = values.astype("float64").to_numpy(na_value=np.nan)
    except ImportError:  # pragma: no cover - pandas is a hard dependency
        pass
    arr = np.asarray(values)
    if arr.dtype.kind in "OUS":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise IndependenceTestError(
                f"{name} is not numeric (dtype {arr.dtype}): encode categories as integers first "
                "(e.g. pandas.factorize)") from exc
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise IndependenceTestError(f"{name} must be 1-D (n,) or 2-D (n, d) with d >= 1, got shape {arr.shape}")
    return arr


def clean_pair(x: Any, y: Any, *, min_n: int = DEFAULT_MIN_N) -> tuple[np.ndarray, np.ndarray]:
    """Validate a pair, drop rows with a missing value in either, and guard the edge cases.

    Parameters
    ----------
    x, y : array-like
        (n,) or (n, d) numeric data.
    min_n : int
        Smallest number of complete rows accepted.

    Returns
    -------
    (x, y) : tuple of float64 arrays of shape (m, dx), (m, dy)
        The complete rows only.

    Raises
    ------
    IndependenceTestError
        Length mismatch, too few complete rows, or a constant variable.
    """
    xa = as_2d_float(x, "x")
    ya = as_2d_float(y, "y")
    if xa.shape[0] != ya.shape[0]:
        raise IndependenceTestError(
            f"x has {xa.shape[0]} rows but y has {ya.shape[0]}: pass aligned samples (one row per unit)")
    keep = np.isfinite(xa).all(axis=1) & np.isfinite(ya).all(axis=1)
    m = int(keep.sum())
    if m < min_n:
        raise IndependenceTestError(
            f"only {m} complete rows (of {xa.shape[0]}) after dropping missing values; at least "
            f"min_n={min_n} are needed: use variables with fewer missing values or lower min_n")
    xa, ya = xa[keep], ya[keep]
    for name, arr in (("x", xa), ("y", ya)):
        if np.all(arr == arr[0]):
            raise IndependenceTestError(
                f"{name} is constant on the {m} complete rows (value {arr[0].tolist()}): independence "
                "is untestable; drop this variable")
    return xa, ya
