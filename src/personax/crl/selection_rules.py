"""How the truth-free stage-2 selection rules compare, read from the committed candidate tables.

Stage 2 keeps one of its candidate fits (block order x restart x L1 weight) by a score
computed without the truth (:func:`personax.crl.candidates.selection_criterion`).  The
benchmark writes every candidate with that score's inputs (held-out NLL, edges, validation
rows) *and* its test scores (MCC, SHD), so any rule can be replayed on the same fits:
:func:`replay` applies one rule, :func:`compare_rules` the named :data:`RULES`, and
:func:`sentence_rules` says what the comparison shows.  The replay reads the truth only to
*score* the candidate each rule picks, never to pick it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from personax.crl.candidates import bic_penalty

#: Named rules: (L1 weights the rule may choose among, or None for all; edge-penalty factor
#: on log(n_val) / (2 n_val), 0 = held-out NLL alone).
RULES = {
    "NLL, default weight (earlier rule)": ((0.02,), 0.0),
    "BIC, default weight": ((0.02,), 1.0),
    "NLL, both weights": (None, 0.0),
    "BIC, both weights": (None, 1.0),
}


def replay(candidates: pd.DataFrame, weights=None, penalty: float = 1.0) -> pd.DataFrame:
    """The candidate a rule keeps in every fit (one row per ``benchmark``, ``seed``).

    Parameters
    ----------
    candidates : DataFrame
        Columns ``benchmark``, ``seed``, ``phase``, ``s2_sparsity``, ``val_nll``, ``edges``,
        ``n_val`` (or ``nval``), ``mcc`` and optionally ``shd``, ``shd_empty``.
    weights : sequence of float, optional
        Only candidates fitted at these L1 weights compete (default: all).
    penalty : float
        Factor on the BIC edge penalty ``edges · log(n_val) / (2 n_val)``.

    Examples
    --------
    >>> c = pd.DataFrame({"benchmark": "b", "seed": 0, "phase": ["a", "b"], "s2_sparsity": 0.02,
    ...                   "val_nll": [5.000, 5.002], "edges": [4, 1], "n_val": 400, "mcc": [0.8, 0.9]})
    >>> replay(c, penalty=0.0)["mcc"].item(), replay(c)["mcc"].item()
    (0.8, 0.9)
    """
    c = candidates.reset_index(drop=True)
    if weights is not None:
        c = c[np.isin(c["s2_sparsity"].round(6), np.round(list(weights), 6))]
    nval = c["n_val"] if "n_val" in c else c["nval"]
    c = c.assign(_score=c["val_nll"] + penalty * bic_penalty(c["edges"], nval))
    return c.loc[c.groupby(["benchmark", "seed"])["_score"].idxmin()].drop(columns="_score").reset_index(drop=True)


def compare_rules(candidates: pd.DataFrame, rules: dict | None = None) -> pd.DataFrame:
    """Test scores of the candidates each rule keeps, over the same fits.

    Only fits with a candidate at every L1 weight enter (so every rule sees the same fits).
    Columns: ``rule``, ``fits``, ``mcc_mean``, ``mcc_min``, ``fits_mcc_below_0.90``,
    ``shd_mean``, ``shd_max``, ``fits_shd_not_below_empty`` (the graph no better than
    predicting no edge, where the truth has edges).
    """
    rules = RULES if rules is None else rules
    nw = candidates["s2_sparsity"].nunique()
    full = candidates.groupby(["benchmark", "seed"])["s2_sparsity"].transform("nunique") == nw
    c = candidates[full]
    rows = []
    for name, (weights, penalty) in rules.items():
        k = replay(c, weights, penalty)
        row = {"rule": name, "fits": len(k), "mcc_mean": k["mcc"].mean(), "mcc_min": k["mcc"].min(),
               "fits_mcc_below_0.90": int((k["mcc"] < 0.90).sum())}
        if "shd" in k:
            row.update({"shd_mean": k["shd"].mean(), "shd_max": k["shd"].max(),
                        "fits_shd_not_below_empty": int(((k["shd"] >= k["shd_empty"]) & (k["shd_empty"] > 0)).sum())})
        rows.append(row)
    return pd.DataFrame(rows)


def sentence_rules(table: pd.DataFrame, default: str) -> str:
    """What the rule comparison shows, naming the estimator's ``default`` rule."""
    t = table.set_index("rule")
    base = t.iloc[0]
    parts = []
    for name, r in t.iterrows():
        s = f"{name}: mean MCC {r['mcc_mean']:.3f} (min {r['mcc_min']:.3f}, {int(r['fits_mcc_below_0.90'])} below 0.90)"
        if "shd_mean" in r:
            s += f", mean SHD {r['shd_mean']:.2f} (max {r['shd_max']:.0f})"
        parts.append(s)
    d = t.loc[default]
    change = d["mcc_mean"] - base["mcc_mean"]
    return (f"Over the same {int(base['fits'])} fits — " + "; ".join(parts) + f". The default is **{default}**: "
            f"{change:+.3f} mean MCC against the earlier rule.")
