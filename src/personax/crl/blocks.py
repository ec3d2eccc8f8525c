"""Stage 1 of the identifying estimator: block codes by alignment and reconstruction.

Every measurement ``x_m^(k)`` gets an encoder with three heads (batch-standardised, so no
code can shrink to a constant)::

    x_m^(k)  ->  ( s_mk , c_mk , eta_mk )      dims  n_shared , d_m , eta_dim

and a decoder ``(s, c_m, eta_mk) -> x_m^(k)`` where ``s = mean of s_mk over every
measurement of every modality`` and ``c_m = mean_k c_mk``.  The loss is

    sum_mk MSE(x_m^(k))  +  align_weight * ( sum_mk |s_mk - s|^2 + sum_mk |c_mk - c_m|^2 )
                         +  contrast_weight * ( sum_m sum_k<k' NCE([s,c]_mk, [s,c]_mk')
                                                + sum_m<m' NCE(s_m, s_m') )
                         +  decorr_weight * sum_mk corr^2(eta_mk, [s, c_m, eta_mk'])

Why this identifies blocks (multi-view arguments of von Kügelgen et al., 2021; Daunhawer
et al., 2023; Yao et al., 2024): aligned heads can only carry what their views have in
common, the contrastive (InfoNCE) term makes them carry *all* of it (its uniformity part
maximises the aligned code's entropy; without it a code that keeps only part of the
common content, the rest riding in the unaligned ``eta`` heads, costs nothing), and
reconstruction makes the joint code invertible.  ``s`` is aligned across
*modalities*, so it is a function of the shared latents only, and it must carry all of
them (the ``c_m`` heads are too narrow to).  ``(s, c_m)`` is aligned across the
measurements of modality ``m``, so for ``K_m >= 2`` it is an invertible function of
``(s, z_m)``: the measurement noises ``eta_mk`` are left to their own heads.

A modality with a **single** measurement has nothing to align ``c_m`` with, so
``(s, c_m, eta_m)`` together encode ``(s, z_m, eta_m)``.  Whether that modality has an
exogenous noise of its own is decided from the data: it has a second decoder that sees
``(s, c_m)`` only; when that decoder reconstructs the held-out rows as well as the full one
(:meth:`BlockModel.eta_needed`), ``c_m`` already holds everything and the ``eta`` head is
dropped; otherwise stage 2 receives ``(c_m, eta_m)`` and separates them.

Stage 2 (:mod:`personax.crl.components`) then finds the components inside each block.
"""

from __future__ import annotations

import itertools
import math
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from personax.crl.model import ConvEncoder, mlp


class HeadEncoder(nn.Module):
    """Encoder of one measurement to ``(s, c, eta)`` with batch-standardised outputs."""

    def __init__(self, shape: tuple[int, ...], n_shared: int, dim: int, eta_dim: int, hidden: Sequence[int],
                 conv_channels: Sequence[int]):
        super().__init__()
        self.sizes = (n_shared, dim, eta_dim)
        out = n_shared + dim + eta_dim
        if len(shape) == 1:
            self.net = mlp([shape[0], *hidden, out], nn.ELU)
        elif len(shape) == 3:
            self.net = ConvEncoder(shape, out, conv_channels, hidden[-1:])
        else:
            raise ValueError(f"measurement shape {shape} not supported: use (d,) vectors or (C, H, W) images")
        self.norm = nn.BatchNorm1d(out, affine=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.norm(self.net(x))
        a, b, _ = self.sizes
        return h[:, :a], h[:, a:a + b], h[:, a + b:]


class BlockModel(nn.Module):
    """Stage-1 network: per-measurement encoders and decoders, aligned shared/modality heads.

    Parameters
    ----------
    shapes : mapping modality -> list of per-measurement shapes
    dims : sequence of int
        Latent dimension of each modality (in the order of ``shapes``).
    n_shared : int
    eta_dim : int
        Exogenous head width per measurement.
    hidden, conv_channels : sequences of int
        Encoder widths (decoders mirror them) and conv channels for image inputs.
    """

    def __init__(self, shapes: Mapping[str, Sequence[tuple[int, ...]]], dims: Sequence[int], n_shared: int,
                 eta_dim: int, hidden: Sequence[int] = (128, 64), conv_channels: Sequence[int] = (16, 32)):
        super().__init__()
        self.modalities = list(shapes)
        self.dims = [int(d) for d in dims]
        self.n_shared, self.eta_dim = int(n_shared), int(eta_dim)
        self.index: list[tuple[int, int]] = []
        self.encoders, self.decoders = nn.ModuleList(), nn.ModuleList()
        self.single = [len(shapes[m]) == 1 for m in self.modalities]
        # decoders without the eta head, for single-measurement modalities (keyed by encoder index)
        self.plain = nn.ModuleDict()
        for mi, m in enumerate(self.modalities):
            for k, shape in enumerate(shapes[m]):
                shape = tuple(shape)
                j = len(self.index)
                self.index.append((mi, k))
                self.encoders.append(HeadEncoder(shape, self.n_shared, self.dims[mi], self.eta_dim, hidden,
                                                 conv_channels))
                self.decoders.append(_Dec(self.n_shared + self.dims[mi] + self.eta_dim, shape, hidden))
                if self.single[mi] and self.eta_dim > 0:
                    self.plain[str(j)] = _Dec(self.n_shared + self.dims[mi], shape, hidden)

    def encode(self, xs: Sequence[torch.Tensor]) -> dict:
        """Heads of every measurement and their aligned means ``s`` and ``c[m]``."""
        s_all, c_all, etas = [], [[] for _ in self.modalities], []
        for enc, x, (mi, _) in zip(self.encoders, xs, self.index):
            s, c, e = enc(x)
            s_all.append(s)
            c_all[mi].append(c)
            etas.append(e)
        s = torch.stack(s_all).mean(0)
        c = [torch.stack(v).mean(0) for v in c_all]
        return {"s": s, "c": c, "eta": etas, "s_heads": s_all, "c_heads": c_all}

    def forward(self, xs: Sequence[torch.Tensor], align_weight: float, decorr_weight: float = 0.0,
                contrast_weight: float = 0.0, contrast_tau: float = 1.0) -> dict:
        """Loss terms: ``rec`` (sum over measurements, plus the plain decoders), ``align``, ``decorr``,
        ``contrast``, ``loss``.

        ``contrast`` is a symmetric InfoNCE between views of the same rows (Oord et al., 2018;
        von Kügelgen et al., 2021; Daunhawer et al., 2023): for every pair of measurements of a
        modality, their ``(s_mk, c_mk)`` heads; for every pair of modalities, their mean shared
        heads.  Alignment alone is satisfied by a code that carries only *part* of what the views
        share (the rest can ride in the unaligned ``eta`` heads, which reconstruction allows);
        the contrastive term's uniformity part maximises the entropy of the aligned code, so it
        must carry *all* of the shared content (the content-identification argument).

        ``decorr`` is the mean squared correlation of every ``eta`` head with the shared code,
        with its modality's code and with the other measurements' ``eta`` heads of the same
        modality.  The model's ``eta_mk`` is exogenous (independent of ``s``, ``z_m`` and the
        other measurements), so the term costs the true solution nothing; it stops the
        optimiser from parking modality content in the unaligned ``eta`` heads, which
        reconstruction alone allows.
        """
        enc = self.encode(xs)
        s, c = enc["s"], enc["c"]
        rec = xs[0].new_zeros(())
        plain = xs[0].new_zeros(())
        for j, (dec, x, (mi, _)) in enumerate(zip(self.decoders, xs, self.index)):
            rec = rec + torch.mean((dec(torch.cat([s, c[mi], enc["eta"][j]], 1)) - x) ** 2)
            if str(j) in self.plain:
                plain = plain + torch.mean((self.plain[str(j)](torch.cat([s, c[mi]], 1)) - x) ** 2)
        align = xs[0].new_zeros(())
        for sh in enc["s_heads"]:
            align = align + torch.mean((sh - s) ** 2)
        for mi, heads in enumerate(enc["c_heads"]):
            if len(heads) > 1:
                for ch in heads:
                    align = align + torch.mean((ch - c[mi]) ** 2)
        decorr = xs[0].new_zeros(())
        if decorr_weight > 0 and self.eta_dim > 0:
            for j, (mi, _) in enumerate(self.index):
                e = enc["eta"][j]
                others = [s, c[mi]] + [enc["eta"][i] for i, (mj, _) in enumerate(self.index) if mj == mi and i != j]
                decorr = decorr + sum(_sq_corr(e, o) for o in others)
        contrast = xs[0].new_zeros(())
        if contrast_weight > 0:
            s_by_mod = [[enc["s_heads"][j] for j, (mj, _) in enumerate(self.index) if mj == mi]
                        for mi in range(len(self.modalities))]
            for s_heads, c_heads in zip(s_by_mod, enc["c_heads"]):
                own = [torch.cat([sh, ch], 1) for sh, ch in zip(s_heads, c_heads)]
                for u, v in itertools.combinations(own, 2):
                    contrast = contrast + info_nce(u, v, contrast_tau)
            if self.n_shared > 0:
                for u, v in itertools.combinations([torch.stack(h).mean(0) for h in s_by_mod], 2):
                    contrast = contrast + info_nce(u, v, contrast_tau)
        loss = rec + plain + align_weight * align + decorr_weight * decorr + contrast_weight * contrast
        return {"loss": loss, "rec": rec, "plain": plain, "align": align, "decorr": decorr, "contrast": contrast}

    @torch.no_grad()
    def eta_needed(self, xs: Sequence[torch.Tensor], ratio: float = 1.5, gap: float = 0.01) -> dict[int, dict]:
        """For each single-measurement modality: does it need its own exogenous noise head?

        Compares the held-out reconstruction MSE of the full decoder (``s, c, eta``) with the
        plain one (``s, c``): the head is needed when ``plain > ratio * full`` and
        ``plain - full > gap`` (per standardised feature).  Returns
        ``{modality index: {"needed", "mse_full", "mse_plain"}}``.
        """
        self.eval()
        enc = self.encode(xs)
        out = {}
        for j, (mi, _) in enumerate(self.index):
            if str(j) not in self.plain:
                continue
            x = xs[j]
            full = float(torch.mean((self.decoders[j](torch.cat([enc["s"], enc["c"][mi], enc["eta"][j]], 1)) - x) ** 2))
            plain = float(torch.mean((self.plain[str(j)](torch.cat([enc["s"], enc["c"][mi]], 1)) - x) ** 2))
            out[mi] = {"needed": bool(plain > ratio * full and plain - full > gap), "mse_full": full,
                       "mse_plain": plain}
        return out


def info_nce(a: torch.Tensor, b: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """Symmetric InfoNCE of paired rows ``a[i] <-> b[i]`` with similarity ``-|a_i - b_j|^2 / tau``.

    Reported minus ``log B`` (the cross-entropy of a uniform guess), so that its scale does
    not drift with the batch size ``B``; telling every row apart perfectly scores ``-log B``.
    """
    n = a.shape[0]
    logits = -torch.cdist(a, b).pow(2) / tau
    target = torch.arange(n, device=a.device)
    ce = 0.5 * (nn.functional.cross_entropy(logits, target) + nn.functional.cross_entropy(logits.T, target))
    return ce - math.log(n)


def _sq_corr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared Pearson correlation between the columns of ``a`` and of ``b`` (batch estimates)."""
    a = (a - a.mean(0)) / (a.std(0, unbiased=False) + 1e-6)
    b = (b - b.mean(0)) / (b.std(0, unbiased=False) + 1e-6)
    return ((a.T @ b) / a.shape[0]).pow(2).mean()


class _Dec(nn.Module):
    """MLP decoder to a vector or an image shape (mirrors the encoder widths)."""

    def __init__(self, in_dim: int, shape: tuple[int, ...], hidden: Sequence[int]):
        super().__init__()
        self.shape = tuple(shape)
        self.net = mlp([in_dim, *reversed(list(hidden)), int(np.prod(shape))], lambda: nn.LeakyReLU(0.01))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h).view(h.shape[0], *self.shape)


__all__ = ["BlockModel", "HeadEncoder", "info_nce"]
