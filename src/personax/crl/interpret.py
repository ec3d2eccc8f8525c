"""Reading learned latents on PersonaX: dependence on Big Five scores and attributes.

* :func:`describe_latents` — for every latent and every trait / attribute, a Level I
  independence test (``pvalue``, BH-adjusted ``pvalue_bh``) and an out-of-sample R²
  (regressor fitted on training rows, scored on held-out rows);
* :func:`suggest_labels` — the strongest evidence per latent, or "no evidence".
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import pandas as pd

from personax.crl.graph import cpu_threads, latent_block
from personax.crl.persona_fit import latent_columns
from personax.independence.bh import benjamini_hochberg
from personax.utils import make_rng, progress, renamed_columns

__all__ = ["describe_latents", "suggest_labels", "DESCRIPTION_COLUMNS"]

#: Columns of :func:`describe_latents` (the project's test vocabulary: ``pvalue``, ``pvalue_bh``).
DESCRIPTION_COLUMNS = ["latent", "block", "variable", "kind", "n", "pvalue", "pvalue_bh", "r2_test", "error"]


def _pvalue(x: np.ndarray, y: np.ndarray, test: str, seed: int, y_discrete: bool) -> float:
    """Level I test of latent x against variable y (project implementation)."""
    from personax import independence

    return float(independence.test(test, x, y, seed=seed).pvalue)


def _design(values: pd.Series, discrete: bool):
    """Feature map of one explanatory variable for the out-of-sample R²."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, SplineTransformer, StandardScaler

    if discrete:
        return make_pipeline(OneHotEncoder(handle_unknown="ignore", min_frequency=5, sparse_output=False))
    return make_pipeline(StandardScaler(), SplineTransformer(n_knots=6, degree=3, extrapolation="linear"))


def _encode_for_test(values: pd.Series, discrete: bool) -> np.ndarray:
    """Variable as a numeric array for the CI test: nominal codes one-hot, others as is."""
    if discrete:
        codes = pd.Categorical(values.astype(str))
        if len(codes.categories) > 2:
            return np.eye(len(codes.categories))[codes.codes].astype(float)
        return codes.codes.astype(float)[:, None]
    return values.to_numpy(dtype=float)[:, None]


def describe_latents(latents_df: pd.DataFrame, frame: pd.DataFrame, traits: Sequence[str],
                     attributes: Sequence[str], *, discrete: Sequence[str] | None = None,
                     test: str = "kci", train_rows: np.ndarray | None = None,
                     test_rows: np.ndarray | None = None, test_fraction: float = 0.3,
                     seed: int = 0, max_n: int | None = 2000) -> pd.DataFrame:
    """Evidence for labelling latents: dependence on Big Five scores and attributes.

    For every latent L and every variable V (aggregated trait or attribute):

    * ``pvalue`` of the Level I test ``test`` (``personax.independence``) of L ⫫ V, on at
      most ``max_n`` rows (seeded subsample) after dropping rows where V is missing;
      nominal variables with more than two levels enter the test one-hot encoded;
      ``pvalue_bh`` is the Benjamini–Hochberg adjustment over the whole table;
    * ``r2_test``: out-of-sample R² of predicting L from V (cubic splines + ridge for a
      continuous V, one-hot + ridge for a discrete V), fitted on training rows and scored
      on held-out rows.  The in-sample R² is never reported (official-code defect #9).

    Parameters
    ----------
    latents_df : DataFrame
        Learned latents (S1.., Z1_1.., Z2_1..), rows aligned with ``frame`` — either the
        same index (``person_id``) or the same order and length.
    frame : DataFrame
        ``ds.frame``; must contain every name in ``traits`` and ``attributes``.
    traits, attributes : sequence of str
        Columns to describe the latents with.
    discrete : sequence of str, optional
        Discrete columns (``ds.schema.discrete``); default: non-float columns.
    test : str
        Level I test name (``"kci"``, ``"rcit"``, ``"hsic"``...).
    train_rows, test_rows : array of int, optional
        Row positions for the R² split (e.g. the CRL fit's train / test split); default a
        seeded random split with ``test_fraction`` held out.
    seed : int
        Seeds the split, the subsample and the tests.
    max_n : int or None
        Row cap for the independence tests.

    Returns
    -------
    DataFrame
        Columns ``latent``, ``block``, ``variable``, ``kind`` ("trait" / "attribute"),
        ``n`` (rows tested), ``pvalue``, ``pvalue_bh``, ``r2_test``, ``error`` (empty, or why
        the test failed; its p-value is then NaN) — :data:`DESCRIPTION_COLUMNS`.  (Earlier
        versions called the p-value columns ``p_value`` / ``q_value``.)
    """
    lat = latents_df[latent_columns(latents_df)]
    if not len(lat.columns):
        raise ValueError("latents_df has no latent columns (S<k>, Z1_<i>, Z2_<i>)")
    frame = _align_frame(lat, frame)
    missing = [c for c in list(traits) + list(attributes) if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks the columns {missing}; pass names from ds.schema.traits / .attributes")
    if discrete is None:
        discrete = [c for c in list(traits) + list(attributes)
                    if not pd.api.types.is_float_dtype(frame[c].dtype)]
    discrete = set(discrete)
    n = len(lat)
    rng = make_rng(seed)
    if train_rows is None or test_rows is None:
        perm = rng.permutation(n)
        k = max(1, int(round(test_fraction * n)))
        test_rows, train_rows = np.sort(perm[:k]), np.sort(perm[k:])
    train_rows, test_rows = np.asarray(train_rows, dtype=int), np.asarray(test_rows, dtype=int)
    if np.intersect1d(train_rows, test_rows).size:
        raise ValueError("train_rows and test_rows overlap; the R² must be scored on held-out rows")
    variables = [(v, "trait") for v in traits] + [(v, "attribute") for v in attributes]
    with cpu_threads(1):  # hundreds of small kernel tests: one thread is faster (see cpu_threads)
        rows = _describe_rows(variables, frame, lat, discrete, train_rows, test_rows, max_n, rng, test, seed)
    out = pd.DataFrame(rows, columns=[c for c in DESCRIPTION_COLUMNS if c != "pvalue_bh"])
    out.insert(out.columns.get_loc("pvalue") + 1, "pvalue_bh", benjamini_hochberg(out["pvalue"].to_numpy()))
    return renamed_columns(out, {"p_value": "pvalue", "q_value": "pvalue_bh"}, where="describe_latents")


def _describe_rows(variables, frame, lat, discrete, train_rows, test_rows, max_n, rng, test, seed) -> list[dict]:
    rows = []
    for v, kind in progress(variables, desc="describe latents"):
        col = frame[v]
        ok = col.notna().to_numpy()
        is_disc = v in discrete
        idx = np.flatnonzero(ok)
        sub = idx if (max_n is None or len(idx) <= max_n) else np.sort(rng.choice(idx, size=max_n, replace=False))
        yv = _encode_for_test(col.iloc[sub], is_disc)
        tr, te = train_rows[ok[train_rows]], test_rows[ok[test_rows]]
        r2 = _oos_r2(col, is_disc, lat.to_numpy(dtype=float), tr, te)
        for j, L in enumerate(lat.columns):
            x = lat[L].to_numpy(dtype=float)
            err, p = "", float("nan")
            if col.iloc[sub].nunique() < 2:
                err = f"{v} is constant on the tested rows"
            else:
                try:
                    p = _pvalue(x[sub][:, None], yv, test, seed, is_disc)
                except Exception as exc:  # recorded, never coerced (official-code defect #4)
                    err = f"{type(exc).__name__}: {exc}"
            rows.append({"latent": L, "block": latent_block(L), "variable": v, "kind": kind, "n": int(len(sub)),
                         "pvalue": p, "r2_test": float(r2[j]), "error": err})
    return rows


def _oos_r2(col: pd.Series, is_disc: bool, Y: np.ndarray, tr: np.ndarray, te: np.ndarray) -> np.ndarray:
    """Held-out R² of predicting every latent (columns of ``Y``) from one variable.

    One ridge model per variable with a per-latent penalty chosen by efficient
    leave-one-out CV on the training rows (``RidgeCV(alpha_per_target=True)``).
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline

    d = Y.shape[1]
    if len(tr) < 10 or len(te) < 5 or col.iloc[tr].nunique() < 2:
        return np.full(d, np.nan)
    model = make_pipeline(_design(col, is_disc), RidgeCV(alphas=np.logspace(-3, 3, 13), alpha_per_target=True))
    if is_disc:
        Xtr, Xte = col.iloc[tr].astype(str).to_frame(), col.iloc[te].astype(str).to_frame()
    else:
        Xtr, Xte = col.iloc[tr].to_numpy(dtype=float)[:, None], col.iloc[te].to_numpy(dtype=float)[:, None]
    with warnings.catch_warnings():
        # rare categories seen only in the held-out rows are ignored by the encoder, by design
        warnings.simplefilter("ignore", category=UserWarning)
        model.fit(Xtr, Y[tr])
        pred = model.predict(Xte).reshape(len(te), d)
    resid = ((Y[te] - pred) ** 2).sum(axis=0)
    total = ((Y[te] - Y[te].mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 1.0 - resid / total, np.nan)


def _align_frame(lat: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    if lat.index.name == "person_id" or (isinstance(lat.index, pd.Index) and not isinstance(lat.index, pd.RangeIndex)):
        if "person_id" in frame.columns:
            f = frame.set_index(frame["person_id"].astype(str))
            idx = lat.index.astype(str)
            missing = idx.difference(f.index)
            if len(missing):
                raise ValueError(f"{len(missing)} latent rows have person ids absent from frame "
                                 f"(e.g. {list(missing[:3])}); pass the frame the latents came from")
            return f.loc[idx].reset_index(drop=True)
    if len(frame) != len(lat):
        raise ValueError(f"latents have {len(lat)} rows and frame {len(frame)}; index the latents by person_id "
                         "or pass rows in the same order")
    return frame.reset_index(drop=True)


def suggest_labels(description: pd.DataFrame, alpha: float = 0.05, top: int = 2) -> pd.DataFrame:
    """The strongest evidence per latent, from :func:`describe_latents`.

    A variable is evidence for a latent when its BH-adjusted dependence test rejects at
    ``alpha``; candidates are ranked by out-of-sample R².  A latent without such evidence is
    reported as "no evidence" — it is not given a name.

    Returns
    -------
    DataFrame
        Columns ``latent``, ``block``, ``evidence`` (e.g. "extraversion (R² 0.41)"; empty
        when none), ``best_variable``, ``best_r2_test``, ``n_dependent`` (variables with
        q < alpha).
    """
    rows = []
    for (L, block), g in description.groupby(["latent", "block"], sort=False):
        dep = g[(g["pvalue_bh"] < alpha)].sort_values("r2_test", ascending=False)
        ev = "; ".join(f"{r.variable} (R² {r.r2_test:.2f})" for r in dep.head(top).itertuples())
        best = dep.iloc[0] if len(dep) else None
        rows.append({"latent": L, "block": block, "evidence": ev or "no evidence",
                     "best_variable": best["variable"] if best is not None else "",
                     "best_r2_test": float(best["r2_test"]) if best is not None else float("nan"),
                     "n_dependent": int(len(dep))})
    return pd.DataFrame(rows, columns=["latent", "block", "evidence", "best_variable", "best_r2_test", "n_dependent"])
