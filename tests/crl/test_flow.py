"""Normalizing flows: invertibility, exact log-determinant, permutations between couplings."""

import pytest
import torch

from personax.crl.flow import ElementwiseFlow, RealNVP, gaussian_nll, make_flow


def _randomise(flow, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=g))
    return flow


@pytest.mark.parametrize("dim", [2, 3, 7])
def test_realnvp_inverse_and_logdet_match_autograd(dim):
    torch.manual_seed(0)
    flow = _randomise(RealNVP(dim, n_layers=5, hidden=8, seed=1)).double()
    x = torch.randn(6, dim, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    y, logdet = flow(x)
    assert torch.allclose(flow.inverse(y), x, atol=1e-9)
    for i in range(x.shape[0]):
        jac = torch.autograd.functional.jacobian(lambda v: flow(v[None])[0][0], x[i])
        assert torch.allclose(torch.linalg.slogdet(jac).logabsdet, logdet[i], atol=1e-8)


def test_realnvp_transforms_every_coordinate():
    # without permutations the first half would pass through unchanged (official-code defect 7)
    torch.manual_seed(0)
    flow = _randomise(RealNVP(4, n_layers=3, hidden=8)).double()
    x = torch.randn(5, 4, dtype=torch.float64)
    y, _ = flow(x)
    assert ((y - x).abs().amax(0) > 1e-3).all()


def test_elementwise_flow_inverse_logdet_and_monotone():
    torch.manual_seed(0)
    flow = _randomise(ElementwiseFlow(3)).double()
    x = torch.randn(50, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3)) * 2
    y, logdet = flow(x)
    assert torch.allclose(flow.inverse(y), x, atol=1e-7)
    for i in range(3):
        jac = torch.autograd.functional.jacobian(lambda v: flow(v[None])[0][0], x[i])
        # elementwise: the Jacobian is diagonal
        assert torch.allclose(jac, torch.diag(torch.diagonal(jac)), atol=1e-12)
        assert torch.allclose(torch.linalg.slogdet(jac).logabsdet, logdet[i], atol=1e-10)
    xs = torch.linspace(-5, 5, 200, dtype=torch.float64)[:, None].repeat(1, 3)
    assert (flow(xs)[0].diff(dim=0) > 0).all()


def test_gaussian_nll_matches_torch_distribution():
    y = torch.randn(10, 4)
    ref = -torch.distributions.Normal(0.0, 1.0).log_prob(y).sum(-1)
    assert torch.allclose(gaussian_nll(y, torch.zeros(10)), ref, atol=1e-5)


def test_make_flow_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown flow"):
        make_flow("glow", 4)
    with pytest.raises(ValueError, match="at least 2"):
        make_flow("realnvp", 1)
