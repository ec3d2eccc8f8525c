"""Scores and their reference points: truth scores 1, a random rotation does not, leakage is visible."""


from personax.crl import designs, scoring
from personax.crl.train import make_split


def _bench():
    return designs.random_design(3, n=800)


def test_truth_scores_perfectly_and_beats_the_references():
    b = _bench()
    split = make_split(800, 0.1, 0.1, 0)
    s = scoring.score(b.latents, b, split, adjacency=b.dag.astype(float), threshold=0.5)
    assert s["mcc"] > 0.999 and s["mcc_spearman"] > 0.999
    assert all(s[f"mcc_{blk}"] > 0.999 for blk in b.blocks)
    assert s["shd"] == 0 and s["edge_precision"] == 1 and s["edge_recall"] == 1
    assert s["shd_empty"] == int(b.dag.values.sum())
    assert s["r2_block_shared"] > 0.95 and s["r2_leak_shared"] < 0.2
    ref = scoring.reference_points(b, split)
    assert 0.3 < ref["ref_mcc_rotation"] < 0.95
    assert ref["ref_mcc_pca"] < 0.95 and ref["ref_mcc_ica"] < 0.99


def test_leak_of_the_shared_latent_into_a_block_is_visible():
    b = _bench()
    split = make_split(800, 0.1, 0.1, 0)
    z = b.latents.copy()
    col = b.blocks["m2"][0]
    z[col] = 0.3 * z[col] + 0.95 * z["S1"]          # a modality-2 latent absorbs S
    s = scoring.score(z, b, split)
    assert s["r2_shared_from_m2"] > 0.8 and s["r2_leak_shared"] > 0.8
    assert s["mcc_m2"] < 0.95


def test_random_rotation_reference_is_deterministic():
    b = _bench()
    split = make_split(800, 0.1, 0.1, 0)
    assert scoring.random_rotation_mcc(b.latents, split, seed=1) == scoring.random_rotation_mcc(b.latents, split,
                                                                                                   seed=1)
