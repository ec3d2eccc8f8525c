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
from dataclasses import asdict, dataclass, field, fields
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from personax.crl.flow import gaussian_nll, make_flow


@dataclass
class CRLConfig:
    """Every architecture, loss and training setting of the CRL model.

    Two estimators share this record.  ``estimator="staged"`` (the default, the one that
    identifies; :mod:`personax.crl.staged`) reads the encoder settings (``eta_dim``,
    ``hidden``, ``conv_channels``, ``lr``, ``batch_size``, ``max_epochs``, ``patience``,
    ``standardize``, ``split_seed``, ``grad_clip``, ``checkpoint_every``,
    ``edge_threshold``), the stage-1 alignment settings and every ``s2_*`` field below.
    ``estimator="joint"`` is the paper's single generative objective (this module); it reads
    the loss weights, prior, flow and ``order`` fields, and :data:`JOINT_CONFIG` holds its
    best settings.  For the joint objective the defaults follow the paper's real-data
    recipe where it states one (loss weights 1 / 0.01 / 0.001, paper §4.3; the synthetic
    recipe is 2 / 0.01 / 0.001, see :func:`paper_synthetic_weights`); where the paper's
    code has a known defect the corrected choice is the default and documented here.

    Attributes
    ----------
    estimator : str
        ``"staged"`` (default): stage 1 learns the blocks (shared code aligned across all
        measurements, modality code aligned across a modality's measurements), stage 2
        the components inside each block by exact maximum likelihood of an additive-noise
        latent SCM with conditional flows.  ``"joint"``: the paper's objective.
    eta_dim : int
        Exogenous (measurement-specific) dimensions per measurement (paper code: 1).
    hidden : tuple of int
        Hidden widths of the per-measurement MLP encoders; decoders mirror them
        (paper code, synthetic: 128, 64).
    shared_hidden : tuple of int
        Hidden widths of the per-modality shared encoders (each reads all measurements of
        its modality).
    conv_channels : tuple of int
        Channels of the conv encoder used for image inputs ``(n, C, H, W)``.
    prior_hidden : int
        Width of each per-edge network ``phi_ji`` of the causal prior (paper code: 4 per latent).
    flow : str
        ``"elementwise"`` (default: factorised, so the NLL rewards independent noises) or
        ``"realnvp"`` (affine couplings with permutations, as the paper describes).
    flow_layers, flow_hidden : int
        RealNVP depth and conditioner width (paper code: 5 and 16).
    order : str
        ``"fixed"`` (strictly upper-triangular adjacency in latent order, shared first;
        the official code's assumption), ``"block"`` (edges only from earlier to later
        blocks ``S -> Z1 -> Z2``, both directions inside a block, NOTEARS penalty against
        cycles; the order *within* a block is learned, which matters because learned
        latents come in arbitrary order within their block) or ``"learned"`` (every
        off-diagonal entry free, NOTEARS penalty).
    adjacency_init : float
        Initial value of every free adjacency entry (paper code: 0.5).
    alpha_rec, alpha_ind, alpha_sp : float
        Loss weights of reconstruction, prior NLL and L1 sparsity (paper real data:
        1, 0.01, 0.001).
    alpha_cons : float
        Weight of the measurement-consistency loss (mean squared distance of each
        measurement's code to the modality mean; the paper's code used 1e-5 times a
        Frobenius norm on real data and disabled it on synthetic data).
    alpha_dag : float
        Weight of the NOTEARS acyclicity penalty (``order="block"`` / ``"learned"``).
    sparsity_scope : str
        Which adjacency entries get the L1 penalty: ``"cross_modal"`` (paper: edges
        between different modality blocks, indices from the latent layout) or ``"all"``.
    edge_threshold : float
        ``|A[j, i]|`` above which an edge is reported by :meth:`CRLFit.graph`.
    lr, weight_decay : float
        Adam learning rate and weight decay (paper code: 2e-6 synthetic, 3e-4 real; lr
        2e-6 for 3,000 full-batch steps barely moves the weights, defect 21).
    batch_size : int
        Minibatch size (``0`` = full batch, as the paper's code).
    max_epochs, patience : int
        Epoch budget and early-stopping patience on the validation loss.
    min_delta : float
        Smallest validation-loss improvement that resets the patience counter.
    select_on : str
        Validation quantity for early stopping and best-epoch selection: ``"loss"`` (the
        total loss) or ``"rec"`` (reconstruction only; the prior's NLL can keep falling
        while the latents drift towards more predictable, less informative codes).
    checkpoint_every : int
        Epochs between checkpoints when a checkpoint folder is given.
    grad_clip : float
        Gradient-norm clip (``0`` disables).
    standardize : bool
        Standardise inputs per feature (vectors) or per pixel (images) with
        training-split statistics.
    split_seed : int
        Seed of the train / validation / test split (kept fixed across model seeds so
        seeds are compared on the same rows).
    align_weight : float
        Staged, stage 1: weight of the alignment loss (squared distance between the
        measurements' shared codes, and between a modality's measurements' own codes)
        against reconstruction.
    decorr_weight : float
        Staged, stage 1: weight of the decorrelation of each measurement's exogenous head
        from the shared code, its modality's code and the other measurements' exogenous
        heads (:meth:`personax.crl.blocks.BlockModel.forward`).
    contrast_weight, contrast_tau : float
        Staged, stage 1: weight and temperature of the InfoNCE term between views of the
        same rows (:func:`personax.crl.blocks.info_nce`).  Alignment alone lets a modality
        code carry only part of what its measurements share (the rest rides in the
        unaligned exogenous heads); the contrastive term maximises the code's entropy so it
        carries all of it.  On the design family it lifted the weakest designs' modality
        block R² from 0.68-0.79 to 0.93-0.96 (``benchmarks/results/crl.csv``); ``0``
        restores the earlier alignment-only stage 1.
    rel_min_delta : float
        Staged: smallest *relative* validation improvement that resets early stopping.
    lr_patience : int
        Staged: epochs without improvement before the learning rate is halved.
    eta_ratio, eta_gap : float
        Staged: a single-measurement modality keeps an exogenous noise slot when its
        held-out reconstruction error without the slot exceeds the error with it by this
        ratio *and* this absolute gap (:meth:`personax.crl.blocks.BlockModel.eta_needed`).
    block_order : str
        Staged: ``"auto"`` fits every order of the modality blocks and keeps the one with
        the lowest validation NLL; ``"given"`` uses the views' order.
    s2_layers, s2_hidden, s2_terms : int
        Staged, stage 2: depth and width of the monotone conditional flows and the number
        of terms of each additive-noise mechanism.
    s2_lr, s2_batch_size, s2_max_epochs, s2_patience, s2_min_delta : float or int
        Staged, stage 2: optimiser and early-stopping settings of the likelihood fit.
    s2_sparsity : float
        Staged, stage 2: L1 weight on the edge strengths of the latent graph.
    s2_restarts : int
        Staged, stage 2: fits per block order (restarts after the first start from
        rotations of the ICA start); the lowest validation NLL is kept.  Default 1 at every
        profile: extra rotated starts reach lower validation NLL but lower MCC as often as
        not (the NLL differences between within-block solutions are a few hundredths of a
        nat; ``benchmarks/results/crl_ablation_restarts.csv``: mean MCC 0.916 with one start
        per order, 0.893 with three, 7 designs).
    s2_init : str
        Staged, stage 2: ``"ica"`` (FastICA on the shared-residualised codes; default),
        ``"identity"`` or ``"random"``.
    """

    estimator: str = "staged"
    eta_dim: int = 1
    hidden: tuple[int, ...] = (128, 64)
    shared_hidden: tuple[int, ...] = (128, 64)
    conv_channels: tuple[int, ...] = (16, 32)
    prior_hidden: int = 16
    flow: str = "elementwise"
    flow_layers: int = 5
    flow_hidden: int = 16
    order: str = "fixed"
    adjacency_init: float = 0.5
    alpha_rec: float = 1.0
    alpha_ind: float = 0.01
    alpha_sp: float = 0.001
    alpha_cons: float = 1.0
    alpha_dag: float = 1.0
    sparsity_scope: str = "cross_modal"
    edge_threshold: float = 0.15
    lr: float = 2e-3
    weight_decay: float = 0.0
    batch_size: int = 256
    max_epochs: int = 200
    patience: int = 20
    min_delta: float = 1e-4
    select_on: str = "loss"
    checkpoint_every: int = 10
    grad_clip: float = 10.0
    standardize: bool = True
    split_seed: int = 0
    align_weight: float = 10.0
    decorr_weight: float = 0.0
    contrast_weight: float = 1.0
    contrast_tau: float = 1.0
    rel_min_delta: float = 1e-3
    lr_patience: int = 8
    eta_ratio: float = 1.5
    eta_gap: float = 0.01
    block_order: str = "auto"
    s2_layers: int = 3
    s2_hidden: int = 32
    s2_terms: int = 4
    s2_lr: float = 5e-3
    s2_batch_size: int = 1024
    s2_max_epochs: int = 300
    s2_patience: int = 20
    s2_min_delta: float = 1e-3
    s2_sparsity: float = 0.02
    s2_restarts: int = 1
    s2_init: str = "ica"

    def __post_init__(self):
        self.hidden = tuple(int(h) for h in self.hidden)
        self.shared_hidden = tuple(int(h) for h in self.shared_hidden)
        self.conv_channels = tuple(int(h) for h in self.conv_channels)
        if self.estimator not in ("staged", "joint"):
            raise ValueError(f"estimator={self.estimator!r}: use 'staged' (the identifying two-stage estimator, "
                             "default) or 'joint' (the paper's single generative objective)")
        if self.s2_init not in ("ica", "identity", "random"):
            raise ValueError(f"s2_init={self.s2_init!r}: use 'ica', 'identity' or 'random'")
        if self.block_order not in ("auto", "given"):
            raise ValueError(f"block_order={self.block_order!r}: use 'auto' (chosen by held-out likelihood) or 'given'")
        if self.flow not in ("elementwise", "realnvp"):
            raise ValueError(f"flow={self.flow!r}: use 'elementwise' or 'realnvp'")
        if self.order not in ("fixed", "block", "learned"):
            raise ValueError(f"order={self.order!r}: use 'fixed', 'block' or 'learned'")
        if self.select_on not in ("loss", "rec"):
            raise ValueError(f"select_on={self.select_on!r}: use 'loss' or 'rec'")
        if self.sparsity_scope not in ("cross_modal", "all"):
            raise ValueError(f"sparsity_scope={self.sparsity_scope!r}: use 'cross_modal' or 'all'")
        for name in ("alpha_rec", "alpha_ind", "alpha_sp", "alpha_cons", "alpha_dag", "lr",
                     "weight_decay", "edge_threshold", "grad_clip", "min_delta", "align_weight", "decorr_weight", "contrast_weight",
                     "contrast_tau", "rel_min_delta", "eta_ratio", "eta_gap", "s2_lr", "s2_min_delta", "s2_sparsity"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("max_epochs", "patience", "checkpoint_every", "lr_patience", "s2_layers", "s2_hidden",
                     "s2_terms", "s2_max_epochs", "s2_patience", "s2_restarts"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size < 0 or self.eta_dim < 0:
            raise ValueError("batch_size and eta_dim must be >= 0")

    def to_dict(self) -> dict:
        """Plain-JSON dictionary of the configuration."""
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    def replace(self, **changes) -> "CRLConfig":
        """A copy with ``changes`` applied (unknown names raise ``TypeError``)."""
        known = {f.name for f in fields(self)}
        bad = set(changes) - known
        if bad:
            raise TypeError(f"unknown CRLConfig field(s) {sorted(bad)}; known: {sorted(known)}")
        d = asdict(self)
        d.update(changes)
        return CRLConfig(**d)


#: Settings of the paper's single generative objective (``estimator="joint"``) as used for
#: the synthetic benchmarks: the paper's synthetic loss weights for reconstruction and
#: independence (2, 0.01), L1 over every edge with weight 0.0005 (the whole graph is
#: scored), lr 1e-3, the previous release's budget and stopping rule.
JOINT_CONFIG = {"estimator": "joint", "alpha_rec": 2.0, "alpha_ind": 0.01, "alpha_sp": 0.0005,
                "sparsity_scope": "all", "lr": 1e-3, "patience": 25, "edge_threshold": 0.1}


def paper_synthetic_weights() -> dict:
    """Loss weights of the paper's synthetic experiment (alpha_rec 2, alpha_ind 0.01, alpha_sp 0.001)."""
    return {"alpha_rec": 2.0, "alpha_ind": 0.01, "alpha_sp": 0.001}


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


def _mlp(sizes: Sequence[int], act: type[nn.Module]) -> nn.Sequential:
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
        self.head = _mlp([c * h * w, *hidden, out_dim], nn.ELU)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(x).flatten(1))


class MeasurementEncoder(nn.Module):
    """Encoder of one measurement: ``x -> (z, eta)``, batch-standardised outputs."""

    def __init__(self, shape: tuple[int, ...], z_dim: int, eta_dim: int, cfg: CRLConfig):
        super().__init__()
        self.z_dim, self.eta_dim = z_dim, eta_dim
        out = z_dim + eta_dim
        if len(shape) == 1:
            self.net = _mlp([shape[0], *cfg.hidden, out], nn.ELU)
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
        self.net = _mlp([in_dim, *reversed(cfg.hidden), int(np.prod(shape))],
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
                self.shared.append(nn.Sequential(_mlp([total_in, *cfg.shared_hidden, layout.n_shared], nn.ELU),
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
