"""The synthetic PersonaX world: determinism, the planted DAG, raters, and planted-truth detection."""

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from personax.data.aggregate import median_drop_zeros
from personax.data.schema import LLMS, SCHEMAS, TRAITS, llm_score_column
from personax.data.synthetic import (
    MISSING_RATES,
    RATERS,
    check_planted_truth,
    derive_pairs,
    generate,
    latent_dag,
    rate,
    world_graph,
)
from personax.data.validate import validate


@pytest.fixture(scope="module")
def small():
    return {ds: generate(ds, n=800, seed=5, face_dim=24, text_dim=32) for ds in SCHEMAS}


def test_same_seed_same_data_other_seed_other_data():
    a = generate("celebpersona", n=300, seed=1, face_dim=16, text_dim=20)
    b = generate("celebpersona", n=300, seed=1, face_dim=16, text_dim=20)
    c = generate("celebpersona", n=300, seed=2, face_dim=16, text_dim=20)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    for k in a.embeddings:
        np.testing.assert_array_equal(a.embeddings[k], b.embeddings[k])
    pd.testing.assert_frame_equal(a.truth.latents, b.truth.latents)
    assert not a.frame["height_cm"].equals(c.frame["height_cm"])


def test_scalar_frame_does_not_depend_on_embedding_widths():
    a = generate("athlepersona", n=200, seed=0, face_dim=16, text_dim=20)
    b = generate("athlepersona", n=200, seed=0, face_dim=32, text_dim=40, n_face=2)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert len(b.measurements("face")) == 2 and b.embeddings["face_1"].shape == (200, 32)


def test_generated_frames_validate(small):
    for ds, data in small.items():
        validate(data.frame, ds, data.embeddings)
        assert list(data.frame.columns) == list(SCHEMAS[ds].columns)
        assert data.info["synthetic"] and data.info["seed"] == 5


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown dataset"):
        generate("celeb")
    with pytest.raises(ValueError, match="n must be"):
        generate("celebpersona", n=0)
    with pytest.raises(ValueError, match="smaller than the 13 latents"):
        generate("celebpersona", n=10, face_dim=8)
    with pytest.raises(ValueError, match="seed"):
        generate("celebpersona", n=10, seed=-1)


def test_latent_dag_uses_the_paper_edges():
    celeb = latent_dag("celebpersona")
    assert celeb.to_numpy().sum() == 23
    for p, c in [("S1", "S2"), ("S3", "S2"), ("S3", "Z2_1"), ("S2", "Z2_4"), ("Z1_9", "Z1_10"),
                 ("Z2_5", "Z1_10"), ("Z2_4", "Z2_2"), ("Z1_8", "Z1_7")]:
        assert celeb.loc[p, c] == 1, (p, c)
    athle = latent_dag("athlepersona")
    assert athle.to_numpy().sum() == 14
    # undirected figure edges, oriented by the project (documented in the module docstring)
    assert athle.loc["S2", "S1"] == 1 and athle.loc["S1", "S2"] == 0
    assert athle.loc["Z2_1", "Z2_2"] == 1
    for p, c in [("Z2_1", "Z1_4"), ("Z2_3", "Z1_2"), ("S1", "Z2_4"), ("Z1_5", "Z1_2")]:
        assert athle.loc[p, c] == 1, (p, c)
    for dag in (celeb, athle):
        assert nx.is_directed_acyclic_graph(nx.from_pandas_adjacency(dag, create_using=nx.DiGraph))


def test_planted_pairs_are_derived_by_d_separation():
    for ds in SCHEMAS:
        dep, ind = derive_pairs(ds)
        attrs = SCHEMAS[ds].attributes
        assert len(dep) + len(ind) == 5 * len(attrs)
        g = world_graph(ds)
        for trait, attr in ind:
            assert nx.is_d_separator(g, {trait}, {attr}, set())
        # birth month/day never cause anything that reaches a trait
        for t in TRAITS:
            assert (t, "birth_month") in ind and (t, "birth_day") in ind
    dep_c, ind_c = derive_pairs("celebpersona")
    assert all((t, "gender") in dep_c and (t, "occupation") in dep_c for t in TRAITS)
    assert ("neuroticism", "Pointy_Nose") in dep_c and ("openness", "High_Cheekbones") in dep_c
    assert ("openness", "Bushy_Eyebrows") in ind_c and ("neuroticism", "latitude") in ind_c
    dep_a, _ = derive_pairs("athlepersona")
    assert all((t, a) in dep_a for t in TRAITS for a in ("league", "birth_year", "height_cm", "latitude"))


def test_truth_object(small):
    t = small["celebpersona"].truth
    assert list(t.latents.columns) == t.blocks["shared"] + t.blocks["face"] + t.blocks["text"]
    assert t.blocks["shared"] == ["S1", "S2", "S3"] and len(t.blocks["face"]) == 10
    assert t.dag.loc["Z2_5", "Z1_10"] == 1
    assert set(t.pairs_table()["planted"]) == {"dependent", "independent"}
    assert "Z2_5" in t.equations and "openness" in t.equations


def test_raters():
    rng = np.random.default_rng(0)
    t = rng.standard_normal((20000, 5))
    scores = {l: rate(t, l, np.random.default_rng(1)) for l in LLMS}
    for l, s in scores.items():
        assert s.dtype == np.int64 and set(np.unique(s)) == {0, 1, 2, 3}
        # abstention rate per trait close to the rater's setting
        np.testing.assert_allclose((s == 0).mean(axis=0), RATERS[l].abstain, atol=0.01)
        # monotone in the true trait: Spearman > 0.5 on answered rows
        ok = s[:, 0] > 0
        assert np.corrcoef(t[ok, 0], s[ok, 0])[0, 1] > 0.5
    # rater-specific bias: llama is lenient on agreeableness relative to gemini
    llama, gemini = scores["llama"][:, 3], scores["gemini"][:, 3]
    assert llama[llama > 0].mean() > gemini[gemini > 0].mean()
    assert np.array_equal(rate(t[:50], "chatgpt", 3), rate(t[:50], "chatgpt", 3))
    with pytest.raises(ValueError, match="unknown llm"):
        rate(t, "gpt5", 0)
    with pytest.raises(ValueError, match="shape"):
        rate(t[:, :3], "chatgpt", 0)


def test_aggregate_columns_are_median_drop_zeros(small):
    f = small["athlepersona"].frame
    for trait in TRAITS:
        cols = [llm_score_column(l, trait) for l in LLMS]
        np.testing.assert_array_equal(median_drop_zeros(f[cols]).to_numpy(), f[trait].to_numpy())


def test_missingness_is_small_and_present():
    f = generate("celebpersona", n=6000, seed=0, face_dim=16, text_dim=16).frame
    assert abs(f["height_cm"].isna().mean() - MISSING_RATES["height_cm"]) < 0.015
    assert f["latitude"].isna().equals(f["longitude"].isna())
    assert f["gender"].notna().all() and f["person_id"].notna().all()


def test_embeddings_are_nonlinear_injective_measurements(small):
    data = small["celebpersona"]
    f1, f2, f3 = data.measurements("face")
    assert f1.dtype == np.float32 and np.isfinite(f1).all()
    norms = np.linalg.norm(f1, axis=1)
    assert norms.std() > 0.01 * norms.mean()          # not projected to unit norm
    assert not np.allclose(f1, f2)                      # measurement-specific mixing
    # the measurements carry the latents: even a linear read-out of [S, Z1] from the (nonlinear)
    # face embedding explains most of each latent's variance
    lat = data.truth.latents[data.truth.blocks["shared"] + data.truth.blocks["face"]].to_numpy()
    X = np.column_stack([f1, np.ones(len(f1))])
    coef, *_ = np.linalg.lstsq(X, lat, rcond=None)
    r2 = 1 - ((lat - X @ coef) ** 2).sum(0) / ((lat - lat.mean(0)) ** 2).sum(0)
    assert r2.min() > 0.5
    # text measurements do not carry the face-only latents
    Xt = np.column_stack([data.embeddings["text_chatgpt"], np.ones(len(f1))])
    z = data.truth.latents["Z1_3"].to_numpy()
    ct, *_ = np.linalg.lstsq(Xt, z, rcond=None)
    assert 1 - ((z - Xt @ ct) ** 2).sum() / ((z - z.mean()) ** 2).sum() < 0.2


@pytest.mark.parametrize("dataset", ["celebpersona", "athlepersona"])
def test_planted_truth_is_detected_at_full_scale(dataset):
    data = generate(dataset, seed=0, face_dim=16, text_dim=16)
    assert len(data) == SCHEMAS[dataset].paper_rows
    res = check_planted_truth(data)
    dep = res[res.planted == "dependent"]
    ind = res[res.planted == "independent"]
    # every planted dependence is found, with margin
    assert (dep.pvalue < 1e-3).all(), dep.sort_values("pvalue").tail(3)
    # no independent pair survives a Bonferroni correction over the independent family
    assert (ind.pvalue > 0.05 / len(ind)).all(), ind.sort_values("pvalue").head(3)
    # and the uncorrected false-positive count is compatible with alpha = 0.05 (binomial 99.9 % bound)
    from scipy.stats import binom
    assert ind.detected.sum() <= binom.ppf(0.999, len(ind), 0.05)


def test_independent_pairs_reject_at_about_alpha_across_seeds():
    """Type-I error of the simple test on planted-independent pairs stays near alpha."""
    from scipy.stats import binom

    pvals = []
    for seed in range(25):
        data = generate("athlepersona", n=1000, seed=100 + seed, face_dim=16, text_dim=16)
        res = check_planted_truth(data)
        # one independent pair per seed and attribute (traits share the attribute column)
        ind = res[(res.planted == "independent") & (res.trait == TRAITS[seed % 5])]
        pvals += ind.pvalue.tolist()
    pvals = np.asarray(pvals)
    assert len(pvals) == 50
    rejections = int((pvals < 0.05).sum())
    assert rejections <= binom.ppf(0.999, len(pvals), 0.05)
    # and the p-values are not piled up near 1 or 0 (rough uniformity)
    assert 0.3 < np.median(pvals) < 0.7


def test_power_at_the_sample_size():
    """Even at the shipped sample's size (2,000 rows) most planted dependences are detected."""
    data = generate("celebpersona", n=2000, seed=11, face_dim=16, text_dim=16)
    res = check_planted_truth(data)
    assert res[res.planted == "dependent"].detected.mean() > 0.85
