"""The Level II model: multimodal, multi-measurement causal representation learning.

Generative model (paper §4.1)::

    s                    shared latents (explain cross-modal association)
    z_m,i = g(Pa(z_m,i), s, eps_m,i)         latent causal process over [s, z_1, ..., z_M]
    x_m^(k) = g_m^(k)(s, z_m, eta_m^(k))     measurement k of modality m

Two estimators fit it.  The default, ``estimator="staged"``, lives in
:mod:`personax.crl.staged` (blocks by alignment, then components by exact likelihood); it
is the one that identifies on the designs of :mod:`personax.crl.designs`.  This module
holds the configuration and the paper's single generative objective
(``estimator="joint"``), kept as a named variant:

* one encoder per measurement ``x_m^(k) -> (z_m^(k), eta_m^(k))`` (an MLP for vectors, a
  small conv net for images); one shared encoder per modality (reading all of that
  modality's measurements) ``-> s_m``, with ``s = mean_m s_m``; the
  outputs are batch-standardised (``BatchNorm1d(affine=False)``) so the prior cannot be
  gamed by shrinking the codes.
* the modality latent fed to the prior and the decoders is the mean of its measurements'
  codes ``z_m = mean_k z_m^(k)``, and a consistency loss ties the codes of the different
  measurements together: **every** measurement feeds the model (official-code defect 8).
  The same loss ties the per-modality shared codes ``s_m`` together, so ``s`` can only
  carry what every modality sees (the shared content block; cf. multimodal contrastive
  identifiability, Daunhawer et al., 2023), not modality-private information.
* decoders ``(s, z_m, eta_m^(k)) -> x_m^(k)``.
* the latent causal prior (:class:`CausalPrior`) is an additive-noise model
  ``eps_i = (z_i - sum_j A[j, i] phi_ji(z_j)) / sigma_i`` with bounded per-edge networks
  ``|phi_ji| <= 1``, so the adjacency weight ``A[j, i]`` alone carries the strength of the
  edge ``j -> i``.  Parent selection is therefore differentiable
  (official-code defect 6 used a hard threshold mask, so ``A`` never learned), ``A``
  receives gradient from the likelihood, and the L1 term shrinks unused edges.
  Acyclicity: ``order="fixed"`` masks ``A`` to a strictly upper-triangular matrix in the
  latent order ``[s, z_1, z_2, ...]`` (the official code's assumption, shared latents
  first); ``order="block"`` keeps the block order ``s -> z_1 -> z_2`` but learns the
  order inside each block with the NOTEARS penalty ``tr(exp(A∘A)) - D`` (Zheng et al.,
  2018); ``order="learned"`` frees every off-diagonal entry (NOTEARS penalty only).
* the noises ``[eps, eta]`` go through a normalizing flow to N(0, I)
  (:mod:`personax.crl.flow`); the prior's negative log-likelihood includes the exact
  log-determinants of the location-scale step and of the flow.

Loss::

    L = alpha_rec * sum_mk MSE(x_m^(k))  +  alpha_ind * NLL([eps, eta])
      + alpha_sp * ||A restricted to sparsity_scope||_1  +  alpha_cons * consistency
      (+ alpha_dag * acyclicity when order is "block" or "learned")
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from personax.crl.config import JOINT_CONFIG, CRLConfig, paper_synthetic_weights  # noqa: F401  (re-exported)
from personax.crl.flow import gaussian_nll, make_flow


@dataclass(frozen=True)
class LatentLayout:
    """Names and positions of the latents ``[S1..Sk, Z1_1.., Z2_1.., ...]``.

    Parameters
    ----------
    modalities : tuple of str
        Modality names in block order (first = ``Z1``).
    dims : tuple of int
        Latent dimension of each modality.
    n_shared : int
        Number of shared latents ``S``.
    """

    modalities: tuple[str, ...]
    dims: tuple[int, ...]
    n_shared: int

    @property
    def total(self) -> int:
        return self.n_shared + sum(self.dims)

    @property
    def names(self) -> list[str]:
        out = [f"S{i + 1}" for i in range(self.n_shared)]
        for m, d in enumerate(self.dims):
            out += [f"Z{m + 1}_{i + 1}" for i in range(d)]
        return out

    @property
    def blocks(self) -> dict[str, list[str]]:
        """``{"shared": [...], <modality>: [...]}`` (latent names per block)."""
        names = self.names
        out = {"shared": names[: self.n_shared]}
        for m, sl in zip(self.modalities, self.slices()):
            out[m] = names[sl]
        return out

    def slices(self) -> list[slice]:
        """Index slice of each modality block in the latent vector."""
        out, start = [], self.n_shared
        for d in self.dims:
            out.append(slice(start, start + d))
            start += d
        return out

    def block_ids(self) -> np.ndarray:
        """Block id per latent: ``-1`` shared, ``m`` for modality ``m`` (0-based)."""
        ids = np.full(self.total, -1)
        for m, sl in enumerate(self.slices()):
            ids[sl] = m
        return ids

    def cross_modal_mask(self) -> np.ndarray:
        """Boolean (D, D): entry [j, i] is True when j and i lie in different modality blocks."""
        ids = self.block_ids()
        return (ids[:, None] >= 0) & (ids[None, :] >= 0) & (ids[:, None] != ids[None, :])


def mlp(sizes: Sequence[int], act: type[nn.Module]) -> nn.Sequential:
    """A feed-forward network: Linear layers of the given ``sizes`` with ``act`` between them."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


class ConvEncoder(nn.Module):
    """Small conv net for image measurements ``(n, C, H, W) -> R^out``."""

    def __init__(self, shape: tuple[int, ...], out_dim: int, channels: Sequence[int], hidden: Sequence[int]):
        super().__init__()
        c, h, w = shape
        convs: list[nn.Module] = []
        for ch in channels:
            convs += [nn.Conv2d(c, ch, 3, stride=2, padding=1), nn.ELU()]
            c = ch
            h, w = (h + 1) // 2, (w + 1) // 2
        self.conv = nn.Sequential(*convs)
        self.head = mlp([c * h * w, *hidden, out_dim], nn.ELU)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(x).flatten(1))


class MeasurementEncoder(nn.Module):
    """Encoder of one measurement: ``x -> (z, eta)``, batch-standardised outputs."""

    def __init__(self, shape: tuple[int, ...], z_dim: int, eta_dim: int, cfg: CRLConfig):
        super().__init__()
        self.z_dim, self.eta_dim = z_dim, eta_dim
        out = z_dim + eta_dim
        if len(shape) == 1:
            self.net = mlp([shape[0], *cfg.hidden, out], nn.ELU)
        elif len(shape) == 3:
            self.net = ConvEncoder(shape, out, cfg.conv_channels, cfg.hidden[-1:])
        else:
            raise ValueError(f"measurement shape {shape} not supported: use (d,) vectors or (C, H, W) images")
        self.norm = nn.BatchNorm1d(out, affine=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.norm(self.net(x))
        return h[:, : self.z_dim], h[:, self.z_dim:]


class Decoder(nn.Module):
    """Decoder of one measurement: ``(s, z_m, eta) -> x`` (MLP, reshaped for images)."""

    def __init__(self, in_dim: int, shape: tuple[int, ...], cfg: CRLConfig):
        super().__init__()
        self.shape = tuple(shape)
        self.net = mlp([in_dim, *reversed(cfg.hidden), int(np.prod(shape))],
                        lambda: nn.LeakyReLU(0.01))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h).view(h.shape[0], *self.shape)


class CausalPrior(nn.Module):
    """Latent causal prior with a differentiable, learnable adjacency.

    Additive-noise model with bounded nonlinear parent effects::

        eps_i = (z_i - sum_j A[j, i] * phi_ji(z_j)) * exp(-c_i),   |phi_ji| <= 1

    ``phi_ji`` is a small per-edge network ending in ``tanh``, so ``|A[j, i]|`` bounds the
    effect of ``z_j`` on ``z_i`` and the L1 penalty on ``A`` cannot be dodged by rescaling
    the networks.  ``A`` receives gradient from the likelihood (through ``mu``).  The
    Jacobian ``d eps / d z`` is triangular in a causal order with diagonal ``exp(-c_i)``,
    so ``log|det| = -sum_i c_i`` exactly.

    Parameters
    ----------
    dim : int
        Number of latents D.
    hidden : int
        Width of each per-edge network ``phi_ji``.
    order : str
        ``"fixed"``, ``"block"`` or ``"learned"`` (see :class:`CRLConfig`).
    init : float
        Initial adjacency value of every free entry.
    block_ids : sequence of int, optional
        Block id per latent (shared = -1, then modality 0, 1, ...); needed by ``"block"``.
    """

    def __init__(self, dim: int, hidden: int = 16, order: str = "fixed", init: float = 0.5,
                 block_ids: Sequence[int] | None = None):
        super().__init__()
        self.dim = dim
        if order == "fixed":
            mask = torch.triu(torch.ones(dim, dim), diagonal=1)  # parent index < child index
        elif order == "block":
            if block_ids is None or len(block_ids) != dim:
                raise ValueError("order='block' needs block_ids (one block id per latent)")
            ids = torch.as_tensor(np.asarray(block_ids))
            # edges from earlier blocks to later ones, and both directions inside a block
            mask = ((ids[:, None] < ids[None, :]) | (ids[:, None] == ids[None, :])).float() * (1.0 - torch.eye(dim))
        elif order == "learned":
            mask = 1.0 - torch.eye(dim)
        else:
            raise ValueError(f"order={order!r}: use 'fixed', 'block' or 'learned'")
        self.register_buffer("mask", mask)
        self.A = nn.Parameter(torch.full((dim, dim), float(init)) * mask)
        # per-edge networks, batched over (child i, parent j): 1 -> hidden -> 1
        self.W1 = nn.Parameter(torch.randn(dim, dim, hidden))
        self.b1 = nn.Parameter(torch.randn(dim, dim, hidden) * 0.5)
        self.W2 = nn.Parameter(torch.randn(dim, dim, hidden) / math.sqrt(hidden))
        self.b2 = nn.Parameter(torch.zeros(dim, dim))
        self.log_scale = nn.Parameter(torch.zeros(dim))

    def weights(self) -> torch.Tensor:
        """Masked adjacency ``A ∘ mask`` (row = parent, column = child)."""
        return self.A * self.mask

    def parent_effects(self, z: torch.Tensor) -> torch.Tensor:
        """``phi[b, i, j] = phi_ji(z[b, j])`` in [-1, 1], shape (B, D_child, D_parent)."""
        h = torch.tanh(z[:, None, :, None] * self.W1 + self.b1)          # (B, i, j, H)
        return torch.tanh((h * self.W2).sum(-1) + self.b2)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        W = self.weights()
        mu = (self.parent_effects(z) * W.t()).sum(-1)                    # sum_j A[j, i] phi_ji(z_j)
        c = 3.0 * torch.tanh(self.log_scale / 3.0)                        # bounded for stability
        eps = (z - mu) * torch.exp(-c)
        return eps, (-c.sum()).expand(z.shape[0])

    def acyclicity(self) -> torch.Tensor:
        """NOTEARS ``h(A) = tr(exp(A∘A)) - D`` (zero iff the weighted graph is acyclic)."""
        W = self.weights()
        return torch.trace(torch.matrix_exp(W * W)) - self.dim


class CRLModel(nn.Module):
    """Encoders, decoders, causal prior and flow of the multimodal multi-measurement model.

    Parameters
    ----------
    shapes : mapping modality -> list of per-measurement shapes
        e.g. ``{"face": [(1024,)] * 3, "text": [(3584,)] * 3}`` or image shapes ``(C, H, W)``.
    layout : LatentLayout
        Latent sizes and order.
    cfg : CRLConfig
        Settings.
    """

    def __init__(self, shapes: Mapping[str, Sequence[tuple[int, ...]]], layout: LatentLayout, cfg: CRLConfig):
        super().__init__()
        self.layout, self.cfg = layout, cfg
        self.shapes = {m: [tuple(s) for s in shapes[m]] for m in layout.modalities}
        self.encoders = nn.ModuleList()
        self.decoders = nn.ModuleList()
        self.index: list[tuple[int, int]] = []  # (modality index, measurement index) per encoder
        for mi, (m, d) in enumerate(zip(layout.modalities, layout.dims)):
            for k, shape in enumerate(self.shapes[m]):
                self.encoders.append(MeasurementEncoder(shape, d, cfg.eta_dim, cfg))
                self.decoders.append(Decoder(layout.n_shared + d + cfg.eta_dim, shape, cfg))
                self.index.append((mi, k))
        if layout.n_shared > 0:
            # one shared encoder per modality (reading all its measurements); s is their mean
            # and the consistency loss ties them together, so s can only hold content that
            # every modality sees (the shared block), not modality-private information
            self.shared = nn.ModuleList()
            for m in layout.modalities:
                total_in = sum(int(np.prod(s)) for s in self.shapes[m])
                self.shared.append(nn.Sequential(mlp([total_in, *cfg.shared_hidden, layout.n_shared], nn.ELU),
                                                 nn.BatchNorm1d(layout.n_shared, affine=False)))
        else:
            self.shared = None
        self.prior = CausalPrior(layout.total, cfg.prior_hidden, cfg.order, cfg.adjacency_init,
                                 block_ids=layout.block_ids())
        n_eta = cfg.eta_dim * len(self.encoders)
        self.flow = make_flow(cfg.flow, layout.total + n_eta, cfg.flow_layers, cfg.flow_hidden)
        sp = np.ones((layout.total, layout.total), dtype=bool) if cfg.sparsity_scope == "all" \
            else layout.cross_modal_mask()
        self.register_buffer("sparsity_mask", torch.as_tensor(sp, dtype=torch.float32))

    def encode(self, xs: Sequence[torch.Tensor]) -> dict:
        """Encode a flat list of measurement tensors (in encoder order).

        Returns a dict with ``latent`` (B, D) = [s, z_1, ..., z_M], ``codes`` (per-measurement
        z), ``eta`` (per-measurement eta) and ``s``.
        """
        codes, etas = [], []
        for enc, x in zip(self.encoders, xs):
            z, e = enc(x)
            codes.append(z)
            etas.append(e)
        pooled = []
        for mi in range(len(self.layout.modalities)):
            zs = [codes[j] for j, (m, _) in enumerate(self.index) if m == mi]
            pooled.append(torch.stack(zs).mean(0))
        parts = []
        s, s_views = None, []
        if self.shared is not None:
            for mi, enc in enumerate(self.shared):
                xm = [x.flatten(1) for x, (m, _) in zip(xs, self.index) if m == mi]
                s_views.append(enc(torch.cat(xm, dim=1)))
            s = torch.stack(s_views).mean(0)
            parts.append(s)
        latent = torch.cat(parts + pooled, dim=1)
        return {"latent": latent, "codes": codes, "eta": etas, "s": s, "s_views": s_views, "pooled": pooled}

    def forward(self, xs: Sequence[torch.Tensor]) -> dict:
        """Encode, decode and evaluate every loss term; returns a dict of scalar tensors."""
        enc = self.encode(xs)
        cfg = self.cfg
        rec = xs[0].new_zeros(())
        for j, (dec, x) in enumerate(zip(self.decoders, xs)):
            mi, _ = self.index[j]
            parts = ([enc["s"]] if enc["s"] is not None else []) + [enc["pooled"][mi], enc["eta"][j]]
            rec = rec + nn.functional.mse_loss(dec(torch.cat(parts, dim=1)), x)
        cons = xs[0].new_zeros(())
        for j, (mi, _) in enumerate(self.index):
            cons = cons + ((enc["codes"][j] - enc["pooled"][mi]) ** 2).mean()
        for sv in enc["s_views"]:
            cons = cons + ((sv - enc["s"]) ** 2).mean()
        eps, logdet_prior = self.prior(enc["latent"])
        noise = torch.cat([eps] + enc["eta"], dim=1)
        y, logdet_flow = self.flow(noise)
        nll = (gaussian_nll(y, logdet_flow) - logdet_prior).mean()
        sp = (self.prior.weights().abs() * self.sparsity_mask).sum()
        loss = cfg.alpha_rec * rec + cfg.alpha_ind * nll + cfg.alpha_sp * sp + cfg.alpha_cons * cons
        out = {"rec": rec, "ind": nll, "sp": sp, "cons": cons}
        if cfg.order in ("learned", "block"):
            dag = self.prior.acyclicity()
            loss = loss + cfg.alpha_dag * dag
            out["dag"] = dag
        out["loss"] = loss
        return out
