"""Audits of the privacy transform: what it preserves, and what it hides.

* :func:`invariance_table` — dependence-test p-values and latent-recovery metrics computed
  on raw and on obfuscated embeddings, side by side, with the invariance each one should
  have (exact for distance/Gram-based statistics under ``mode="orthogonal"``; decisions
  only under the monotone map).
* :func:`reidentification` — nearest-neighbour (cosine) matching of released rows against
  raw rows, without and with the key.
* :func:`procrustes_attack` — the honest limit: an attacker holding some matched pairs fits
  an orthogonal map and re-identifies the rest.

Statistics used (all deterministic for a given ``seed``):

``dcor``    distance covariance, Euclidean distances, permutation p-value
``hsic``    HSIC, Gaussian kernel on Euclidean distances, median bandwidth, permutation p-value
``hsic_gamma``  the project's Gamma-HSIC (personax.independence) after one global rescaling
``ridge_r2``  5-fold cross-validated ridge R² of the target on all embedding columns
``pca_mcc``   mean correlation coefficient between the top-k principal components and the
              planted latents (Hungarian matching of absolute Pearson correlations)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from personax.utils import make_rng

__all__ = ["DEPENDENCE_TESTS", "cosine_top_k", "reidentification", "procrustes_attack", "mean_corr_coef",
           "dependence_pvalues", "latent_recovery", "invariance_table"]


def _finite_rows(*arrays: np.ndarray) -> np.ndarray:
    mask = np.ones(len(arrays[0]), dtype=bool)
    for a in arrays:
        a = np.asarray(a, dtype=np.float64)
        mask &= np.all(np.isfinite(a.reshape(len(a), -1)), axis=1)
    return mask


def cosine_top_k(queries: np.ndarray, gallery: np.ndarray, k: int = 1) -> np.ndarray:
    """For each query row, whether its own index is among the ``k`` most cosine-similar gallery rows.

    Row ``i`` of ``queries`` and row ``i`` of ``gallery`` are the same person.

    Returns
    -------
    numpy.ndarray of bool, shape (n,)
    """
    q = np.asarray(queries, dtype=np.float64)
    g = np.asarray(gallery, dtype=np.float64)
    if q.shape != g.shape:
        raise ValueError(f"queries {q.shape} and gallery {g.shape} must have the same shape (row i = person i)")
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    g = g / np.linalg.norm(g, axis=1, keepdims=True)
    sim = q @ g.T
    own = np.diag(sim)
    # rank of the true match = number of gallery rows strictly more similar
    rank = (sim > own[:, None]).sum(axis=1)
    return rank < k


def reidentification(raw: np.ndarray, released: np.ndarray, key=None, *, ks=(1, 5)) -> pd.DataFrame:
    """Re-identification accuracy of released embeddings against the raw ones.

    Parameters
    ----------
    raw, released : numpy.ndarray, shape (n, d)
        Row ``i`` of both is the same person (rows with NaN are dropped from both).
    key : PrivacyKey, optional
        When given, also match ``recover(released, key)``.
    ks : tuple of int
        Top-k accuracies to report.

    Returns
    -------
    pandas.DataFrame
        Columns ``attack`` (str), ``top{k}`` (float, fraction of rows whose true match is
        within the k nearest by cosine), ``chance_top{k}`` (k / n), ``n`` (int).
    """
    from personax.faces.privacy import recover

    mask = _finite_rows(raw, released)
    raw, released = np.asarray(raw, float)[mask], np.asarray(released, float)[mask]
    n = len(raw)
    cases = [("released vs raw, no key", released)]
    if key is not None:
        cases.append(("recovered with key vs raw", recover(released, key)))
    rows = []
    for name, q in cases:
        row = {"attack": name}
        for k in ks:
            row[f"top{k}"] = float(cosine_top_k(q, raw, k).mean())
            row[f"chance_top{k}"] = min(k, n) / n
        row["n"] = n
        rows.append(row)
    return pd.DataFrame(rows)


def procrustes_attack(raw: np.ndarray, released: np.ndarray, n_known, *, seed: int = 0) -> pd.DataFrame:
    """Known-pairs attack: fit an orthogonal map on leaked pairs, re-identify everyone else.

    The attacker knows ``m`` matched (raw, released) rows, centres both, solves the
    orthogonal Procrustes problem ``min ||A R - B||`` and matches the remaining released rows
    to *all* raw rows by cosine after mapping.  Against ``mode="orthogonal"`` this succeeds
    once ``m`` approaches the dimension; the monotone map slows it down but a linear
    approximation still leaks.

    Returns
    -------
    pandas.DataFrame
        Columns ``n_known`` (int), ``top1`` (float, accuracy on the unknown rows),
        ``chance`` (float, 1 / n).
    """
    from scipy.linalg import orthogonal_procrustes

    mask = _finite_rows(raw, released)
    raw, released = np.asarray(raw, float)[mask], np.asarray(released, float)[mask]
    n = len(raw)
    rng = make_rng(seed)
    order = rng.permutation(n)
    rows = []
    for m in np.atleast_1d(n_known):
        m = int(m)
        if not 2 <= m < n:
            raise ValueError(f"n_known must be in [2, {n - 1}], got {m}")
        known, unknown = order[:m], order[m:]
        mu_r, mu_z = raw[known].mean(0), released[known].mean(0)
        R, _ = orthogonal_procrustes(released[known] - mu_z, raw[known] - mu_r)
        mapped = (released - mu_z) @ R + mu_r
        qn = mapped[unknown] / np.linalg.norm(mapped[unknown], axis=1, keepdims=True)
        gn = raw / np.linalg.norm(raw, axis=1, keepdims=True)
        best = np.argmax(qn @ gn.T, axis=1)
        rows.append({"n_known": m, "top1": float(np.mean(best == unknown)), "chance": 1.0 / n})
    return pd.DataFrame(rows)


def mean_corr_coef(estimated: np.ndarray, truth: np.ndarray) -> float:
    """Mean absolute Pearson correlation after optimal one-to-one matching (the MCC of CRL papers).

    Parameters
    ----------
    estimated : numpy.ndarray, shape (n, k1)
    truth : numpy.ndarray, shape (n, k2)
        Matching uses ``min(k1, k2)`` pairs (Hungarian algorithm on ``|corr|``).
    """
    from scipy.optimize import linear_sum_assignment

    a, b = np.asarray(estimated, float), np.asarray(truth, float)
    if a.ndim != 2 or b.ndim != 2 or len(a) != len(b):
        raise ValueError(f"need two (n, k) matrices with the same n, got {a.shape} and {b.shape}")
    k1 = a.shape[1]
    c = np.abs(np.corrcoef(a.T, b.T)[:k1, k1:])
    c = np.nan_to_num(c)  # constant columns correlate with nothing
    r, col = linear_sum_assignment(-c)
    return float(c[r, col].mean())


#: tests :func:`dependence_pvalues` knows (all rotation-invariant)
DEPENDENCE_TESTS = ("dcor", "hsic", "hsic_gamma")


def _sq_dists(A: np.ndarray) -> np.ndarray:
    # squared Euclidean distances from the Gram matrix: a function of inner products only,
    # hence identical (to rounding) for rotated rows
    G = A @ A.T
    d = np.diag(G)
    return np.maximum(d[:, None] + d[None, :] - 2 * G, 0.0)


def _centre(M: np.ndarray) -> np.ndarray:
    return M - M.mean(0, keepdims=True) - M.mean(1, keepdims=True) + M.mean()


def _gaussian_gram(A: np.ndarray) -> np.ndarray:
    D2 = _sq_dists(A)
    off = D2[~np.eye(len(A), dtype=bool)]
    med = np.median(off[off > 0]) if np.any(off > 0) else 1.0  # median heuristic on squared distances
    return np.exp(-D2 / med)


def _perm_pvalue(Kc: np.ndarray, L: np.ndarray, n_perm: int, seed: int) -> tuple[float, float]:
    """Statistic sum(Kc * L) and its permutation p-value (permuting L's rows and columns)."""
    rng = make_rng(seed)
    n = len(L)
    stat = float(np.sum(Kc * L)) / n**2
    tol = 1e-9 * max(abs(stat), 1e-300)  # ties at rounding level count as ties, not wins
    exceed = 0
    for _ in range(n_perm):
        p = rng.permutation(n)
        exceed += float(np.sum(Kc * L[np.ix_(p, p)])) / n**2 >= stat - tol
    return stat, (1 + exceed) / (1 + n_perm)


def dependence_pvalues(E: np.ndarray, y: np.ndarray, *, tests=("dcor", "hsic", "hsic_gamma"), n_perm: int = 300,
                       seed: int = 0) -> dict[str, float]:
    """Permutation p-values of unconditional independence tests between ``E`` (n, d) and ``y``.

    ``dcor``: distance covariance (Székely et al. 2007) on Euclidean distances; ``hsic``:
    HSIC (Gretton et al. 2008) with Gaussian kernels, bandwidth = median squared distance.
    Both depend on the rows of ``E`` only through their pairwise distances, so a rotation of
    ``E`` leaves the statistic and — with the same ``seed``, i.e. the same permutations — the
    p-value unchanged.  p = (1 + #{permuted ≥ observed}) / (1 + n_perm).
    ``hsic_gamma``: the project's Gamma-HSIC (``personax.independence``) in a
    rotation-invariant setting (one global scale, no per-column z-scoring; deterministic
    Gamma p-value); see :func:`_project_hsic`.

    Returns
    -------
    dict
        test name -> p-value (float).
    """
    E = np.asarray(E, float)
    y = np.asarray(y, float).reshape(len(E), -1)
    out = {}
    for t in tests:
        if t == "dcor":
            Kc, L = _centre(np.sqrt(_sq_dists(E))), _centre(np.sqrt(_sq_dists(y)))
        elif t == "hsic":
            Kc, L = _centre(_gaussian_gram(E)), _gaussian_gram(y)
        elif t == "hsic_gamma":
            out[t] = _project_hsic(E, y)
            continue
        else:
            raise ValueError(f"unknown test {t!r}; choose from {DEPENDENCE_TESTS}")
        out[t] = _perm_pvalue(Kc, L, n_perm, seed)[1]
    return out


def _project_hsic(E: np.ndarray, y: np.ndarray) -> float:
    """The project's Gamma-HSIC (personax.independence) on the embeddings, rotation-invariantly.

    The embedding matrix is divided by one number, its median pairwise distance (a
    rotation-invariant scale), and the raw-unit Gaussian kernel exp(-|a-b|^2) is used
    (``standardize=False``).  The test's default per-column z-scoring would not be
    rotation-invariant, and with d in the hundreds its fixed width makes the kernel matrix
    nearly the identity (no power), which is why it is not used here.
    """
    from personax.independence import test

    yz = (y - y.mean(0)) / np.where(y.std(0) > 0, y.std(0), 1.0)
    D2 = _sq_dists(E)
    med = np.sqrt(np.median(D2[np.triu_indices(len(E), 1)]))
    return float(test("hsic_gamma", E / (med if med > 0 else 1.0), yz, device="cpu", standardize=False).pvalue)


def latent_recovery(E: np.ndarray, latents: np.ndarray, *, seed: int = 0) -> dict[str, float]:
    """How well the planted latents can be read off the embeddings.

    Returns
    -------
    dict
        ``pca_mcc``: MCC between the top-k principal components of ``E`` (k = number of
        latents) and the latents — unsupervised, invariant to rotations of ``E``;
        ``ridge_r2``: mean over latents of the 5-fold cross-validated ridge R² (alpha 1.0,
        folds shuffled with ``seed``) — invariant to rotations (isotropic penalty).
    """
    from sklearn.decomposition import PCA
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold, cross_val_predict

    E = np.asarray(E, float)
    L = np.asarray(latents, float)
    k = L.shape[1]
    # full SVD: deterministic, no randomized solver whose result depends on the basis
    pcs = PCA(n_components=min(k, E.shape[1]), svd_solver="full").fit_transform(E)
    folds = KFold(5, shuffle=True, random_state=int(seed))
    pred = cross_val_predict(Ridge(alpha=1.0), E, L, cv=folds)
    ss_res = ((L - pred) ** 2).sum(0)
    ss_tot = ((L - L.mean(0)) ** 2).sum(0)
    return {"pca_mcc": mean_corr_coef(pcs, L), "ridge_r2": float(np.mean(1 - ss_res / ss_tot))}


def invariance_table(raw: np.ndarray, versions: dict[str, np.ndarray],
                     target: np.ndarray | dict[str, np.ndarray],
                     latents: np.ndarray | None = None, *, tests=DEPENDENCE_TESTS,
                     n_perm: int = 300, alpha: float = 0.05, seed: int = 0) -> pd.DataFrame:
    """Statistics on raw embeddings next to the same statistics on transformed ones.

    Parameters
    ----------
    raw : numpy.ndarray, shape (n, d)
    versions : dict of str -> numpy.ndarray (n, d)
        Transformed embeddings, e.g. ``{"orthogonal": Z1, "orthogonal+monotone": Z2}``.
    target : numpy.ndarray (n,) or (n, p), or dict of name -> such arrays
        Variable(s) tested for dependence with the embeddings (e.g. a trait score, and a
        shuffled copy as a null control).
    latents : numpy.ndarray, shape (n, k), optional
        Planted latents (synthetic data) for the latent-recovery rows.
    tests : tuple of str
        Any of :data:`DEPENDENCE_TESTS`.
    n_perm : int
        Permutations per test (the same permutations for every version, from ``seed``).
    alpha : float
        Level for the ``decision_same`` column.

    Returns
    -------
    pandas.DataFrame
        One row per (target, test) and per latent metric: ``target`` (str; ``"latents"``
        for the metrics), ``statistic`` (str), ``kind`` ("p-value" or "metric"), ``raw``
        (float), one float column per version, ``max_abs_diff_<version>`` (float) and, for
        p-values, ``decision_same_<version>`` (bool: same reject/accept at ``alpha``; NA for
        metrics).  Rows with a non-finite value anywhere are left out of every statistic.
    """
    targets = target if isinstance(target, dict) else {"target": target}
    arrays = [raw, *versions.values(), *targets.values(), *([latents] if latents is not None else [])]
    mask = _finite_rows(*arrays)
    sel = lambda a: np.asarray(a, float)[mask]  # noqa: E731
    all_versions = {"raw": raw, **versions}
    rows = []
    for tname, y in targets.items():
        res = {v: dependence_pvalues(sel(E), sel(y), tests=tests, n_perm=n_perm, seed=seed)
               for v, E in all_versions.items()}
        for stat in res["raw"]:
            rows.append(_row(tname, stat, "p-value", res, versions, alpha))
    if latents is not None:
        res = {v: latent_recovery(sel(E), sel(latents), seed=seed) for v, E in all_versions.items()}
        for stat in res["raw"]:
            rows.append(_row("latents", stat, "metric", res, versions, alpha))
    return pd.DataFrame(rows)


def _row(target: str, stat: str, kind: str, res: dict, versions: dict, alpha: float) -> dict:
    value = res["raw"][stat]
    row = {"target": target, "statistic": stat, "kind": kind, "raw": value}
    for name in versions:
        row[name] = res[name][stat]
        row[f"max_abs_diff_{name}"] = abs(res[name][stat] - value)
        row[f"decision_same_{name}"] = ((res[name][stat] < alpha) == (value < alpha)) if kind == "p-value" else pd.NA
    return row
