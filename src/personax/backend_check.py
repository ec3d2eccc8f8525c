"""Fast versus reference backends of the Level I tests, on a random sample of pairs.

Chapter 04 checks that the package's fast backend gives the libraries' answer
(causal-learn for KCI, RCIT, chi-square, G-square; a dense transcription of the authors'
Gamma-HSIC): :func:`reference_pvalues` reruns a seeded sample of the battery's pairs with
``backend="reference"`` on identical rows, and :func:`backend_agreement` summarises the
differences per test.

Schemas
-------
``reference_pvalues`` → one row per re-run pair: ``trait``, ``attribute``, ``test``,
``pvalue`` (reference backend).

``backend_agreement`` → one row per test (index ``test``): ``pairs``, ``max_abs_p_diff``,
``same_decisions`` (whether every pair gets the same decision at ``alpha``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from personax.errors import DataError, ParameterError
from personax.utils import make_rng


def sample_pairs(results: pd.DataFrame, tests: Sequence[str], n_pairs: int, seed: int = 0) -> pd.DataFrame:
    """Up to ``n_pairs`` random (trait, attribute) pairs per test among those with a p-value.

    Examples
    --------
    >>> r = pd.DataFrame({"trait": ["a", "a", "b"], "attribute": ["x", "y", "x"], "test": "kci",
    ...                   "pvalue": [0.1, np.nan, 0.3]})
    >>> sample_pairs(r, ["kci"], n_pairs=5)[["trait", "attribute"]].values.tolist()
    [['a', 'x'], ['b', 'x']]
    """
    if isinstance(n_pairs, bool) or not isinstance(n_pairs, (int, np.integer)) or n_pairs < 1:
        raise ParameterError(f"n_pairs={n_pairs!r} is invalid: allowed a positive integer")
    missing = {"trait", "attribute", "test", "pvalue"} - set(results.columns)
    if missing:
        raise DataError(f"the battery results lack column(s) {sorted(missing)}; pass battery(...)'s DataFrame")
    rng = make_rng(seed)
    picked = []
    for test in tests:
        sub = results[(results["test"] == test) & results["pvalue"].notna()]
        if len(sub):
            rows = np.sort(rng.choice(len(sub), size=min(int(n_pairs), len(sub)), replace=False))
            picked.append(sub.iloc[rows][["trait", "attribute", "test"]])
    if not picked:
        return pd.DataFrame(columns=["trait", "attribute", "test"])
    return pd.concat(picked, ignore_index=True)


def reference_pvalues(frame: pd.DataFrame, pairs: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """Rerun each (trait, attribute, test) of ``pairs`` with the reference backend on ``frame``'s rows.

    Columns are converted to numbers exactly as the battery does; HSIC uses the authors'
    dense Gamma test (``hyppo=False``).  A pair the reference cannot run raises that
    library's error (the pairs come from those the fast backend could run).
    """
    from personax.independence import test as run_test
    from personax.independence.grid import _numeric  # the battery's own conversion

    unknown = sorted((set(pairs["trait"]) | set(pairs["attribute"])) - set(frame.columns)) if len(pairs) else []
    if unknown:
        raise DataError(f"the frame lacks column(s) {unknown} named by the pairs; pass the frame the battery ran on")
    columns = {c: _numeric(frame[c]) for c in set(pairs["trait"]) | set(pairs["attribute"])} if len(pairs) else {}
    rows = []
    for trait, attribute, test in pairs[["trait", "attribute", "test"]].itertuples(index=False):
        options = {"hyppo": False} if test in ("hsic", "hsic_gamma") else {}  # the authors' dense Gamma-HSIC
        result = run_test(test, columns[trait], columns[attribute], backend="reference", seed=seed, **options)
        rows.append({"trait": trait, "attribute": attribute, "test": test, "pvalue": result.pvalue})
    return pd.DataFrame(rows, columns=["trait", "attribute", "test", "pvalue"])


def backend_agreement(fast: pd.DataFrame, reference: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Per test: pairs compared, the largest |p_fast − p_ref|, and whether all decisions agree.

    Examples
    --------
    >>> fast = pd.DataFrame({"trait": ["a"], "attribute": ["x"], "test": ["kci"], "pvalue": [0.2]})
    >>> ref = pd.DataFrame({"trait": ["a"], "attribute": ["x"], "test": ["kci"], "pvalue": [0.25]})
    >>> row = backend_agreement(fast, ref).loc["kci"]
    >>> int(row["pairs"]), float(row["max_abs_p_diff"]), bool(row["same_decisions"])
    (1, 0.05, True)
    """
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha={alpha!r} is invalid: allowed a number in (0, 1)")
    merged = fast.merge(reference[["trait", "attribute", "test", "pvalue"]], on=["trait", "attribute", "test"],
                        suffixes=("_fast", "_ref"))
    merged = merged.assign(abs_diff=(merged["pvalue_fast"] - merged["pvalue_ref"]).abs().round(12),
                           same_decision=(merged["pvalue_fast"] < alpha) == (merged["pvalue_ref"] < alpha))
    return merged.groupby("test").agg(pairs=("abs_diff", "size"), max_abs_p_diff=("abs_diff", "max"),
                                      same_decisions=("same_decision", "all"))
