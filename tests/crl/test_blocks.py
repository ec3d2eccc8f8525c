"""Stage 1: heads, aligned means, loss terms, and the data-driven own-noise decision."""

import numpy as np
import pytest
import torch

from personax.crl.blocks import BlockModel


def _model(eta=1):
    torch.manual_seed(0)
    shapes = {"a": [(6,), (6,), (6,)], "b": [(5,)], "img": [(3, 8, 8)]}
    return BlockModel(shapes, [2, 2, 1], n_shared=1, eta_dim=eta, hidden=(16, 8), conv_channels=(4,))


def _batch(n=32):
    g = torch.Generator().manual_seed(1)
    return [torch.randn(n, 6, generator=g) for _ in range(3)] + [torch.randn(n, 5, generator=g),
                                                                 torch.rand(n, 3, 8, 8, generator=g)]


def test_heads_means_and_losses():
    m = _model()
    xs = _batch()
    enc = m.encode(xs)
    assert enc["s"].shape == (32, 1) and [c.shape[1] for c in enc["c"]] == [2, 2, 1]
    assert torch.allclose(enc["s"], torch.stack(enc["s_heads"]).mean(0))
    assert torch.allclose(enc["c"][0], torch.stack(enc["c_heads"][0]).mean(0))
    out = m(xs, align_weight=10.0)
    assert set(out) == {"loss", "rec", "plain", "align", "decorr", "contrast"}
    assert all(torch.isfinite(v) for v in out.values())
    # single-measurement modalities get a decoder without the eta head; multi-measurement ones do not
    assert sorted(m.plain) == ["3", "4"]
    out["loss"].backward()
    assert all(p.grad is not None for p in m.parameters() if p.requires_grad)


def test_no_eta_heads_means_no_plain_decoders():
    m = _model(eta=0)
    assert len(m.plain) == 0
    assert m.eta_needed(_batch()) == {}


def _design(own_noise: bool, n=1500, seed=0):
    rng = np.random.default_rng(seed)
    s, z1, z2 = rng.uniform(-1.7, 1.7, (n, 1)), rng.uniform(-1.7, 1.7, (n, 2)), rng.uniform(-1.7, 1.7, (n, 2))
    from personax.crl.designs import mixing

    m1 = [mixing(4, 10, rng)(np.concatenate([s, z1, rng.uniform(-1.7, 1.7, (n, 1))], 1)) for _ in range(3)]
    h2 = np.concatenate([s, z2] + ([rng.uniform(-1.7, 1.7, (n, 1))] if own_noise else []), 1)
    m2 = [mixing(h2.shape[1], 10, rng)(h2)]
    xs = [torch.tensor((a - a.mean(0)) / a.std(0), dtype=torch.float32) for a in m1 + m2]
    return xs


@pytest.mark.slow
@pytest.mark.parametrize("own_noise", [True, False])
def test_own_noise_of_a_single_measurement_is_detected(own_noise):
    xs = _design(own_noise)
    torch.manual_seed(0)
    m = BlockModel({"a": [(10,)] * 3, "b": [(10,)]}, [2, 2], 1, 1, hidden=(64, 32))
    opt = torch.optim.Adam(m.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(0)
    tr = [x[:1200] for x in xs]
    for _ in range(120):
        m.train()
        for idx in torch.randperm(1200, generator=g).split(128):
            loss = m([x[idx] for x in tr], 10.0)["loss"]
            opt.zero_grad()
            loss.backward()
            opt.step()
    rep = m.eta_needed([x[1200:] for x in xs])
    assert list(rep) == [1]
    assert rep[1]["needed"] is own_noise, rep


def test_eta_decorrelation_term_is_off_by_default_and_adds_to_the_loss():
    m = _model()
    xs = _batch(64)
    base = m(xs, align_weight=10.0)
    assert float(base["decorr"]) == 0.0
    on = m(xs, align_weight=10.0, decorr_weight=5.0)
    assert float(on["decorr"].detach()) > 0
    assert torch.isclose(on["loss"], base["loss"] + 5.0 * on["decorr"], rtol=1e-5)
    # a head exactly equal to the shared code has squared correlation 1 with it
    from personax.crl.blocks import _sq_corr

    a = torch.randn(100, 1)
    assert torch.isclose(_sq_corr(a, a), torch.tensor(1.0), atol=1e-3)
    assert float(_sq_corr(a, torch.randn(100, 1))) < 0.1


def test_info_nce_rewards_a_code_that_carries_all_shared_content():
    from personax.crl.blocks import info_nce

    g = torch.Generator().manual_seed(3)
    n = 256
    z = torch.randn(n, 2, generator=g)

    def view(code):  # two measurements see the same code up to small independent noise
        return code + 0.05 * torch.randn(code.shape, generator=g)

    full = info_nce(view(z), view(z))
    partial = info_nce(view(z[:, [0, 0]]), view(z[:, [0, 0]]))  # second direction left out
    unrelated = info_nce(torch.randn(n, 2, generator=g), torch.randn(n, 2, generator=g))
    assert float(full) < float(partial) < float(unrelated)
    assert float(full) > -np.log(n) - 1e-6  # bounded below by perfect identification


def test_contrast_term_is_off_by_default_and_adds_to_the_loss():
    m = _model()
    xs = _batch(64)
    base = m(xs, align_weight=10.0)
    assert float(base["contrast"]) == 0.0
    on = m(xs, align_weight=10.0, contrast_weight=2.0)
    assert float(on["contrast"].detach()) != 0.0
    assert torch.isclose(on["loss"], base["loss"] + 2.0 * on["contrast"], atol=1e-5)
