"""Figures of the Level I chapter (notebook ``04_independence``).

Each function takes the tidy battery DataFrame (see
:func:`personax.independence.battery`) or a summary of it and returns a matplotlib
``Figure``; nothing is shown or saved here.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

TEST_TITLES = {"kci": "KCI", "rcit": "RCIT", "hsic": "HSIC", "chi2": "Chi-square", "g2": "G-square"}
TEST_COLOURS = {"kci": "#1f77b4", "rcit": "#ff7f0e", "hsic": "#2ca02c", "chi2": "#d62728", "g2": "#9467bd"}


def _abbrev(traits: Sequence[str]) -> list[str]:
    try:
        from personax.data.schema import TRAIT_ABBREV
    except ImportError:  # pragma: no cover
        TRAIT_ABBREV = {}
    return [TRAIT_ABBREV.get(t, t) for t in traits]


def pvalue_heatmap(results: pd.DataFrame, test: str, ax=None, title: str | None = None,
                   column: str = "pvalue", annotate: bool = True):
    """Attribute × trait p-value heatmap in the paper's style.

    Blues colour map on [0, 1], each cell annotated with its p-value to 3 decimals, title
    "<TEST> P-value Heatmap" (the authors' figure is titled "KCI P-value Heatmap").
    Failed tests (NaN) are shown blank and annotated "fail".
    """
    import matplotlib.pyplot as plt

    from personax.independence.summary import pvalue_matrix

    mat = pvalue_matrix(results, test, column=column)
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.0 + 0.75 * mat.shape[1], 0.9 + 0.34 * mat.shape[0]))
    else:
        fig = ax.figure
    values = mat.to_numpy(dtype=float)
    im = ax.imshow(np.ma.masked_invalid(values), cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(mat.shape[1]), _abbrev(mat.columns))
    ax.set_yticks(range(mat.shape[0]), list(mat.index))
    ax.tick_params(axis="y", labelsize=8)
    if annotate:
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                v = values[i, j]
                text = "fail" if not np.isfinite(v) else f"{v:.3f}"
                ax.text(j, i, text, ha="center", va="center", fontsize=7,
                        color="white" if np.isfinite(v) and v > 0.6 else "black")
    ax.set_title(title or f"{TEST_TITLES.get(test, test)} P-value Heatmap")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03, label="p-value" if column == "pvalue" else "BH-adjusted p")
    return fig


def heatmap_panel(results: pd.DataFrame, tests: Sequence[str] | None = None, suptitle: str | None = None):
    """One row of paper-style heatmaps, one per test present in ``results``."""
    import matplotlib.pyplot as plt

    tests = [t for t in (tests or TEST_TITLES) if t in set(results["test"])]
    n_attr = results["attribute"].nunique()
    fig, axes = plt.subplots(1, len(tests), figsize=(3.6 * len(tests), 1.2 + 0.34 * n_attr), squeeze=False)
    for ax, t in zip(axes[0], tests):
        pvalue_heatmap(results, t, ax=ax)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def pvalue_qq(null_results: pd.DataFrame, level: float = 0.95, ax=None):
    """QQ plot of p-values under a permutation null against Uniform(0, 1), per test.

    The grey band is the pointwise ``level`` band of uniform order statistics
    (Beta(i, m + 1 − i)) for the largest family; a calibrated test stays inside it.
    """
    import matplotlib.pyplot as plt
    from scipy import stats

    if ax is None:
        fig, ax = plt.subplots(figsize=(4.6, 4.4))
    else:
        fig = ax.figure
    m_max = 0
    for t, sub in null_results.groupby("test", sort=False):
        p = np.sort(sub["pvalue"].dropna().to_numpy())
        m = p.size
        if m == 0:
            continue
        m_max = max(m_max, m)
        expected = (np.arange(1, m + 1) - 0.5) / m
        ax.plot(expected, p, marker=".", ms=3, lw=1, color=TEST_COLOURS.get(t), label=f"{TEST_TITLES.get(t, t)} (m={m})")
    if m_max:
        i = np.arange(1, m_max + 1)
        lo = stats.beta.ppf((1 - level) / 2, i, m_max + 1 - i)
        hi = stats.beta.ppf(1 - (1 - level) / 2, i, m_max + 1 - i)
        ax.fill_between((i - 0.5) / m_max, lo, hi, color="0.85", label=f"{int(level * 100)}% band")
    ax.plot([0, 1], [0, 1], color="0.3", lw=0.8, ls="--")
    ax.set_xlabel("expected p (uniform quantiles)")
    ax.set_ylabel("observed p under permutation")
    ax.set_title("Calibration under a permutation null")
    ax.legend(fontsize=7, loc="upper left")
    return fig


def recovery_bars(recovery: pd.DataFrame, ax=None, title: str = "Planted-truth recovery (after BH)"):
    """Precision and recall per test (from :func:`personax.independence.summary.truth_recovery`)."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(5.2, 3.0))
    else:
        fig = ax.figure
    x = np.arange(len(recovery))
    ax.bar(x - 0.2, recovery["precision"], width=0.4, label="precision", color="#4c72b0")
    ax.bar(x + 0.2, recovery["recall"], width=0.4, label="recall", color="#dd8452")
    ax.set_xticks(x, [TEST_TITLES.get(t, t) for t in recovery.index])
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def backend_agreement(fast: pd.DataFrame, reference: pd.DataFrame, ax=None):
    """Scatter of reference vs fast p-values (log scale) for the same pairs and tests."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(4.4, 4.2))
    else:
        fig = ax.figure
    key = ["trait", "attribute", "test"]
    merged = fast[key + ["pvalue"]].merge(reference[key + ["pvalue"]], on=key, suffixes=("_fast", "_ref"))
    floor = 1e-17
    for t, sub in merged.groupby("test", sort=False):
        ax.scatter(sub["pvalue_ref"].clip(lower=floor), sub["pvalue_fast"].clip(lower=floor), s=10,
                   color=TEST_COLOURS.get(t), label=TEST_TITLES.get(t, t))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.plot([floor, 1], [floor, 1], color="0.3", lw=0.8, ls="--")
    ax.set_xlabel("reference p (libraries; < 1e-16 shown at 1e-17)")
    ax.set_ylabel("fast p (this package)")
    ax.set_title("Two backends, one answer")
    ax.legend(fontsize=7)
    return fig
