"""Figures of the trait-inference chapter: parse statuses, score distributions, answer
mass, agreement, format consistency, embedding similarity.  Every function returns a
matplotlib ``Figure`` and draws only what it is given (no computation beyond layout and
counting)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

# one colour per reply status (greens = usable, reds/purples/greys = rejected)
_STATUS_COLORS = {"ok": "#4c9a2a", "partial": "#b7c94a", "low_mass": "#e0a100", "refused": "#b23a48",
                  "malformed": "#7d4e9f", "no_scores": "#a98bc4", "empty": "#c9b8dd", "ambiguous": "#d46a1f",
                  "conflicting": "#8c2d04", "duplicate_key": "#f4a582", "missing_trait": "#3b6fb6",
                  "out_of_range": "#6baed6", "non_numeric": "#1f78b4", "invalid": "#9e9ac8", "error": "#555555"}


def _fig(ax, size):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=size, layout="constrained")
    else:
        fig = ax.figure
    return fig, ax


def plot_status_counts(counts: pd.DataFrame, ax=None, title: str = "Parse status of each reply"):
    """Stacked horizontal bars of reply statuses per (llm, prompt) from
    :func:`personax.traits.run.status_counts`."""
    statuses = [c for c in counts.columns if c not in ("traits_missing", "replies")]
    fig, ax = _fig(ax, (7, 0.35 * len(counts) + 1.5))
    labels = [" / ".join(map(str, i)) if isinstance(i, tuple) else str(i) for i in counts.index]
    left = np.zeros(len(counts))
    for s in statuses:
        v = counts[s].to_numpy(dtype=float)
        ax.barh(labels, v, left=left, color=_STATUS_COLORS.get(s, "#999999"), label=s)
        left += v
    ax.invert_yaxis()
    ax.set_xlabel("replies")
    ax.set_title(title, pad=16 + 16 * ((len(statuses) + 4) // 5))  # room for the legend rows above
    ax.legend(ncol=min(len(statuses), 5), loc="lower center", bbox_to_anchor=(0.5, 1.06), frameon=False,
              fontsize=8)
    return fig


def plot_score_distributions(tidy: pd.DataFrame, llm: str | None = None, title: str | None = None):
    """Histogram of the valid scores per prompt format (one panel per format; bars per
    scale value, 0 = insufficient information), from a tidy frame of
    :func:`personax.traits.run.run_inference`.  Only ``ok`` replies have scores; the panel
    title gives how many of the format's replies that is."""
    import matplotlib.pyplot as plt

    df = tidy if llm is None else tidy[tidy["llm"] == llm]
    formats = list(dict.fromkeys(df["prompt_id"]))
    fig, axes = plt.subplots(1, max(1, len(formats)), figsize=(2.3 * max(1, len(formats)) + 1, 2.8),
                             layout="constrained", squeeze=False, sharey=True)
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    traits = list(dict.fromkeys(df["trait"]))
    for ax, fid in zip(axes[0], formats):
        sub = df[df["prompt_id"] == fid]
        top = 5 if "l5" in fid else 3
        values = np.arange(0, top + 1)
        width = 0.8 / max(1, len(traits))
        for j, t in enumerate(traits):
            s = sub.loc[(sub["trait"] == t) & sub["score"].notna(), "score"]
            h = [(s == v).sum() for v in values]
            ax.bar(values - 0.4 + width * (j + 0.5), h, width=width, color=cmap(j % 10), label=t)
        replies = sub.drop_duplicates(["person_id", "llm", "repeat"])
        n_ok = int((replies["status"] == "ok").sum())
        ax.set_title(f"{fid}\n{n_ok}/{len(replies)} replies ok", fontsize=8)
        ax.set_xticks(values)
        ax.set_xlabel("score (0 = insufficient)", fontsize=7)
    axes[0, 0].set_ylabel("count")
    axes[0, -1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_answer_mass(tidy: pd.DataFrame, threshold: float, title: str = "Probability mass on the valid answers"):
    """Box plot of the constrained-scoring answer mass (``mass`` column) per prompt format,
    with the rejection ``threshold`` as a dashed line."""
    df = tidy[tidy["mass"].notna()]
    formats = list(dict.fromkeys(df["prompt_id"]))
    fig, ax = _fig(None, (1.3 * max(1, len(formats)) + 2.5, 3.2))
    data = [df.loc[df["prompt_id"] == f, "mass"].to_numpy() for f in formats]
    if data:
        ax.boxplot(data, tick_labels=formats, showfliers=True)
    ax.axhline(threshold, color="#b23a48", ls="--", lw=1, label=f"threshold {threshold:g}")
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("mass per (person, trait)")
    ax.tick_params(axis="x", labelrotation=20, labelsize=8)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(title, fontsize=10)
    return fig


def plot_agreement(table: pd.DataFrame, measures: Sequence[str] | None = None, ax=None,
                   title: str = "Inter-LLM agreement per trait (95% bootstrap CI)"):
    """Forest plot of :func:`personax.traits.agreement.agreement_table`: one row per trait,
    one marker per measure with its CI."""
    measures = list(measures or table["measure"].unique())
    traits = list(table["trait"].unique())
    fig, ax = _fig(ax, (7.5, 0.9 * len(traits) + 1.5))
    offsets = np.linspace(-0.35, 0.35, len(measures))
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    for j, m in enumerate(measures):
        sub = table[table["measure"] == m].set_index("trait").reindex(traits)
        y = np.arange(len(traits)) + offsets[j]
        err = np.vstack([sub["estimate"] - sub["ci_low"], sub["ci_high"] - sub["estimate"]])
        err = np.where(np.isfinite(err), np.clip(err, 0, None), 0)
        ax.errorbar(sub["estimate"], y, xerr=err, fmt="o", ms=4, color=cmap(j % 10), label=m, capsize=2)
    ax.set_yticks(np.arange(len(traits)), traits)
    ax.invert_yaxis()
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel("agreement (alpha, ICC, Spearman rho)")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return fig


def plot_consistency(table: pd.DataFrame, ax=None, title: str | None = None):
    """Heatmap of :func:`personax.traits.agreement.format_consistency` (lower = more consistent)."""
    fig, ax = _fig(ax, (9, 0.5 * len(table) + 1.8))
    vals = table.to_numpy(dtype=float)
    im = ax.imshow(vals, cmap="viridis_r", aspect="auto")
    ax.set_xticks(range(table.shape[1]), table.columns, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(table.shape[0]), table.index)
    for i in range(vals.shape[0]):
        for j in range(vals.shape[1]):
            if np.isfinite(vals[i, j]):
                ax.text(j, i, f"{vals[i, j]:.2f}", ha="center", va="center", fontsize=8,
                        color="white" if vals[i, j] > np.nanmean(vals) else "black")
    fig.colorbar(im, ax=ax, label="mean |score difference|")
    ax.set_title(title or "Prompt-format consistency (mean absolute score difference; lower = more consistent)",
                 fontsize=10)
    return fig


def plot_embedding_similarity(sim: np.ndarray, labels: Sequence[str], trait_distance: np.ndarray | None = None,
                              title: str = "Description embeddings"):
    """Heatmap of a cosine-similarity matrix; with ``trait_distance`` (same shape) also a
    scatter of similarity against trait-profile distance over all pairs."""
    import matplotlib.pyplot as plt

    ncols = 2 if trait_distance is not None else 1
    fig, axes = plt.subplots(1, ncols, figsize=(6 * ncols, 5), layout="constrained", squeeze=False)
    ax = axes[0, 0]
    im = ax.imshow(sim, cmap="magma", vmin=min(0.0, float(np.nanmin(sim))), vmax=1.0)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    fig.colorbar(im, ax=ax, label="cosine similarity")
    ax.set_title(title)
    if trait_distance is not None:
        iu = np.triu_indices(len(labels), k=1)
        x, y = trait_distance[iu], sim[iu]
        ok = np.isfinite(x) & np.isfinite(y)
        ax2 = axes[0, 1]
        ax2.scatter(x[ok], y[ok], s=14, alpha=0.7)
        ax2.set_xlabel("distance between aggregated trait profiles")
        ax2.set_ylabel("cosine similarity of descriptions")
        ax2.set_title("Pairs of people")
    return fig


__all__ = ["plot_status_counts", "plot_score_distributions", "plot_answer_mass", "plot_agreement",
           "plot_consistency", "plot_embedding_similarity"]
