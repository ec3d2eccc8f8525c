"""Figures of latent causal graphs in the paper's style, drawn offline.

Shared latents red, image (face) latents blue, text latents green (paper §4.5 figures);
nodes laid out in three groups (shared on top, image bottom-left, text bottom-right);
directed edges as arrows, undirected edges as plain lines, bidirected as double arrows;
edge width by stability when an :func:`personax.crl.graph.edge_stability` table is given.
Rendering uses networkx + matplotlib only — no Graphviz (official-code defect #23).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from personax.crl.graph import BLOCKS, latent_block

__all__ = ["BLOCK_COLORS", "graph_layout", "draw_latent_graph", "draw_published_graph",
           "draw_graph_comparison", "draw_three_graphs", "edges_side_by_side", "training_by_phase",
           "evidence_heatmap"]

#: Smallest label of these figures, in points at the book's width (``personax.plots.layout``).
FONT_PT = 9.0

#: Node colours of the paper's figures: shared red, image blue, text green.
BLOCK_COLORS = {"shared": "#d62728", "face": "#1f77b4", "text": "#2ca02c"}
BLOCK_TITLES = {"shared": "shared S", "face": "image Z1", "text": "text Z2"}


def _latent_sort_key(name: str):
    block = latent_block(name)
    idx = int(name[1:]) if block == "shared" else int(name.split("_")[1])
    return BLOCKS.index(block), idx


def graph_layout(nodes: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Positions in three groups: shared latents in a row on top, image latents on a circle
    at the lower left, text latents on a circle at the lower right."""
    nodes = sorted(nodes, key=_latent_sort_key)
    groups = {b: [n for n in nodes if latent_block(n) == b] for b in BLOCKS}
    pos: dict[str, tuple[float, float]] = {}
    shared = groups["shared"]
    for i, n in enumerate(shared):
        x = 0.0 if len(shared) == 1 else -1.6 + 3.2 * i / (len(shared) - 1)
        pos[n] = (x, 1.6)
    for block, cx in (("face", -1.9), ("text", 1.9)):
        g = groups[block]
        r = 0.35 + 0.11 * len(g)
        for i, n in enumerate(g):
            a = np.pi / 2 + 2 * np.pi * i / max(len(g), 1)
            pos[n] = (cx + r * np.cos(a), -0.6 + r * np.sin(a))
    return pos


def _edge_widths(edges: pd.DataFrame, stability: pd.DataFrame | None, base: float) -> list[float]:
    if stability is None or not len(stability):
        return [base] * len(edges)
    freq = {}
    for r in stability.itertuples(index=False):
        freq[frozenset((r.source, r.target))] = float(r.freq_any)
    return [0.5 + 3.0 * freq.get(frozenset((s, t)), 0.0) for s, t in zip(edges["source"], edges["target"])]


def draw_latent_graph(edges: pd.DataFrame, nodes: Sequence[str] | None = None, *,
                      stability: pd.DataFrame | None = None, labels: Mapping[str, str] | None = None,
                      ax=None, title: str | None = None, highlight: Sequence[tuple[str, str]] | None = None):
    """Draw a latent graph in the paper's style.

    Parameters
    ----------
    edges : DataFrame
        Columns ``source``, ``target``, ``type`` ("directed" / "undirected" / "bidirected"),
        e.g. :attr:`personax.crl.graph.LatentGraph.edges` or
        :func:`personax.crl.published.published_edges`.
    nodes : sequence of str, optional
        All latent names (isolated nodes are drawn too); default: the edges' endpoints.
    stability : DataFrame, optional
        :func:`~personax.crl.graph.edge_stability` output; edge width ∝ ``freq_any`` and,
        when it counts more than one run, the frequency is written on the edge.
    labels : mapping, optional
        Extra text under each node name (e.g. the paper's "e.g." labels or our evidence).
    ax : matplotlib Axes, optional
    title : str, optional
    highlight : sequence of (source, target), optional
        Edges drawn in orange (e.g. cross-modal edges).

    Returns
    -------
    matplotlib.figure.Figure
        The figure; node colours are stored on ``fig.personax_node_colors`` (name → colour)
        for inspection.
    """
    import matplotlib.pyplot as plt
    import networkx as nx
    from matplotlib.lines import Line2D

    if not {"source", "target", "type"} <= set(edges.columns):
        raise ValueError("edges needs the columns source, target, type")
    if nodes is None:
        nodes = sorted(set(edges["source"]) | set(edges["target"]), key=_latent_sort_key)
    nodes = sorted(nodes, key=_latent_sort_key)
    missing = (set(edges["source"]) | set(edges["target"])) - set(nodes)
    if missing:
        raise ValueError(f"edges mention nodes {sorted(missing)} that are not in nodes")
    if ax is None:
        fig, ax = plt.subplots(figsize=(8.5, 6.0))
    else:
        fig = ax.figure
    pos = graph_layout(nodes)
    G = nx.DiGraph()
    G.add_nodes_from(nodes)
    colors = {n: BLOCK_COLORS[latent_block(n)] for n in nodes}
    nx.draw_networkx_nodes(G, pos, nodelist=nodes, node_color=[colors[n] for n in nodes], node_size=900,
                           edgecolors="black", linewidths=0.8, ax=ax)
    nx.draw_networkx_labels(G, pos, labels={n: _pretty(n) for n in nodes}, font_color="white",
                            font_size=FONT_PT, font_weight="bold", ax=ax)
    if labels:
        for n in nodes:
            if labels.get(n):
                x, y = pos[n]
                ax.text(x, y - 0.2, str(labels[n]), ha="center", va="top", fontsize=FONT_PT, color="0.2")
    widths = _edge_widths(edges, stability, 1.6)
    hl = {frozenset(e) for e in (highlight or [])}
    for (s, t, kind), w in zip(edges[["source", "target", "type"]].itertuples(index=False), widths):
        color = "#ff7f0e" if frozenset((s, t)) in hl else "0.25"
        style = {"directed": "-|>", "undirected": "-", "bidirected": "<|-|>"}.get(kind)
        if style is None:
            raise ValueError(f"unknown edge type {kind!r} (use directed / undirected / bidirected)")
        nx.draw_networkx_edges(G, pos, edgelist=[(s, t)], width=w, edge_color=color, arrows=True,
                               arrowstyle=style, arrowsize=14, node_size=900,
                               connectionstyle="arc3,rad=0.08", ax=ax)
    # a single run has frequencies 0/1 only: numbers on the edges would be noise
    several_runs = stability is not None and len(stability) and (
        "n_runs" not in stability.columns or int(stability["n_runs"].max()) > 1)
    if several_runs:
        freq = {frozenset((r.source, r.target)): r.freq_any for r in stability.itertuples(index=False)}
        for s, t in zip(edges["source"], edges["target"]):
            f = freq.get(frozenset((s, t)))
            if f is not None:
                (x1, y1), (x2, y2) = pos[s], pos[t]
                ax.text((x1 + x2) / 2, (y1 + y2) / 2, f"{f:.2f}", fontsize=FONT_PT, color="0.1",
                        ha="center", va="center", bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none",
                                                            alpha=0.7))
    handles = [Line2D([0], [0], marker="o", linestyle="", markerfacecolor=BLOCK_COLORS[b], markeredgecolor="black",
                      markersize=10, label=BLOCK_TITLES[b]) for b in BLOCKS if any(latent_block(n) == b for n in nodes)]
    ax.legend(handles=handles, loc="upper left", fontsize=FONT_PT, frameon=False)
    ax.set_axis_off()
    xs = [p[0] for p in pos.values()] or [0]
    ys = [p[1] for p in pos.values()] or [0]
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.5)
    if title:
        ax.set_title(title, fontsize=FONT_PT + 1)
    fig.personax_node_colors = dict(colors)
    return fig


def _pretty(name: str) -> str:
    if latent_block(name) == "shared":
        return name
    a, b = name[1:].split("_")
    return f"Z{a},{b}"


def draw_published_graph(dataset: str, ax=None, show_labels: bool = True):
    """The paper's published graph of ``dataset`` (paper §4.5), with its "e.g." labels."""
    from personax.crl.published import PUBLISHED, published_edges, published_labels

    edges = published_edges(dataset)
    labels = {k: f"e.g. {v}" for k, v in published_labels(dataset).items()} if show_labels else None
    cross = [(s, t) for s, t, g in edges[["source", "target", "group"]].itertuples(index=False) if g == "cross-modal"]
    return draw_latent_graph(edges, nodes=list(PUBLISHED[dataset]["labels"]), labels=labels, ax=ax, highlight=cross,
                             title=f"{dataset}: published graph (labels are the paper's illustrations)")


def draw_graph_comparison(dataset: str, ours: pd.DataFrame, nodes: Sequence[str], *,
                          stability: pd.DataFrame | None = None, labels: Mapping[str, str] | None = None,
                          title: str = "this run"):
    """Two panels: the paper's published graph (left) and ours (right), same layout.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(15, 6.2))
    draw_published_graph(dataset, ax=axes[0])
    cross = [(s, t) for s, t in zip(ours["source"], ours["target"])
             if {latent_block(s), latent_block(t)} == {"face", "text"}]
    draw_latent_graph(ours, nodes=nodes, stability=stability, labels=labels, ax=axes[1], highlight=cross,
                      title=f"{dataset}: {title}")
    fig.tight_layout()
    return fig


def _dag_edges(dag: pd.DataFrame) -> pd.DataFrame:
    from personax.crl.graph import graph_edges_from_adjacency

    return graph_edges_from_adjacency(dag)


def draw_three_graphs(dataset: str, stable: pd.DataFrame, nodes: Sequence[str], *, threshold: float,
                      n_runs: int, planted_dag: pd.DataFrame | None = None, mapping: Mapping[str, str] | None = None,
                      seen: int | None = None, title: str | None = None):
    """Published graph, planted graph and ours, one panel per row at the book's width, with edge counts.

    Parameters
    ----------
    dataset : str
        Selects the published graph (paper §4.5).
    stable : DataFrame
        Our edges above the frequency threshold (:func:`personax.crl.graph.stable_edges`,
        column ``freq`` written on each edge).
    nodes : sequence of str
        Our latent names.
    threshold : float
        The frequency above which our edges are drawn (stated in the panel title).
    n_runs : int
        Number of PC runs the frequencies come from (seeds × resamples + the main run).
    planted_dag : DataFrame, optional
        The planted DAG of a synthetic sample (0/1, row = parent); omitted on real data
        (the middle panel then says so).
    mapping : mapping, optional
        Learned name → matched planted name; when given, our nodes are drawn under their
        planted names so that the middle and right panels can be compared edge by edge.
    seen : int, optional
        Number of distinct edges seen in at least one run (shown beside the drawn count).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from personax.crl.published import PUBLISHED, published_edges
    from personax.plots.layout import BOOK_WIDTH_IN, readable

    # one panel per row: three panels side by side would shrink every label below 9 pt
    fig, axes = plt.subplots(3, 1, figsize=(BOOK_WIDTH_IN, 13.5))
    pub = published_edges(dataset)
    pub_cross = [(a, b) for a, b, g in pub[["source", "target", "group"]].itertuples(index=False) if g == "cross-modal"]
    draw_latent_graph(pub, nodes=list(PUBLISHED[dataset]["labels"]), ax=axes[0], highlight=pub_cross,
                      title=f"published (paper §4.5): {len(pub)} edges")
    if planted_dag is not None:
        pe = _dag_edges(planted_dag)
        cross = [(a, b) for a, b in zip(pe["source"], pe["target"])
                 if {latent_block(a), latent_block(b)} == {"face", "text"}]
        draw_latent_graph(pe, nodes=list(planted_dag.index), ax=axes[1], highlight=cross,
                          title=f"planted (synthetic sample): {len(pe)} edges")
    else:
        axes[1].set_axis_off()
        axes[1].text(0.5, 0.5, "real data: no planted graph", ha="center", va="center", fontsize=FONT_PT + 2)
    ours = stable.copy()
    our_nodes = list(nodes)
    if mapping:
        ours["source"] = ours["source"].map(lambda v: mapping.get(v, v))
        ours["target"] = ours["target"].map(lambda v: mapping.get(v, v))
        our_nodes = [mapping.get(v, v) for v in our_nodes]
    stab = None
    if len(ours):
        stab = pd.DataFrame({"source": ours["source"], "target": ours["target"], "freq_any": ours["freq"],
                             "n_runs": n_runs})
    cross = [(a, b) for a, b in zip(ours["source"], ours["target"])
             if {latent_block(a), latent_block(b)} == {"face", "text"}]
    extra = f" (of {seen} seen)" if seen is not None else ""
    named = ", planted names" if mapping else ""
    draw_latent_graph(ours[["source", "target", "type"]], nodes=our_nodes, stability=stab, ax=axes[2], highlight=cross,
                      title=f"ours: {len(ours)} edges{extra} with frequency ≥ {threshold:g} over {n_runs} runs{named}")
    if title:
        fig.suptitle(title, fontsize=FONT_PT + 2)
    fig.tight_layout()
    return readable(fig)


def edges_side_by_side(dataset: str, ours: pd.DataFrame, stability: pd.DataFrame | None = None) -> pd.DataFrame:
    """Published edges and ours in one table, grouped like the paper.

    Our latent names are arbitrary within a block (no correspondence with the paper's
    indices is implied); the table lines up the *kinds* of edge per group.

    Returns
    -------
    DataFrame
        Columns ``group`` (shared / image / text / cross-modal), ``published`` (edge as
        text with the paper's "e.g." labels), ``ours`` (edge as text, with its stability
        ``freq_any`` when given), one row per position in the longer list of each group.
    """
    from personax.crl.published import published_edges

    pub = published_edges(dataset)
    arrow = {"directed": "→", "undirected": "—", "bidirected": "↔"}
    freq = {}
    if stability is not None:
        freq = {frozenset((r.source, r.target)): r.freq_any for r in stability.itertuples(index=False)}

    def group_of(s, t):
        bs, bt = latent_block(s), latent_block(t)
        if "shared" in (bs, bt):
            return "shared"
        if bs == bt:
            return "image" if bs == "face" else "text"
        return "cross-modal"

    rows = []
    for group in ("shared", "image", "text", "cross-modal"):
        p = [f"{_pretty(r.source)} {arrow[r.type]} {_pretty(r.target)} (e.g. {r.source_label} {arrow[r.type]} "
             f"{r.target_label})" for r in pub[pub["group"] == group].itertuples()]
        o = []
        for r in ours.itertuples():
            if group_of(r.source, r.target) == group:
                f = freq.get(frozenset((r.source, r.target)))
                o.append(f"{_pretty(r.source)} {arrow[r.type]} {_pretty(r.target)}"
                         + (f" [{f:.2f}]" if f is not None else ""))
        for i in range(max(len(p), len(o))):
            rows.append({"group": group, "published": p[i] if i < len(p) else "", "ours": o[i] if i < len(o) else ""})
    return pd.DataFrame(rows, columns=["group", "published", "ours"])


def training_by_phase(histories: Mapping[str, pd.DataFrame]):
    """Validation loss per epoch of each training phase, one column per dataset, at the book's width.

    Top row: stage 1 (``blocks``: alignment + reconstruction); bottom row: the stage-2
    candidates (``components:<order>:<restart>``: held-out negative log-likelihood), one
    line each; a dot marks each phase's best epoch (the state the fit keeps).

    Parameters
    ----------
    histories : mapping
        ``{dataset: CRLFit.history}`` (columns ``phase``, ``phase_epoch``, ``val_loss``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from personax.plots.layout import BOOK_WIDTH_IN, readable

    names = list(histories)
    if not names:
        raise ValueError("histories is empty: pass {dataset: fit.history}")
    fig, axes = plt.subplots(2, len(names), figsize=(BOOK_WIDTH_IN, 5.2), squeeze=False)
    for j, d in enumerate(names):
        h = histories[d]
        missing = {"phase", "phase_epoch", "val_loss"} - set(h.columns)
        if missing:
            raise ValueError(f"history of {d!r} lacks the columns {sorted(missing)} (a staged CRLFit.history)")
        for i, (ax, stage) in enumerate(zip(axes[:, j], ("blocks", "components"))):
            part = h[h["phase"].astype(str).str.startswith(stage)]
            for k, (ph, g) in enumerate(part.groupby("phase", sort=False)):
                label = "stage 1" if stage == "blocks" else "order " + str(ph).split(":")[1]
                ax.plot(g["phase_epoch"], g["val_loss"], color=f"C{k}", lw=1.2, label=label)
                b = g.loc[g["val_loss"].idxmin()]
                ax.plot([b["phase_epoch"]], [b["val_loss"]], "o", color=f"C{k}", ms=4)
            ax.set_title(f"{d}: {'stage 1 (blocks)' if i == 0 else 'stage 2 (components)'}", fontsize=FONT_PT)
            ax.set_xlabel("epoch", fontsize=FONT_PT)
            ax.set_ylabel("validation loss", fontsize=FONT_PT)
            ax.tick_params(labelsize=FONT_PT)
            if i == 1 and len(part):
                ax.legend(fontsize=FONT_PT, frameon=False)
    fig.tight_layout()
    return readable(fig)


def evidence_heatmap(description: pd.DataFrame, nodes: Sequence[str], variables: Sequence[str], *,
                     title: str | None = None):
    """Held-out R² of each latent (rows) from each trait or attribute (columns), at the book's width.

    Negative R² (worse than the mean) is drawn as 0; cells whose dependence test rejects
    after Benjamini–Hochberg (``pvalue_bh`` < 0.05) carry a dot.

    Parameters
    ----------
    description : DataFrame
        :func:`personax.crl.realworld.describe_latents` output.
    nodes : sequence of str
        Latents, in row order.
    variables : sequence of str
        Traits and attributes, in column order.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from personax.plots.layout import BOOK_WIDTH_IN, readable

    heat = description.pivot(index="latent", columns="variable", values="r2_test").loc[list(nodes), list(variables)]
    q = description.pivot(index="latent", columns="variable", values="pvalue_bh").loc[list(nodes), list(variables)]
    fig, ax = plt.subplots(figsize=(BOOK_WIDTH_IN, 0.24 * len(nodes) + 2.4))
    im = ax.imshow(heat.clip(lower=0).to_numpy(dtype=float), cmap="viridis", vmin=0, aspect="auto")
    rr, cc = np.nonzero(q.to_numpy(dtype=float) < 0.05)
    ax.plot(cc, rr, "o", color="white", ms=2.5, mec="black", mew=0.3, ls="")
    ax.set_xticks(range(heat.shape[1]), heat.columns, rotation=70, fontsize=FONT_PT, ha="right",
                  rotation_mode="anchor")
    ax.set_yticks(range(heat.shape[0]), [_pretty(n) for n in heat.index], fontsize=FONT_PT)
    cb = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    cb.set_label("held-out R²", fontsize=FONT_PT)
    cb.ax.tick_params(labelsize=FONT_PT)
    if title:
        ax.set_title(title, fontsize=FONT_PT + 1)
    fig.tight_layout()
    return readable(fig)
