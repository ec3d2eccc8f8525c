"""Honest scores for learned latents on a benchmark with known truth, with their reference points.

Every number is computed on the benchmark's **test rows**; every choice (the Hungarian
matching, the regressors behind R²) is fitted on the **training rows**.  Beside each
score stand the reference points that give it meaning, computed on the same data and
split:

* ``ref_mcc_rotation`` — MCC of a uniformly random rotation of the *true* latents
  (median over draws): what "the right subspace, no disentanglement" scores;
* ``ref_mcc_pca`` / ``ref_mcc_ica`` — MCC of PCA / FastICA of the concatenated
  measurements (as many components as latents);
* ``shd_empty`` — the SHD of the empty graph (= the number of true edges).

:func:`score` returns the overall MCC (Pearson, Spearman, in-sample), per-block MCC
(``mcc_<block>``: mean matched correlation over the block's true latents), kernel-ridge
and linear R², block R² (``r2_<true>_from_<learned>``; the diagonal ``r2_block_<b>`` and
the worst off-diagonal ``r2_leak_<b>``, e.g. how well the shared latent is predicted from
the learned modality-2 block), and graph scores (``shd``, ``skeleton_shd``,
``edge_precision``, ``edge_recall``).  Where a design records a canonical target (latents
that can only be recovered as their exogenous noise), ``mcc_canonical`` scores against it.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from personax.crl import metrics


def _blocks_of(names: Sequence[str], true_blocks: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Learned blocks named like the true ones (``S*`` shared, ``Z<m>_*`` modality ``m``)."""
    out = {"shared": [c for c in names if str(c).startswith("S")]}
    for i, b in enumerate([b for b in true_blocks if b != "shared"]):
        out[b] = [c for c in names if str(c).startswith(f"Z{i + 1}_")]
    return out


def random_rotation_mcc(z_true: pd.DataFrame, split: Mapping[str, np.ndarray], draws: int = 50,
                        seed: int = 0) -> float:
    """Median out-of-sample MCC of random rotations of the true latents (Haar-distributed)."""
    rng = np.random.default_rng(seed)
    tr, te = split["train"], split["test"]
    z = z_true.to_numpy(dtype=float)
    vals = []
    for _ in range(draws):
        q, r = np.linalg.qr(rng.standard_normal((z.shape[1], z.shape[1])))
        q = q * np.sign(np.diag(r))
        zr = z @ q
        vals.append(metrics.mcc(zr[te], z[te], fit_on=(zr[tr], z[tr])).score)
    return float(np.median(vals))


def linear_baselines(views: Mapping[str, Sequence[np.ndarray]], z_true: pd.DataFrame,
                     split: Mapping[str, np.ndarray], seed: int = 0) -> dict[str, float]:
    """Out-of-sample MCC of PCA and FastICA of the standardised, concatenated measurements."""
    from sklearn.decomposition import PCA, FastICA
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _linear_baselines(views, z_true, split, seed, PCA, FastICA)


def _linear_baselines(views, z_true, split, seed, PCA, FastICA) -> dict[str, float]:
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    tr, te = split["train"], split["test"]
    X = np.concatenate([np.asarray(a, dtype=float).reshape(len(a), -1) for m in views for a in views[m]], 1)
    mu, sd = X[tr].mean(0), X[tr].std(0)
    X = (X - mu) / np.where(sd > 1e-12, sd, 1.0)
    k = z_true.shape[1]
    z = z_true.to_numpy(dtype=float)
    out = {}
    pca = PCA(k, random_state=seed).fit(X[tr])
    zp = pca.transform(X)
    out["ref_mcc_pca"] = metrics.mcc(zp[te], z[te], fit_on=(zp[tr], z[tr])).score
    with warnings.catch_warnings():  # a non-converged ICA is still a valid reference point; say so in the key
        warnings.simplefilter("error", ConvergenceWarning)
        try:
            ica = FastICA(k, random_state=seed, max_iter=1000, whiten="unit-variance").fit(X[tr])
        except ConvergenceWarning:
            warnings.simplefilter("ignore", ConvergenceWarning)
            ica = FastICA(k, random_state=seed, max_iter=1000, whiten="unit-variance").fit(X[tr])
            out["ica_converged"] = False
    zi = ica.transform(X)
    out["ref_mcc_ica"] = metrics.mcc(zi[te], z[te], fit_on=(zi[tr], z[tr])).score
    return out


def reference_points(bench, split: Mapping[str, np.ndarray], seed: int = 0, draws: int = 50) -> dict[str, float]:
    """``ref_mcc_rotation``, ``ref_mcc_pca``, ``ref_mcc_ica`` and ``shd_empty`` for a benchmark and split."""
    out = {"ref_mcc_rotation": random_rotation_mcc(bench.latents, split, draws, seed)}
    out.update(linear_baselines(bench.views, bench.latents, split, seed))
    out["shd_empty"] = int(np.asarray(bench.dag).astype(bool).sum())
    return out


def score(z: pd.DataFrame, bench, split: Mapping[str, np.ndarray], adjacency: pd.DataFrame | None = None,
          threshold: float = 0.1, seed: int = 0, block_r2: bool = True) -> dict:
    """Score learned latents (and graph) on the test rows; see the module docstring for the keys.

    Parameters
    ----------
    z : DataFrame
        Learned latents for **every** row of the benchmark (columns ``S.., Z1_.., Z2_..``).
    bench : Benchmark
    split : dict
        ``train`` / ``test`` row indices (``val`` is not used).
    adjacency : DataFrame, optional
        Learned weighted adjacency (row = parent, column = child) over ``z``'s columns.
    threshold : float
        ``|weight|`` above which a learned entry is an edge.
    block_r2 : bool
        Also compute the block R² table (kernel ridge per pair of blocks; a few seconds).
    """
    tr, te = split["train"], split["test"]
    truth = bench.latents
    zt, tt = z.iloc[te], truth.iloc[te]
    fit_on = (z.iloc[tr], truth.iloc[tr])
    m = metrics.mcc(zt, tt, "pearson", fit_on=fit_on)
    out = {"mcc": m.score,
           "mcc_spearman": metrics.mcc(zt, tt, "spearman", fit_on=fit_on).score,
           "mcc_in_sample": metrics.mcc(zt, tt, "pearson").score}
    blocks = bench.blocks
    for b, cols in blocks.items():
        if cols:
            out[f"mcc_{b}"] = float(np.mean([m.per_dim[c] for c in cols]))
    out["r2"] = metrics.r2(z.iloc[tr], truth.iloc[tr], "kernel", z_hat_eval=zt, z_true_eval=tt, seed=seed).score
    out["r2_linear"] = metrics.r2(z.iloc[tr], truth.iloc[tr], "linear", z_hat_eval=zt, z_true_eval=tt).score
    canon = bench.info.get("canonical") if isinstance(bench.info, dict) else None
    if canon is not None:
        out["mcc_canonical"] = metrics.mcc(zt, canon.iloc[te], fit_on=(z.iloc[tr], canon.iloc[tr])).score
    if block_r2:
        learned = _blocks_of(list(z.columns), blocks)
        for tb, tcols in blocks.items():
            if not tcols:
                continue
            off = []
            for lb, lcols in learned.items():
                if not lcols:
                    continue
                r = metrics.r2(z.iloc[tr][lcols], truth.iloc[tr][tcols], "kernel", z_hat_eval=zt[lcols],
                               z_true_eval=tt[tcols], seed=seed, max_fit_rows=800, cv=2).score
                out[f"r2_{tb}_from_{lb}"] = r
                if lb == tb:
                    out[f"r2_block_{tb}"] = r
                else:
                    off.append(r)
            out[f"r2_leak_{tb}"] = float(max(off)) if off else float("nan")
    g = {"shd": np.nan, "skeleton_shd": np.nan, "edge_precision": np.nan, "edge_recall": np.nan}
    if adjacency is not None and adjacency.shape[0] == bench.dag.shape[0]:
        perm = metrics.match(*fit_on)
        sc = metrics.graph_scores(adjacency, bench.dag, threshold, perm)
        g = {"shd": sc.shd, "skeleton_shd": sc.skeleton_shd, "edge_precision": sc.precision,
             "edge_recall": sc.recall}
    out.update(g)
    out["shd_empty"] = int(np.asarray(bench.dag).astype(bool).sum())
    return out
