"""Read-outs of a battery result: p-value matrices, dependence tables, truth recovery,
calibration under a permutation null, and the paper's qualitative findings side by side.

All functions take the tidy DataFrame returned by
:func:`personax.independence.battery` (columns documented there).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd


def pvalue_matrix(results: pd.DataFrame, test: str, column: str = "pvalue",
                  traits: Sequence[str] | None = None, attributes: Sequence[str] | None = None) -> pd.DataFrame:
    """Attributes × traits matrix of one test's p-values (``column``: ``pvalue`` or ``pvalue_bh``).

    Rows follow the battery's attribute order, columns its trait order; pairs not tested
    (e.g. χ² on a continuous attribute) are absent, failed tests are NaN.

    Examples
    --------
    >>> from personax.data import load
    >>> from personax.independence import battery
    >>> res = battery(load("athlepersona", n=200), attributes=["height_cm", "league"], tests=["kci"],
    ...               cache=False, progress=False)
    >>> pvalue_matrix(res, "kci").shape
    (2, 5)
    """
    sub = results[results["test"] == test]
    if sub.empty:
        raise ValueError(f"no rows for test {test!r} in the results "
                         f"(tests present: {sorted(results['test'].unique())})")
    traits = list(dict.fromkeys(sub["trait"])) if traits is None else list(traits)
    attributes = list(dict.fromkeys(sub["attribute"])) if attributes is None else list(attributes)
    mat = sub.pivot_table(index="attribute", columns="trait", values=column, aggfunc="first", dropna=False)
    return mat.reindex(index=[a for a in attributes if a in mat.index], columns=traits)


def dependence_table(results: pd.DataFrame, decision: str = "reject",
                     abbrev: dict[str, str] | None = None) -> pd.DataFrame:
    """Which traits each attribute depends on, per test.

    Parameters
    ----------
    results : battery DataFrame
    decision : {"reject", "reject_raw"}
        BH-adjusted (default) or unadjusted decisions.
    abbrev : dict, optional
        Trait display names (default: Big Five letters O C E A N for the canonical traits).

    Returns
    -------
    DataFrame
        Index = attribute, one column per test holding the dependent traits as a string
        (e.g. ``"O C E"``, ``"–"`` for none, ``"n/a"`` when not tested), plus ``n_tests_any``
        (number of tests declaring at least one dependence).

    Examples
    --------
    >>> from personax.data import load
    >>> from personax.independence import battery
    >>> res = battery(load("athlepersona", n=200), attributes=["height_cm"], tests=["kci"], cache=False,
    ...               progress=False)
    >>> list(dependence_table(res).columns)
    ['kci', 'n_tests_any']
    """
    if abbrev is None:
        try:
            from personax.data.schema import TRAIT_ABBREV as abbrev  # type: ignore[no-redef]
        except ImportError:  # pragma: no cover
            abbrev = {}
    tests = list(dict.fromkeys(results["test"]))
    attributes = list(dict.fromkeys(results["attribute"]))
    out = pd.DataFrame(index=pd.Index(attributes, name="attribute"), columns=tests, dtype=object)
    for (a, t), sub in results.groupby(["attribute", "test"], sort=False):
        dep = [abbrev.get(tr, tr) for tr, r in zip(sub["trait"], sub[decision]) if bool(r)]
        out.loc[a, t] = " ".join(dep) if dep else "–"
    out = out.fillna("n/a")
    out["n_tests_any"] = [(out.loc[a, tests].map(lambda s: s not in ("–", "n/a"))).sum() for a in attributes]
    return out


def truth_recovery(results: pd.DataFrame, dependent_pairs: Iterable[tuple[str, str]],
                   independent_pairs: Iterable[tuple[str, str]], decision: str = "reject") -> pd.DataFrame:
    """Precision/recall of the declared dependences against planted truth, per test.

    Returns
    -------
    DataFrame
        Index = test; columns ``tp``, ``fp``, ``fn``, ``tn`` (pairs with known truth only),
        ``failed`` (NaN p-values among them), ``precision``, ``recall``, ``fpr``
        (false-positive rate on the planted independent pairs).

    Examples
    --------
    >>> from personax.data import load
    >>> from personax.independence import battery
    >>> ds = load("athlepersona", n=300)
    >>> res = battery(ds, attributes=["height_cm", "league"], tests=["kci"], cache=False, progress=False)
    >>> rec = truth_recovery(res, ds.truth.dependent_pairs, ds.truth.independent_pairs)
    >>> list(rec.columns)[:4], int(rec.loc["kci", ["tp", "fp", "fn", "tn"]].sum())
    (['tp', 'fp', 'fn', 'tn'], 10)
    """
    truth = {tuple(p): True for p in dependent_pairs}
    truth.update({tuple(p): False for p in independent_pairs})
    rows = []
    for t, sub in results.groupby("test", sort=False):
        tp = fp = fn = tn = failed = 0
        for tr, a, dec, p in zip(sub["trait"], sub["attribute"], sub[decision], sub["pvalue"]):
            key = (tr, a)
            if key not in truth:
                continue
            if not np.isfinite(p):
                failed += 1
                continue
            if truth[key]:
                tp += bool(dec)
                fn += not bool(dec)
            else:
                fp += bool(dec)
                tn += not bool(dec)
        rows.append({"test": t, "tp": tp, "fp": fp, "fn": fn, "tn": tn, "failed": failed,
                     "precision": tp / (tp + fp) if tp + fp else np.nan,
                     "recall": tp / (tp + fn) if tp + fn else np.nan,
                     "fpr": fp / (fp + tn) if fp + tn else np.nan})
    return pd.DataFrame(rows).set_index("test")


def permutation_null(frame: pd.DataFrame, traits: Sequence[str], attributes: Sequence[str],
                     tests: Sequence[str] = ("kci", "rcit", "hsic_gamma", "chi2", "g2"), n_perm: int = 5,
                     seed: int = 0, dataset: str | None = None, **battery_kwargs: Any) -> pd.DataFrame:
    """p-values under an exact null made by permuting the trait columns' rows.

    Each permutation shuffles all trait columns jointly (keeping the traits' own
    dependence, breaking any trait–attribute dependence) and reruns the battery, so the
    returned p-values should be Uniform(0, 1) for a calibrated test.

    Returns
    -------
    DataFrame with the battery's columns plus ``permutation`` (0 … n_perm−1).
    """
    from personax.independence.grid import battery
    from personax.utils import make_rng

    rng = make_rng(seed)
    out = []
    for k in range(int(n_perm)):
        perm = rng.permutation(len(frame))
        shuffled = frame.copy()
        shuffled[list(traits)] = frame[list(traits)].iloc[perm].to_numpy()
        import warnings

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*produced no p-value.*")
            res = battery(shuffled, traits=traits, attributes=attributes, tests=tests, dataset=dataset,
                          seed=seed + k, progress=False, **battery_kwargs)
        res["permutation"] = k
        out.append(res)
    return pd.concat(out, ignore_index=True)


#: The paper's qualitative Level I findings (paper.md §3.2), as checkable statements.
PAPER_FINDINGS = (
    {"dataset": "celebpersona", "finding": "Gender and occupation are strongly dependent with nearly all traits.",
     "attributes": ("gender", "occupation"), "kind": "nearly_all"},
    {"dataset": "celebpersona",
     "finding": "Facial features (e.g. Pointy_Nose, High_Cheekbones) are significantly associated.",
     "attributes": ("Pointy_Nose", "High_Cheekbones"), "kind": "some"},
    {"dataset": "athlepersona", "finding": "Birth year and league are the strongest sources of dependence.",
     "attributes": ("birth_year", "league"), "kind": "strongest"},
    {"dataset": "athlepersona", "finding": "Height and weight show consistent but moderate dependence.",
     "attributes": ("height_cm", "weight_kg"), "kind": "some"},
    {"dataset": "both", "finding": "Latitude and longitude show comparable, moderate dependence.",
     "attributes": ("latitude", "longitude"), "kind": "some"},
)


def paper_comparison(results: pd.DataFrame, dataset: str, test: str = "kci",
                     decision: str = "reject") -> pd.DataFrame:
    """Side-by-side of the paper's qualitative findings and what this run shows.

    Returns
    -------
    DataFrame with columns ``the paper reports`` (the finding, paper.md §3.2),
    ``reproduced here`` (what the battery shows for those attributes with ``test``) and
    ``consistent`` (bool, or NaN when the attributes were not tested).
    """
    sub = results[results["test"] == test]
    n_traits = sub["trait"].nunique()
    strength = (sub.assign(s=-np.log10(sub["pvalue"].clip(lower=1e-300)))
                .groupby("attribute")["s"].median().sort_values(ascending=False))
    rows = []
    for f in PAPER_FINDINGS:
        if f["dataset"] not in (dataset, "both"):
            continue
        attrs = [a for a in f["attributes"] if a in set(sub["attribute"])]
        if not attrs:
            rows.append({"the paper reports": f["finding"], "reproduced here": "attributes not tested",
                         "consistent": np.nan})
            continue
        counts = {a: int(sub.loc[sub["attribute"] == a, decision].sum()) for a in attrs}
        text = ", ".join(f"{a}: {c}/{n_traits} traits dependent" for a, c in counts.items())
        if f["kind"] == "nearly_all":
            ok = all(c >= n_traits - 1 for c in counts.values())
        elif f["kind"] == "some":
            ok = all(c >= 1 for c in counts.values())
        else:  # strongest: among the top len(attrs)+1 by median -log10 p
            top = list(strength.index[: len(attrs) + 1])
            ok = all(a in top for a in attrs)
            text += f"; strongest by median −log10 p: {', '.join(top)}"
        rows.append({"the paper reports": f["finding"], "reproduced here": text, "consistent": bool(ok)})
    return pd.DataFrame(rows)
