"""Model shapes, loss terms, gradients (the adjacency learns), layout-derived sparsity blocks."""

import numpy as np
import pytest
import torch

from personax.crl.model import CRLConfig, CRLModel, LatentLayout, paper_synthetic_weights


def _model(cfg=None, n_shared=2):
    layout = LatentLayout(("face", "text"), (3, 2), n_shared)
    shapes = {"face": [(3, 8, 8), (3, 8, 8)], "text": [(7,), (7,), (7,)]}
    torch.manual_seed(0)
    return CRLModel(shapes, layout, cfg or CRLConfig()), layout


def _batch(n=16):
    g = torch.Generator().manual_seed(1)
    return [torch.rand(n, 3, 8, 8, generator=g), torch.rand(n, 3, 8, 8, generator=g)] + \
        [torch.randn(n, 7, generator=g) for _ in range(3)]


def test_layout_names_blocks_and_cross_modal_mask():
    layout = LatentLayout(("face", "text"), (3, 2), 2)
    assert layout.names == ["S1", "S2", "Z1_1", "Z1_2", "Z1_3", "Z2_1", "Z2_2"]
    assert layout.blocks == {"shared": ["S1", "S2"], "face": ["Z1_1", "Z1_2", "Z1_3"], "text": ["Z2_1", "Z2_2"]}
    m = layout.cross_modal_mask()
    # exactly the face x text entries, both directions; never shared rows/columns
    expected = np.zeros((7, 7), bool)
    expected[2:5, 5:7] = expected[5:7, 2:5] = True
    assert (m == expected).all()


def test_shapes_and_finite_losses():
    model, layout = _model()
    xs = _batch()
    enc = model.encode(xs)
    assert enc["latent"].shape == (16, layout.total)
    assert len(enc["codes"]) == 5 and enc["eta"][0].shape == (16, 1)
    out = model(xs)
    assert set(out) == {"loss", "rec", "ind", "sp", "cons"}
    assert all(torch.isfinite(v) for v in out.values())


def test_adjacency_gets_gradient_from_the_prior_likelihood():
    cfg = CRLConfig(alpha_rec=0.0, alpha_sp=0.0, alpha_cons=0.0, alpha_ind=1.0)
    model, layout = _model(cfg)
    model(_batch())["loss"].backward()
    grad = model.prior.A.grad
    free = model.prior.mask.bool()
    assert grad[free].abs().min() > 0, "every free adjacency entry must receive gradient from the NLL"
    assert (grad[~free] == 0).all()


def test_sparsity_penalises_only_cross_modal_entries():
    cfg = CRLConfig(alpha_rec=0.0, alpha_ind=0.0, alpha_cons=0.0, alpha_sp=1.0)
    model, layout = _model(cfg)
    model(_batch())["loss"].backward()
    nonzero = (model.prior.A.grad != 0).numpy()
    assert (nonzero == (layout.cross_modal_mask() & model.prior.mask.bool().numpy())).all()


def test_learned_order_adds_acyclicity_and_all_entries_free():
    model, layout = _model(CRLConfig(order="learned"))
    out = model(_batch())
    assert "dag" in out and out["dag"] > 0  # init A = 0.5 everywhere: cyclic
    assert model.prior.mask.sum() == layout.total * (layout.total - 1)


def test_consistency_term_uses_every_measurement():
    model, _ = _model(CRLConfig(alpha_rec=0.0, alpha_ind=0.0, alpha_sp=0.0, alpha_cons=1.0))
    model(_batch())["loss"].backward()
    for enc in model.encoders:  # all five measurement encoders get gradient
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in enc.parameters())


def test_config_validation_and_paper_weights():
    with pytest.raises(ValueError, match="flow"):
        CRLConfig(flow="glow")
    with pytest.raises(ValueError, match="alpha_sp"):
        CRLConfig(alpha_sp=-1)
    with pytest.raises(TypeError, match="unknown CRLConfig"):
        CRLConfig().replace(alpha=1)
    assert CRLConfig().replace(**paper_synthetic_weights()).alpha_rec == 2.0
    d = CRLConfig().to_dict()
    assert (d["alpha_rec"], d["alpha_ind"], d["alpha_sp"]) == (1.0, 0.01, 0.001)
