"""Stage 2 of the identifying estimator: components and graph by maximum likelihood in low dimension.

Stage 1 (:mod:`personax.crl.blocks`) returns, for every row, the shared code ``s`` and
one code per modality ``c_m`` that is an invertible function of ``(s, z_m)`` (plus the
modality's own exogenous noise for a single-measurement modality that has one).  This
module turns the codes into components::

    z_m = T_m(c_m ; s)          one conditional normalising flow per modality
    z_i = sum_j A[j, i] phi_ji(z_j) + eps_i      additive-noise causal prior
    eps_i  independent, each with its own learned 1-d density

and fits ``T`` and the prior by **exact maximum likelihood** of the codes (the flows are
low-dimensional, so the log-determinant is exact):

    log p(c | s) = sum_i log p_i(eps_i) + sum_m log|det dT_m/dc_m|.

Why this identifies (the conditions are in :mod:`personax.crl.identifiability`): the
flows may re-mix anything inside a block and remove ``s`` from it, but the prior says the
components of a block are independent *given the other blocks*, that ``z`` is independent
of ``s``, and that cross-modal influence runs through a sparse set of edges (L1 on
``A``).  Among the re-parametrisations of a block, only the true components (up to an
invertible map of each) make the cross-modal dependence sparse and the noises
independent (cf. the structural-sparsity argument of Sun et al., ICLR 2025, and
conditional independence given an auxiliary variable, Khemakhem et al., 2020, where the
auxiliary variable is the other modality).

Edges are allowed only **between different modality blocks**, from earlier to later
blocks in a block order (chosen by held-out likelihood in :mod:`personax.crl.staged`),
never into or out of ``s`` and never inside a block: an edge between two latents that
the same measurements see can always be absorbed into the mixing function, so it is not
identifiable from observational data and the estimator returns the canonical
(edge-free) representation there.

Building blocks: :class:`MonotoneMADE` (one autoregressive layer of strictly increasing
scalar maps ``y = e^a x + b + sum_k e^c_k tanh(e^d_k x + f_k)`` whose parameters come from
a masked network of the context and the preceding coordinates), :class:`ConditionalFlow`,
:class:`NoiseDensity` and :class:`ANMPrior`, assembled in :class:`ComponentModel`.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import nn

_LOG_2PI = math.log(2 * math.pi)


def monotone_map(x: torch.Tensor, p: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Strictly increasing scalar map and its log-derivative, elementwise.

    ``y = e^a x + b + sum_k e^{c_k} tanh(e^{d_k} x + f_k)``; ``p[..., :]`` holds
    ``(a, b, c_1..c_k, d_1..d_k, f_1..f_k)``.  ``dy/dx = e^a + sum e^{c+d} sech^2(.) > 0``.
    """
    a, b = p[..., 0], p[..., 1]
    c, d, f = p[..., 2:2 + k] - 2.0, p[..., 2 + k:2 + 2 * k], p[..., 2 + 2 * k:]
    t = torch.tanh(torch.exp(d) * x[..., None] + f)
    y = torch.exp(a) * x + b + (torch.exp(c) * t).sum(-1)
    dy = torch.exp(a) + (torch.exp(c + d) * (1.0 - t * t)).sum(-1)
    return y, torch.log(dy)


class _MaskedLinear(nn.Linear):
    def __init__(self, n_in: int, n_out: int, mask: np.ndarray):
        super().__init__(n_in, n_out)
        self.register_buffer("mask", torch.as_tensor(mask, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.weight * self.mask, self.bias)


class MonotoneMADE(nn.Module):
    """One autoregressive flow layer: ``y_i = m_i(x_i ; ctx, x_<i)`` in the given order.

    MADE masks (Germain et al., 2015) make the parameters of dimension ``i`` depend only on
    the context and on the dimensions before ``i`` in ``order``, so the Jacobian is
    triangular and ``log|det| = sum_i log m_i'(x_i)``.

    Parameters
    ----------
    dim, ctx_dim : int
        Dimensions of the transformed vector and of the context.
    order : sequence of int
        Autoregressive order (a permutation of ``range(dim)``).
    n_terms, hidden : int
        ``tanh`` terms per monotone map; width of the two masked hidden layers.
    """

    def __init__(self, dim: int, ctx_dim: int, order: Sequence[int], n_terms: int = 4, hidden: int = 32):
        super().__init__()
        self.dim, self.k = dim, n_terms
        n_par = 2 + 3 * n_terms
        rank = np.empty(dim, dtype=int)
        rank[list(order)] = np.arange(dim)
        h_rank = np.arange(hidden) % max(dim, 1)
        m1 = np.concatenate([np.ones((hidden, ctx_dim)), (rank[None, :] < h_rank[:, None]).astype(float)], 1)
        m2 = (h_rank[None, :] <= h_rank[:, None]).astype(float)
        mo = np.repeat((h_rank[None, :] <= rank[:, None]).astype(float), n_par, 0)
        self.l1 = _MaskedLinear(ctx_dim + dim, hidden, m1)
        self.l2 = _MaskedLinear(hidden, hidden, m2)
        self.out = _MaskedLinear(hidden, dim * n_par, mo)
        with torch.no_grad():  # start near the identity map
            self.out.weight.mul_(0.01)
            self.out.bias.zero_()

    def forward(self, x: torch.Tensor, ctx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.tanh(self.l1(torch.cat([ctx, x], 1)))
        h = torch.tanh(self.l2(h))
        p = self.out(h).view(x.shape[0], self.dim, -1)
        y, logd = monotone_map(x, p, self.k)
        return y, logd.sum(1)


class ConditionalFlow(nn.Module):
    """Invertible map of a modality code given the shared code.

    A full invertible linear map first (so rotations and shears of the block — the bulk of
    what stage 2 must undo — are one matrix away from the identity start), then monotone
    autoregressive layers that alternate their order and see the shared code.
    """

    def __init__(self, dim: int, ctx_dim: int, layers: int = 3, n_terms: int = 4, hidden: int = 32,
                 linear: bool = True):
        super().__init__()
        self.linear = nn.Parameter(torch.eye(dim)) if linear else None
        orders = [list(range(dim)) if i % 2 == 0 else list(range(dim))[::-1] for i in range(layers)]
        self.layers = nn.ModuleList(MonotoneMADE(dim, ctx_dim, o, n_terms, hidden) for o in orders)

    def forward(self, x: torch.Tensor, ctx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logdet = x.new_zeros(x.shape[0])
        if self.linear is not None:
            x = x @ self.linear.t()
            logdet = logdet + torch.linalg.slogdet(self.linear)[1]
        for layer in self.layers:
            x, ld = layer(x, ctx)
            logdet = logdet + ld
        return x, logdet


class NoiseDensity(nn.Module):
    """Independent 1-d densities: each coordinate through its own monotone map to N(0, 1)."""

    def __init__(self, dim: int, n_terms: int = 6):
        super().__init__()
        self.k = n_terms
        p = torch.zeros(dim, 2 + 3 * n_terms)
        p[:, 2 + 2 * n_terms:] = torch.linspace(-2.0, 2.0, n_terms)
        self.p = nn.Parameter(p)

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """Log density of each coordinate, shape ``(B, dim)``."""
        y, logd = monotone_map(e, self.p.expand(e.shape[0], -1, -1), self.k)
        return -0.5 * y * y - 0.5 * _LOG_2PI + logd


class ANMPrior(nn.Module):
    """Additive-noise causal prior over the components with a masked, differentiable adjacency.

    ``eps_i = z_i - sum_j A[j, i] phi_ji(z_j)`` with bounded per-edge networks
    ``|phi_ji| <= 1`` (so ``|A[j, i]|`` carries the edge strength and the L1 penalty cannot be
    dodged by rescaling), ``mask`` (row = parent, column = child) a DAG pattern, hence a
    unit-triangular Jacobian and ``log|det| = 0``.
    """

    def __init__(self, dim: int, mask: np.ndarray, hidden: int = 16, init: float = 0.3):
        super().__init__()
        self.dim = dim
        self.register_buffer("mask", torch.as_tensor(mask, dtype=torch.float32))
        self.A = nn.Parameter(init * self.mask.clone())
        self.W1 = nn.Parameter(torch.randn(dim, dim, hidden))
        self.b1 = nn.Parameter(torch.randn(dim, dim, hidden) * 0.5)
        self.W2 = nn.Parameter(torch.randn(dim, dim, hidden) / math.sqrt(hidden))
        self.b2 = nn.Parameter(torch.zeros(dim, dim))
        self.noise = NoiseDensity(dim)

    def weights(self) -> torch.Tensor:
        """Masked adjacency ``A ∘ mask`` (row = parent, column = child)."""
        return self.A * self.mask

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Log prior density per row."""
        h = torch.tanh(z[:, None, :, None] * self.W1 + self.b1)           # (B, child, parent, H)
        phi = torch.tanh((h * self.W2).sum(-1) + self.b2)
        mu = (phi * self.weights().t()).sum(-1)
        return self.noise(z - mu).sum(1)


def order_mask(slots: Sequence[int], causal: Sequence[bool], order: Sequence[int]) -> np.ndarray:
    """Allowed-edge pattern for a block order.

    Parameters
    ----------
    slots : sequence of int
        Number of stage-2 coordinates of each modality block.
    causal : sequence of bool per coordinate
        ``False`` for coordinates that model exogenous noise (never an edge).
    order : sequence of int
        Block order (a permutation of the block indices): edges go from a coordinate of an
        earlier block to a coordinate of a later block only.
    """
    bid = np.repeat(np.arange(len(slots)), slots)
    pos = np.empty(len(slots), dtype=int)
    pos[list(order)] = np.arange(len(slots))
    p = pos[bid]
    ok = np.asarray(causal, dtype=bool)
    return ((p[:, None] < p[None, :]) & ok[:, None] & ok[None, :]).astype(np.float32)


class ComponentModel(nn.Module):
    """Conditional flows per modality + ANM prior: the stage-2 likelihood model.

    Parameters
    ----------
    slots : sequence of int
        Code dimension of each modality (its latents, plus its exogenous coordinates for a
        single-measurement modality with its own noise).
    ctx_dim : int
        Dimension of the shared code (the flows' context).
    mask : array (D, D)
        Allowed edges (:func:`order_mask`).
    layers, hidden, n_terms, edge_hidden : int
        Flow depth, width and tanh terms; width of the per-edge networks.
    """

    def __init__(self, slots: Sequence[int], ctx_dim: int, mask: np.ndarray, layers: int = 3,
                 hidden: int = 32, n_terms: int = 4, edge_hidden: int = 16):
        super().__init__()
        self.slots = [int(s) for s in slots]
        self.flows = nn.ModuleList(ConditionalFlow(s, ctx_dim, layers, n_terms, hidden) for s in self.slots)
        self.prior = ANMPrior(sum(self.slots), mask, edge_hidden)
        # fixed block-diagonal linear map after the flows (identity unless a refinement set it;
        # :mod:`personax.crl.sparse_rotation`)
        self.register_buffer("post", torch.eye(sum(self.slots)))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # fits saved before the post map existed load with the identity
        state_dict.setdefault(prefix + "post", torch.eye(sum(self.slots)))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def transform(self, codes: Sequence[torch.Tensor], ctx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Components ``[T_1(c_1; s), T_2(c_2; s), ...]`` and the summed log-determinant."""
        zs, logdet = [], ctx.new_zeros(ctx.shape[0])
        for flow, c in zip(self.flows, codes):
            z, ld = flow(c, ctx)
            zs.append(z)
            logdet = logdet + ld
        return torch.cat(zs, 1) @ self.post.t(), logdet + torch.linalg.slogdet(self.post)[1]

    def nll(self, codes: Sequence[torch.Tensor], ctx: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood of the codes given the shared code (nats per row)."""
        z, logdet = self.transform(codes, ctx)
        return -(self.prior(z) + logdet).mean()

    def sparsity(self) -> torch.Tensor:
        """L1 norm of the adjacency."""
        return self.prior.weights().abs().sum()
