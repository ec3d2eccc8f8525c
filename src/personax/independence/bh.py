"""Benjamini–Hochberg false-discovery-rate adjustment (NaN-aware)."""

from __future__ import annotations

import numpy as np


def benjamini_hochberg(pvalues) -> np.ndarray:
    """BH-adjusted p-values ("q-values" of the step-up procedure), NaN kept as NaN.

    Parameters
    ----------
    pvalues : array-like of float
        Raw p-values; NaN entries (failed tests) are excluded from the family size m and
        returned as NaN.

    Returns
    -------
    ndarray
        adj₍ᵢ₎ = min_{j ≥ i} min(1, m·p₍ⱼ₎ / j) in the original order; rejecting
        ``adj < alpha`` controls the FDR at ``alpha`` (independent or PRDS tests).

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.5]).round(3).tolist()
    [0.04, 0.053, 0.053, 0.5]
    """
    p = np.asarray(pvalues, dtype=np.float64).ravel()
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return out
    if np.any((p[ok] < 0) | (p[ok] > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    q = p[ok]
    order = np.argsort(q, kind="mergesort")
    ranked = q[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(ranked[::-1])[::-1]
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out
