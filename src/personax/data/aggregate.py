"""Aggregation of the per-LLM trait scores into one score per person and trait.

The paper aggregates the three LLM scores of a trait by "the median after removing the
0 (insufficient information) entries" (paper.md §2.6, tag S).  Its edge rules are not
published, so this project fixes them (documented project rule):

* 0 and NaN are dropped;
* nothing left → NaN (the trait is missing for that person, not 0);
* one value left → that value;
* two values left → their midpoint (the ordinary median of two numbers), e.g. 1 and 2 → 1.5;
* three values left → the middle one.

:func:`agreement_with_released` reports how often this rule reproduces an aggregate
column shipped with the real data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from personax.errors import DataError


def median_drop_zeros(scores) -> np.ndarray | pd.Series:
    """Median of each row's non-zero, non-missing scores.

    Parameters
    ----------
    scores : array-like or DataFrame, shape (n, n_llms)
        Per-LLM integer scores (0–3; 0 = "insufficient information"); NaN/NA allowed.
        A 1-d input is treated as a single row.

    Returns
    -------
    numpy.ndarray of float64, shape (n,), or pandas.Series (index kept) for a DataFrame
        The median of the scores left after dropping 0 and NaN; NaN when none is left;
        the midpoint when two are left.

    Examples
    --------
    >>> median_drop_zeros([[0, 2, 3], [0, 0, 0], [1, 1, 3], [0, 0, 2]])
    array([2.5, nan, 1. , 2. ])
    """
    index = scores.index if isinstance(scores, pd.DataFrame) else None
    if isinstance(scores, pd.DataFrame):
        for col in scores.columns:
            num = pd.to_numeric(scores[col], errors="coerce")
            bad = scores[col].notna().to_numpy(dtype=bool) & num.isna().to_numpy(dtype=bool)
            if bad.any():
                rows = scores.index[bad][:5].tolist()
                raise DataError(f"column {col!r}: {int(bad.sum())} score(s) are not numbers: rows {rows} values "
                                f"{scores[col][bad].iloc[:5].tolist()}",
                                hint="scores are integers 0–3 (0 = insufficient information); empty cells are "
                                     "allowed")
        arr = scores.apply(pd.to_numeric).astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        try:
            arr = np.asarray(scores, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"scores must be numbers (0–3; 0 = insufficient information): {exc}") from exc
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise DataError(f"scores must be 2-d (n, n_llms), got shape {arr.shape}")
    negative = np.isfinite(arr) & (arr < 0)
    if negative.any():
        r, c = np.argwhere(negative)[0]
        name = repr(scores.columns[c]) if index is not None else f"{c}"
        raise DataError(f"scores must be non-negative (0 = insufficient information, 1–3 = levels); "
                        f"found {arr[r, c]:g} in row {index[r] if index is not None else r}, column {name} "
                        f"({int(negative.sum())} negative value(s) in all)")
    masked = np.where(arr == 0, np.nan, arr)
    out = np.full(arr.shape[0], np.nan)
    has_any = np.isfinite(masked).any(axis=1)
    if has_any.any():
        # nanmedian averages the two middle values for an even count: the midpoint rule.
        out[has_any] = np.nanmedian(masked[has_any], axis=1)
    if index is not None:
        return pd.Series(out, index=index, dtype="float64")
    return out


def aggregate_frame(frame: pd.DataFrame, llms=None, traits=None) -> pd.DataFrame:
    """Aggregate the per-LLM columns ``{llm}_{trait}`` of a frame into one column per trait.

    Returns
    -------
    DataFrame with one float64 column per trait (index of ``frame``).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({f"{llm}_openness": [0, 3] for llm in ("chatgpt", "gemini", "llama")})
    >>> aggregate_frame(frame, traits=["openness"])["openness"].tolist()
    [nan, 3.0]
    """
    from personax.data.schema import LLMS, TRAITS, llm_score_column

    llms = tuple(llms or LLMS)
    traits = tuple(traits or TRAITS)
    out = {}
    for trait in traits:
        cols = [llm_score_column(l, trait) for l in llms]
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise KeyError(f"cannot aggregate {trait!r}: per-LLM columns {missing} are missing")
        out[trait] = median_drop_zeros(frame[cols])
    return pd.DataFrame(out, index=frame.index)


def agreement_with_released(computed, released, atol: float = 1e-9) -> dict:
    """How often a computed aggregate matches a released aggregate column.

    Parameters
    ----------
    computed, released : array-like, shape (n,) or (n, k)
        Computed (e.g. :func:`median_drop_zeros`) and released values.  NaN in both
        counts as a match ("missing" agrees with "missing").
    atol : float
        Absolute tolerance of a numeric match.

    Returns
    -------
    dict with keys
        ``n`` (cells compared), ``matches``, ``match_rate`` (matches / n, NaN if n = 0),
        ``both_missing``, ``only_computed_missing``, ``only_released_missing``,
        ``mismatch_examples`` (up to 5 ``(row, computed, released)`` tuples, row = flat position).

    Examples
    --------
    >>> r = agreement_with_released([1.0, 2.0, float("nan")], [1.0, 2.5, float("nan")])
    >>> r["n"], r["matches"], r["both_missing"]
    (3, 2, 1)
    """
    c = np.asarray(computed, dtype=np.float64).ravel()
    r = np.asarray(released, dtype=np.float64).ravel()
    if c.shape != r.shape:
        raise ValueError(f"computed and released differ in size: {c.shape} vs {r.shape}")
    cn, rn = np.isnan(c), np.isnan(r)
    both = cn & rn
    numeric = ~cn & ~rn
    close = np.zeros_like(c, dtype=bool)
    close[numeric] = np.abs(c[numeric] - r[numeric]) <= atol
    match = both | close
    bad = np.flatnonzero(~match)[:5]
    n = c.size
    return {
        "n": int(n),
        "matches": int(match.sum()),
        "match_rate": float(match.mean()) if n else float("nan"),
        "both_missing": int(both.sum()),
        "only_computed_missing": int((cn & ~rn).sum()),
        "only_released_missing": int((rn & ~cn).sum()),
        "mismatch_examples": [(int(i), float(c[i]), float(r[i])) for i in bad],
    }
