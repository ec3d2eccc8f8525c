"""Metric sanity: truth scores 1, noise ~0, permuted/rescaled copies score 1, duplicates do not."""

import numpy as np
import pandas as pd
import pytest

from personax.crl import metrics


@pytest.fixture
def z():
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.standard_normal((600, 4)), columns=["S1", "Z1_1", "Z2_1", "Z2_2"])


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_mcc_truth_noise_permutation_duplicate(z, method):
    rng = np.random.default_rng(1)
    assert metrics.mcc(z, z, method).score == pytest.approx(1.0)
    noise = rng.standard_normal(z.shape)
    assert metrics.mcc(noise, z, method).score < 0.15
    perm = z.values[:, [2, 0, 3, 1]] * np.array([-3.0, 0.5, 2.0, -10.0]) + 7.0
    res = metrics.mcc(perm, z, method)
    assert res.score == pytest.approx(1.0)
    assert res.assignment == {"S1": "hat_1", "Z1_1": "hat_3", "Z2_1": "hat_0", "Z2_2": "hat_2"}
    dup = z.values.copy()
    dup[:, 1] = dup[:, 0]  # one latent twice, another missing
    assert metrics.mcc(dup, z, method).score < 0.8


def test_spearman_mcc_invariant_to_monotone_maps(z):
    warped = np.exp(z.values) ** 3
    assert metrics.mcc(warped, z, "spearman").score == pytest.approx(1.0)
    assert metrics.mcc(warped, z, "pearson").score < 0.9


def test_mcc_out_of_sample_uses_fit_matching(z):
    half = len(z) // 2
    res = metrics.mcc(z.iloc[half:], z.iloc[half:], fit_on=(z.iloc[:half], z.iloc[:half]))
    assert res.out_of_sample and res.score == pytest.approx(1.0)


def test_mcc_errors(z):
    with pytest.raises(ValueError, match="d_hat >= d_true"):
        metrics.mcc(z.iloc[:, :2], z)
    with pytest.raises(ValueError, match="aligned"):
        metrics.mcc(z.iloc[:10], z)
    with pytest.raises(ValueError, match="method"):
        metrics.mcc(z, z, "kendall")


def test_r2_kernel_and_linear(z):
    rng = np.random.default_rng(2)
    # an invertible nonlinear, component-wise map of the truth: kernel R^2 ~ 1
    warped = np.tanh(z.values) + 0.2 * z.values
    res = metrics.r2(warped, z, "kernel", seed=0)
    assert res.score > 0.97 and res.n_fit + res.n_score == len(z)
    assert metrics.r2(rng.standard_normal(z.shape), z, "kernel").score < 0.1
    lin = metrics.r2(z.values @ rng.standard_normal((4, 4)), z, "linear")
    assert lin.score == pytest.approx(1.0)
    # fit on one split, score on another
    res2 = metrics.r2(warped[:300], z.iloc[:300], z_hat_eval=warped[300:], z_true_eval=z.iloc[300:])
    assert res2.n_score == 300 and res2.score > 0.95
    assert set(res2.per_dim) == set(z.columns)


def test_block_r2_diagonal_and_off_diagonal(z):
    blocks = {"shared": ["S1"], "m1": ["Z1_1"], "m2": ["Z2_1", "Z2_2"]}
    df = metrics.block_r2(z, z, blocks, blocks, kind="linear")
    assert df.attrs["diagonal"] > 0.97
    assert df.attrs["worst_off_diagonal"] < 0.1


def test_graph_scores_shd_reversal_and_permutation():
    names = ["a", "b", "c"]
    true = pd.DataFrame([[0, 1, 0], [0, 0, 1], [0, 0, 0]], index=names, columns=names)
    assert metrics.dag_shd(true, true) == 0
    rev = true.T
    sc = metrics.graph_scores(rev, true)
    assert sc.shd == 2 and sc.skeleton_shd == 0 and sc.precision == 0
    extra = true.astype(float)
    extra.loc["a", "c"] = 0.4
    sc = metrics.graph_scores(extra, true, threshold=0.1)
    assert sc.shd == 1 and sc.recall == 1 and sc.precision == pytest.approx(2 / 3)
    assert metrics.graph_scores(extra, true, threshold=0.5).shd == 0
    # learned latents in another order: perm maps true j -> learned perm[j]
    perm = [2, 0, 1]
    learned = np.zeros((3, 3))
    learned[2, 0] = 1.0  # learned 2 (= true a) -> learned 0 (= true b)
    learned[0, 1] = 1.0  # true b -> true c
    assert metrics.graph_scores(learned, true, perm=perm).shd == 0


def test_one_graph_record_dag_and_cpdag_shd_named_apart():
    """compare_graphs and graph_scores are one scorer: the same DAG SHD, and the CPDAG SHD only on request."""
    names = ["S1", "Z1_1", "Z2_1"]
    true = pd.DataFrame([[0, 1, 1], [0, 0, 1], [0, 0, 0]], index=names, columns=names)
    est = true.copy()
    est.loc["Z2_1", "Z1_1"] = 1  # Z1_1 — Z2_1 undirected (a mutual pair)
    plain = metrics.graph_scores(est, true)
    named = metrics.compare_graphs(est, true)
    assert isinstance(named, metrics.GraphScores) and plain.shd_cpdag is None
    assert named.shd_dag == plain.shd_dag == metrics.dag_shd(est, true) == 1
    # with S → Z known, the CPDAG of S1 → Z1_1 → Z2_1, S1 → Z2_1 leaves Z1_1 — Z2_1 undirected
    assert named.shd_cpdag == metrics.cpdag_shd(est, true) == 0
    assert named.to_dict()["shd"] == named.shd == named.shd_dag
    # a learned table over other names is scored positionally (the caller matched it), not by name
    other = est.set_axis(["a", "b", "c"], axis=0).set_axis(["a", "b", "c"], axis=1)
    assert metrics.graph_scores(other, true).shd_dag == 1
    with pytest.raises(ValueError, match="align_latents"):
        metrics.compare_graphs(other, true)


def test_deprecated_graph_names_warn_and_answer():
    true = np.array([[0, 1], [0, 0]])
    with pytest.warns(DeprecationWarning, match="dag_shd"):
        assert metrics.shd(true.T, true) == 1
    s = metrics.graph_scores(true, true)
    with pytest.warns(DeprecationWarning, match=r"\.skeleton_f1"):
        assert s["skeleton_f1"] == 1.0
    with pytest.raises(KeyError, match="no field"):
        s["nope"]


def test_align_latents_uses_the_one_matcher():
    from personax.crl.graph_stability import align_latents

    rng = np.random.default_rng(0)
    ref = pd.DataFrame(rng.normal(size=(300, 4)), columns=["S1", "Z1_1", "Z1_2", "Z2_1"])
    other = pd.DataFrame({"S1": np.exp(ref["S1"]), "Z1_1": -ref["Z1_2"] ** 3, "Z1_2": ref["Z1_1"] + 0.1,
                          "Z2_1": ref["Z2_1"]})
    aligned, matching = align_latents(ref, other)
    assert dict(zip(matching["other"], matching["reference"])) == {"S1": "S1", "Z1_1": "Z1_2", "Z1_2": "Z1_1",
                                                                  "Z2_1": "Z2_1"}
    assert np.allclose(matching["abs_spearman"], 1.0)
    perm = metrics.match(other[["Z1_1", "Z1_2"]], ref[["Z1_1", "Z1_2"]], "spearman")
    assert list(perm) == [1, 0]


def test_perm_is_positional_even_when_names_match():
    """With perm, the learned table is re-indexed by position only (names are not used twice)."""
    names = ["S1", "Z1_1", "Z2_1"]
    true = pd.DataFrame([[0, 1, 0], [0, 0, 1], [0, 0, 0]], index=names, columns=names)
    learned = true.loc[["Z2_1", "S1", "Z1_1"], ["Z2_1", "S1", "Z1_1"]]  # same names, another order
    assert metrics.graph_scores(learned, true).shd_dag == 0                  # aligned by name
    assert metrics.graph_scores(learned.to_numpy(), true, perm=[1, 2, 0]).shd_dag == 0
    assert metrics.graph_scores(learned, true, perm=[1, 2, 0]).shd_dag == 0  # positional, as with the array
