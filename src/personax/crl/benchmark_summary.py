"""The CRL benchmark's summary table: means over seeds per benchmark, and the design-family groups.

One grouping rule for every table that aggregates designs (``crl_summary.csv`` written by
``benchmarks/crl.py``, the ablation tables of chapter 05):

* ``design:<seed>s`` — a design with one measurement per modality (a known limitation);
* ``design:<seed>`` — the design family, split by whether the design meets the
  identifiability conditions (:mod:`personax.crl.identifiability`); where no
  ``conditions_satisfied`` column is at hand, seeds ``>= 1000`` are the violating designs
  (how ``benchmarks/crl.py`` numbers them);
* anything else (``numerical``, ``images_paper``, ...) is its own group.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Group labels of the design-family aggregate rows.
FAMILY = "design family (conditions met)"
VIOLATED = "design family (a condition violated)"
SINGLE = "designs with one measurement per modality (limitation)"
#: Seeds from which ``benchmarks/crl.py`` draws the designs that break a condition.
VIOLATING_SEEDS_FROM = 1000

_AGGREGATED = ("mcc_mean", "mcc_shared_mean", "mcc_m1_mean", "mcc_m2_mean", "mcc_canonical_mean", "r2_mean",
               "r2_leak_shared_mean", "r2_leak_m1_mean", "r2_leak_m2_mean", "shd_mean", "shd_empty_mean",
               "ref_mcc_rotation_mean", "ref_mcc_pca_mean", "ref_mcc_ica_mean", "seconds_mean", "samples_per_s_mean")
_PER_BENCHMARK = ("mcc", "mcc_min", "mcc_shared", "mcc_m1", "mcc_m2", "mcc_canonical", "r2", "r2_leak_shared",
                  "r2_leak_m1", "r2_leak_m2", "shd", "shd_empty", "ref_mcc_rotation", "ref_mcc_pca", "ref_mcc_ica",
                  "seconds", "samples_per_s")


def family_group(benchmark: pd.Series, conditions_satisfied: pd.Series | None = None) -> pd.Series:
    """Group label of each benchmark name (see the module docstring for the rule).

    Examples
    --------
    >>> names = pd.Series(["design:3", "design:1002", "design:2001s", "numerical"])
    >>> family_group(names).tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['design family (conditions met)', 'design family (a condition violated)',
     'designs with one measurement per modality (limitation)', 'numerical']
    >>> family_group(names, pd.Series([False, True, True, True])).iloc[0]
    'design family (a condition violated)'
    """
    b = benchmark.astype(str)
    m = b.str.extract(r"^design:(\d+)(s?)$")
    is_design, single = m[0].notna(), m[1].eq("s")
    if conditions_satisfied is not None:
        ok = pd.Series(conditions_satisfied, index=benchmark.index).astype(bool)
    else:
        ok = pd.to_numeric(m[0], errors="coerce") < VIOLATING_SEEDS_FROM
    label = np.select([is_design & single, is_design & ok, is_design], [SINGLE, FAMILY, VIOLATED], default=b)
    return pd.Series(label, index=benchmark.index)


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd over seeds per (benchmark, method), then one aggregate row per design group.

    ``results`` is ``crl.csv`` (one row per fit).  Per benchmark: ``seeds``,
    ``conditions_satisfied``, ``<metric>_mean`` / ``<metric>_sd``, ``mcc_min`` and
    ``shd_below_empty_all_seeds``.  Per design group (method ``personax``): ``designs``,
    ``seeds`` (fits), the means of the per-design means, ``mcc_min`` (over every fit),
    ``designs_mcc_ge_0.95`` and ``designs_shd_below_empty``.

    Examples
    --------
    >>> res = pd.DataFrame({"benchmark": ["design:1", "design:1", "design:2", "design:2"],
    ...                     "method": "personax", "seed": [0, 1, 0, 1], "conditions_satisfied": True,
    ...                     "mcc": [0.96, 0.98, 0.90, 0.94], "shd": [0, 1, 2, 0], "shd_empty": 2})
    >>> fam = summarize(res).set_index("benchmark").loc[FAMILY]
    >>> int(fam["designs"]), round(float(fam["mcc_mean"]), 3), float(fam["mcc_min"]), int(fam["designs_mcc_ge_0.95"])
    (2, 0.945, 0.9, 1)
    """
    rows = []
    for (b, m), d in results.groupby(["benchmark", "method"], sort=False):
        row = {"benchmark": b, "method": m, "seeds": len(d),
               "conditions_satisfied": bool(d["conditions_satisfied"].iloc[0])}
        for k in _PER_BENCHMARK:
            if k == "mcc_min":
                row["mcc_min"] = float(d["mcc"].min())
            elif k in d:
                row[f"{k}_mean"] = float(d[k].mean())
                row[f"{k}_sd"] = float(d[k].std(ddof=1)) if len(d) > 1 else float("nan")
        row["shd_below_empty_all_seeds"] = bool((d["shd"] < d["shd_empty"]).all()) if "shd" in d else False
        rows.append(row)
    out = pd.DataFrame(rows)
    group = family_group(out["benchmark"], out["conditions_satisfied"])
    aggregates = []
    for label in (FAMILY, VIOLATED, SINGLE):
        d = out[(group == label) & (out["method"] == "personax")]
        if d.empty:
            continue
        agg = {"benchmark": label, "method": "personax", "seeds": int(d["seeds"].sum()),
               "conditions_satisfied": label != VIOLATED, "designs": len(d)}
        agg.update({k: float(d[k].mean()) for k in _AGGREGATED if k in d})
        agg["mcc_min"] = float(d["mcc_min"].min())
        agg["designs_mcc_ge_0.95"] = int((d["mcc_mean"] >= 0.95).sum())
        agg["designs_shd_below_empty"] = int(d["shd_below_empty_all_seeds"].sum())
        aggregates.append(agg)
    return pd.concat([out, pd.DataFrame(aggregates)], ignore_index=True) if aggregates else out
