"""Per-rater robustness of the Level I battery: does each LLM's own score tell the same story?

The aggregate trait is the median of three LLM raters' scores (ChatGPT, Gemini, Llama;
:func:`personax.data.aggregate.median_drop_zeros`).  :func:`rater_batteries` reruns the
battery with each rater's own scores in place of the aggregate (score 0, "insufficient
information", is treated as missing, as the aggregate drops it), and
:func:`rater_agreement` counts, for each pair and test, how many raters reach the
aggregate's decision.  The raters are not independent replications — the aggregate is
built from them and they read the same descriptions — so agreement measures robustness to
the choice of rater, not a replication.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from personax.errors import ParameterError

AGGREGATE = "aggregate"


def rater_frame(frame: pd.DataFrame, llm: str, traits: Sequence[str]) -> pd.DataFrame:
    """A copy of ``frame`` whose trait columns hold rater ``llm``'s scores (0 → missing)."""
    from personax.data.schema import llm_score_column

    out = frame.copy()
    for t in traits:
        col = llm_score_column(llm, t)
        if col not in frame.columns:
            raise ParameterError(f"rater column {col!r} is not in the data (have: {list(frame.columns)[:10]}...)",
                                 hint="per-rater robustness needs the {llm}_{trait} score columns")
        v = pd.to_numeric(frame[col], errors="coerce").astype("float64")
        out[t] = v.where(v != 0)
    return out


def rater_batteries(data: Any, *, tests: Sequence[str] = ("kci",), llms: Sequence[str] | None = None,
                    **battery_kwargs: Any) -> pd.DataFrame:
    """The battery on the aggregate traits and on each rater's own scores.

    Parameters
    ----------
    data : PersonaData or DataFrame (then pass ``dataset=`` or ``traits=``/``attributes=``)
    tests : sequence of str
    llms : sequence of str, optional
        Raters (default ``personax.data.schema.LLMS``).
    **battery_kwargs
        Passed to :func:`personax.independence.battery` (``alpha``, ``seed``, ``given``, ...).

    Returns
    -------
    DataFrame
        The battery's columns plus ``rater`` (``"aggregate"`` or the LLM name); traits keep
        their canonical names (the rater's column replaces the aggregate's).

    Examples
    --------
    >>> from personax.data import load
    >>> res = rater_batteries(load("athlepersona"), attributes=["league"], cache=False, progress=False)
    >>> sorted(res["rater"].unique())
    ['aggregate', 'chatgpt', 'gemini', 'llama']
    """
    from personax.data.schema import LLMS, get_schema
    from personax.independence.grid import battery

    frame, dataset = (data.frame, data.info.get("dataset")) if hasattr(data, "frame") else (data, None)
    dataset = battery_kwargs.pop("dataset", dataset)
    traits = battery_kwargs.pop("traits", None)
    if traits is None:
        if dataset is None:
            raise ParameterError("rater_batteries needs dataset= or traits= to know the trait columns")
        traits = list(get_schema(dataset).traits)
    llms = list(LLMS if llms is None else llms)
    out = []
    for rater in [AGGREGATE, *llms]:
        f = frame if rater == AGGREGATE else rater_frame(frame, rater, traits)
        res = battery(f, traits=traits, tests=tests, dataset=dataset, **battery_kwargs)
        res.insert(0, "rater", rater)
        out.append(res)
    return pd.concat(out, ignore_index=True)


def rater_agreement(results: pd.DataFrame, decision: str = "reject") -> pd.DataFrame:
    """How many raters agree with the aggregate's decision, per (trait, attribute, test).

    Parameters
    ----------
    results : output of :func:`rater_batteries`
    decision : {"reject", "reject_raw"}

    Returns
    -------
    DataFrame with columns ``trait``, ``attribute``, ``test``, ``aggregate`` (the
    aggregate's decision, bool), one bool column per rater, ``n_raters`` (raters with a
    p-value), ``n_agree`` (raters whose decision equals the aggregate's) and
    ``agree_frac``.  Pairs where the aggregate failed are dropped.

    Examples
    --------
    >>> from personax.data import load
    >>> res = rater_batteries(load("athlepersona", n=300), attributes=["league"], cache=False, progress=False)
    >>> agree = rater_agreement(res)
    >>> len(agree), bool(agree["agree_frac"].between(0, 1).all())
    (5, True)
    """
    if "rater" not in results.columns or AGGREGATE not in set(results["rater"]):
        raise ParameterError("rater_agreement needs the output of rater_batteries (a 'rater' column with "
                             "'aggregate' rows)")
    key = ["trait", "attribute", "test"]
    ok = results["pvalue"].notna()
    wide = results[ok].pivot_table(index=key, columns="rater", values=decision, aggfunc="first")
    raters = [r for r in dict.fromkeys(results["rater"]) if r != AGGREGATE and r in wide.columns]
    wide = wide[wide[AGGREGATE].notna()]
    agg = wide[AGGREGATE].astype(bool)
    have = wide[raters].notna()
    agree = wide[raters].eq(agg, axis=0) & have
    out = wide[raters].astype("boolean").copy()
    out.insert(0, AGGREGATE, agg)
    out["n_raters"] = have.sum(axis=1).astype(int)
    out["n_agree"] = agree.sum(axis=1).astype(int)
    out["agree_frac"] = out["n_agree"] / out["n_raters"].replace(0, np.nan)
    order = {k: i for i, k in enumerate(dict.fromkeys(zip(results["trait"], results["attribute"], results["test"])))}
    out = out.reset_index()
    out["_o"] = [order[k] for k in zip(out["trait"], out["attribute"], out["test"])]
    return out.sort_values("_o").drop(columns="_o").reset_index(drop=True)


def agreement_summary(agreement: pd.DataFrame) -> pd.DataFrame:
    """Per test: pairs, aggregate dependences, and how many pairs have 3 / 2 / 1 / 0 raters agreeing.

    Examples
    --------
    >>> from personax.data import load
    >>> res = rater_batteries(load("athlepersona", n=300), attributes=["league"], cache=False, progress=False)
    >>> agreement_summary(rater_agreement(res)).index.name
    'test'
    """
    rows = []
    for t, sub in agreement.groupby("test", sort=False):
        row = {"test": t, "pairs": len(sub), "aggregate dependent": int(sub[AGGREGATE].sum())}
        top = int(sub["n_raters"].max()) if len(sub) else 0
        for k in range(top, -1, -1):
            row[f"{k} agree"] = int((sub["n_agree"] == k).sum())
        row["all agree (%)"] = round(100.0 * float((sub["n_agree"] == sub["n_raters"]).mean()), 1)
        rows.append(row)
    return pd.DataFrame(rows).set_index("test")
