"""Level II: multimodal, multi-measurement causal representation learning (CRL).

Public API::

    from personax import crl
    fit = crl.fit(views, latent_dims={"face": 10, "text": 5}, n_shared=3, seed=0)
    fit.encode(views)   # DataFrame S1.., Z1_1.., Z2_1..
    fit.adjacency       # learned weighted adjacency, adjacency.loc[parent, child]
    fit.history, fit.record, fit.split
    crl.metrics.mcc(z_hat, z_true), crl.metrics.r2(...), crl.metrics.graph_scores(...)

Modules: ``model`` (network, prior, loss, :class:`CRLConfig`), ``flow`` (normalizing
flows), ``train`` (``fit``, ``fit_seeds``, checkpoints, run records), ``metrics`` (MCC,
R², block scores, SHD), ``baselines`` (β-VAE, multimodal contrastive, MMCRL-style),
``synthetic`` (benchmarks with known truth), ``cli`` (``personax crl ...``).
The real-world pipeline (``graph``, ``realworld``) lives in its own modules.
"""

from __future__ import annotations

from personax.crl import metrics
from personax.crl.model import CRLConfig, LatentLayout, paper_synthetic_weights
from personax.crl.train import PROFILES, CRLFit, fit, fit_seeds, make_split

__all__ = ["fit", "fit_seeds", "CRLFit", "CRLConfig", "LatentLayout", "PROFILES", "make_split",
           "paper_synthetic_weights", "metrics"]
