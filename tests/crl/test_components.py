"""Stage 2: monotone autoregressive flows (exact log-det), the ANM prior, order masks, identification."""

import numpy as np
import pytest
import torch

from personax.crl.components import (
    ANMPrior,
    ComponentModel,
    ConditionalFlow,
    MonotoneMADE,
    NoiseDensity,
    monotone_map,
    order_mask,
)


def _randomise(module, scale=0.5, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))


def test_monotone_map_is_increasing_with_exact_log_derivative():
    p = torch.randn(1, 2 + 3 * 4)
    x = torch.linspace(-4, 4, 401, requires_grad=True)
    y, logd = monotone_map(x, p.expand(401, -1), 4)
    assert torch.all(y[1:] > y[:-1])
    (dy,) = torch.autograd.grad(y.sum(), x)
    assert torch.allclose(torch.log(dy), logd, atol=1e-5)


@pytest.mark.parametrize("dim,ctx", [(1, 0), (3, 2), (4, 0)])
def test_made_layer_is_autoregressive_and_logdet_matches_autograd(dim, ctx):
    torch.manual_seed(0)
    order = list(np.random.default_rng(1).permutation(dim))
    layer = MonotoneMADE(dim, ctx, order, hidden=12)
    _randomise(layer)
    x, c = torch.randn(dim), torch.randn(ctx)
    J = torch.autograd.functional.jacobian(lambda v: layer(v[None], c[None])[0][0], x)
    rank = np.empty(dim, int)
    rank[order] = np.arange(dim)
    for i in range(dim):
        for j in range(dim):
            if rank[j] > rank[i]:
                assert abs(float(J[i, j])) < 1e-7, "output i may depend only on earlier inputs in the order"
    _, ld = layer(x[None], c[None])
    assert torch.allclose(torch.logdet(J), ld[0], atol=1e-4)


def test_conditional_flow_logdet_matches_autograd_and_depends_on_context():
    torch.manual_seed(0)
    flow = ConditionalFlow(3, 2, layers=3, hidden=16)
    _randomise(flow, 0.3)
    x = torch.randn(3)
    c1, c2 = torch.randn(2), torch.randn(2)
    J = torch.autograd.functional.jacobian(lambda v: flow(v[None], c1[None])[0][0], x)
    assert torch.allclose(torch.logdet(J), flow(x[None], c1[None])[1][0], atol=1e-4)
    assert not torch.allclose(flow(x[None], c1[None])[0], flow(x[None], c2[None])[0])


def test_noise_density_integrates_to_one():
    nd = NoiseDensity(2)
    _randomise(nd, 0.3)
    grid = torch.linspace(-30, 30, 60001)[:, None].expand(-1, 2)
    dens = torch.exp(nd(grid))
    mass = torch.trapezoid(dens, grid[:, 0], dim=0)
    assert torch.allclose(mass, torch.ones(2), atol=2e-3)


def test_order_mask_only_cross_block_forward_edges_and_no_noise_slots():
    m = order_mask([2, 3], [True, True, True, True, False], order=[1, 0])
    # block 1 (slots 2-4) comes first: edges from its causal slots (2, 3) to block 0 (slots 0, 1)
    expected = np.zeros((5, 5))
    expected[2:4, 0:2] = 1
    assert (m == expected).all()
    assert (order_mask([2, 2], [True] * 4, order=[0, 1]) == np.block(
        [[np.zeros((2, 2)), np.ones((2, 2))], [np.zeros((2, 2)), np.zeros((2, 2))]])).all()


def test_prior_adjacency_gets_gradient_only_where_allowed():
    mask = order_mask([2, 2], [True] * 4, [0, 1])
    prior = ANMPrior(4, mask)
    prior(torch.randn(64, 4)).sum().backward()
    g = prior.A.grad.numpy()
    assert (np.abs(g[mask.astype(bool)]) > 0).all() and (g[~mask.astype(bool)] == 0).all()


@pytest.mark.slow
def test_stage2_recovers_components_from_mixed_oracle_blocks():
    """Blocks that are a rotated, s-contaminated, nonlinearly distorted copy of the truth."""
    from personax.crl import metrics

    rng = np.random.default_rng(0)
    n = 3000
    s = rng.uniform(-1.7, 1.7, (n, 1))
    z1 = rng.uniform(-1.7, 1.7, (n, 2))
    z2 = np.stack([np.tanh(1.5 * z1[:, 0]), np.sin(1.5 * z1[:, 1])], 1) + 0.6 * rng.uniform(-1.7, 1.7, (n, 2))
    truth = np.concatenate([s, z1, z2], 1)

    def mix(b):
        q, _ = np.linalg.qr(rng.standard_normal((2, 2)))
        h = b @ q.T + 0.5 * s
        return np.tanh(h) + 0.3 * h

    codes = [torch.tensor(mix(z1), dtype=torch.float32), torch.tensor(mix(z2), dtype=torch.float32)]
    ctx = torch.tensor(s, dtype=torch.float32)
    torch.manual_seed(0)
    model = ComponentModel([2, 2], 1, order_mask([2, 2], [True] * 4, [0, 1]), layers=3, hidden=24)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(150):
        for idx in torch.randperm(n, generator=g).split(1000):
            loss = model.nll([c[idx] for c in codes], ctx[idx]) + 0.02 * model.sparsity()
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        z, _ = model.transform(codes, ctx)
    est = np.concatenate([s, z.numpy()], 1)
    assert metrics.mcc(est, truth).score > 0.93
    W = np.abs(model.prior.weights().detach().numpy()[:2, 2:])
    w = np.sort(W.ravel())
    assert w[-2:].min() > 0.3 and w[-2:].min() > 2 * w[:2].max()  # two strong edges, two weak
