"""Minibatching shared by the CRL trainers: seeded epochs, exact BatchNorm statistics, row-weighted terms."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

__all__ = ["batches", "refresh_batchnorm", "weighted_terms"]


def batches(n: int, batch_size: int, gen: torch.Generator) -> list[torch.Tensor]:
    """One epoch's shuffled minibatch indices (``gen`` seeds the order; 0 / None = one batch)."""
    perm = torch.randperm(n, generator=gen)
    bs = n if batch_size in (0, None) or batch_size >= n else batch_size
    out = [perm[i:i + bs] for i in range(0, n, bs)]
    if len(out) > 1 and len(out[-1]) < 2:  # BatchNorm needs two rows; reshuffled next epoch
        out = out[:-1]
    return out


@torch.no_grad()
def refresh_batchnorm(module: nn.Module, run: Callable[[list], object], xs: list, batch_size: int) -> None:
    """Recompute BatchNorm running statistics as exact averages over the given rows."""
    bns = [m for m in module.modules() if isinstance(m, nn.BatchNorm1d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    module.train()
    n = xs[0].shape[0]
    bs = n if not batch_size else max(batch_size, 256)
    for start in range(0, n, bs):
        if n - start < 2:
            break
        run([x[start:start + bs] for x in xs])
    for bn in bns:
        bn.momentum = 0.1
    module.eval()


@torch.no_grad()
def weighted_terms(run: Callable[[list], dict], xs: list, batch: int = 4096) -> dict:
    """Row-weighted mean of each term ``run(part)`` returns, over batches of ``xs`` (no gradients)."""
    n = xs[0].shape[0]
    tot: dict[str, float] = {}
    for start in range(0, n, batch):
        part = [x[start:start + batch] for x in xs]
        out = run(part)
        w = part[0].shape[0] / n
        for k, v in out.items():
            tot[k] = tot.get(k, 0.0) + float(v) * w
    return tot
