"""Agreement between LLM raters and consistency across prompt formats.

The paper reports no inter-rater statistic between its three LLMs (paper.md §2.7, tag U):
the tables computed here are new work of this companion.

* :func:`krippendorff_alpha` -- Krippendorff's alpha (nominal, ordinal, interval, ratio),
  implemented from the coincidence-matrix definition (Krippendorff 2011, "Computing
  Krippendorff's Alpha-Reliability"); tolerates missing values.
* :func:`icc` -- ICC(A,1), ICC(C,1), ICC(C,k) (McGraw & Wong 1996) from
  ``pingouin.intraclass_corr``, wrapped in this project's column schema (pingouin 0.7
  renamed its columns; we never expose them).
* :func:`pairwise_spearman` -- Spearman correlation of every pair of raters.
* :func:`agreement_table` -- all of the above per trait with seeded percentile-bootstrap
  CIs (units = persons are resampled).  The bootstrap uses closed forms in which every
  statistic is a function of per-person sums, so one weight matrix (persons' resample
  counts) gives all replicates at once; tests check the closed forms against pingouin
  and scipy.
* :func:`format_agreement` -- rank agreement (Spearman) between prompt formats of one rater.
* :func:`format_consistency` -- the prompt-format consistency table laid out like the
  paper's (per LLM x pair of formats).  The paper's cell metric is unlabelled; this
  project uses the **mean absolute score difference** between the two formats.

Score 0 means "insufficient information": it is not a point on the rating scale, so all
agreement statistics treat it as missing (``zero_as_missing=True``).

The statistics (alpha, ICC, Spearman, bootstrap weights) live in
:mod:`personax.traits.agreement_stats` (re-exported here).
"""

from __future__ import annotations

from itertools import combinations
from typing import Sequence

import numpy as np
import pandas as pd

from personax.data.schema import LLMS, TRAITS
from personax.traits.agreement_stats import (  # noqa: F401  (re-exported: the old import path)
    _PVAL,
    ICC_MEASURES,
    LEVELS,
    _alpha_from_coincidence,
    _as_units_by_raters,
    _bootstrap_weights,
    _delta2,
    _icc_weighted,
    _spearman_weighted,
    _unit_coincidences,
    _value_counts,
    icc,
    krippendorff_alpha,
    pairwise_spearman,
)
from personax.utils import make_rng

#: the paper's consistency-table columns (§2.7), in its order
PAPER_PAIRS: tuple[tuple[str, str], ...] = (
    ("number-l5-inc", "text-l5-inc"), ("number-l5-dec", "text-l5-inc"), ("number-l5-inc", "number-l5-dec"),
    ("number-l3-inc", "text-l3-inc"), ("number-l3-dec", "text-l3-inc"), ("number-l3-inc", "number-l3-dec"),
)


def agreement_table(scores: pd.DataFrame, llms: Sequence[str] = LLMS, traits: Sequence[str] = TRAITS, *,
                    zero_as_missing: bool = True, n_boot: int = 1000, ci: float = 0.95,
                    seed: int | np.random.Generator = 0,
                    measures: Sequence[str] = ("alpha", "icc", "spearman")) -> pd.DataFrame:
    """Inter-LLM agreement per trait with percentile-bootstrap CIs.

    Parameters
    ----------
    scores : DataFrame
        One row per person with columns ``{llm}_{trait}`` (the data layer's schema, e.g.
        ``load("celebpersona").frame`` or :func:`personax.traits.run.wide_scores`).
    llms, traits : sequence of str
        Raters and traits to use.
    zero_as_missing : bool
        Treat 0 ("insufficient information") as missing (default; it is not on the scale).
    n_boot : int
        Bootstrap replicates (persons resampled with replacement); 0 skips the CIs.
    ci : float
        Confidence level of the percentile intervals.
    seed : int or Generator
        Seeds the bootstrap.
    measures : sequence of {"alpha", "icc", "spearman"}
        Families of statistics to compute.

    Returns
    -------
    DataFrame
        One row per (trait, measure). Columns: ``trait``, ``measure`` (``alpha_ordinal``,
        ``alpha_interval``, ``ICC(A,1)``, ``ICC(C,1)``, ``ICC(C,k)``,
        ``spearman_{a}_{b}``), ``estimate``, ``ci_low``, ``ci_high`` (bootstrap
        percentile), ``n_units`` (persons used: pairable for alpha, complete rows for
        ICC, pair-complete for Spearman), ``n_boot``, ``estimate_source`` (``project``
        for alpha, ``pingouin`` for ICC, ``scipy`` for Spearman).
    """
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci}")
    if n_boot < 0:
        raise ValueError(f"n_boot must be >= 0, got {n_boot}")
    bad = set(measures) - {"alpha", "icc", "spearman"}
    if bad or not measures:
        raise ValueError(f"measures must be a non-empty subset of ('alpha', 'icc', 'spearman'), got {measures!r}")
    do_alpha, do_icc, do_sp = ("alpha" in measures), ("icc" in measures), ("spearman" in measures)
    rng = make_rng(seed)
    lo_q, hi_q = 100 * (1 - ci) / 2, 100 * (1 + ci) / 2
    rows = []
    for trait in traits:
        cols = [f"{l}_{trait}" for l in llms]
        missing = [c for c in cols if c not in scores.columns]
        if missing:
            raise KeyError(f"agreement_table: columns {missing} are missing; expected {{llm}}_{{trait}} columns "
                           f"for llms={list(llms)}")
        arr = _as_units_by_raters(scores[cols])
        if zero_as_missing:
            arr = np.where(arr == 0, np.nan, arr)
        values, counts = _value_counts(arr)
        contrib = _unit_coincidences(counts).reshape(arr.shape[0], -1)
        pairable = int((counts.sum(1) >= 2).sum())
        complete = np.isfinite(arr).all(axis=1)
        icc_pt = icc(arr) if do_icc else icc(arr[:0])
        sp_pt = pairwise_spearman(arr, raters=list(llms)) if do_sp else None
        point: dict[str, float] = {}
        n_units: dict[str, int] = {}
        source: dict[str, str] = {}
        if do_alpha:
            point = {f"alpha_{lv}": krippendorff_alpha(arr, lv) for lv in ("ordinal", "interval")}
            n_units = {"alpha_ordinal": pairable, "alpha_interval": pairable}
            source = {"alpha_ordinal": "project", "alpha_interval": "project"}
        for _, r in (icc_pt.iterrows() if do_icc else []):
            point[r["measure"]] = r["estimate"]
            n_units[r["measure"]] = int(r["n_units"])
            source[r["measure"]] = "pingouin"
        pairs = list(combinations(range(len(llms)), 2))
        for (a, b), (_, r) in zip(pairs, sp_pt.iterrows() if do_sp else []):
            name = f"spearman_{llms[a]}_{llms[b]}"
            point[name] = r["rho"]
            n_units[name] = int(r["n_units"])
            source[name] = "scipy"
        boots: dict[str, list[np.ndarray]] = {m: [] for m in point}
        if n_boot > 0 and values.size > 0:
            for w in _bootstrap_weights(arr.shape[0], n_boot, rng):
                if do_alpha:
                    o = (w @ contrib).reshape(-1, values.size, values.size)
                    boots["alpha_ordinal"].append(_alpha_from_coincidence(o, values, "ordinal"))
                    boots["alpha_interval"].append(_alpha_from_coincidence(o, values, "interval"))
                if do_icc and complete.sum() >= 3:
                    for m, v in _icc_weighted(arr[complete], w[:, complete]).items():
                        boots[m].append(v)
                for a, b in (pairs if do_sp else []):
                    ok = np.isfinite(arr[:, a]) & np.isfinite(arr[:, b])
                    if ok.sum() >= 3:
                        boots[f"spearman_{llms[a]}_{llms[b]}"].append(
                            _spearman_weighted(arr[ok, a], arr[ok, b], w[:, ok]))
        for m, est in point.items():
            reps = np.concatenate(boots[m]) if boots[m] else np.array([])
            reps = reps[np.isfinite(reps)]
            lo, hi = (np.percentile(reps, [lo_q, hi_q]) if reps.size >= 10 else (np.nan, np.nan))
            rows.append({"trait": trait, "measure": m, "estimate": float(est), "ci_low": float(lo),
                         "ci_high": float(hi), "n_units": n_units[m], "n_boot": int(reps.size),
                         "estimate_source": source[m]})
    return pd.DataFrame(rows)


def agreement_summary(table: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """Pivot :func:`agreement_table` to trait x measure cells ``"est [lo, hi]"`` (strings, for display)."""
    cell = table.apply(lambda r: f"{r.estimate:.{digits}f} [{r.ci_low:.{digits}f}, {r.ci_high:.{digits}f}]", axis=1)
    out = table.assign(cell=cell).pivot(index="trait", columns="measure", values="cell")
    order = [m for m in table["measure"].unique()]
    traits = [t for t in table["trait"].unique()]
    return out.loc[traits, order]


# ----------------------------------------------------------------------------------------
# Prompt-format consistency (paper §2.7)
# ----------------------------------------------------------------------------------------
def _short(fid: str) -> str:
    kind, lv, order = fid.split("-")
    return f"{kind[0].upper()}-{lv.upper()}-{order.capitalize()}"


def format_consistency(tidy: pd.DataFrame, pairs: Sequence[tuple[str, str]] = PAPER_PAIRS, *,
                       drop_zeros: bool = True) -> pd.DataFrame:
    """Prompt-format consistency table: mean absolute score difference per LLM x pair of formats.

    The layout follows the paper's table (§2.7): rows = LLMs plus an ``Avg.`` row, columns
    = format pairs ``⟨N-L5-Inc, T-L5-Inc⟩`` ... plus an ``Avg.`` column; lower = more
    consistent.  The paper does not label its metric; this one is the mean over persons,
    traits and repeats of ``|score(format 1) - score(format 2)|`` on the numeric scale
    (Text answers mapped to 1..L), using only (person, trait, repeat) cells where both
    formats gave a valid score (and, with ``drop_zeros``, neither said "insufficient
    information").

    Parameters
    ----------
    tidy : DataFrame
        From :func:`personax.traits.run.run_inference` over several prompt formats.
    pairs : sequence of (format id, format id)
        Defaults to the paper's six pairs.
    drop_zeros : bool
        Exclude cells where either format answered 0.

    Returns
    -------
    DataFrame
        Float cells (NaN where a pair has no common valid cell); ``attrs["n_cells"]`` is
        a same-shaped DataFrame of the number of cells behind each value.
    """
    need = {"person_id", "llm", "prompt_id", "repeat", "trait", "score"}
    if not need <= set(tidy.columns):
        raise KeyError(f"format_consistency needs columns {sorted(need)}; got {list(tidy.columns)}")
    key = ["llm", "person_id", "trait", "repeat"]
    llms = list(dict.fromkeys(tidy["llm"]))
    labels = [f"⟨{_short(a)}, {_short(b)}⟩" for a, b in pairs]
    vals = pd.DataFrame(np.nan, index=llms, columns=labels)
    ncell = pd.DataFrame(0, index=llms, columns=labels)
    for (fa, fb), lab in zip(pairs, labels):
        a = tidy.loc[tidy["prompt_id"] == fa, key + ["score"]]
        b = tidy.loc[tidy["prompt_id"] == fb, key + ["score"]]
        m = a.merge(b, on=key, suffixes=("_a", "_b"))
        ok = m["score_a"].notna() & m["score_b"].notna()
        if drop_zeros:
            ok &= (m["score_a"] != 0) & (m["score_b"] != 0)
        m = m[ok]
        diff = (m["score_a"] - m["score_b"]).abs().groupby(m["llm"])
        for llm, s in diff:
            vals.loc[llm, lab] = s.mean()
            ncell.loc[llm, lab] = s.size
    vals["Avg."] = vals[labels].mean(axis=1)
    vals.loc["Avg."] = vals.mean(axis=0)
    ncell["Avg."] = ncell[labels].sum(axis=1)
    ncell.loc["Avg."] = ncell.sum(axis=0)
    vals.attrs["n_cells"] = ncell
    vals.attrs["metric"] = "mean absolute score difference (project choice; the paper's metric is unlabelled)"
    return vals


def format_agreement(tidy: pd.DataFrame, llm: str, formats: Sequence[str] | None = None,
                     repeat: int = 0) -> pd.DataFrame:
    """Rank agreement between prompt formats for one rater: mean Spearman rho over traits.

    Scales differ between formats (3 or 5 levels, increasing or decreasing listing), so a
    rank statistic is used; 0 ("insufficient information") is treated as missing, and only
    ``ok`` replies count.

    Parameters
    ----------
    tidy : DataFrame
        From :func:`personax.traits.run.run_inference` over several formats.
    llm : str
        The rater (``llm`` column).
    formats : sequence of str, optional
        Format ids in display order (default: those in ``tidy``).
    repeat : int
        Which repeat to use.

    Returns
    -------
    DataFrame
        Long table with columns ``format_a, format_b, rho_mean`` (mean over the traits where
        rho is defined), ``n_traits`` (how many traits had a defined rho: both formats
        vary over at least 3 shared persons), ``n_units_min`` (fewest persons behind a
        trait's rho).
    """
    from personax.traits.run import wide_by_format

    wide = wide_by_format(tidy, llm=llm, repeat=repeat)
    fmts = list(formats) if formats is not None else list(dict.fromkeys(tidy.loc[tidy["llm"] == llm, "prompt_id"]))
    rows = []
    for a, b in combinations(fmts, 2):
        rhos, ns = [], []
        for trait in TRAITS:
            pair = wide[[f"{a}_{trait}", f"{b}_{trait}"]].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            pair = np.where(pair == 0, np.nan, pair)
            res = pairwise_spearman(pair, raters=[a, b]).iloc[0]
            ns.append(int(res["n_units"]))
            if np.isfinite(res["rho"]):
                rhos.append(float(res["rho"]))
        rows.append({"format_a": a, "format_b": b, "rho_mean": float(np.mean(rhos)) if rhos else np.nan,
                     "n_traits": len(rhos), "n_units_min": min(ns) if ns else 0})
    return pd.DataFrame(rows, columns=["format_a", "format_b", "rho_mean", "n_traits", "n_units_min"])


def format_stability(tidy: pd.DataFrame) -> pd.DataFrame:
    """Average over persons and traits of the standard deviation across repeats (the
    paper's "Avg. of Standard Deviation" box plots), per LLM x prompt format.

    Returns
    -------
    DataFrame
        Columns ``llm, prompt_id, mean_sd, n_cells`` (cells with >= 2 valid non-zero repeats).
    """
    v = tidy[tidy["score"].notna() & (tidy["score"] != 0)]
    sd = v.groupby(["llm", "prompt_id", "person_id", "trait"])["score"].agg(["std", "count"])
    sd = sd[sd["count"] >= 2]
    out = sd.groupby(["llm", "prompt_id"])["std"].agg(mean_sd="mean", n_cells="count").reset_index()
    return out


__all__ = ["krippendorff_alpha", "icc", "pairwise_spearman", "agreement_table", "agreement_summary",
           "format_consistency", "format_agreement", "format_stability", "PAPER_PAIRS", "LEVELS", "ICC_MEASURES"]
