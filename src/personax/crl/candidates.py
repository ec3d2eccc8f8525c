"""Stage-2 candidates of the staged estimator: their starts, their names and the rule that picks one.

Stage 2 (:mod:`personax.crl.staged`) fits one candidate per block order, restart and L1
weight.  This module holds what those fits share:

* the starts: :func:`ica_init` (FastICA of each block's shared-residualised code) and
  :func:`rotate_init` (random rotations, for restarts);
* :func:`candidate_orders` and :func:`candidate_name` (``components:<order>:<restart>``,
  ``:sp<weight>`` for an alternative L1 weight);
* the truth-free selection rule :func:`selection_criterion` and :func:`edge_count`, the
  number of graph edges it penalises.
"""

from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np
import torch

from personax.crl.components import ComponentModel

__all__ = ["ica_init", "rotate_init", "candidate_orders", "candidate_name", "selection_criterion", "bic_penalty",
           "causal_weights", "edge_count"]


def ica_init(comp: ComponentModel, s: np.ndarray, codes: Sequence[np.ndarray], seed: int = 0) -> None:
    """Start each block's linear layer at the FastICA unmixing of its code (linear ``s`` part removed).

    The components of a block are independent given the other blocks; with non-Gaussian
    noises the linear ICA of the code is already close to them, which puts the likelihood
    search in the right basin (measured on the design family: random or identity starts
    often stop in a rotated local optimum of *higher* held-out NLL).  With Gaussian noises
    ICA returns an arbitrary rotation, no worse than any other start.
    """
    import warnings

    from sklearn.decomposition import FastICA
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    S = np.concatenate([s, np.ones((len(s), 1))], 1)
    n_causal = [int(sum(f)) for f in _split_flags(comp)]
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for b, (flow, c) in enumerate(zip(comp.flows, codes)):
            if flow.linear is None:
                continue
            resid = c - S @ np.linalg.lstsq(S, c, rcond=None)[0]
            ica = FastICA(c.shape[1], whiten="unit-variance", random_state=seed, max_iter=2000).fit(resid)
            W = np.asarray(ica.components_, dtype=np.float64)
            if not (np.all(np.isfinite(W)) and abs(np.linalg.det(W)) > 1e-8):
                continue
            if n_causal[b] < c.shape[1]:
                # a block with exogenous-noise slots (single measurement with its own noise): the
                # components least dependent on the other blocks go to the noise slots, which
                # have no edges; the others keep their causal slots
                others = np.concatenate([codes[j] for j in range(len(codes)) if j != b] + [s], 1)
                dep = [_hsic(resid @ w, others, seed) for w in W]
                W = W[np.argsort(dep)[::-1]]
            with torch.no_grad():
                flow.linear.copy_(torch.as_tensor(W, dtype=flow.linear.dtype))


def rotate_init(comp: ComponentModel, rng: np.random.Generator) -> None:
    """Compose each block's linear layer with a random rotation (diversifies restarts)."""
    with torch.no_grad():
        for flow in comp.flows:
            if flow.linear is None or flow.linear.shape[0] < 2:
                continue
            q, r = np.linalg.qr(rng.standard_normal(tuple(flow.linear.shape)))
            q = q * np.sign(np.diag(r))
            flow.linear.copy_(torch.as_tensor(q, dtype=flow.linear.dtype) @ flow.linear)


def _split_flags(comp: ComponentModel) -> list[list[bool]]:
    """Per block, which coordinates may carry edges (False = exogenous-noise slot)."""
    mask = comp.prior.mask.cpu().numpy().astype(bool)
    causal = mask.any(0) | mask.any(1)
    out, start = [], 0
    for sz in comp.slots:
        out.append(list(causal[start:start + sz]) if causal.any() else [True] * sz)
        start += sz
    return out


def _hsic(u: np.ndarray, v: np.ndarray, seed: int = 0, rows: int = 1000) -> float:
    """Normalised biased HSIC of ``u`` (1-d) and ``v`` with Gaussian kernels (median widths), on a subsample."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(u), min(rows, len(u)), replace=False)
    a, b = u[idx].reshape(len(idx), -1), v[idx].reshape(len(idx), -1)

    def gram(x):
        d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
        med = np.median(d[d > 0]) if np.any(d > 0) else 1.0
        k = np.exp(-d / med)
        h = np.eye(len(x)) - 1.0 / len(x)
        return h @ k @ h

    ka, kb = gram(a), gram(b)
    return float((ka * kb).sum() / np.sqrt((ka * ka).sum() * (kb * kb).sum()))


def candidate_orders(n_modalities: int, mode: str) -> list[tuple[int, ...]]:
    """Block orders tried by stage 2: every permutation (``"auto"``) or the given one."""
    if mode == "given" or n_modalities < 2:
        return [tuple(range(n_modalities))]
    return list(itertools.permutations(range(n_modalities)))


def candidate_name(order: Sequence[int], restart: int, weight: float | None = None) -> str:
    """``components:<order>:<restart>``, with ``:sp<weight>`` for a fit at an alternative L1 weight."""
    name = f"components:{'>'.join(map(str, order))}:{restart}"
    return name if weight is None else f"{name}:sp{weight:g}"


def selection_criterion(val_nll: float, edges: int, n_val: int, rule: str = "bic") -> float:
    """Score a stage-2 candidate is selected by (lower is better), computed without the truth.

    ``"bic"``: held-out NLL per row plus the BIC penalty of the graph's edges,
    ``edges · log(n_val) / (2 n_val)``; ``"nll"``: the held-out NLL alone.

    Examples
    --------
    >>> round(selection_criterion(5.0, 3, 400), 4)
    5.0225
    >>> selection_criterion(5.0, 3, 400, "nll")
    5.0
    """
    if rule == "nll":
        return float(val_nll)
    if rule != "bic":
        raise ValueError(f"rule={rule!r}: use 'bic' or 'nll'")
    return float(val_nll) + float(bic_penalty(int(edges), n_val))


def bic_penalty(edges, n_val):
    """BIC penalty per row of ``edges`` graph edges on ``n_val`` rows, ``edges · log(n_val) / (2 n_val)``.

    Works elementwise on arrays and Series (the rule replays of :mod:`personax.crl.selection_rules`).
    """
    return edges * np.log(n_val) / (2.0 * n_val)


def causal_weights(comp: ComponentModel, causal_flags: Sequence[bool]) -> np.ndarray:
    """Edge weights of a stage-2 prior over its causal slots (exogenous-noise slots dropped), float64."""
    W = comp.prior.weights().detach().cpu().numpy().astype(np.float64)
    keep = np.asarray(causal_flags, dtype=bool)
    return W[np.ix_(keep, keep)]


def edge_count(comp: ComponentModel, causal_flags: Sequence[bool], threshold: float) -> int:
    """Edges of a candidate's latent graph above ``threshold`` (the edges of the fit's ``adjacency``)."""
    return int((np.abs(causal_weights(comp, causal_flags)) > threshold).sum())
