"""The sparse-rotation refinement: it undoes a rotation of a block that the Gaussian likelihood cannot see."""

import numpy as np
import pytest

from personax.crl import metrics
from personax.crl.sparse_rotation import additive_basis, block_maps, child_rotation, root_rotation


def _world(n=3000, seed=0):
    """Roots r (3, independent Gaussian) -> children c (3, Gaussian noise) with distinct parent sets."""
    rng = np.random.default_rng(seed)
    r = rng.standard_normal((n, 3))
    c = np.stack([np.tanh(1.5 * r[:, 0]) + 0.5 * rng.standard_normal(n),
                  np.sin(1.5 * r[:, 1]) + 0.8 * np.tanh(1.5 * r[:, 2]) + 0.5 * rng.standard_normal(n),
                  0.5 * (r[:, 0] ** 2 - 1) + np.sin(1.5 * r[:, 2]) + 0.5 * rng.standard_normal(n)], 1)
    from scipy.spatial.transform import Rotation

    q = Rotation.from_euler("xyz", [40, 35, 50], degrees=True).as_matrix()  # far from every permutation
    return r, c, q


def test_child_rotation_recovers_a_rotated_child_block():
    r, c, q = _world()
    mixed = c @ q.T
    assert metrics.mcc(mixed, c).score < 0.85, "the rotation must actually mix the children"
    m = child_rotation(mixed, [additive_basis(col, col) for col in r.T], seed=0)
    assert metrics.mcc(mixed @ m.T, c).score > 0.97


def test_root_rotation_recovers_rotated_roots_from_their_children():
    r, c, q = _world(seed=1)
    mixed = r @ q.T
    assert metrics.mcc(mixed, r).score < 0.85
    m = root_rotation(mixed, c, seed=0)
    assert metrics.mcc(mixed @ m.T, r).score > 0.97


def test_block_maps_both_blocks_deterministic_and_identity_for_one_block():
    r, c, q = _world(seed=2)
    z = [r @ q.T, c @ q]
    maps = block_maps(z, order=(0, 1), seed=3)
    again = block_maps(z, order=(0, 1), seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(maps, again))
    assert metrics.mcc(z[0] @ maps[0].T, r).score > 0.95
    assert metrics.mcc(z[1] @ maps[1].T, c).score > 0.95
    assert np.array_equal(block_maps([c], order=(0,))[0], np.eye(3))


def test_refinement_is_a_candidate_and_can_be_switched_off():
    from personax import crl
    from personax.crl import designs

    b = designs.random_design(3, n=400)
    cfg = {"max_epochs": 4, "batch_size": 64, "hidden": (16,), "s2_max_epochs": 4, "s2_hidden": 8}
    on = crl.fit(b.views, b.latent_dims, n_shared=1, seed=0, device="cpu", profile=None, config=cfg)
    off = crl.fit(b.views, b.latent_dims, n_shared=1, seed=0, device="cpu", profile=None,
                  config={**cfg, "s2_refine": "none"})
    c = on.candidates
    rot, refit = c[c["phase"].str.endswith(":rot")], c[c["phase"].str.endswith(":refit")]
    assert len(rot) == 1 and len(refit) == 1 and not off.candidates["phase"].str.contains(":r").any()
    base = c.loc[c["phase"] == rot["refined_from"].item()]
    # of the chosen fit, its refit and its refinement, the lowest criterion is kept
    trio = c[c["phase"].isin([base["phase"].item(), refit["phase"].item(), rot["phase"].item()])]
    assert c["chosen"].sum() == 1 and trio.loc[trio["chosen"], "criterion"].item() == trio["criterion"].min()
    # without the refinement the fit is the refined run's unrefined candidate, bit for bit
    z_base = on.with_candidate(base["phase"].item()).encode(b.views)
    assert np.array_equal(z_base.to_numpy(), off.encode(b.views).to_numpy())
    with pytest.raises(ValueError, match="s2_refine"):
        crl.fit(b.views, b.latent_dims, n_shared=1, profile=None, config={**cfg, "s2_refine": "varimax"})


def test_a_stage_two_state_saved_before_the_post_map_still_loads():
    import torch

    from personax.crl.components import ComponentModel, order_mask

    mask = order_mask([2, 2], [True] * 4, [0, 1])
    old = ComponentModel([2, 2], 1, mask).state_dict()
    del old["post"]
    comp = ComponentModel([2, 2], 1, mask)
    comp.post.mul_(3.0)
    comp.load_state_dict(old)
    assert torch.equal(comp.post, torch.eye(4))


def test_a_block_larger_than_the_search_limit_is_left_as_it_is():
    from personax.crl.sparse_rotation import MAX_BLOCK

    rng = np.random.default_rng(0)
    z = [rng.standard_normal((500, MAX_BLOCK + 1)), rng.standard_normal((500, 2))]
    maps = block_maps(z, order=(0, 1))
    assert np.array_equal(maps[0], np.eye(MAX_BLOCK + 1)) and not np.allclose(maps[1], np.eye(2))
