"""Tests of the PersonaX Level II pipeline: inputs, fitting, interpretation, recovery scores."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from personax.crl.realworld import (
    describe_latents,
    evaluate_recovery,
    fit_persona,
    match_to_truth,
    persona_views,
    suggest_labels,
)
from personax.data.synthetic import generate


@pytest.fixture(scope="module")
def athle_small():
    return generate("athlepersona", n=400, seed=0, face_dim=24, text_dim=24)


def test_persona_views_standardised_and_aligned(athle_small):
    views, ids = persona_views(athle_small)
    assert list(views) == ["face", "text"]
    assert len(views["face"]) == 1 and len(views["text"]) == 3
    assert list(ids) == list(athle_small.frame["person_id"].astype(str))
    for X in views["face"] + views["text"]:
        assert X.dtype == np.float32 and X.shape[0] == 400
        np.testing.assert_allclose(X.mean(0), 0, atol=1e-4)
        np.testing.assert_allclose(X.std(0), 1, atol=1e-3)
    # no pixel scaling: raw and standardised views differ by an affine map per feature, not by 1/255
    raw, _ = persona_views(athle_small, standardise=False)
    np.testing.assert_array_equal(raw["face"][0], athle_small.measurements("face")[0])


def test_persona_views_rejects_misaligned_rows(athle_small):
    fake = SimpleNamespace(frame=athle_small.frame, schema=athle_small.schema,
                           measurements=lambda m: [X[:-1] for X in athle_small.measurements(m)])
    with pytest.raises(ValueError, match="misaligned"):
        persona_views(fake)
    dup = SimpleNamespace(frame=athle_small.frame.assign(person_id="same"), schema=athle_small.schema,
                          measurements=athle_small.measurements)
    with pytest.raises(ValueError, match="duplicated person_id"):
        persona_views(dup)


def test_fit_persona_end_to_end_rows_aligned(athle_small, tmp_path):
    pf = fit_persona(athle_small, profile="ci", seeds=(0,), device="cpu", checkpoint_dir=tmp_path)
    assert pf.latent_dims == {"face": 5, "text": 5} and pf.n_shared == 2
    lat = pf.latents[0]
    assert list(lat.columns) == ["S1", "S2"] + [f"Z1_{i}" for i in range(1, 6)] + [f"Z2_{i}" for i in range(1, 6)]
    assert lat.index.name == "person_id"
    assert list(lat.index) == list(athle_small.frame["person_id"].astype(str))
    assert np.isfinite(lat.to_numpy()).all()
    assert set(pf.split) == {"train", "val", "test"}
    assert sum(len(v) for v in pf.split.values()) == 400
    assert len(pf.latents_on("test")) == len(pf.split["test"])
    assert any(tmp_path.rglob("*")), "checkpoints were not written under checkpoint_dir"
    rec = evaluate_recovery(lat, athle_small.truth, fit_rows=pf.split["train"], eval_rows=pf.split["test"])
    assert set(rec.blocks["block"]) == {"shared", "face", "text"}
    assert rec.blocks[["mcc", "r2"]].notna().all().all()


def test_describe_latents_flags_planted_dependence():
    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame({
        "person_id": [f"p{i}" for i in range(n)],
        "extraversion": rng.normal(size=n),
        "league": pd.array(rng.choice(["NBA", "NFL", "EPL"], size=n), dtype="string"),
        "height_cm": rng.normal(180, 8, size=n),
    })
    lat = pd.DataFrame({
        "S1": np.where(frame["league"].to_numpy() == "NBA", 1.0, -0.5) + 0.5 * rng.normal(size=n),
        "Z2_1": np.tanh(frame["extraversion"].to_numpy()) + 0.3 * rng.normal(size=n),
        "Z1_1": rng.normal(size=n),
    }, index=pd.Index(frame["person_id"], name="person_id"))
    d = describe_latents(lat, frame.sample(frac=1, random_state=1), ["extraversion"], ["league", "height_cm"],
                         discrete=["league"], test="kci", seed=0, max_n=400)
    assert list(d.columns) == ["latent", "block", "variable", "kind", "n", "pvalue", "pvalue_bh", "r2_test", "error"]
    cell = d.set_index(["latent", "variable"])
    assert cell.loc[("Z2_1", "extraversion"), "pvalue_bh"] < 1e-6
    assert cell.loc[("Z2_1", "extraversion"), "r2_test"] > 0.5
    assert cell.loc[("S1", "league"), "pvalue_bh"] < 1e-6 and cell.loc[("S1", "league"), "r2_test"] > 0.4
    # the independent latent shows no evidence and no out-of-sample fit
    assert (cell.loc["Z1_1", "pvalue_bh"] > 0.05).all()
    assert (cell.loc["Z1_1", "r2_test"] < 0.05).all()
    labels = suggest_labels(d).set_index("latent")
    assert labels.loc["Z2_1", "best_variable"] == "extraversion"
    assert labels.loc["S1", "best_variable"] == "league"
    assert labels.loc["Z1_1", "evidence"] == "no evidence"


def test_describe_latents_is_deterministic_and_validates():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"openness": rng.normal(size=200), "birth_year": rng.integers(1950, 2000, 200)})
    lat = pd.DataFrame({"Z2_1": frame["openness"] + rng.normal(size=200), "S1": rng.normal(size=200)})
    a = describe_latents(lat, frame, ["openness"], ["birth_year"], test="rcit", seed=3)
    b = describe_latents(lat, frame, ["openness"], ["birth_year"], test="rcit", seed=3)
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ValueError, match="lacks the columns"):
        describe_latents(lat, frame, ["neuroticism"], [])
    with pytest.raises(ValueError, match="rows"):
        describe_latents(lat, frame.iloc[:50], ["openness"], [])


def test_evaluate_recovery_on_planted_latents(athle_small):
    truth = athle_small.truth
    T = truth.latents
    # a learned copy: permuted within blocks and monotonically transformed
    learned = pd.DataFrame({"S1": T["S2"], "S2": np.exp(T["S1"] / 2),
                            **{f"Z1_{i}": T[f"Z1_{6 - i}"] for i in range(1, 6)},
                            **{f"Z2_{i}": -T[f"Z2_{i}"] for i in range(1, 6)}})
    mapping_true = {"S1": "S2", "S2": "S1", **{f"Z1_{i}": f"Z1_{6 - i}" for i in range(1, 6)},
                    **{f"Z2_{i}": f"Z2_{i}" for i in range(1, 6)}}
    # the planted DAG expressed in learned names is the perfect estimate
    inv = {v: k for k, v in mapping_true.items()}
    dag_learned = truth.dag.rename(index=inv, columns=inv).loc[list(learned.columns), list(learned.columns)]
    rows = np.arange(400)
    rec = evaluate_recovery(learned, truth, graph_adjacency=dag_learned, fit_rows=rows[:300], eval_rows=rows[300:])
    assert (rec.blocks["mcc"] > 0.95).all()
    assert (rec.blocks["r2"] > 0.9).all()
    assert dict(zip(rec.matching["learned"], rec.matching["planted"])) == mapping_true
    assert rec.graph.shd_dag == 0 and rec.graph.skeleton_f1 == 1.0
    renamed, _ = match_to_truth(learned, T)
    np.testing.assert_allclose(renamed["Z1_1"], T["Z1_1"])
    with pytest.raises(ValueError, match="no planted truth"):
        evaluate_recovery(learned, None)


def test_run_level2_ci_profile_end_to_end(athle_small):
    from personax.crl.realworld import run_level2

    r = run_level2(athle_small, profile="ci", device="cpu", seed=0)
    assert r.settings["ci_test"] == "fisherz" and set(r.settings["timings"]) >= {"fit", "pc", "describe", "oracle_pc"}
    nodes = ["S1", "S2"] + [f"Z1_{i}" for i in range(1, 6)] + [f"Z2_{i}" for i in range(1, 6)]
    assert r.graph.nodes == nodes
    # PC runs on every row with no depth limit
    assert r.graph.params["n_rows"] == 400 and r.graph.params["max_depth"] is None
    e = r.graph.edges
    assert e[(e["target_block"] == "shared") & (e["source_block"] != "shared")].empty
    # stability: the main run plus n_boot half-samples; every edge of the main run is in the table
    assert r.settings["n_stability_runs"] == 1 + r.settings["n_boot"] == 3
    assert (r.stability["n_runs"] == 3).all()
    assert {frozenset(p) for p in zip(e["source"], e["target"])} <= {frozenset(p) for p in zip(
        r.stability["source"], r.stability["target"])}
    thr = r.settings["freq_threshold"]
    assert len(r.stable) == int((r.stability["freq_any"] >= thr).sum()) and (r.stable["freq"] >= thr).all()
    assert len(r.description) == len(nodes) * (len(athle_small.schema.traits) + len(athle_small.schema.attributes))
    assert set(r.labels["latent"]) == set(nodes)
    assert set(r.recovery.blocks["block"]) == {"shared", "face", "text"}
    assert {"shd_cpdag", "skeleton_precision", "skeleton_recall"} <= set(r.recovery.graph.to_dict())
    assert r.recovery.graph_stable.shd_cpdag is not None and r.recovery.graph.shd_cpdag is not None
    assert r.oracle.scores.n_true == int(athle_small.truth.dag.to_numpy().sum())
    # the oracle is PC with the same settings on the planted latents, every row
    assert r.oracle.graph.params["n_rows"] == 400 and r.oracle.graph.params["test"] == "fisherz"
    assert set(r.oracle.to_dict()) == {"graph", "scores", "floor"}
    with pytest.raises(ValueError, match="profile"):
        run_level2(athle_small, profile="fast")


def test_run_level2_without_truth_skips_recovery(athle_small):
    """Real data has no planted truth: the pipeline runs and leaves the truth columns out."""
    import dataclasses

    from personax.crl.realworld import run_level2

    real_like = dataclasses.replace(athle_small, truth=None, info={**athle_small.info, "synthetic": False})
    r = run_level2(real_like, profile="ci", device="cpu", seed=1)
    assert r.recovery is None and r.oracle is None
    assert len(r.description) and r.graph.params["n_rows"] == 400


@pytest.mark.slow
def test_run_level2_all_in_processes_equals_one_after_the_other(athle_small):
    """The oracle runs in its own process beside the pipeline; the results are those of run_level2."""
    from personax.crl.realworld import run_level2, run_level2_all

    seq = run_level2(athle_small, profile="ci", device="cpu", seed=0)
    par = run_level2_all({"athlepersona": athle_small}, n_jobs=2, profile="ci", device="cpu", seed=0)
    r = par["athlepersona"]
    pd.testing.assert_frame_equal(r.graph.edges, seq.graph.edges)
    pd.testing.assert_frame_equal(r.stability, seq.stability)
    pd.testing.assert_frame_equal(r.oracle.graph.edges, seq.oracle.graph.edges)
    assert r.oracle.scores == seq.oracle.scores
    assert r.settings["timings"]["oracle_pc"] == r.oracle.graph.params["seconds"]
    with pytest.raises(ValueError, match="oracle"):
        run_level2_all({"athlepersona": athle_small}, oracle=False)
    with pytest.raises(ValueError, match="n_jobs"):
        run_level2_all({"athlepersona": athle_small}, n_jobs=0)


def test_oracle_graph_is_pc_on_the_planted_latents(athle_small):
    import dataclasses

    from personax.crl.graph import pc_graph
    from personax.crl.realworld import oracle_graph

    o = oracle_graph(athle_small, profile="ci", seed=0, device="cpu")
    g = pc_graph(athle_small.truth.latents, alpha=0.05, test="fisherz", seed=0)
    pd.testing.assert_frame_equal(o.graph.edges, g.edges)
    assert o.scores.n_true == int(athle_small.truth.dag.to_numpy().sum())
    with pytest.raises(ValueError, match="no planted truth"):
        oracle_graph(dataclasses.replace(athle_small, truth=None))


def test_oracle_with_biographical_covariates_is_pc_with_the_attributes(athle_small):
    """pc_covariates='biographical' adds the attributes as PC nodes: the oracle equals pc_graph with them."""
    from personax.crl.graph import pc_graph
    from personax.crl.graph_covariates import biographical_covariates
    from personax.crl.realworld import oracle_graph

    o = oracle_graph(athle_small, profile="ci", seed=0, device="cpu", pc_covariates="biographical")
    cov = biographical_covariates(athle_small)
    g = pc_graph(athle_small.truth.latents, alpha=0.05, test="fisherz", seed=0, covariates=cov)
    pd.testing.assert_frame_equal(o.graph.edges, g.edges)
    assert o.graph.params["covariates"] == ["league", "birth_year", "latitude", "longitude"]
    assert set(o.graph.covariate_edges["source"]) & {"league", "birth_year", "latitude", "longitude"}
    with pytest.raises(ValueError, match="pc_covariates"):
        oracle_graph(athle_small, profile="ci", pc_covariates="all")


def test_cpu_threads_limits_and_restores():
    import torch

    from personax.crl.graph import cpu_threads
    from personax.errors import ParameterError

    before = torch.get_num_threads()
    with cpu_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(ParameterError, match="threads"):
        with cpu_threads(0):
            pass
