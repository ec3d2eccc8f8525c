"""Figures of the Level I chapter (notebook ``04_independence``).

Each function takes the tidy battery DataFrame (see
:func:`personax.independence.battery`) or a summary of it and returns a matplotlib
``Figure``; nothing is shown or saved here.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from personax.plots.layout import readable

TEST_TITLES = {"kci": "KCI", "rcit": "RCIT", "hsic_gamma": "Gamma-HSIC", "chi2": "Chi-square", "g2": "G-square",
               "hsic_hyppo": "HSIC (hyppo)", "hsic": "HSIC"}
TEST_COLOURS = {"kci": "#1f77b4", "rcit": "#ff7f0e", "hsic_gamma": "#2ca02c", "chi2": "#d62728", "g2": "#9467bd",
                "hsic_hyppo": "#8c564b", "hsic": "#2ca02c"}


def _abbrev(traits: Sequence[str]) -> list[str]:
    try:
        from personax.data.schema import TRAIT_ABBREV
    except ImportError:  # pragma: no cover
        TRAIT_ABBREV = {}
    return [TRAIT_ABBREV.get(t, t) for t in traits]


def _draw_matrix(ax, mat: pd.DataFrame, title: str, annotate: bool = True, missing: str = "fail"):
    """Blues [0, 1] image of an attributes × traits matrix with p annotated to 3 decimals."""
    values = mat.to_numpy(dtype=float)
    im = ax.imshow(np.ma.masked_invalid(values), cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(mat.shape[1]), _abbrev(mat.columns))
    ax.set_yticks(range(mat.shape[0]), list(mat.index))
    ax.tick_params(axis="y", labelsize=8)
    if annotate:
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                v = values[i, j]
                text = missing if not np.isfinite(v) else f"{v:.3f}"
                ax.text(j, i, text, ha="center", va="center", fontsize=7,
                        color="white" if np.isfinite(v) and v > 0.6 else ("0.4" if not np.isfinite(v) else "black"))
    ax.set_title(title)
    return im


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
    im = _draw_matrix(ax, mat, title or f"{TEST_TITLES.get(test, test)} P-value Heatmap", annotate)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03, label="p-value" if column == "pvalue" else "BH-adjusted p")
    return fig


def heatmap_panel(results: pd.DataFrame, tests: Sequence[str] | None = None, suptitle: str | None = None,
                  ncols: int = 3):
    """Paper-style heatmaps, one per test present in ``results``, wrapped ``ncols`` per row
    (three 5-column heatmaps fit the book's width)."""
    import matplotlib.pyplot as plt

    tests = [t for t in (tests or pd.unique(results["test"])) if t in set(results["test"])]
    n_attr = results["attribute"].nunique()
    ncols = max(1, min(ncols, len(tests)))
    nrows = -(-len(tests) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, (1.2 + 0.3 * n_attr) * nrows), squeeze=False)
    for ax, t in zip(axes.flat, tests):
        pvalue_heatmap(results, t, ax=ax)
    for ax in list(axes.flat)[len(tests):]:
        ax.set_visible(False)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def conditional_heatmaps(unconditional: pd.DataFrame, conditional: pd.DataFrame, test: str,
                         decision: str = "reject", title: str | None = None):
    """Unconditional and conditional p-value heatmaps of one test side by side.

    Same style as :func:`pvalue_heatmap`.  In the right panel, cells whose decision
    (``decision`` column) differs from the left one are outlined: orange, a dependence that
    disappears given Z ("explained away"); purple, one that appears only given Z.
    Attributes in the conditioning set are marked "in Z".
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from personax.independence.summary import pvalue_matrix

    given = str(conditional["given"].iloc[0]).replace("+", ", ") if len(conditional) else "Z"
    left = pvalue_matrix(unconditional, test)
    right = pvalue_matrix(conditional, test).reindex(index=left.index, columns=left.columns)
    fig, axes = plt.subplots(1, 2, figsize=(6.7, 1.6 + 0.3 * left.shape[0]), sharey=True, layout="constrained")
    name = TEST_TITLES.get(test, test)
    _draw_matrix(axes[0], left, "unconditional")
    im = _draw_matrix(axes[1], right, f"given {given}", missing="in Z")
    key = ["trait", "attribute"]
    du = unconditional[unconditional["test"] == test].set_index(key)[decision]
    dc = conditional[conditional["test"] == test].set_index(key)[decision]
    changed = 0
    for i, a in enumerate(right.index):
        for j, t in enumerate(right.columns):
            if (t, a) in du.index and (t, a) in dc.index and bool(du[(t, a)]) != bool(dc[(t, a)]):
                colour = "#e6550d" if bool(du[(t, a)]) else "#756bb1"
                axes[1].add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=2.0, ec=colour))
                changed += 1
    fig.colorbar(im, ax=list(axes), orientation="horizontal", fraction=0.05, shrink=0.6, label="p-value")
    fig.suptitle(title or f"{name}: {changed} decisions change given {given} (outlined)", fontsize=10)
    return readable(fig)


def rater_agreement_heatmap(agreements: dict[str, pd.DataFrame], test: str = "kci"):
    """Per dataset, attributes × traits: how many raters reach the aggregate's decision.

    ``agreements`` maps a panel title to :func:`personax.independence.raters.rater_agreement`
    output.  Colour = number of agreeing raters (0–3); the cell text is the aggregate's
    decision ("D" dependent, "·" not) followed by the count.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap

    panels = list(agreements.items())
    n_attr = max(a[a["test"] == test]["attribute"].nunique() for _, a in panels)
    fig, axes = plt.subplots(1, len(panels), figsize=(3.35 * len(panels), 1.8 + 0.3 * n_attr), squeeze=False,
                             layout="constrained")
    cmap = ListedColormap(["#d7301f", "#fc8d59", "#fdcc8a", "#1a9850"])
    norm = BoundaryNorm([-0.5, 0.5, 1.5, 2.5, 3.5], cmap.N)
    im = None
    for ax, (label, agr) in zip(axes[0], panels):
        sub = agr[agr["test"] == test]
        mat = sub.pivot_table(index="attribute", columns="trait", values="n_agree", aggfunc="first")
        mat = mat.reindex(index=list(dict.fromkeys(sub["attribute"])), columns=list(dict.fromkeys(sub["trait"])))
        dec = sub.pivot_table(index="attribute", columns="trait", values="aggregate", aggfunc="first").reindex_like(mat)
        im = ax.imshow(np.ma.masked_invalid(mat.to_numpy(dtype=float)), cmap=cmap, norm=norm, aspect="auto")
        for i in range(mat.shape[0]):
            for j in range(mat.shape[1]):
                v = mat.iloc[i, j]
                if pd.notna(v):
                    ax.text(j, i, f"{'D' if bool(dec.iloc[i, j]) else '·'} {int(v)}", ha="center", va="center",
                            fontsize=7)
        ax.set_xticks(range(mat.shape[1]), _abbrev(mat.columns))
        ax.set_yticks(range(mat.shape[0]), list(mat.index))
        ax.tick_params(axis="y", labelsize=8)
        ax.set_title(f"{label}: {TEST_TITLES.get(test, test)}", fontsize=10)
    cb = fig.colorbar(im, ax=list(axes[0]), orientation="horizontal", fraction=0.04, shrink=0.6, ticks=[0, 1, 2, 3])
    cb.set_label("raters agreeing with the aggregate")
    return readable(fig)


def power_curves(curves: pd.DataFrame, target: float = 0.8, alpha: float = 0.05, ncols: int = 2):
    """Simulated power against the latent effect size β, one panel per attribute, one line per test
    (from :func:`personax.independence.power.power_curve`); dotted lines at ``target`` and α."""
    import matplotlib.pyplot as plt

    attrs = list(dict.fromkeys(curves["attribute"]))
    ncols = max(1, min(ncols, len(attrs)))
    nrows = -(-len(attrs) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.35 * ncols, 2.9 * nrows), squeeze=False, sharey=True)
    for ax, a in zip(axes.flat, attrs):
        sub = curves[curves["attribute"] == a]
        for t, c in sub.groupby("test", sort=False):
            c = c.sort_values("beta")
            ax.errorbar(c["beta"], c["power"], yerr=c["power_se"], marker=".", ms=4, lw=1, capsize=2,
                        color=TEST_COLOURS.get(t), label=TEST_TITLES.get(t, t))
        ax.axhline(target, color="0.4", ls=":", lw=0.8)
        ax.axhline(alpha, color="0.6", ls=":", lw=0.8)
        ax.set_title(f"{a} (n = {int(sub['n'].iloc[0])})", fontsize=9)
        ax.set_xlabel("latent effect β (correlation)")
        ax.set_ylim(-0.02, 1.02)
    for ax in axes[:, 0]:
        ax.set_ylabel(f"power (p < {alpha})")
    for ax in list(axes.flat)[len(attrs):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7, loc="lower right")
    return readable(fig)


def hsic_comparison(results: pd.DataFrame, alpha: float = 0.05, ax=None):
    """Gamma-HSIC (the paper's) against hyppo's HSIC on the same pairs: p-values (log scale),
    with the disagreeing decisions (raw p < α) marked."""
    import matplotlib.pyplot as plt

    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(4.6, 4.4))
    else:
        fig = ax.figure
    key = ["trait", "attribute"]
    g = results[results["test"] == "hsic_gamma"][key + ["pvalue"]]
    h = results[results["test"] == "hsic_hyppo"][key + ["pvalue"]]
    m = g.merge(h, on=key, suffixes=("_gamma", "_hyppo")).dropna()
    floor = 1e-17
    x, y = m["pvalue_hyppo"].clip(lower=floor), m["pvalue_gamma"].clip(lower=floor)
    differ = (m["pvalue_gamma"] < alpha) != (m["pvalue_hyppo"] < alpha)
    ax.scatter(x[~differ], y[~differ], s=10, color="#2ca02c", label="same decision")
    ax.scatter(x[differ], y[differ], s=22, color="#d62728", marker="x",
               label=f"different decision ({int(differ.sum())})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.plot([floor, 1], [floor, 1], color="0.3", lw=0.8, ls="--")
    ax.axvline(alpha, color="0.6", lw=0.6, ls=":")
    ax.axhline(alpha, color="0.6", lw=0.6, ls=":")
    ax.set_xlabel("hyppo HSIC p (z-scored inputs)")
    ax.set_ylabel("Gamma-HSIC p (the paper's)")
    ax.set_title("Two tests called HSIC")
    ax.legend(fontsize=7)
    return readable(fig) if own else fig


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
        ax.plot(expected, p, marker=".", ms=3, lw=1, color=TEST_COLOURS.get(t),
                label=f"{TEST_TITLES.get(t, t)} (m={m})")
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
