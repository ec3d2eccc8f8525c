"""Normalizing flows that map the latent noises of the causal prior to N(0, I).

Two flows are offered, both exact-likelihood bijections returning ``(y, log|det J|)``:

``RealNVP``
    Affine coupling layers (Dinh et al., 2017) with a fixed permutation between layers
    so that every coordinate is transformed (the official code had no permutation, so
    half of its input was never transformed: ``official-code.md`` defect 7).  A joint
    flow can map *any* density to N(0, I); it is a flexible density model of the noises,
    not by itself an independence constraint.
``ElementwiseFlow``
    One strictly increasing scalar map per coordinate,
    ``y = a x + b + sum_k c_k tanh(d_k x + e_k)`` with ``a, c_k, d_k > 0``.  Because it
    acts on each coordinate separately, the base density N(0, I) factorises over the
    noises: the NLL then *does* reward mutually independent noises, which is what the
    paper's "independence" term asks for.  This is the model's default.

Both have ``inverse`` (RealNVP in closed form, the elementwise flow by bisection) so the
tests can check ``inverse(forward(x)) == x`` and compare the log-determinant with the
autograd Jacobian.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class AffineCoupling(nn.Module):
    """One affine coupling layer: ``y_b = x_b * scale(x_a) + shift(x_a)``, ``y_a = x_a``.

    Parameters
    ----------
    dim : int
        Input dimension (≥ 2).
    hidden : int
        Width of the two hidden layers of the conditioner network.
    """

    def __init__(self, dim: int, hidden: int = 16):
        super().__init__()
        if dim < 2:
            raise ValueError(f"AffineCoupling needs dim >= 2, got {dim}; use ElementwiseFlow for 1-d noise")
        self.d_a = dim // 2
        self.d_b = dim - self.d_a
        self.net = nn.Sequential(
            nn.Linear(self.d_a, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, 2 * self.d_b),
        )
        for m in self.net:
            if isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                nn.init.zeros_(m.bias)
        # start close to the identity: last layer small
        last = self.net[-1]
        with torch.no_grad():
            last.weight.mul_(0.01)

    def _scale_shift(self, xa: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raw, shift = self.net(xa).chunk(2, dim=-1)
        # soft-bounded log-scale in (-2, 2): can expand and contract (the official code's
        # sigmoid(raw + 2) scale could only contract, and underflows for large |raw|)
        log_scale = 2.0 * torch.tanh(raw / 2.0)
        return log_scale, shift

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        xa, xb = x[..., : self.d_a], x[..., self.d_a:]
        log_scale, shift = self._scale_shift(xa)
        yb = xb * torch.exp(log_scale) + shift
        return torch.cat([xa, yb], dim=-1), log_scale.sum(-1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        ya, yb = y[..., : self.d_a], y[..., self.d_a:]
        log_scale, shift = self._scale_shift(ya)
        xb = (yb - shift) * torch.exp(-log_scale)
        return torch.cat([ya, xb], dim=-1)


class RealNVP(nn.Module):
    """Stack of affine couplings with a fixed permutation before every layer after the first.

    Parameters
    ----------
    dim : int
        Dimension of the noise vector (≥ 2).
    n_layers : int
        Number of coupling layers (paper code: 5).
    hidden : int
        Conditioner width (paper code: 16).
    seed : int
        Seed of the fixed random permutations (a reversal is used when ``dim == 2``).
    """

    def __init__(self, dim: int, n_layers: int = 5, hidden: int = 16, seed: int = 0):
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be >= 1, got {n_layers}")
        self.dim = dim
        self.layers = nn.ModuleList([AffineCoupling(dim, hidden) for _ in range(n_layers)])
        g = torch.Generator().manual_seed(int(seed))
        perms = []
        for i in range(n_layers):
            if i % 2 == 1 or dim == 2:
                # reversal guarantees the untouched half of the previous layer is transformed
                p = torch.arange(dim - 1, -1, -1)
            else:
                p = torch.randperm(dim, generator=g)
            perms.append(p)
        self.register_buffer("perms", torch.stack(perms))
        self.register_buffer("inv_perms", torch.stack([torch.argsort(p) for p in perms]))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logdet = torch.zeros(x.shape[:-1], dtype=x.dtype, device=x.device)
        for i, layer in enumerate(self.layers):
            if i > 0:  # permutations have |det| = 1
                x = x[..., self.perms[i]]
            x, ld = layer(x)
            logdet = logdet + ld
        return x, logdet

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        for i in range(len(self.layers) - 1, -1, -1):
            y = self.layers[i].inverse(y)
            if i > 0:
                y = y[..., self.inv_perms[i]]
        return y


class ElementwiseFlow(nn.Module):
    """Per-coordinate monotone map ``y = a x + b + Σ_k c_k tanh(d_k x + e_k)``.

    Parameters
    ----------
    dim : int
        Number of coordinates (each gets its own map).
    n_components : int
        Number of tanh bumps per coordinate (flexibility of each marginal).
    """

    def __init__(self, dim: int, n_components: int = 4):
        super().__init__()
        self.dim = dim
        self.log_a = nn.Parameter(torch.zeros(dim))
        self.b = nn.Parameter(torch.zeros(dim))
        self.log_c = nn.Parameter(torch.full((dim, n_components), -3.0))
        self.log_d = nn.Parameter(torch.zeros(dim, n_components))
        # spread the bump centres so the components are not identical
        self.e = nn.Parameter(torch.linspace(-1.5, 1.5, n_components).repeat(dim, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, c, d = self.log_a.exp(), self.log_c.exp(), self.log_d.exp()
        t = torch.tanh(x.unsqueeze(-1) * d + self.e)          # (..., dim, K)
        y = a * x + self.b + (c * t).sum(-1)
        dydx = a + (c * d * (1.0 - t * t)).sum(-1)            # > 0: strictly increasing
        return y, torch.log(dydx).sum(-1)

    @torch.no_grad()
    def inverse(self, y: torch.Tensor, n_iter: int = 100) -> torch.Tensor:
        """Invert by bisection (the map is strictly increasing and unbounded)."""
        a, c = self.log_a.exp(), self.log_c.exp()
        # |y - a x - b| <= sum c  =>  x in [(y - b - C)/a, (y - b + C)/a]
        csum = c.sum(-1)
        lo = (y - self.b - csum) / a - 1e-6
        hi = (y - self.b + csum) / a + 1e-6
        for _ in range(n_iter):
            mid = 0.5 * (lo + hi)
            f, _ = self.forward(mid)
            above = f > y
            hi = torch.where(above, mid, hi)
            lo = torch.where(above, lo, mid)
        return 0.5 * (lo + hi)


def gaussian_nll(y: torch.Tensor, logdet: torch.Tensor) -> torch.Tensor:
    """Per-sample negative log-likelihood ``-log N(y; 0, I) - log|det J|`` (shape ``(batch,)``)."""
    d = y.shape[-1]
    return 0.5 * (y * y).sum(-1) + 0.5 * d * math.log(2 * math.pi) - logdet


def make_flow(kind: str, dim: int, n_layers: int = 5, hidden: int = 16, seed: int = 0) -> nn.Module:
    """Build the flow named by ``kind`` (``"elementwise"`` or ``"realnvp"``)."""
    if kind == "elementwise":
        return ElementwiseFlow(dim)
    if kind == "realnvp":
        if dim < 2:
            raise ValueError(f"flow='realnvp' needs at least 2 noise dimensions, got {dim}; use 'elementwise'")
        return RealNVP(dim, n_layers=n_layers, hidden=hidden, seed=seed)
    raise ValueError(f"unknown flow {kind!r}: use 'elementwise' (default) or 'realnvp'")
