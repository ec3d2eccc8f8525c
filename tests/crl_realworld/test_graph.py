"""Tests of the latent-graph step: PC with kernel CI tests, background knowledge, stability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from personax.crl.graph import (
    ProjectCIT,
    align_latents,
    compare_graphs,
    cpdag_shd,
    dag_to_cpdag,
    edge_stability,
    edges_to_adjacency,
    graph_edges_from_adjacency,
    latent_block,
    pc_graph,
)
from personax.crl.graph_cit import LevelPlanner
from personax.errors import DataError, ParameterError


def planted_collider(n: int, seed: int) -> pd.DataFrame:
    """Nonlinear S1 → Z1_1 → Z2_1 ← Z1_2 (a chain into a collider)."""
    rng = np.random.default_rng(seed)
    s1 = rng.normal(size=n)
    z11 = 1.5 * np.tanh(s1) + 0.5 * rng.normal(size=n)
    z12 = rng.normal(size=n)
    z21 = np.sin(z11) + 0.5 * z12 ** 2 + 0.4 * rng.normal(size=n)
    return pd.DataFrame({"S1": s1, "Z1_1": z11, "Z1_2": z12, "Z2_1": z21})


def planted_dag(nodes, edges) -> pd.DataFrame:
    A = pd.DataFrame(0, index=nodes, columns=nodes)
    for s, t in edges:
        A.loc[s, t] = 1
    return A


TRUE_EDGES = [("S1", "Z1_1"), ("Z1_1", "Z2_1"), ("Z1_2", "Z2_1")]


def edge_set(g):
    return {(r.source, r.target, r.type) for r in g.edges.itertuples()}


@pytest.mark.parametrize("test", ["kci", "rcit"])
def test_pc_recovers_planted_collider(test):
    df = planted_collider(600, seed=1)
    g = pc_graph(df, alpha=0.05, test=test, seed=0, max_n=None)
    assert edge_set(g) == {(s, t, "directed") for s, t in TRUE_EDGES}
    # the collider Z1_1 → Z2_1 ← Z1_2 is oriented, as the adjacency (row = parent) shows
    assert g.adjacency.loc["Z1_1", "Z2_1"] == 1 and g.adjacency.loc["Z2_1", "Z1_1"] == 0
    assert g.adjacency.loc["Z1_2", "Z2_1"] == 1 and g.adjacency.loc["Z2_1", "Z1_2"] == 0
    scores = compare_graphs(g.adjacency, planted_dag(list(df.columns), TRUE_EDGES))
    assert scores.shd_cpdag == 0 and scores.skeleton_f1 == 1.0 and scores.arrow_recall == 1.0
    # every executed test is logged with names, and the log matches the run parameters
    assert len(g.tests) == g.params["n_tests"] > 0
    assert set(g.tests["x"]) <= set(df.columns)
    assert g.params["n_rows"] == 600 and g.params["test"] == test
    # causal-learn's endpoint convention is kept: i -> j is G[i, j] = -1, G[j, i] = 1
    i, j = g.nodes.index("Z1_1"), g.nodes.index("Z2_1")
    assert g.endpoints[i, j] == -1 and g.endpoints[j, i] == 1


@pytest.mark.slow
def test_background_forbids_edges_into_shared_even_when_data_suggest_them():
    # Data generated with S1 as a collider child of two Z latents: plain PC orients Z → S1.
    rng = np.random.default_rng(0)
    n = 350
    z11, z21 = rng.normal(size=n), rng.normal(size=n)
    s1 = z11 + z21 + 0.5 * rng.normal(size=n)
    z12 = np.tanh(s1) + 0.3 * rng.normal(size=n)
    df = pd.DataFrame({"S1": s1, "Z1_1": z11, "Z2_1": z21, "Z1_2": z12})
    plain = pc_graph(df, test="kci", background=None)
    assert ("Z1_1", "S1", "directed") in edge_set(plain) and ("Z2_1", "S1", "directed") in edge_set(plain)
    for test in ("kci", "fisherz"):
        g = pc_graph(df, test=test, background="shared")
        into_shared = g.edges[(g.edges["target_block"] == "shared") & (g.edges["source_block"] != "shared")]
        assert into_shared.empty, into_shared
        assert g.adjacency.loc[["Z1_1", "Z2_1", "Z1_2"], "S1"].sum() == 0
        # the adjacencies themselves are kept, oriented out of S1
        assert {("S1", "Z1_1"), ("S1", "Z2_1")} <= {(s, t) for s, t, _ in edge_set(g)}


@pytest.mark.slow
def test_ci_wrapper_is_calibrated_and_powerful():
    """ProjectCIT's conditional KCI: type-I error near alpha under X ⫫ Y | Z, power under dependence."""
    alpha, reps, n = 0.05, 60, 150
    rejections, hits = 0, 0
    for r in range(reps):
        rng = np.random.default_rng(1000 + r)
        z = rng.normal(size=n)
        x = np.sin(z) + 0.5 * rng.normal(size=n)
        y = z ** 2 + 0.5 * rng.normal(size=n)
        cit = ProjectCIT(np.column_stack([x, y, z]), test="kci", seed=r)
        rejections += cit(0, 1, [2]) < alpha
        y_dep = y + 1.0 * x
        cit = ProjectCIT(np.column_stack([x, y_dep, z]), test="kci", seed=r)
        hits += cit(0, 1, [2]) < alpha
    # two-sided binomial tolerance around alpha at the 0.001 level
    assert binomtest(rejections, reps, alpha).pvalue > 0.001, rejections
    assert hits / reps > 0.8, hits


def test_level_batches_cover_every_test_pc_asks():
    """The planner predicts each depth level: every logged test is computed in its level's batch,
    nothing is computed that PC did not ask, and the answers equal unbatched ones."""
    df = planted_collider(300, seed=9)
    g = pc_graph(df, test="kci", seed=0)
    assert g.tests["batched"].all() and g.params["n_batches"] == g.tests["level"].nunique()
    one = pc_graph(df, test="kci", seed=0, batch=False)
    assert not one.tests["batched"].any()
    key = ["x", "y", "cond"]
    pd.testing.assert_frame_equal(g.tests.sort_values(key)[key + ["pvalue"]].reset_index(drop=True),
                                  one.tests.sort_values(key)[key + ["pvalue"]].reset_index(drop=True),
                                  check_exact=False, rtol=1e-12)
    assert edge_set(g) == edge_set(one)


def test_planner_reproduces_stable_pc_levels():
    # 4 variables, answers: 0 ⫫ 3 marginally -> at depth 1 the pair (0, 3) is gone
    plan = LevelPlanner(4, alpha=0.05)
    level0 = plan.level(0, {})
    assert level0 == [(0, 1, ()), (0, 2, ()), (0, 3, ()), (1, 2, ()), (1, 3, ()), (2, 3, ())]
    answers = {t: (0.5 if t[:2] == (0, 3) else 0.001) for t in level0}
    level1 = plan.level(1, answers)
    assert all((x, y) != (0, 3) for x, y, _ in level1)
    # (0, 1 | 3) is still asked, from node 1's side; nothing conditions 1 or 2 on 0 via the pair (0, 3)
    assert (0, 1, (2,)) in level1 and (0, 1, (3,)) in level1 and (1, 3, (0,)) in level1
    level2 = plan.level(2, {**answers, **{t: 0.001 for t in level1}})
    assert (0, 1, (2, 3)) in level2 and all(len(s) == 2 for _, _, s in level2)
    assert not any((x, y) == (0, 3) for x, y, _ in level2)


@pytest.mark.slow
def test_reference_backend_gives_the_same_graph_and_pvalues():
    df = planted_collider(250, seed=2)
    fast = pc_graph(df, test="kci", seed=0)
    ref = pc_graph(df, test="kci", seed=0, backend="reference")
    assert edge_set(fast) == edge_set(ref) == {(s, t, "directed") for s, t in TRUE_EDGES}
    a = fast.tests.set_index(["x", "y", "cond"])["pvalue"]
    b = ref.tests.set_index(["x", "y", "cond"])["pvalue"].loc[a.index]
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-14)


def test_rcit_deterministic_and_global_rng_untouched():
    df = planted_collider(400, seed=3)
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    g1 = pc_graph(df, test="rcit", seed=7)
    assert np.array_equal(np.random.get_state()[1], before), "global NumPy RNG state was changed"
    g2 = pc_graph(df, test="rcit", seed=7)
    pd.testing.assert_frame_equal(g1.tests.drop(columns="seconds"), g2.tests.drop(columns="seconds"))
    pd.testing.assert_frame_equal(g1.edges, g2.edges)


def test_subsample_uses_max_n_rows_and_is_seeded():
    df = planted_collider(900, seed=4)
    a = pc_graph(df, test="fisherz", max_n=300, seed=1)
    b = pc_graph(df, test="fisherz", max_n=300, seed=1)
    assert a.params["n_rows"] == 300 and a.params["n_total"] == 900
    pd.testing.assert_frame_equal(a.tests.drop(columns="seconds"), b.tests.drop(columns="seconds"))


def test_edge_stability_deterministic_under_seed_and_consistent():
    tables = [planted_collider(600, seed=5), planted_collider(600, seed=6)]
    s1 = edge_stability(tables, n_boot=3, alpha=0.05, seed=11, test="rcit", max_n=300)
    s2 = edge_stability(tables, n_boot=3, alpha=0.05, seed=11, test="rcit", max_n=300)
    pd.testing.assert_frame_equal(s1, s2)
    assert list(s1.columns) == ["source", "target", "freq_directed", "freq_reverse", "freq_undirected",
                                "freq_any", "n_runs"]
    assert (s1["n_runs"] == 6).all()
    total = s1["freq_directed"] + s1["freq_reverse"] + s1["freq_undirected"]
    np.testing.assert_allclose(total, s1["freq_any"])
    assert (s1["freq_any"] <= 1).all() and (s1["freq_directed"] >= s1["freq_reverse"]).all()
    # the planted edges are the most stable ones
    top = {frozenset((r.source, r.target)) for r in s1.head(3).itertuples()}
    assert top == {frozenset(e) for e in TRUE_EDGES}
    freq = {(r.source, r.target): r.freq_directed for r in s1.itertuples()}
    assert freq[("Z1_1", "Z2_1")] >= 0.5 and freq[("Z1_2", "Z2_1")] >= 0.5


def test_edge_stability_aligns_permuted_seeds():
    base = planted_collider(500, seed=8)
    # a second "seed" whose face latents come out swapped and monotonically transformed
    other = base.rename(columns={"Z1_1": "Z1_2", "Z1_2": "Z1_1"})[list(base.columns)].copy()
    other["Z1_1"] = np.exp(other["Z1_1"] / 3)
    aligned, matching = align_latents(base, other)
    assert dict(zip(matching["other"], matching["reference"]))["Z1_2"] == "Z1_1"
    assert (matching["abs_spearman"] > 0.99).all()
    stab = edge_stability([base, other], n_boot=0, test="fisherz", max_n=None, seed=0)
    pairs = {frozenset((r.source, r.target)): r.freq_any for r in stab.itertuples()}
    assert pairs[frozenset(("S1", "Z1_1"))] == 1.0


def test_compare_graphs_counts_errors():
    nodes = ["S1", "Z1_1", "Z1_2", "Z2_1"]
    truth = planted_dag(nodes, TRUE_EDGES)
    perfect = compare_graphs(truth, truth)
    assert perfect.shd_dag == 0 and perfect.skeleton_precision == 1 and perfect.arrow_precision == 1
    missing = compare_graphs(planted_dag(nodes, TRUE_EDGES[:2]), truth)
    assert missing.skeleton_recall == pytest.approx(2 / 3) and missing.shd_dag == 1
    reversed_ = compare_graphs(planted_dag(nodes, [("S1", "Z1_1"), ("Z2_1", "Z1_1"), ("Z1_2", "Z2_1")]), truth)
    assert reversed_.skeleton_f1 == 1 and reversed_.arrow_precision == pytest.approx(2 / 3)
    # the background-refined CPDAG of the truth is fully oriented here (S1 → Z1_1 by knowledge)
    cp = dag_to_cpdag(truth, background="shared")
    pd.testing.assert_frame_equal(cp, truth)
    plain = dag_to_cpdag(truth)
    assert plain.loc["S1", "Z1_1"] == plain.loc["Z1_1", "S1"] == 1


def test_adjacency_round_trip():
    edges = pd.DataFrame({"source": ["S1", "Z1_1"], "target": ["Z1_1", "Z2_1"], "type": ["directed", "undirected"]})
    A = edges_to_adjacency(edges, ["S1", "Z1_1", "Z2_1"])
    assert A.loc["S1", "Z1_1"] == 1 and A.loc["Z1_1", "S1"] == 0
    assert A.loc["Z1_1", "Z2_1"] == A.loc["Z2_1", "Z1_1"] == 1
    back = graph_edges_from_adjacency(A)
    assert set(map(tuple, back[["source", "target", "type"]].to_numpy())) == {
        ("S1", "Z1_1", "directed"), ("Z1_1", "Z2_1", "undirected")}


def test_bad_input_errors_name_the_problem():
    df = planted_collider(100, seed=0)
    with pytest.raises(ParameterError, match="alpha"):
        pc_graph(df, alpha=1.5)
    with pytest.raises(ParameterError, match="test="):
        pc_graph(df, test="pearson")
    bad = df.copy()
    bad.loc[3, "Z1_1"] = np.nan
    with pytest.raises(DataError, match="NaN") as e:
        pc_graph(bad)
    assert "Z1_1" in str(e.value) and "impute" in str(e.value)
    with pytest.raises(ValueError, match="S<k>"):
        latent_block("X3")
    const = df.assign(Z1_2=1.0)
    with pytest.raises(DataError, match="constant latent.*Z1_2"):
        pc_graph(const)
    # a conditioning set larger than the rows support: 40 rows allow at most 3 conditioning columns
    rng = np.random.default_rng(1)
    big = pd.DataFrame(rng.normal(size=(40, 6)) + rng.normal(size=(40, 1)),
                       columns=["S1", "S2", "Z1_1", "Z1_2", "Z2_1", "Z2_2"])
    with pytest.raises(ParameterError, match="max_depth") as e:
        pc_graph(big, test="fisherz", alpha=0.999)
    assert "complete rows" in str(e.value)
    with pytest.raises(ParameterError, match="removed"):
        pc_graph(df, unconditional="project")


def test_cpdag_shd_counts_pairs_against_the_equivalence_class():
    nodes = ["S1", "Z1_1", "Z1_2", "Z2_1"]
    truth = planted_dag(nodes, TRUE_EDGES)
    assert cpdag_shd(truth, truth) == 0
    # the chain S1 - Z1_1 is reversible without background knowledge: undirected is correct
    und = truth.copy()
    und.loc["Z1_1", "S1"] = 1
    assert cpdag_shd(und, truth, background=None) == 0 and cpdag_shd(und, truth) == 1
    missing = planted_dag(nodes, TRUE_EDGES[:2])
    extra = planted_dag(nodes, TRUE_EDGES + [("S1", "Z1_2")])
    assert cpdag_shd(missing, truth) == 1 and cpdag_shd(extra, truth) == 1
    assert compare_graphs(extra, truth).shd_cpdag == 1


def confounded_latents(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An observed attribute (age, a category) causes S1 and Z1_1; S1 → Z2_1; no S1–Z1_1 edge."""
    rng = np.random.default_rng(seed)
    age = rng.normal(size=n)
    job = rng.choice(["a", "b", "c"], size=n)
    jeff = pd.Series(job).map({"a": -1.0, "b": 0.0, "c": 1.0}).to_numpy()
    s1 = np.tanh(1.5 * age) + 0.6 * jeff + 0.4 * rng.normal(size=n)
    z11 = 0.8 * age ** 2 / 2 + 0.6 * jeff + 0.4 * rng.normal(size=n)
    z21 = np.sin(s1) + 0.4 * rng.normal(size=n)
    lat = pd.DataFrame({"S1": s1, "Z1_1": z11, "Z2_1": z21})
    return lat, pd.DataFrame({"age": age, "job": job})


@pytest.mark.parametrize("test", ["kci", "fisherz"])
def test_covariates_remove_edges_between_latents_with_a_common_attribute_parent(test):
    lat, cov = confounded_latents(400, 3)
    if test == "fisherz":  # a linear world for the linear test
        rng = np.random.default_rng(4)
        age = cov["age"].to_numpy()
        lat = pd.DataFrame({"S1": age + 0.5 * rng.normal(size=400), "Z1_1": age + 0.5 * rng.normal(size=400)})
        lat["Z2_1"] = lat["S1"] + 0.5 * rng.normal(size=400)
    alone = pc_graph(lat, test=test)
    assert alone.adjacency.loc["S1", "Z1_1"] == 1  # the confounded pair is joined without the attribute
    cov = cov.copy()
    cov.loc[[0, 5], "age"] = np.nan  # rows with a missing covariate are dropped
    g = pc_graph(lat, test=test, covariates=cov)
    assert g.nodes == ["S1", "Z1_1", "Z2_1"] and g.params["n_rows"] == 398 and g.params["covariates"] == ["age", "job"]
    assert g.adjacency.loc["S1", "Z1_1"] == 0 and g.adjacency.loc["Z1_1", "S1"] == 0
    assert g.adjacency.loc["S1", "Z2_1"] + g.adjacency.loc["Z2_1", "S1"] >= 1
    ce = g.covariate_edges
    assert set(ce["source"]) | set(ce["target"]) >= {"age", "S1", "Z1_1"}
    # background knowledge: nothing points from a latent into a covariate
    assert not ((ce["type"] == "directed") & ce["source"].isin(g.nodes)).any()
    assert ((ce["source"] == "age") & (ce["target"] == "S1")).any()


def test_dseparation_graph_is_the_floor_of_pc_on_the_sample():
    from personax.crl.graph_covariates import dseparation_graph
    from personax.data import load
    from personax.data.synthetic.world import latent_dag, world_graph

    for name, alone, with_cov in (("celebpersona", 9, 0), ("athlepersona", 6, 2)):
        lat = load(name).truth.latents
        nodes = list(lat.columns)
        W, dag = world_graph(name), latent_dag(name).loc[nodes, nodes]
        attrs = sorted({p for v in nodes for p in W.predecessors(v) if W.nodes[p]["kind"] == "attribute"})
        assert cpdag_shd(dseparation_graph(W, nodes).adjacency, dag) == alone
        g = dseparation_graph(W, nodes, attrs)
        assert cpdag_shd(g.adjacency, dag) == with_cov
        # the latent skeleton is exact once the attributes are in: only orientations differ
        assert compare_graphs(g.adjacency, dag).skeleton_shd == 0


def test_covariate_errors_name_the_problem():
    lat, cov = confounded_latents(100, 0)
    with pytest.raises(ParameterError, match="not named like latents"):
        pc_graph(lat, test="fisherz", covariates=cov.rename(columns={"age": "S2"}))
    with pytest.raises(ParameterError, match="rows"):
        pc_graph(lat, test="fisherz", covariates=cov.iloc[:50])
    with pytest.raises(DataError, match="fewer than two values"):
        pc_graph(lat, test="fisherz", covariates=cov.assign(job="a"))
    with pytest.raises(ParameterError, match="DataFrame"):
        pc_graph(lat, test="fisherz", covariates=cov.to_numpy())
    # a latent that varies only on rows with a missing covariate is constant on the rows PC uses
    lat2, cov2 = lat.copy(), cov.copy()
    lat2["Z2_1"] = 0.0
    lat2.loc[:4, "Z2_1"] = 1.0
    cov2.loc[:4, "age"] = np.nan
    with pytest.raises(DataError, match="constant on the rows with every covariate"):
        pc_graph(lat2, test="fisherz", covariates=cov2)
