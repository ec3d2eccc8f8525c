"""Published edge lists (paper §4.5) and the paper-style graph drawing."""

from __future__ import annotations

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from personax.crl.graph import compare_graphs, latent_block
from personax.crl.published import PUBLISHED, published_adjacency, published_edges, published_labels
from personax.data.schema import SCHEMAS
from personax.plots.graph import (
    BLOCK_COLORS,
    draw_graph_comparison,
    draw_latent_graph,
    draw_three_graphs,
    edges_side_by_side,
)


@pytest.mark.parametrize("dataset,n_edges,n_cross", [("athlepersona", 14, 2), ("celebpersona", 23, 1)])
def test_published_edges_match_the_paper(dataset, n_edges, n_cross):
    e = published_edges(dataset)
    assert len(e) == n_edges
    assert (e["group"] == "cross-modal").sum() == n_cross
    labels = published_labels(dataset)
    # one label per latent of the paper's layout, which is also the project schema's layout
    names = [n for b in SCHEMAS[dataset].latent_names.values() for n in b]
    assert sorted(labels) == sorted(names)
    assert PUBLISHED[dataset]["layout"] == dict(SCHEMAS[dataset].latent_layout)
    # groups agree with the blocks of the endpoints
    for r in e.itertuples():
        blocks = {latent_block(r.source), latent_block(r.target)}
        expected = ("shared" if "shared" in blocks else "cross-modal" if blocks == {"face", "text"}
                    else "image" if blocks == {"face"} else "text")
        assert r.group == expected, r
    A = published_adjacency(dataset)
    assert A.to_numpy().sum() == n_edges + (e["type"] == "undirected").sum()


def test_celeb_published_graph_respects_background_knowledge():
    e = published_edges("celebpersona")
    into_shared = e[(e["target"].str.startswith("S")) & (~e["source"].str.startswith("S"))]
    assert into_shared.empty


def test_published_graph_scores_itself_perfectly():
    # the Celeb graph is a DAG: as truth, it recovers itself
    A = published_adjacency("celebpersona")
    s = compare_graphs(A, A)
    assert s.shd_dag == 0 and s.skeleton_f1 == 1.0


def test_draw_latent_graph_node_colours_and_widths():
    edges = pd.DataFrame({"source": ["S1", "Z1_1", "Z2_1"], "target": ["Z1_1", "Z2_1", "Z2_2"],
                          "type": ["directed", "directed", "undirected"]})
    stab = pd.DataFrame({"source": ["S1", "Z1_1", "Z2_1"], "target": ["Z1_1", "Z2_1", "Z2_2"],
                         "freq_directed": [1.0, 0.2, 0.0], "freq_reverse": [0, 0, 0],
                         "freq_undirected": [0, 0, 0.5], "freq_any": [1.0, 0.2, 0.5], "n_runs": [10] * 3})
    nodes = ["S1", "Z1_1", "Z1_2", "Z2_1", "Z2_2"]
    fig = draw_latent_graph(edges, nodes=nodes, stability=stab, title="test")
    colors = fig.personax_node_colors
    assert colors["S1"] == BLOCK_COLORS["shared"] == "#d62728"
    assert colors["Z1_2"] == BLOCK_COLORS["face"] and colors["Z2_2"] == BLOCK_COLORS["text"]
    # the drawn node faces carry those colours (one scatter collection for the nodes)
    faces = fig.axes[0].collections[0].get_facecolors()
    drawn = [mcolors.to_hex(c) for c in faces]
    assert drawn == [colors[n] for n in nodes]
    # edge widths follow stability: the most stable edge is the widest patch
    widths = sorted(p.get_linewidth() for p in fig.axes[0].patches)
    assert widths[-1] > widths[0]
    plt.close(fig)


def test_comparison_figure_and_table():
    ours = pd.DataFrame({"source": ["S1", "Z2_1", "Z1_1"], "target": ["Z2_1", "Z1_2", "Z1_2"],
                         "type": ["directed", "directed", "undirected"]})
    nodes = [n for b in SCHEMAS["athlepersona"].latent_names.values() for n in b]
    fig = draw_graph_comparison("athlepersona", ours, nodes)
    assert len(fig.axes) == 2
    plt.close(fig)
    tab = edges_side_by_side("athlepersona", ours)
    assert list(tab.columns) == ["group", "published", "ours"]
    assert (tab["published"] != "").sum() == 14 and (tab["ours"] != "").sum() == 3
    assert "e.g. confidence" in " ".join(tab["published"])
    with pytest.raises(ValueError, match="dataset"):
        published_edges("mnist")


def test_three_graph_figure_counts_edges_and_draws_only_stable_ones():
    from personax.crl.graph import stable_edges
    from personax.data.synthetic import latent_dag

    nodes = [n for b in SCHEMAS["athlepersona"].latent_names.values() for n in b]
    stab = pd.DataFrame({"source": ["S1", "Z1_1", "Z2_1"], "target": ["Z2_4", "Z1_2", "Z2_2"],
                         "freq_directed": [0.9, 0.1, 0.0], "freq_reverse": [0.0, 0.0, 0.0],
                         "freq_undirected": [0.1, 0.2, 0.6], "freq_any": [1.0, 0.3, 0.6], "n_runs": [10] * 3})
    stable = stable_edges(stab, 0.5)
    assert list(zip(stable["source"], stable["type"])) == [("S1", "directed"), ("Z2_1", "undirected")]
    dag = latent_dag("athlepersona")
    fig = draw_three_graphs("athlepersona", stable, nodes, threshold=0.5, n_runs=10, planted_dag=dag, seen=3)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith("published") and "14 edges" in titles[0]
    assert f"{int(dag.to_numpy().sum())} edges" in titles[1]
    assert "ours: 2 edges (of 3 seen) with frequency ≥ 0.5 over 10 runs" in titles[2]
    # our panel draws exactly the stable edges (one patch per edge)
    assert len(fig.axes[2].patches) == 2
    plt.close(fig)
    real = draw_three_graphs("athlepersona", stable, nodes, threshold=0.5, n_runs=10)
    assert any("no planted graph" in t.get_text() for t in real.axes[1].texts)
    plt.close(real)
