"""Agreement statistics between raters: Krippendorff's alpha, ICC, pairwise Spearman, bootstrap
weights (see :mod:`personax.traits.agreement`, which re-exports every name)."""

from __future__ import annotations

import warnings
from itertools import combinations
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from personax.utils import renamed_columns

#: Result columns renamed to the package vocabulary (the old names read with a DeprecationWarning).
_PVAL = {"pval": "pvalue"}

LEVELS = ("nominal", "ordinal", "interval", "ratio")
ICC_MEASURES = ("ICC(A,1)", "ICC(C,1)", "ICC(C,k)")



# ----------------------------------------------------------------------------------------
# Krippendorff's alpha
# ----------------------------------------------------------------------------------------
def _as_units_by_raters(data) -> np.ndarray:
    arr = data.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan) if isinstance(data, pd.DataFrame) \
        else np.asarray(data, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"expected a 2-d (units x raters) array, got shape {arr.shape}")
    return arr


def _value_counts(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values, counts): counts[u, c] = how many raters gave unit u the value values[c]."""
    finite = np.isfinite(arr)
    values = np.unique(arr[finite])
    counts = np.zeros((arr.shape[0], values.size))
    if values.size:
        idx = np.searchsorted(values, np.where(finite, arr, values[0]))
        for r in range(arr.shape[1]):
            np.add.at(counts, (np.arange(arr.shape[0])[finite[:, r]], idx[finite[:, r], r]), 1.0)
    return values, counts


def _unit_coincidences(counts: np.ndarray) -> np.ndarray:
    """Per-unit coincidence contributions (U, V, V); units with < 2 values contribute 0."""
    m = counts.sum(axis=1)
    ok = m >= 2
    outer = counts[:, :, None] * counts[:, None, :]
    outer[:, np.arange(counts.shape[1]), np.arange(counts.shape[1])] -= counts
    contrib = np.zeros_like(outer)
    contrib[ok] = outer[ok] / (m[ok] - 1.0)[:, None, None]
    return contrib


def _delta2(values: np.ndarray, n_c: np.ndarray, level: str) -> np.ndarray:
    """Squared difference metric; ``n_c`` (..., V) marginals are needed for ordinal."""
    v = values
    if level == "nominal":
        d = 1.0 - np.eye(v.size)
        return np.broadcast_to(d, n_c.shape[:-1] + d.shape)
    if level == "interval":
        d = (v[:, None] - v[None, :]) ** 2
        return np.broadcast_to(d, n_c.shape[:-1] + d.shape)
    if level == "ratio":
        s = v[:, None] + v[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.where(s == 0, 0.0, ((v[:, None] - v[None, :]) / s) ** 2)
        return np.broadcast_to(d, n_c.shape[:-1] + d.shape)
    if level == "ordinal":
        # delta_ck = sum_{g=c..k} n_g - (n_c + n_k)/2, squared (c <= k; symmetric)
        cum = np.cumsum(n_c, axis=-1)
        lo = np.minimum.outer(np.arange(v.size), np.arange(v.size))
        hi = np.maximum.outer(np.arange(v.size), np.arange(v.size))
        before_lo = np.take(np.concatenate([np.zeros(n_c.shape[:-1] + (1,)), cum], axis=-1), lo, axis=-1)
        upto_hi = np.take(cum, hi, axis=-1)
        span = upto_hi - before_lo
        d = span - (n_c[..., :, None] + n_c[..., None, :]) / 2.0
        d = d ** 2
        d[..., np.arange(v.size), np.arange(v.size)] = 0.0
        return d
    raise ValueError(f"level must be one of {LEVELS}, got {level!r}")


def _alpha_from_coincidence(o: np.ndarray, values: np.ndarray, level: str) -> np.ndarray:
    """alpha for coincidence matrices o (..., V, V)."""
    n_c = o.sum(axis=-1)
    n = n_c.sum(axis=-1)
    d2 = _delta2(values, n_c, level)
    observed = (o * d2).sum(axis=(-2, -1))
    expected = (n_c[..., :, None] * n_c[..., None, :] * d2).sum(axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = 1.0 - (n - 1.0) * observed / expected
    return np.where(expected > 0, alpha, np.nan)


def krippendorff_alpha(data, level: str = "interval") -> float:
    """Krippendorff's alpha of a units x raters table (NaN = missing).

    Parameters
    ----------
    data : array-like or DataFrame, shape (n_units, n_raters)
        One row per unit (person), one column per rater (LLM); NaN/NA where a rater gave
        no value. Units with fewer than two values are not pairable and are ignored.
    level : {"nominal", "ordinal", "interval", "ratio"}
        Metric of the values.

    Returns
    -------
    float
        alpha (1 = perfect agreement, 0 = chance level, < 0 = systematic disagreement);
        NaN when there is no variation at all (expected disagreement 0).

    Notes
    -----
    Coincidences ``o_ck = sum_u (n_uc n_uk - [c = k] n_uc) / (m_u - 1)``, marginals
    ``n_c``, ``alpha = 1 - (n - 1) sum o_ck d2_ck / sum n_c n_k d2_ck`` with the metric
    ``d2`` of ``level`` (Krippendorff 2011).
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    arr = _as_units_by_raters(data)
    values, counts = _value_counts(arr)
    if values.size == 0:
        return float("nan")
    o = _unit_coincidences(counts).sum(axis=0)
    return float(_alpha_from_coincidence(o, values, level))


# ----------------------------------------------------------------------------------------
# ICC and Spearman: point estimates via pingouin/scipy, closed forms for the bootstrap
# ----------------------------------------------------------------------------------------
def icc(data) -> pd.DataFrame:
    """ICC(A,1), ICC(C,1) and ICC(C,k) of a units x raters table via pingouin.

    Rows with any missing rating are dropped (two-way ANOVA needs complete rows).

    Returns
    -------
    DataFrame
        Columns ``measure`` (ICC(A,1) two-way absolute agreement single rater; ICC(C,1)
        two-way consistency single rater; ICC(C,k) consistency of the mean of k raters),
        ``estimate``, ``ci_low``, ``ci_high`` (pingouin's F-distribution 95% CI),
        ``F``, ``pvalue``, ``n_units``, ``n_raters``.  ``pval`` (the earlier name of
        ``pvalue``) is still readable for one release, with a ``DeprecationWarning``.
    """
    import pingouin as pg

    arr = _as_units_by_raters(data)
    full = arr[np.isfinite(arr).all(axis=1)]
    k = arr.shape[1]
    if full.shape[0] < 3 or k < 2:
        return pd.DataFrame({"measure": list(ICC_MEASURES), "estimate": np.nan, "ci_low": np.nan,
                             "ci_high": np.nan, "F": np.nan, "pvalue": np.nan, "n_units": full.shape[0],
                             "n_raters": k}).pipe(renamed_columns, _PVAL, where="icc")
    long = pd.DataFrame(full).reset_index().melt(id_vars="index", var_name="rater", value_name="rating")
    with warnings.catch_warnings():
        # pingouin 0.7 calls DataFrame.dropna(inplace=True), deprecated in pandas 3.1 (harmless)
        warnings.filterwarnings("ignore", message=".*inplace keyword.*", category=Warning)
        res = pg.intraclass_corr(long, targets="index", raters="rater", ratings="rating")
    # pingouin >= 0.7 names the types McGraw-Wong style and the CI column "CI95"; older
    # releases used "ICC2"/"ICC3"/"ICC3k" and "CI95%".  Map both into our schema.
    ci_col = "CI95" if "CI95" in res.columns else "CI95%"
    p_col = "pval" if "pval" in res.columns else "p-val"
    legacy = {"ICC2": "ICC(A,1)", "ICC3": "ICC(C,1)", "ICC3k": "ICC(C,k)"}
    res = res.assign(measure=res["Type"].map(lambda t: legacy.get(t, t)))
    rows = []
    for m in ICC_MEASURES:
        r = res.loc[res["measure"] == m].iloc[0]
        lo, hi = r[ci_col]
        rows.append({"measure": m, "estimate": float(r["ICC"]), "ci_low": float(lo), "ci_high": float(hi),
                     "F": float(r["F"]), "pvalue": float(r[p_col]), "n_units": full.shape[0], "n_raters": k})
    return renamed_columns(pd.DataFrame(rows), _PVAL, where="icc")


def _icc_weighted(y: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:
    """ICCs of complete rows ``y`` (U, k) for resample-count weights ``w`` (B, U)."""
    k = y.shape[1]
    n = w.sum(axis=1)
    rs = y.sum(axis=1)
    tot = w @ rs
    gm = tot / (n * k)
    ss_t = w @ (y ** 2).sum(axis=1) - n * k * gm ** 2
    ss_r = w @ (rs ** 2) / k - n * k * gm ** 2
    colmeans = (w @ y) / n[:, None]
    ss_c = n * (colmeans ** 2).sum(axis=1) - n * k * gm ** 2
    ss_e = ss_t - ss_r - ss_c
    with np.errstate(divide="ignore", invalid="ignore"):
        msr = ss_r / (n - 1)
        msc = ss_c / (k - 1)
        mse = ss_e / ((n - 1) * (k - 1))
        return {"ICC(A,1)": (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n),
                "ICC(C,1)": (msr - mse) / (msr + (k - 1) * mse),
                "ICC(C,k)": (msr - mse) / msr}


def _spearman_weighted(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Spearman rho (average ranks for ties) for resample weights ``w`` (B, U) of discrete x, y."""
    xv, xi = np.unique(x, return_inverse=True)
    yv, yi = np.unique(y, return_inverse=True)
    p, q = xv.size, yv.size
    if p * q > 4096:
        raise ValueError("the bootstrap Spearman path is for discrete scores (<= 64 distinct values per rater)")
    cell = xi * q + yi
    onehot = np.zeros((x.size, p * q))
    onehot[np.arange(x.size), cell] = 1.0
    joint = (w @ onehot).reshape(-1, p, q)
    n = joint.sum(axis=(1, 2))
    rx, ry = joint.sum(axis=2), joint.sum(axis=1)
    # midrank of a category = count below + (count + 1) / 2
    mrx = np.cumsum(rx, axis=1) - rx + (rx + 1) / 2
    mry = np.cumsum(ry, axis=1) - ry + (ry + 1) / 2
    mx = (rx * mrx).sum(1) / n
    my = (ry * mry).sum(1) / n
    cov = np.einsum("bij,bi,bj->b", joint, mrx, mry) / n - mx * my
    vx = (rx * mrx ** 2).sum(1) / n - mx ** 2
    vy = (ry * mry ** 2).sum(1) / n - my ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return cov / np.sqrt(vx * vy)


def pairwise_spearman(data, raters: Sequence[str] | None = None) -> pd.DataFrame:
    """Spearman correlation of each pair of raters on the units both rated.

    Returns
    -------
    DataFrame
        Columns ``rater_a, rater_b, rho, pvalue, n_units`` (scipy.stats.spearmanr);
        ``pval`` (the earlier name of ``pvalue``) is still readable for one release, with a
        ``DeprecationWarning``.
    """
    from scipy.stats import spearmanr

    arr = _as_units_by_raters(data)
    names = list(raters) if raters is not None else (list(data.columns) if isinstance(data, pd.DataFrame)
                                                     else [f"r{i}" for i in range(arr.shape[1])])
    rows = []
    for a, b in combinations(range(arr.shape[1]), 2):
        ok = np.isfinite(arr[:, a]) & np.isfinite(arr[:, b])
        if ok.sum() >= 3 and np.ptp(arr[ok, a]) > 0 and np.ptp(arr[ok, b]) > 0:
            res = spearmanr(arr[ok, a], arr[ok, b])
            rho, p = float(res.statistic), float(res.pvalue)
        else:
            rho, p = float("nan"), float("nan")
        rows.append({"rater_a": names[a], "rater_b": names[b], "rho": rho, "pvalue": p, "n_units": int(ok.sum())})
    return renamed_columns(pd.DataFrame(rows, columns=["rater_a", "rater_b", "rho", "pvalue", "n_units"]), _PVAL,
                           where="pairwise_spearman")


def _bootstrap_weights(n_units: int, n_boot: int, rng: np.random.Generator) -> Iterable[np.ndarray]:
    """Resample counts (chunk, n_units), in chunks to bound memory."""
    chunk = max(1, min(n_boot, 2_000_000 // max(n_units, 1)))
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        idx = rng.integers(0, n_units, size=(b, n_units))
        w = np.zeros((b, n_units))
        np.add.at(w, (np.repeat(np.arange(b), n_units), idx.ravel()), 1.0)
        done += b
        yield w
