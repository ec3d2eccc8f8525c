"""Recovery of the planted latents and DAG on the synthetic sample (Level II on PersonaX).

:func:`evaluate_recovery` scores learned latents against ``ds.truth``: per-block MCC and R²
(:mod:`personax.crl.metrics`, out of sample when rows are given), the matching of learned to
planted latents (:func:`match_to_truth`, the metrics' one matcher applied block by block),
and the PC graph's scores against the planted DAG (:func:`personax.crl.metrics.compare_graphs`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from personax.crl import metrics
from personax.crl.graph import BLOCKS, align_latents, edges_to_adjacency, latent_block
from personax.crl.metrics import GraphScores, compare_graphs
from personax.crl.persona_fit import latent_columns
from personax.utils import DictStyleAccess

__all__ = ["Recovery", "evaluate_recovery", "match_to_truth"]


@dataclass
class Recovery(DictStyleAccess):
    """What :func:`evaluate_recovery` measured.

    Attributes
    ----------
    blocks : DataFrame
        One row per block: ``block``, ``n_latents``, ``mcc``, ``r2``, ``n_rows``.
    matching : DataFrame
        ``planted``, ``learned``, ``block``, ``abs_spearman`` (chosen on the fit rows).
    mapping : dict
        Learned latent name → matched planted name.
    graph : GraphScores or None
        The PC graph against the planted DAG, after renaming (``shd_cpdag`` is the CPDAG SHD).
    graph_stable : GraphScores or None
        The same for the stable-edge graph.
    """

    blocks: pd.DataFrame
    matching: pd.DataFrame
    mapping: dict
    graph: GraphScores | None = None
    graph_stable: GraphScores | None = None

    def to_dict(self) -> dict:
        return {"blocks": self.blocks.to_dict("records"), "matching": self.matching.to_dict("records"),
                "mapping": dict(self.mapping), "graph": None if self.graph is None else self.graph.to_dict(),
                "graph_stable": None if self.graph_stable is None else self.graph_stable.to_dict()}


def match_to_truth(latents_df: pd.DataFrame, truth_latents: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rename learned latents to their best-matching planted latents, block by block.

    :func:`personax.crl.graph_stability.align_latents` with the planted latents as reference
    (:func:`personax.crl.metrics.match` on |Spearman|, block by block).  Needed before comparing graphs, because
    latent indices are arbitrary within a block.

    Returns
    -------
    renamed : DataFrame
        Learned latents carrying the planted names.
    matching : DataFrame
        ``reference`` (planted), ``other`` (learned), ``block``, ``abs_spearman``.
    """
    truth = truth_latents.reset_index(drop=True)
    lat = latents_df.reset_index(drop=True)
    renamed, matching = align_latents(truth, lat)
    renamed.index = latents_df.index
    return renamed, matching.rename(columns={"reference": "planted", "other": "learned"})


def _block_metric_scores(lat: pd.DataFrame, truth: pd.DataFrame, fit_rows: np.ndarray | None,
                         eval_rows: np.ndarray | None, seed: int) -> pd.DataFrame:
    """Per-block MCC and R² (``personax.crl.metrics``), out of sample when rows are given."""
    out = []
    for block in BLOCKS:
        tc = [c for c in truth.columns if latent_block(c) == block]
        lc = [c for c in lat.columns if latent_block(c) == block]
        if not tc or not lc:
            continue
        Z, Zh = truth[tc], lat[lc]
        if fit_rows is not None and eval_rows is not None:
            mcc = metrics.mcc(Zh.iloc[eval_rows], Z.iloc[eval_rows], fit_on=(Zh.iloc[fit_rows], Z.iloc[fit_rows]))
            r2 = metrics.r2(Zh.iloc[fit_rows], Z.iloc[fit_rows], z_hat_eval=Zh.iloc[eval_rows],
                            z_true_eval=Z.iloc[eval_rows], seed=seed)
            n_rows = len(eval_rows)
        else:
            mcc = metrics.mcc(Zh, Z)
            r2 = metrics.r2(Zh, Z, seed=seed)
            n_rows = len(Z)
        out.append({"block": block, "n_latents": len(tc), "mcc": float(mcc.score), "r2": float(r2.score),
                    "n_rows": int(n_rows)})
    return pd.DataFrame(out, columns=["block", "n_latents", "mcc", "r2", "n_rows"])


def evaluate_recovery(latents_df: pd.DataFrame, truth, *, graph_adjacency: pd.DataFrame | None = None,
                      fit_rows: np.ndarray | None = None, eval_rows: np.ndarray | None = None,
                      seed: int = 0, stable_edges: pd.DataFrame | None = None) -> Recovery:
    """Recovery of the planted latents and DAG on the synthetic sample.

    Parameters
    ----------
    latents_df : DataFrame
        Learned latents, rows aligned with ``truth.latents`` (same order).
    truth : personax.data.PlantedTruth
        ``ds.truth`` (``None`` on real data: raises, because there is nothing to score).
    graph_adjacency : DataFrame, optional
        0/1 adjacency of the PC graph over the learned latents (learned names).
    fit_rows, eval_rows : array of int, optional
        Row positions (e.g. the CRL fit's train and test splits).  When both are given the
        MCC matching and the R² regressor are chosen on ``fit_rows`` and scored on
        ``eval_rows`` (out of sample); otherwise MCC is in-sample and R² uses a random
        split of all rows (``personax.crl.metrics.r2`` default).
    seed : int
        Seeds the R² regressor's split / cross-validation.
    stable_edges : DataFrame, optional
        An edge table over the learned latents (e.g. :func:`~personax.crl.graph.stable_edges`),
        scored like ``graph_adjacency``.

    Returns
    -------
    Recovery
        ``blocks`` (block, n_latents, mcc, r2, n_rows); ``matching`` (planted, learned,
        block, abs_spearman), chosen on ``fit_rows`` when given; ``mapping``; ``graph``:
        :func:`~personax.crl.metrics.compare_graphs` against the planted DAG after renaming
        learned latents to their matched planted names (only with ``graph_adjacency``);
        ``graph_stable``: the same for ``stable_edges``.
    """
    if truth is None:
        raise ValueError("this dataset has no planted truth (real data): recovery cannot be scored; "
                         "use the synthetic sample (source='sample')")
    T = truth.latents.reset_index(drop=True)
    L = latents_df.reset_index(drop=True)[latent_columns(latents_df)]
    if len(T) != len(L):
        raise ValueError(f"learned latents have {len(L)} rows and planted latents {len(T)}: pass every person")
    for block in BLOCKS:
        nt = sum(latent_block(c) == block for c in T.columns)
        nl = sum(latent_block(c) == block for c in L.columns)
        if nt != nl:
            raise ValueError(f"block {block!r}: {nl} learned latents vs {nt} planted; fit with the planted layout")
    fit_rows = None if fit_rows is None else np.asarray(fit_rows, dtype=int)
    eval_rows = None if eval_rows is None else np.asarray(eval_rows, dtype=int)
    mrows = fit_rows if fit_rows is not None else np.arange(len(T))
    _, matching = match_to_truth(L.iloc[mrows], T.iloc[mrows])
    mapping = dict(zip(matching["learned"], matching["planted"]))
    out = Recovery(blocks=_block_metric_scores(L, T, fit_rows, eval_rows, seed), matching=matching, mapping=mapping)
    if graph_adjacency is not None:
        A = graph_adjacency.rename(index=mapping, columns=mapping)
        out.graph = compare_graphs(A, truth.dag.loc[list(A.index), list(A.index)])
    if stable_edges is not None:
        A = edges_to_adjacency(stable_edges, list(L.columns)).rename(index=mapping, columns=mapping)
        out.graph_stable = compare_graphs(A, truth.dag.loc[list(A.index), list(A.index)])
    return out
