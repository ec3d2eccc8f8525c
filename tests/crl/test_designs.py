"""The randomized design family: determinism, the requested conditions, shapes and injective mixings."""

import numpy as np
import pytest

from personax.crl import designs


def test_design_is_deterministic_and_well_formed():
    a, b = designs.random_design(7, n=300), designs.random_design(7, n=300)
    for m in a.views:
        for x, y in zip(a.views[m], b.views[m]):
            assert np.array_equal(x, y)
    d = a.info["design"]
    assert a.info["conditions"]["satisfied"]
    assert 4 <= 1 + sum(d["dims"]) <= 8
    assert list(a.latents.columns) == a.blocks["shared"] + a.blocks["m1"] + a.blocks["m2"]
    assert np.allclose(a.latents.mean(), 0, atol=1e-8) and np.allclose(a.latents.std(ddof=0), 1)
    assert all(1 <= len(a.views[m]) <= 3 for m in a.views)
    assert a.dag.values.sum() == len(d["edges"]) >= 1


def test_family_varies_and_always_satisfies():
    fam = designs.design_family(12, n=100)
    assert all(b.info["conditions"]["satisfied"] for b in fam)
    kinds = {(tuple(b.info["design"]["dims"]), b.info["design"]["noise"], b.info["design"]["block_order"][0])
             for b in fam}
    assert len(kinds) >= 6
    assert {b.info["design"]["noise"] for b in fam} == set(designs.NOISE_LAWS)


@pytest.mark.parametrize("kind", designs.VIOLATIONS)
def test_violations_are_reported(kind):
    b = designs.random_design(2, satisfy=False, violation=kind, n=100)
    assert not b.info["conditions"]["satisfied"]
    assert b.info["design"]["violation"] == kind


def test_mixing_is_injective_and_rejects_shrinking_maps():
    rng = np.random.default_rng(0)
    for weights in ("orthogonal", "conditioned"):
        g = designs.mixing(3, 8, rng, depth=3, weights=weights)
        h = rng.standard_normal((500, 3))
        x = g(h)
        # injective leaky-ReLU MLP: distinct inputs never collide
        d_in = np.linalg.norm(h[:, None] - h[None], axis=-1)
        d_out = np.linalg.norm(x[:, None] - x[None], axis=-1)
        off = ~np.eye(500, dtype=bool)
        assert d_out[off].min() > 0 and (d_out[off] / d_in[off]).min() > 1e-3
    with pytest.raises(ValueError, match="invertible"):
        designs.mixing(5, 3, rng)


def test_canonical_target_for_within_block_children():
    b = designs.random_design(1, satisfy=False, violation="within_block", n=400)
    canon = b.info["canonical"]
    st = b.info["conditions"]["status"]
    noisy = [v for v, s in st.items() if s == "as its noise"]
    assert noisy and canon is not None
    for v in noisy:
        assert not np.allclose(canon[v], b.latents[v])
