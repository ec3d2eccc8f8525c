"""Identifiability and graph-recovery metrics for learned latents.

* :func:`mcc` — mean correlation coefficient: absolute Pearson or Spearman correlation
  between learned and true latents, one-to-one matching by the Hungarian algorithm
  (``scipy.optimize.linear_sum_assignment``).  ``fit_on=(z_hat, z_true)`` chooses the
  matching on one split and scores it on another (out-of-sample).
* :func:`r2` — coefficient of determination of a regression from the learned latents to
  each true latent (RBF kernel ridge with cross-validated ``alpha`` and ``gamma``, or
  linear), fitted on one split and scored on another (never in-sample, unlike the
  official code: defect 9).
* :func:`block_r2` — the same per pair of latent blocks (shared / modality blocks):
  how well each true block is predicted from each learned block; diagonal and worst
  off-diagonal scores.
* :func:`graph_scores` — the one graph scorer (:class:`GraphScores`): **DAG SHD**
  (:func:`dag_shd`), **CPDAG SHD** (:func:`cpdag_shd`, for PC outputs, against the true
  Markov equivalence class refined by background knowledge), skeleton and arrow
  precision / recall, after matching the learned latents to the true ones (:func:`match`,
  the one matcher; :func:`personax.crl.graph_stability.align_latents` applies it block by
  block); :func:`compare_graphs` is its form for two named tables.

Every function returns named scores (a small dataclass with ``to_dict``), never a bare
tuple.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import linear_sum_assignment


def _arr(x, name: str) -> np.ndarray:
    a = np.asarray(x.values if isinstance(x, pd.DataFrame) else x, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-d (n, d), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN/inf values")
    return a


def _names(x, d: int, prefix: str) -> list[str]:
    return list(map(str, x.columns)) if isinstance(x, pd.DataFrame) else [f"{prefix}{i}" for i in range(d)]


def correlation_matrix(z_hat, z_true, method: str = "pearson") -> np.ndarray:
    """``|corr(z_hat[:, i], z_true[:, j])|`` as a (d_hat, d_true) array; constant columns give 0.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.random.default_rng(0).normal(size=(200, 2))
    >>> c = correlation_matrix(-2 * z[:, ::-1], z)
    >>> round(float(c[0, 1]), 6), round(float(c[1, 0]), 6), bool(c[0, 0] < 0.1)
    (1.0, 1.0, True)
    """
    a, b = _arr(z_hat, "z_hat"), _arr(z_true, "z_true")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"z_hat has {a.shape[0]} rows, z_true {b.shape[0]}: rows must be aligned")
    if a.shape[0] < 3:
        raise ValueError("need at least 3 rows to compute correlations")
    if method == "spearman":
        a = np.apply_along_axis(stats.rankdata, 0, a)
        b = np.apply_along_axis(stats.rankdata, 0, b)
    elif method != "pearson":
        raise ValueError(f"method={method!r}: use 'pearson' or 'spearman'")
    a = a - a.mean(0)
    b = b - b.mean(0)
    na, nb = np.linalg.norm(a, axis=0), np.linalg.norm(b, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = (a.T @ b) / np.outer(na, nb)
    return np.abs(np.nan_to_num(c, nan=0.0))


@dataclass
class MCCResult:
    """Mean correlation coefficient.

    Attributes
    ----------
    score : float
        Mean matched |correlation| over the true latents (1 = perfect up to permutation,
        sign and, for Spearman, monotone transforms).
    per_dim : dict
        Matched |correlation| per true latent name.
    assignment : dict
        True latent name -> matched learned latent name.
    method : str
    out_of_sample : bool
        Whether the matching was chosen on other rows (``fit_on``).
    """

    score: float
    per_dim: dict
    assignment: dict
    method: str
    out_of_sample: bool = False

    def __float__(self) -> float:
        return float(self.score)

    def to_dict(self) -> dict:
        return asdict(self)


def match(z_hat, z_true, method: str = "pearson") -> np.ndarray:
    """Hungarian matching: ``perm[j]`` = index of the learned latent matched to true latent ``j``.

    Requires at least as many learned as true latents.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.random.default_rng(0).normal(size=(200, 3))
    >>> match(z[:, [2, 0, 1]], z).tolist()
    [1, 2, 0]
    """
    c = correlation_matrix(z_hat, z_true, method)
    if c.shape[0] < c.shape[1]:
        raise ValueError(f"z_hat has {c.shape[0]} latents but z_true has {c.shape[1]}: need d_hat >= d_true "
                         "(pad z_hat with independent noise columns if you must compare a smaller model)")
    rows, cols = linear_sum_assignment(-c)
    perm = np.empty(c.shape[1], dtype=int)
    perm[cols] = rows
    return perm


def mcc(z_hat, z_true, method: str = "pearson", *, fit_on: tuple | None = None) -> MCCResult:
    """Mean correlation coefficient with Hungarian matching.

    Parameters
    ----------
    z_hat, z_true : array-like or DataFrame (n, d_hat), (n, d_true)
        Learned and true latents, rows aligned; ``d_hat >= d_true``.
    method : {"pearson", "spearman"}
        Absolute Pearson (the paper) or Spearman (invariant to monotone transforms).
    fit_on : (z_hat_fit, z_true_fit), optional
        Choose the matching on these rows and score it on ``(z_hat, z_true)``
        (out-of-sample MCC).  Default: in-sample (matching and score on the same rows).

    Returns
    -------
    MCCResult

    Examples
    --------
    A permuted, rescaled copy of the truth scores 1; matching chosen on the first half of
    the rows and scored on the second (out of sample):

    >>> import numpy as np
    >>> z = np.random.default_rng(0).normal(size=(400, 3))
    >>> z_hat = 3 * z[:, [1, 2, 0]] + 0.01 * np.random.default_rng(1).normal(size=(400, 3))
    >>> round(mcc(z_hat[200:], z[200:], fit_on=(z_hat[:200], z[:200])).score, 3)
    1.0
    """
    d_true = _arr(z_true, "z_true").shape[1]
    d_hat = _arr(z_hat, "z_hat").shape[1]
    perm = match(*(fit_on if fit_on is not None else (z_hat, z_true)), method=method)
    c = correlation_matrix(z_hat, z_true, method)
    vals = c[perm, np.arange(d_true)]
    tn, hn = _names(z_true, d_true, "true_"), _names(z_hat, d_hat, "hat_")
    return MCCResult(float(vals.mean()), {tn[j]: float(vals[j]) for j in range(d_true)},
                     {tn[j]: hn[perm[j]] for j in range(d_true)}, method, fit_on is not None)


@dataclass
class R2Result:
    """Coefficient of determination of a regression from learned to true latents.

    Attributes
    ----------
    score : float
        Mean R² over true latents (uniform average, as the paper), on the scoring rows.
    per_dim : dict
        R² per true latent name.
    kind : str
        ``"kernel"`` (RBF kernel ridge) or ``"linear"``.
    params : dict
        Chosen hyper-parameters (kernel: ``alpha``, ``gamma``).
    n_fit, n_score : int
        Rows used for fitting and for scoring.
    """

    score: float
    per_dim: dict
    kind: str
    params: dict = field(default_factory=dict)
    n_fit: int = 0
    n_score: int = 0

    def __float__(self) -> float:
        return float(self.score)

    def to_dict(self) -> dict:
        return asdict(self)


def _standardize(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    mu, sd = train.mean(0), train.std(0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    return [(x - mu) / sd for x in (train, *others)]


def r2(z_hat, z_true, kind: str = "kernel", *, z_hat_eval=None, z_true_eval=None, test_fraction: float = 0.3,
       seed: int = 0, cv: int = 3, max_fit_rows: int = 2000) -> R2Result:
    """Out-of-sample R² of predicting each true latent from the learned latents.

    Parameters
    ----------
    z_hat, z_true : array-like or DataFrame
        Rows used to fit the regressor (and, without ``*_eval``, also split for scoring).
    kind : {"kernel", "linear"}
        RBF kernel ridge with ``alpha`` and ``gamma`` chosen by ``cv``-fold
        cross-validation on the fitting rows, or ordinary least squares.
    z_hat_eval, z_true_eval : array-like, optional
        Rows on which the fitted regressor is scored.  Without them the rows are split
        at random (``test_fraction``, ``seed``).
    max_fit_rows : int
        Kernel ridge is cubic in the rows: fit on at most this many (random, seeded).

    Returns
    -------
    R2Result

    Examples
    --------
    >>> import numpy as np
    >>> z = np.random.default_rng(0).normal(size=(300, 2))
    >>> res = r2(np.tanh(z[:, ::-1]), z, kind="linear")
    >>> 0.8 < res.score < 1.0, res.n_fit + res.n_score
    (True, 300)
    """
    from threadpoolctl import threadpool_limits

    # small dense problems: one BLAS thread is faster, and avoids oversubscribing a busy machine
    with threadpool_limits(limits=1):
        return _r2(z_hat, z_true, kind, z_hat_eval, z_true_eval, test_fraction, seed, cv, max_fit_rows)


def _r2(z_hat, z_true, kind, z_hat_eval, z_true_eval, test_fraction, seed, cv, max_fit_rows) -> R2Result:
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score
    from sklearn.model_selection import GridSearchCV, KFold

    a, b = _arr(z_hat, "z_hat"), _arr(z_true, "z_true")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"z_hat has {a.shape[0]} rows, z_true {b.shape[0]}: rows must be aligned")
    rng = np.random.default_rng(seed)
    if (z_hat_eval is None) != (z_true_eval is None):
        raise ValueError("give both z_hat_eval and z_true_eval, or neither")
    if z_hat_eval is None:
        perm = rng.permutation(a.shape[0])
        n_te = max(2, int(round(a.shape[0] * test_fraction)))
        te, tr = perm[:n_te], perm[n_te:]
        a_fit, b_fit, a_ev, b_ev = a[tr], b[tr], a[te], b[te]
    else:
        a_fit, b_fit = a, b
        a_ev, b_ev = _arr(z_hat_eval, "z_hat_eval"), _arr(z_true_eval, "z_true_eval")
        if a_ev.shape[1] != a.shape[1] or b_ev.shape[1] != b.shape[1]:
            raise ValueError("evaluation arrays must have the same columns as the fitting arrays")
    if a_fit.shape[0] > max_fit_rows:
        keep = rng.choice(a_fit.shape[0], max_fit_rows, replace=False)
        a_fit, b_fit = a_fit[keep], b_fit[keep]
    if a_fit.shape[0] < max(cv, 2) * 2:
        raise ValueError(f"only {a_fit.shape[0]} fitting rows: need at least {max(cv, 2) * 2}")
    a_fit, a_ev = _standardize(a_fit, a_ev)
    b_mu, b_sd = b_fit.mean(0), np.where(b_fit.std(0) > 1e-12, b_fit.std(0), 1.0)
    b_fit_s = (b_fit - b_mu) / b_sd
    params: dict = {}
    if kind == "kernel":
        d = a_fit.shape[1]
        grid = {"alpha": [1e-3, 1e-2, 1e-1, 1.0], "gamma": [g / d for g in (0.1, 0.3, 1.0, 3.0)]}
        search = GridSearchCV(KernelRidge(kernel="rbf"), grid, cv=KFold(cv, shuffle=True, random_state=seed),
                              scoring="r2")
        search.fit(a_fit, b_fit_s)
        model = search.best_estimator_
        params = {k: float(v) for k, v in search.best_params_.items()}
    elif kind == "linear":
        model = LinearRegression().fit(a_fit, b_fit_s)
    else:
        raise ValueError(f"kind={kind!r}: use 'kernel' or 'linear'")
    pred = model.predict(a_ev) * b_sd + b_mu
    per = r2_score(b_ev, pred, multioutput="raw_values")
    tn = _names(z_true, b.shape[1], "true_")
    return R2Result(float(np.mean(per)), {tn[j]: float(per[j]) for j in range(len(per))}, kind, params,
                    int(a_fit.shape[0]), int(a_ev.shape[0]))


def block_r2(z_hat: pd.DataFrame, z_true: pd.DataFrame, blocks_hat: Mapping[str, Sequence[str]],
             blocks_true: Mapping[str, Sequence[str]], kind: str = "kernel", *, z_hat_eval=None, z_true_eval=None,
             seed: int = 0) -> pd.DataFrame:
    """R² of predicting each true block from each learned block.

    Returns
    -------
    pandas.DataFrame
        Index = true block names, columns = learned block names, values = mean R² over
        the true block's latents.  ``.attrs["diagonal"]`` (mean of same-name entries) and
        ``.attrs["worst_off_diagonal"]`` (largest R² between different blocks; lower is
        better disentanglement) summarise it.  Empty blocks are skipped.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> z = pd.DataFrame(np.random.default_rng(0).normal(size=(300, 2)), columns=["S1", "Z1_1"])
    >>> blocks = {"shared": ["S1"], "m1": ["Z1_1"]}
    >>> t = block_r2(z, z, blocks, blocks, kind="linear")
    >>> round(t.attrs["diagonal"], 2), t.attrs["worst_off_diagonal"] < 0.05
    (1.0, True)
    """
    rows = {}
    for tb, tcols in blocks_true.items():
        if not len(tcols):
            continue
        row = {}
        for hb, hcols in blocks_hat.items():
            if not len(hcols):
                continue
            res = r2(z_hat[list(hcols)], z_true[list(tcols)], kind,
                     z_hat_eval=None if z_hat_eval is None else z_hat_eval[list(hcols)],
                     z_true_eval=None if z_true_eval is None else z_true_eval[list(tcols)], seed=seed)
            row[hb] = res.score
        rows[tb] = row
    df = pd.DataFrame(rows).T
    diag = [df.loc[b, b] for b in df.index if b in df.columns]
    off = [df.loc[r, c] for r in df.index for c in df.columns if r != c]
    df.attrs["diagonal"] = float(np.mean(diag)) if diag else float("nan")
    df.attrs["worst_off_diagonal"] = float(np.max(off)) if off else float("nan")
    return df


# the graph scores live in personax.crl.graph_scores; they are part of this module's API
from personax.crl.graph_scores import (  # noqa: E402,F401  (re-exported)
    GraphScores,
    compare_graphs,
    cpdag_shd,
    dag_shd,
    graph_scores,
    shd,
)
