"""Figures and tables of the data card (notebook ``01_data``).

Each function takes a :class:`~personax.data.PersonaData` (or its planted truth) and
returns a matplotlib ``Figure`` (or a DataFrame for tables); nothing is shown or saved
here, so the functions work the same in notebooks, tests and scripts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from personax.plots.layout import readable

# Colours of the paper's graph figures: shared red, image/face blue, text/trait green.
BLOCK_COLOURS = {"shared": "#d62728", "face": "#1f77b4", "text": "#2ca02c"}
LLM_COLOURS = {"chatgpt": "#10a37f", "gemini": "#4285f4", "llama": "#7b61ff"}


def sizes_table(datasets) -> pd.DataFrame:
    """One row per dataset: ``dataset``, ``source``, ``rows``, ``paper_rows``, ``columns``,
    ``face_measurements``, ``face_dim``, ``text_measurements``, ``text_dim``, ``synthetic``."""
    rows = []
    for d in datasets:
        face, text = d.measurements("face"), d.measurements("text")
        rows.append({"dataset": d.dataset, "source": d.info.get("source"), "rows": len(d),
                     "paper_rows": d.schema.paper_rows, "columns": d.frame.shape[1],
                     "face_measurements": len(face), "face_dim": face[0].shape[1] if face else 0,
                     "text_measurements": len(text), "text_dim": text[0].shape[1] if text else 0,
                     "synthetic": bool(d.info.get("synthetic"))})
    return pd.DataFrame(rows)


def missingness_table(data) -> pd.DataFrame:
    """Missing fraction per column with gaps: columns ``column``, ``missing``, ``fraction``."""
    na = data.frame.isna()
    out = pd.DataFrame({"column": na.columns, "missing": na.sum().to_numpy(), "fraction": na.mean().to_numpy()})
    return out[out["missing"] > 0].sort_values("fraction", ascending=False).reset_index(drop=True)


def _grid(n_panels: int, ncols: int, width: float = 3.0, height: float = 2.4):
    import matplotlib.pyplot as plt

    nrows = int(np.ceil(n_panels / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    for ax in axes.ravel()[n_panels:]:
        ax.set_visible(False)
    return fig, axes.ravel()


def plot_attribute_distributions(data, ncols: int = 5):
    """Histograms of the continuous attributes and bar charts of the discrete ones."""
    import seaborn as sns

    attrs = list(data.schema.attributes)
    fig, axes = _grid(len(attrs), ncols)
    for ax, col in zip(axes, attrs):
        s = data.frame[col].dropna()
        if col in data.schema.continuous:
            sns.histplot(s.astype(float), ax=ax, bins=30, color="#4c72b0")
        else:
            counts = s.astype(str).value_counts()
            if s.dtype.kind in "iu" or str(s.dtype) == "Int64":
                counts = counts.reindex(sorted(counts.index, key=lambda v: int(v)))
            if len(counts) > 15 and pd.api.types.is_numeric_dtype(s.dtype):
                # many integer levels (birth year, birth day): one bar per value, numeric axis
                sns.histplot(s.astype(float), ax=ax, discrete=True, color="#55a868")
            else:
                sns.barplot(x=counts.index, y=counts.to_numpy(), ax=ax, color="#55a868")
                ax.tick_params(axis="x", labelrotation=90 if len(counts) > 6 else 0, labelsize=7)
        ax.set_title(col, fontsize=9)
        ax.set_xlabel("")
        ax.set_ylabel("")
    fig.suptitle(f"{data.dataset}: Level I attributes (n = {len(data)})", y=1.0)
    fig.tight_layout()
    return readable(fig)


def plot_missingness(data):
    """Bar chart of the missing fraction of every column that has gaps."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    table = missingness_table(data)
    fig, ax = plt.subplots(figsize=(7, 0.3 * max(len(table), 3) + 1))
    if table.empty:
        ax.text(0.5, 0.5, "no missing values", ha="center", va="center")
        ax.set_axis_off()
    else:
        sns.barplot(data=table, y="column", x="fraction", ax=ax, color="#c44e52")
        ax.set_xlabel("fraction missing")
        ax.set_ylabel("")
    ax.set_title(f"{data.dataset}: missingness")
    fig.tight_layout()
    return readable(fig)


def llm_score_counts(data) -> pd.DataFrame:
    """Long table of per-LLM score counts: ``llm``, ``trait``, ``score`` (0–3), ``count``, ``fraction``."""
    from personax.data.schema import LLMS, TRAITS, llm_score_column

    rows = []
    for llm in LLMS:
        for trait in TRAITS:
            s = data.frame[llm_score_column(llm, trait)].dropna().astype(int)
            counts = s.value_counts().reindex([0, 1, 2, 3], fill_value=0)
            for score, c in counts.items():
                rows.append({"llm": llm, "trait": trait, "score": int(score), "count": int(c),
                             "fraction": c / max(len(s), 1)})
    return pd.DataFrame(rows)


def plot_llm_scores(data):
    """Per-trait distribution of each rater's 0–3 scores (0 = insufficient information) and of
    the aggregate (median after dropping zeros)."""
    import seaborn as sns

    from personax.data.schema import TRAIT_ABBREV, TRAITS

    counts = llm_score_counts(data)
    fig, axes = _grid(len(TRAITS) + 1, 3, width=3.6, height=2.6)
    for ax, trait in zip(axes, TRAITS):
        sub = counts[counts["trait"] == trait]
        sns.barplot(data=sub, x="score", y="fraction", hue="llm", ax=ax, palette=LLM_COLOURS)
        ax.set_title(f"{trait} ({TRAIT_ABBREV[trait]})", fontsize=9)
        ax.set_ylabel("fraction")
        if ax is axes[0]:
            ax.legend(fontsize=7, title=None, loc="upper left", framealpha=0.6)
        else:
            ax.get_legend().remove()
    ax = axes[len(TRAITS)]
    agg = data.frame[list(TRAITS)].melt(var_name="trait", value_name="aggregate").dropna()
    agg["trait"] = agg["trait"].map(TRAIT_ABBREV)
    sns.countplot(data=agg, x="aggregate", hue="trait", ax=ax)
    ax.set_title("aggregate (median of non-zero scores)", fontsize=9)
    ax.set_xlabel("")
    ax.legend(fontsize=7, ncols=5, loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False)
    fig.suptitle(f"{data.dataset}: LLM trait scores per rater", y=1.0)
    fig.tight_layout()
    return readable(fig)


def plot_latent_dag(truth, ax=None, title: str | None = None):
    """Draw a latent DAG (``truth.dag``, row = parent) with the blocks laid out side by side:
    face latents (blue) left, shared (red) centre, text (green) right; cross-modal edges thick."""
    import matplotlib.pyplot as plt
    import networkx as nx

    dag, blocks = truth.dag, truth.blocks
    g = nx.from_pandas_adjacency(dag, create_using=nx.DiGraph)
    pos = {}
    for b, x in (("face", 0.0), ("shared", 1.0), ("text", 2.0)):
        names = blocks[b]
        for i, name in enumerate(names):
            pos[name] = (x + (0.25 if i % 2 else 0.0), -i * (10 / max(len(names), 1)) / 1.0)
    block_of = {n: b for b, names in blocks.items() for n in names}
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 6.5))
    else:
        fig = ax.figure
    colours = [BLOCK_COLOURS[block_of[n]] for n in g.nodes]
    nx.draw_networkx_nodes(g, pos, ax=ax, node_color=colours, node_size=700, alpha=0.9)
    nx.draw_networkx_labels(g, pos, ax=ax, font_size=8, font_color="white")
    cross = [(u, v) for u, v in g.edges if {block_of[u], block_of[v]} == {"face", "text"}]
    rest = [e for e in g.edges if e not in cross]
    nx.draw_networkx_edges(g, pos, edgelist=rest, ax=ax, arrows=True, arrowsize=12, node_size=700,
                           connectionstyle="arc3,rad=0.12", edge_color="#555555")
    nx.draw_networkx_edges(g, pos, edgelist=cross, ax=ax, arrows=True, arrowsize=14, node_size=700, width=2.5,
                           connectionstyle="arc3,rad=0.12", edge_color="#ff7f0e")
    ax.set_title(title or f"planted latent DAG ({int(dag.to_numpy().sum())} edges; orange = cross-modal)")
    ax.set_axis_off()
    return readable(fig)


def planted_matrix(truth, attributes, traits=None) -> pd.DataFrame:
    """traits × attributes matrix, 1 = planted dependent, 0 = planted independent."""
    from personax.data.schema import TRAITS

    traits = list(traits or TRAITS)
    m = pd.DataFrame(0, index=traits, columns=list(attributes), dtype="int64")
    for t, a in truth.dependent_pairs:
        if t in m.index and a in m.columns:
            m.loc[t, a] = 1
    return m


def plot_planted_pairs(data, check: pd.DataFrame | None = None):
    """Heatmap of the planted (trait, attribute) truth; with ``check`` (output of
    :func:`personax.data.synthetic.check_planted_truth`) each cell shows the simple test's p-value
    and a red frame marks disagreements."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.patches import Rectangle

    from personax.data.schema import TRAIT_ABBREV

    m = planted_matrix(data.truth, data.schema.attributes)
    annot = None
    if check is not None:
        p = check.pivot(index="trait", columns="attribute", values="pvalue").reindex(index=m.index, columns=m.columns)
        annot = p.map(lambda v: "<1e-3" if v < 1e-3 else f"{v:.2f}")
    fig, ax = plt.subplots(figsize=(0.55 * m.shape[1] + 2.5, 3.6))
    sns.heatmap(m, ax=ax, cmap=sns.color_palette(["#f0f0f0", "#9ecae1"], as_cmap=True), cbar=False,
                annot=annot, fmt="", annot_kws={"fontsize": 6.5}, linewidths=0.5, linecolor="white")
    ax.set_yticklabels([TRAIT_ABBREV[t] for t in m.index], rotation=0)
    ax.set_xticklabels(m.columns, rotation=60, ha="right", fontsize=8)
    if check is not None:
        agree = (check.pivot(index="trait", columns="attribute", values="agrees")
                 .reindex(index=m.index, columns=m.columns))
        for i, t in enumerate(m.index):
            for j, a in enumerate(m.columns):
                if not bool(agree.loc[t, a]):
                    ax.add_patch(Rectangle((j, i), 1, 1, fill=False, edgecolor="red", lw=2))
    ax.set_title(f"{data.dataset}: planted dependence (blue) / independence (grey)"
                 + ("; cells = simple-test p-value, red frame = test disagrees" if check is not None else ""),
                 fontsize=9)
    fig.tight_layout()
    return readable(fig)


def planted_summary(check: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Detection summary of a planted-truth check: per ``planted`` group the ``pairs``,
    ``detected`` (p < alpha) count, ``rate`` and the ``max_p`` / ``min_p``."""
    g = check.groupby("planted")
    return pd.DataFrame({"pairs": g.size(), "detected": g["detected"].sum(), "rate": g["detected"].mean(),
                         "min_p": g["pvalue"].min(), "max_p": g["pvalue"].max()}).reset_index()
