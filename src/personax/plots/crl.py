"""Figures of the Level II CRL chapter: training curves, learned vs true graph, result bars, samples.

Every function draws on a given ``ax`` (or creates a figure) and returns the figure.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd


def _fig_axes(ax, ncols: int = 1, figsize=(5, 3.5)):
    import matplotlib.pyplot as plt

    if ax is not None:
        axes = np.atleast_1d(ax)
        return axes[0].figure, axes
    fig, axes = plt.subplots(1, ncols, figsize=figsize, squeeze=False)
    return fig, axes[0]


def _readable(fig, ax):
    """A figure this module created, fitted to the book's width with 9 pt labels (``plots.layout.readable``);
    a figure drawn on the caller's ``ax`` is left to the caller."""
    from personax.plots.layout import readable

    return readable(fig) if ax is None else fig


def training_curves(histories: pd.DataFrame | Sequence[pd.DataFrame],
                    terms: Sequence[str] = ("loss", "rec", "ind", "cons"), labels: Sequence[str] | None = None,
                    ax=None):
    """Train and validation loss terms per epoch (one panel per term, one line per run).

    Parameters
    ----------
    histories : DataFrame or list of DataFrames
        ``CRLFit.history`` tables (columns ``epoch``, ``train_<term>``, ``val_<term>``).
    terms : sequence of str
        Loss terms to show.
    labels : sequence of str, optional
        Run labels (default ``seed 0, 1, ...``).
    """
    if isinstance(histories, pd.DataFrame):
        histories = [histories]
    terms = [t for t in terms if any(f"train_{t}" in h for h in histories)]
    fig, axes = _fig_axes(ax, len(terms), figsize=(3.2 * len(terms), 3))
    labels = list(labels) if labels is not None else [f"seed {i}" for i in range(len(histories))]
    for a, term in zip(axes, terms):
        for i, (h, lab) in enumerate(zip(histories, labels)):
            color = f"C{i}"
            a.plot(h["epoch"], h[f"train_{term}"], color=color, lw=1, label=f"{lab} train")
            if f"val_{term}" in h:
                a.plot(h["epoch"], h[f"val_{term}"], color=color, lw=1, ls="--", label=f"{lab} val")
        a.set_title(term)
        a.set_xlabel("epoch")
        if term in ("loss", "rec", "cons") and (pd.concat([h[f"train_{term}"] for h in histories]) > 0).all():
            a.set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def graph_comparison(adjacency: pd.DataFrame, true_dag: pd.DataFrame, perm: Sequence[int] | None = None,
                     threshold: float = 0.1, ax=None):
    """Learned |adjacency| next to the true DAG, learned latents re-indexed to the true ones.

    Parameters
    ----------
    adjacency : DataFrame
        Learned weighted adjacency (``loc[parent, child]``).
    true_dag : DataFrame
        True 0/1 DAG over the true latent names.
    perm : sequence of int, optional
        ``perm[j]`` = learned latent matched to true latent ``j`` (``metrics.match``).
    threshold : float
        Edges drawn with a black frame where ``|A| > threshold``.
    """
    A = np.abs(adjacency.to_numpy(dtype=float))
    if perm is not None:
        A = A[np.ix_(perm, perm)]
    names = list(true_dag.index)
    fig, axes = _fig_axes(ax, 2, figsize=(8, 3.6))
    vmax = max(float(A.max()), 1e-6)
    for a, mat, title in ((axes[0], true_dag.to_numpy(dtype=float), "true DAG"),
                          (axes[1], A, "learned |A| (matched to true latents)")):
        im = a.imshow(mat, cmap="Blues", vmin=0, vmax=1 if title == "true DAG" else vmax)
        a.set_xticks(range(len(names)), names, rotation=90, fontsize=8)
        a.set_yticks(range(len(names)), names, fontsize=8)
        a.set_xlabel("child")
        a.set_ylabel("parent")
        a.set_title(title, fontsize=9)
        for i in range(len(names)):
            for j in range(len(names)):
                if title != "true DAG":
                    a.text(j, i, f"{mat[i, j]:.2f}", ha="center", va="center", fontsize=6,
                           color="white" if mat[i, j] > 0.6 * vmax else "black")
                    if mat[i, j] > threshold:
                        a.add_patch(__import__("matplotlib.patches", fromlist=["Rectangle"]).Rectangle(
                            (j - 0.5, i - 0.5), 1, 1, fill=False, lw=1.2, ec="black"))
        fig.colorbar(im, ax=a, fraction=0.046)
    fig.tight_layout()
    return fig


def results_bars(summary: pd.DataFrame, paper: pd.DataFrame | None = None, metrics=("r2", "mcc"), ax=None):
    """Mean ± sd per method (bars) with the paper's reported numbers as horizontal marks.

    Parameters
    ----------
    summary : DataFrame
        Output of ``synthetic.summarize`` (index ``(benchmark, method)``).
    paper : DataFrame, optional
        ``synthetic.PAPER_REPORTED`` (columns ``method``, ``r2``, ``mcc``).
    """
    benches = list(dict.fromkeys(summary.index.get_level_values(0)))
    fig, axes = _fig_axes(ax, len(metrics), figsize=(4.2 * len(metrics), 3.2))
    for a, m in zip(axes, metrics):
        width = 0.8 / max(len(benches), 1)
        methods = list(dict.fromkeys(summary.index.get_level_values(1)))
        x = np.arange(len(methods))
        for bi, b in enumerate(benches):
            sub = summary.loc[b].reindex(methods)
            a.bar(x + bi * width, sub[f"{m}_mean"], width, yerr=sub[f"{m}_sd"].fillna(0), label=b, capsize=2)
        if paper is not None:
            for k, (_, r) in enumerate(paper.iterrows()):
                a.axhline(r[m], color=f"C{k + 3}", ls=":", lw=1.2, label=f"{r['method']} reported")
        a.set_xticks(x + width * (len(benches) - 1) / 2, methods, rotation=20)
        a.set_ylim(0, 1.05)
        a.set_title(m.upper() if m == "mcc" else "R²")
    axes[0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def image_samples(bench, k: int = 6, ax=None):
    """First ``k`` rows of an image benchmark: every measurement of each modality, one row each."""
    import matplotlib.pyplot as plt

    arrays = [(m, i, a) for m, arrs in bench.views.items() for i, a in enumerate(arrs)]
    fig, axes = plt.subplots(len(arrays), k, figsize=(1.1 * k, 1.1 * len(arrays)), squeeze=False)
    for r, (m, i, a) in enumerate(arrays):
        for c in range(k):
            img = a[c]
            ax_ = axes[r, c]
            if img.shape[0] == 3:
                ax_.imshow(np.clip(img.transpose(1, 2, 0), 0, 1))
            else:
                ax_.imshow(img[0], cmap="gray", vmin=0, vmax=1)
            ax_.set_xticks([])
            ax_.set_yticks([])
            if c == 0:
                ax_.set_ylabel(f"{m}[{i}]", fontsize=9)
    fig.tight_layout()
    return _readable(fig, None)


def scores_with_references(results: pd.DataFrame, metric: str = "mcc", ax=None):
    """Per method: the score over seeds (dots, mean bar) beside the reference points of the same data.

    Parameters
    ----------
    results : DataFrame
        Rows of ``synthetic.run_benchmark`` for one benchmark (columns ``method``, ``seed``,
        ``metric``, ``ref_mcc_rotation``, ``ref_mcc_pca``, ``ref_mcc_ica``).
    """
    fig, axes = _fig_axes(ax, 1, figsize=(6.4, 3.4))
    a = axes[0]
    methods = list(dict.fromkeys(results["method"]))
    for i, m in enumerate(methods):
        v = results.loc[results["method"] == m, metric].to_numpy(dtype=float)
        a.bar(i, np.nanmean(v), 0.6, color=f"C{i}", alpha=0.55)
        a.scatter(np.full(len(v), i), v, color="black", s=10, zorder=3)
    refs = {"ref_mcc_rotation": ("random rotation of the truth", ":"), "ref_mcc_pca": ("PCA", "--"),
            "ref_mcc_ica": ("FastICA", "-.")}
    if metric == "mcc":
        for k, (lab, ls) in refs.items():
            if k in results:
                a.axhline(float(results[k].iloc[0]), color="grey", ls=ls, lw=1.2, label=lab)
        a.legend(fontsize=8, loc="lower left")
    a.set_xticks(range(len(methods)), methods, rotation=15, fontsize=9)
    a.set_ylim(0, 1.02)
    a.set_ylabel(metric.upper() if metric == "mcc" else metric, fontsize=9)
    fig.tight_layout()
    return _readable(fig, ax)


def family_points(results: pd.DataFrame, ax=None):
    """Design family: each design's mean MCC (ours) over seeds against its random-rotation reference."""
    fig, axes = _fig_axes(ax, 1, figsize=(6.4, 3.6))
    a = axes[0]
    d = results[results["benchmark"].astype(str).str.startswith("design") & (results["method"] == "personax")]
    g = d.groupby("benchmark").agg(mcc=("mcc", "mean"), lo=("mcc", "min"), hi=("mcc", "max"),
                                   ref=("ref_mcc_rotation", "first"), ica=("ref_mcc_ica", "first"),
                                   ok=("conditions_satisfied", "first")).reset_index()
    g = g.sort_values(["ok", "mcc"], ascending=[False, False]).reset_index(drop=True)
    x = np.arange(len(g))
    col = np.where(g["ok"], "C0", "C3")
    a.vlines(x, g["lo"], g["hi"], color=col, lw=1)
    a.scatter(x, g["mcc"], color=col, s=18, zorder=3, label="ours: mean (min–max over seeds)")
    a.scatter(x, g["ref"], marker="_", color="grey", s=60, label="random rotation of the truth")
    a.scatter(x, g["ica"], marker="x", color="grey", s=14, label="FastICA")
    a.axhline(0.95, color="black", lw=0.8, ls=":")
    n_ok = int(g["ok"].sum())
    if 0 < n_ok < len(g):
        a.axvline(n_ok - 0.5, color="black", lw=0.8)
        a.text(n_ok + 0.2, 0.05, "a condition violated", fontsize=8, color="C3")
    a.set_xticks(x, [b.split(":")[1] for b in g["benchmark"]], fontsize=7)
    a.set_xlabel("design (seed)", fontsize=9)
    a.set_ylabel("MCC (test rows)", fontsize=9)
    a.set_ylim(0, 1.02)
    a.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return _readable(fig, ax)


def selection_evidence(candidates: pd.DataFrame, ax=None):
    """Stage-2 candidates of every fit: the selection score (what selects) against test MCC (what it cannot see).

    The score is the ``criterion`` column (held-out NLL + edge penalty) where the table has
    it, else ``val_nll``.  Each fit's candidates are centred on that fit's best score, so the
    panel shows whether a lower score goes with a higher MCC within a fit; the chosen
    candidates are filled.
    """
    fig, axes = _fig_axes(ax, 1, figsize=(5.6, 3.6))
    a = axes[0]
    col = "criterion" if "criterion" in candidates and candidates["criterion"].notna().all() else "val_nll"
    for _, d in candidates.groupby(["benchmark", "seed"]):
        dn = d[col] - d[col].min()
        a.plot(dn, d["mcc"], color="C0", alpha=0.25, lw=0.8)
        a.scatter(dn, d["mcc"], s=10, facecolors=np.where(d["chosen"], "C0", "none"), edgecolors="C0", lw=0.8)
    a.set_xlabel(("selection score" if col == "criterion" else "held-out NLL") + " above the fit's best (nats)",
                 fontsize=9)
    a.set_ylabel("test MCC", fontsize=9)
    fig.tight_layout()
    return _readable(fig, ax)
