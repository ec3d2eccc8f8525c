"""Level I beyond the paper (book chapter 04b): the steps and the sentences that read their results.

The chapter asks four questions of the battery: which test is "HSIC", which dependences
survive conditioning on the confounders, whether each LLM rater alone reaches the same
decisions, and what effect size a "no dependence" cell rules out.  Each step here is one
call of the package's tests (:func:`~personax.independence.battery`,
:mod:`~personax.independence.confounding`, :mod:`~personax.independence.raters`,
:mod:`~personax.independence.power`); each ``sentence_*`` reads the numbers of *this*
run, so the page's prose never repeats a number by hand.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import pandas as pd

from personax.independence.confounding import change_check, decision_changes
from personax.independence.grid import battery
from personax.independence.raters import rater_agreement, rater_batteries

__all__ = [
    "CONDITIONAL_TESTS",
    "hsic_disagreement",
    "sentence_hsic",
    "sentence_circle",
    "conditional_batteries",
    "conditional_counts",
    "changes_by_dataset",
    "sentence_confounding",
    "rater_runs",
    "sentence_raters",
    "sentence_power",
    "conditional_speed",
    "sentence_speed",
]

#: The tests with a conditional form (causal-learn's definitions).
CONDITIONAL_TESTS = ("kci", "rcit", "chi2", "g2")


def hsic_disagreement(hsic: pd.DataFrame) -> dict:
    """How often Gamma-HSIC and hyppo's HSIC reach different raw decisions on the same pairs.

    ``hsic`` is a battery with ``tests=["hsic_gamma", "hsic_hyppo"]``.  Returns ``n_pairs``,
    ``n_differ`` and each test's count of dependences (``hsic_gamma``, ``hsic_hyppo``).

    Examples
    --------
    >>> import pandas as pd
    >>> hsic = pd.DataFrame({"trait": ["o", "o", "c", "c"], "attribute": ["a"] * 4,
    ...                      "test": ["hsic_gamma", "hsic_hyppo"] * 2, "reject_raw": [True, False, True, True]})
    >>> hsic_disagreement(hsic)
    {'n_pairs': 2, 'n_differ': 1, 'hsic_gamma': 2, 'hsic_hyppo': 1}
    """
    wide = hsic.pivot_table(index=["trait", "attribute"], columns="test", values="reject_raw", aggfunc="first")
    wide = wide.astype(bool)
    return {"n_pairs": len(wide), "n_differ": int((wide["hsic_gamma"] != wide["hsic_hyppo"]).sum()),
            "hsic_gamma": int(wide["hsic_gamma"].sum()), "hsic_hyppo": int(wide["hsic_hyppo"].sum())}


def sentence_hsic(hsic: pd.DataFrame, dataset: str, n_rows: int, alpha: float) -> str:
    """The two HSICs' disagreement on this run's data, in one paragraph."""
    d = hsic_disagreement(hsic)
    return (f"On {dataset} ({n_rows} rows) the two HSICs disagree on **{d['n_differ']} of {d['n_pairs']}** pairs at "
            f"p < {alpha:g}; Gamma-HSIC declares {d['hsic_gamma']} dependences, hyppo's {d['hsic_hyppo']}. Points "
            "far from the diagonal are pairs where the kernel width, not the data, decides. Every HSIC table in "
            "this book is Gamma-HSIC, the paper's test.")


def sentence_circle(circle: pd.DataFrame, differ: int, reps: int) -> str:
    """The circle experiment (:func:`~personax.independence.power.circle_power`) in one paragraph."""
    return (f"Over {reps} circles of 100 points, Gamma-HSIC detects the dependence in "
            f"{circle.loc['hsic_gamma', 'power']:.0%} of them and hyppo's HSIC in "
            f"{circle.loc['hsic_hyppo', 'power']:.0%}; their decisions differ on {differ} of {reps}. A result "
            "reported as \"HSIC\" needs its kernel width and null to be read.")


def conditional_batteries(data: Mapping[str, Any], confounders: Mapping[str, Sequence[str]], *,
                          tests: Sequence[str] = CONDITIONAL_TESTS, **kwargs) -> dict[str, tuple]:
    """Per dataset, ``(unconditional, given Z)`` batteries with Z = ``confounders[dataset]`` (same tests, rows, seed).

    ``kwargs`` go to :func:`~personax.independence.battery` (``alpha``, ``backend``,
    ``device``, ``seed``); progress bars are off.
    """
    kw = {"progress": False, **kwargs, "tests": list(tests)}
    return {ds: (battery(d, **kw), battery(d, given=list(confounders[ds]), **kw)) for ds, d in data.items()}


def conditional_counts(results: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]]) -> pd.DataFrame:
    """Dependences (BH) without and given Z per dataset, over the attributes tested given Z.

    Columns ``dataset``, ``Z``, ``pairs × tests``, ``dependent, unconditional (BH)``,
    ``dependent given Z (BH)``, ``failed``.
    """
    return pd.DataFrame([{"dataset": ds, "Z": c.attrs["given"], "pairs × tests": len(c),
                          "dependent, unconditional (BH)": int(u[u.attribute.isin(c.attribute)]["reject"].sum()),
                          "dependent given Z (BH)": int(c["reject"].sum()), "failed": c.attrs["n_failed"]}
                         for ds, (u, c) in results.items()])


def changes_by_dataset(results: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]], data: Mapping[str, Any],
                       confounders: Mapping[str, Sequence[str]]) -> dict[str, pd.DataFrame]:
    """:func:`~personax.independence.confounding.decision_changes` per dataset, with the planted verdict where known."""
    return {ds: decision_changes(u, c, truth=data[ds].truth.pairs_given(confounders[ds])
                                 if data[ds].truth is not None else None)
            for ds, (u, c) in results.items()}


def sentence_confounding(changes: Mapping[str, pd.DataFrame],
                         results: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]], test: str = "kci") -> str:
    """Markdown bullets: the planted explained-away pairs found, power lost, and rejections given Z per test."""
    lines = []
    for ds, ch in changes.items():
        if "planted_change" not in ch:
            continue
        check = change_check(ch)
        k = check.loc[test]
        spurious = check["spurious_given"].astype(int).to_dict()
        cond = results[ds][1]
        sparse = cond[cond.test == "chi2"]["note"].str.extract(r"^(\d+)%")[0].astype(float)
        lines.append(
            f"* **{ds}**: of {int(k.planted)} planted explained-away pairs {test.upper()} finds {int(k.hits)} "
            f"(recall {k.recall:.2f}); {int(k.lost_power)} changes are power lost to conditioning (the pair "
            f"stays dependent in the world); rejections given Z on conditionally independent pairs: "
            + ", ".join(f"{t.upper().replace('CHI2', 'χ²').replace('G2', 'G²')} {spurious.get(t, 0)}"
                        for t in CONDITIONAL_TESTS)
            + f"; median share of expected stratum counts below 5 in the χ² tables: {sparse.fillna(0).median():.0f} %.")
    return "\n".join(lines) or "Real data: no planted truth to check against."


def rater_runs(data: Mapping[str, Any], *, test: str = "kci", **kwargs) -> tuple[dict, dict]:
    """Per dataset, each rater's battery: (agreement with the aggregate, the aggregate's own rows).

    ``kwargs`` go to :func:`~personax.independence.raters.rater_batteries`.
    """
    agreement, aggregate = {}, {}
    for ds, d in data.items():
        per_rater = rater_batteries(d, tests=[test], progress=False, **kwargs)
        agreement[ds] = rater_agreement(per_rater)
        aggregate[ds] = per_rater[(per_rater.rater == "aggregate") & (per_rater.test == test)]
    return agreement, aggregate


def sentence_raters(agreement: Mapping[str, pd.DataFrame], aggregate: Mapping[str, pd.DataFrame]) -> str:
    """Markdown bullets: how many decisions each rater reproduces, and whether the fragile ones are weak."""
    lines = []
    for ds, a in agreement.items():
        weak = a[a["n_agree"] <= 1]
        allg = a["n_agree"] == a["n_raters"]
        p_agg = aggregate[ds].set_index(["trait", "attribute"])["pvalue"]
        dep = a["aggregate"].astype(bool)  # among the aggregate's dependences: are the fragile ones the weak ones?
        p_all = p_agg.reindex(list(zip(a[allg & dep].trait, a[allg & dep].attribute))).median()
        p_some = p_agg.reindex(list(zip(a[~allg & dep].trait, a[~allg & dep].attribute))).median()
        lines.append(f"* **{ds}**: all three raters agree with the aggregate on {int(allg.sum())} of {len(a)} pairs; "
                     f"at most one agrees on {len(weak)} ({', '.join(sorted(set(weak.attribute))[:6]) or 'none'}). "
                     f"Among the aggregate's {int(dep.sum())} dependences, median aggregate KCI p {p_all:.2g} where "
                     f"all raters agree ({int((allg & dep).sum())} pairs), {p_some:.2g} where some rater does not "
                     f"({int((~allg & dep).sum())}).")
    return "\n".join(lines)


def sentence_power(mde: pd.DataFrame, reps: int, alpha: float, test: str = "kci") -> str:
    """What a "no dependence" cell rules out, read from :func:`~personax.independence.power.detectable_effect`."""
    k = mde[mde.test == test]
    return (f"With {reps} replicates per point (power ± ~{(0.2 / reps) ** 0.5:.2f}), {test.upper()} detects with "
            f"80 % probability a latent correlation of β ≈ {k.beta80.min():.3f}–{k.beta80.max():.3f} at these sample "
            f"sizes, which the rating pipeline attenuates to an observed rank correlation r ≈ {k.r80.min():.3f}–"
            f"{k.r80.max():.3f} between aggregated trait and attribute. A cell without dependence therefore rules "
            "out effects of about that size, not smaller ones; the power at β = 0 (`type1`) is the false-positive "
            f"rate, which should be near α = {alpha:g}. NaN in `beta80` means the grid never reached 80 % (χ²/G² "
            "on many-level attributes).")


SPEED_COLUMNS = ["test", "n_rows", "n_pairs", "fast_wall_s", "ref_n_rows", "ref_wall_s_extrapolated", "speed_ratio",
                 "max_rel_p_diff", "decision_disagreements"]


def conditional_speed(results: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """The conditional rows (``test`` like ``kci|gender+occupation``) of the committed ``level1.csv``.

    ``results`` defaults to :func:`personax.performance.load_results` of this checkout; the
    frame is empty (with the columns) when there is no Level I benchmark.
    """
    if results is None:
        from personax import performance

        try:
            results = performance.load_results()
        except FileNotFoundError:  # an installed package without the checkout's benchmarks/
            results = {}
    bench = results.get("level1")
    if bench is None:
        return pd.DataFrame(columns=SPEED_COLUMNS)
    cond = bench[bench["test"].astype(str).str.contains("|", regex=False)]
    return cond[[c for c in SPEED_COLUMNS + ["ref_scaling_exponent"] if c in cond]].reset_index(drop=True)


def sentence_speed(cond: pd.DataFrame) -> str:
    """The conditional battery's speed against causal-learn, from :func:`conditional_speed`."""
    if not len(cond):
        return "No Level I benchmark results in this checkout (`python benchmarks/level1.py --given ...`)."
    tot = cond[cond["test"].str.startswith("all")].iloc[0]
    kci = cond[cond["test"].str.startswith("kci")].iloc[0]
    return (f"The whole conditional battery takes **{tot.fast_wall_s:.1f} s** with the fast backend on "
            f"{int(tot.n_rows)} rows against an estimated **{tot.ref_wall_s_extrapolated / 3600:.1f} h** for "
            f"causal-learn (×{tot.speed_ratio:.0f}). The reference KCI was run on subsamples of {kci.ref_n_rows} "
            f"rows and extrapolated with its fitted scaling exponent {float(kci.ref_scaling_exponent):.2f}, not run "
            "at full size; the p-value agreement columns are measured on the pairs and rows the reference did run.")
