"""Level II on PersonaX: learn latents from face and three-LLM text embeddings, read them.

This module applies the project's CRL trainer (``personax.crl.fit``) to a
:class:`personax.data.PersonaData` (paper §4.5) and gives the pieces that make the learned
latents readable:

* :func:`persona_views` — the face-embedding measurement(s) and the three text-embedding
  measurements, standardised per feature (never divided by 255, the authors' defect #10),
  with the person ids that every downstream table carries;
* :func:`fit_persona` — one CRL fit per seed with the paper's latent sizes per dataset;
  returns the latents of every person indexed by ``person_id``;
* :func:`describe_latents` — evidence for labelling a latent: a Level I independence test
  between the latent and each aggregated Big Five score / attribute, plus an out-of-sample
  R² (regressor fitted on training rows, scored on held-out rows);
* :func:`evaluate_recovery` — on the synthetic sample, how well the learned latents and the
  PC graph recover the planted latents and DAG (MCC / R² per block, SHD, precision/recall);
* :func:`run_level2` — all of the above for one dataset under a budget profile;
  :func:`run_level2_all` runs it for several datasets, one process per dataset on a CPU
  machine (the book chapter ``06_crl_realworld`` calls it).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from personax.crl.graph import BLOCKS, align_latents, compare_graphs, cpu_threads, latent_block
from personax.independence.bh import benjamini_hochberg
from personax.utils import make_rng, progress

__all__ = [
    "OracleGraph",
    "PersonaFit",
    "persona_views",
    "fit_persona",
    "describe_latents",
    "suggest_labels",
    "evaluate_recovery",
    "match_to_truth",
    "PROFILE_SETTINGS",
    "Level2Result",
    "run_level2",
    "run_level2_all",
]


# --------------------------------------------------------------------------- inputs

def _standardise(X: np.ndarray, name: str) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ValueError(f"embedding {name!r} must be a 2-D array (n, d), got shape {X.shape}")
    if not np.isfinite(X).all():
        bad = int((~np.isfinite(X)).any(axis=1).sum())
        raise ValueError(f"embedding {name!r} has {bad} rows with NaN/inf; drop those persons "
                         "(ds.frame and ds.embeddings together) before fitting")
    mu = X.mean(axis=0, dtype=np.float64)
    sd = X.std(axis=0, dtype=np.float64)
    # Constant features carry nothing; keep them at 0 instead of dividing by 0.
    sd[sd == 0] = 1.0
    return ((X - mu) / sd).astype(np.float32)


def _person_ids(ds) -> np.ndarray:
    frame = ds.frame
    if "person_id" not in frame.columns:
        raise ValueError("ds.frame has no 'person_id' column; rows cannot be aligned (DEVELOPING.md schema)")
    ids = frame["person_id"].astype(str).to_numpy()
    if len(set(ids)) != len(ids):
        raise ValueError("ds.frame has duplicated person_id values; deduplicate before fitting")
    return ids


def _check_alignment(ds, arrays: dict[str, list[np.ndarray]], ids: np.ndarray) -> None:
    """Assert that every embedding has one row per person of ``ds.frame``, in the same order."""
    n = len(ids)
    for role, mats in arrays.items():
        for k, X in enumerate(mats):
            if X.shape[0] != n:
                raise ValueError(f"{role} measurement {k + 1} has {X.shape[0]} rows but ds.frame has {n}: "
                                 "embeddings and the table are misaligned (official-code defect #17)")
    emb_ids = getattr(ds, "embedding_ids", None)
    if emb_ids is not None:
        emb_ids = np.asarray(emb_ids).astype(str)
        if emb_ids.shape != ids.shape or not np.array_equal(emb_ids, ids):
            raise ValueError("the person ids stored with the embeddings differ from ds.frame['person_id']; "
                             "reorder the embeddings to the frame's rows")


def persona_views(ds, *, standardise: bool = True) -> tuple[dict[str, list[np.ndarray]], np.ndarray]:
    """The CRL inputs of a PersonaData: face measurement(s) and the three text measurements.

    Parameters
    ----------
    ds : personax.data.PersonaData
        Loaded dataset (sample, Hugging Face or local).
    standardise : bool
        Standardise every embedding feature to mean 0, sd 1 (the default).  Embeddings
        are never divided by 255 (official-code defect #10).  Standardisation uses all rows:
        it is unsupervised and involves no target, so it leaks nothing into the latents'
        evaluation.

    Returns
    -------
    views : dict
        ``{"face": [X_face_1, ...], "text": [X_chatgpt, X_gemini, X_llama]}`` (float32).
    person_id : ndarray of str
        The row identity shared by every array.
    """
    ids = _person_ids(ds)
    face = list(ds.measurements("face"))
    text = list(ds.measurements("text"))
    if not face:
        raise ValueError("the dataset has no face-embedding measurement; CRL needs at least one")
    if len(text) != 3:
        raise ValueError(f"expected three text-embedding measurements (chatgpt, gemini, llama), got {len(text)}")
    raw = {"face": face, "text": text}
    _check_alignment(ds, raw, ids)
    if standardise:
        views = {role: [_standardise(X, f"{role}[{k}]") for k, X in enumerate(mats)] for role, mats in raw.items()}
    else:
        views = {role: [np.asarray(X, dtype=np.float32) for X in mats] for role, mats in raw.items()}
    return views, ids


# --------------------------------------------------------------------------- fitting

@dataclass
class PersonaFit:
    """Result of :func:`fit_persona`.

    Attributes
    ----------
    dataset : str
    latent_dims : dict
        ``{"face": k1, "text": k2}``; ``n_shared`` the number of shared latents.
    n_shared : int
    seeds : tuple of int
    fits : list
        The ``crl.fit`` result of every seed (``.history``, ``.record``, ``.split`` ...).
    latents : list of DataFrame
        Per seed, the latents of every person: index ``person_id``, columns ``S1..``,
        ``Z1_1..`` (face), ``Z2_1..`` (text).
    split : dict
        ``train`` / ``val`` / ``test`` row positions of the first seed's fit.
    """

    dataset: str
    latent_dims: dict
    n_shared: int
    seeds: tuple
    fits: list
    latents: list
    split: dict = field(default_factory=dict)

    def latents_on(self, part: str = "test", seed_index: int = 0) -> pd.DataFrame:
        """Latents of one seed restricted to one split part (``train``, ``val``, ``test``, ``all``)."""
        lat = self.latents[seed_index]
        if part == "all":
            return lat
        split = _split_of(self.fits[seed_index])
        if part not in split:
            raise ValueError(f"part={part!r}: use one of {sorted(split)} or 'all'")
        return lat.iloc[np.sort(np.asarray(split[part], dtype=int))]


def _split_of(fit) -> dict:
    split = getattr(fit, "split", None)
    if split is None:
        return {}
    return {k: np.asarray(v, dtype=int) for k, v in dict(split).items()}


def _latent_columns(df: pd.DataFrame) -> list[str]:
    cols = []
    for c in df.columns:
        try:
            latent_block(c)
        except ValueError:
            continue
        cols.append(c)
    return cols


def fit_persona(ds, *, latent_dims: dict | None = None, n_shared: int | None = None,
                seeds: Sequence[int] = (0,), profile: str = "quick", device: str = "auto",
                checkpoint_dir=None, config=None, val_fraction: float = 0.1,
                test_fraction: float = 0.1) -> PersonaFit:
    """Train the project's CRL model on a PersonaData, once per seed.

    Parameters
    ----------
    ds : personax.data.PersonaData
    latent_dims : dict, optional
        ``{"face": k1, "text": k2}``; defaults to the paper's sizes for the dataset
        (``ds.schema.latent_layout``: Celeb 10 / 5, Athle 5 / 5).
    n_shared : int, optional
        Shared latents; default from the layout (Celeb 3, Athle 2).
    seeds : sequence of int
        One fit per seed (same trainer, checkpoints and run records as ``crl.fit``).
    profile : {"ci", "quick", "paper"}
        Training budget preset of ``crl.fit``.
    device : str
        ``"auto"`` / ``"cpu"`` / ``"cuda"``.
    checkpoint_dir : path, optional
        Checkpoints go to ``checkpoint_dir/<dataset>/seed<k>``; an interrupted fit resumes.
    config : optional
        Passed to ``crl.fit`` (overrides the profile's hyper-parameters).
    val_fraction, test_fraction : float
        Held-out fractions of ``crl.fit`` (early stopping uses validation only).

    Returns
    -------
    PersonaFit
    """
    from pathlib import Path

    from personax import crl

    if not hasattr(crl, "fit"):
        raise ImportError("personax.crl.fit is not available in this installation; "
                          "the CRL model package (personax.crl) must be installed")
    layout = dict(ds.schema.latent_layout)
    dims = dict(latent_dims) if latent_dims is not None else {"face": int(layout["face"]), "text": int(layout["text"])}
    if set(dims) != {"face", "text"}:
        raise ValueError(f"latent_dims must have exactly the keys 'face' and 'text', got {sorted(dims)}")
    k_shared = int(layout["shared"]) if n_shared is None else int(n_shared)
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds is empty: pass at least one seed, e.g. seeds=(0,)")
    views, ids = persona_views(ds)
    dataset = str(ds.info.get("dataset", ds.schema.name)) if isinstance(getattr(ds, "info", None), dict) else ds.schema.name
    fits, latents = [], []
    for seed in progress(seeds, desc=f"CRL fits ({dataset})"):
        ckpt = None if checkpoint_dir is None else Path(checkpoint_dir) / dataset / f"seed{seed}"
        fit = crl.fit(views, latent_dims=dims, n_shared=k_shared, seed=seed, device=device, profile=profile,
                      config=config, checkpoint_dir=ckpt, val_fraction=val_fraction, test_fraction=test_fraction)
        lat = fit.encode(views)
        if not isinstance(lat, pd.DataFrame):
            lat = pd.DataFrame(np.asarray(lat))
        if len(lat) != len(ids):
            raise RuntimeError(f"crl.fit(...).encode returned {len(lat)} rows for {len(ids)} persons; "
                               "rows cannot be aligned with person_id")
        cols = _latent_columns(lat)
        expected = k_shared + dims["face"] + dims["text"]
        if len(cols) != expected:
            raise RuntimeError(f"encode returned latent columns {cols}; expected {expected} "
                               f"(S1..S{k_shared}, Z1_1..Z1_{dims['face']}, Z2_1..Z2_{dims['text']})")
        lat = lat[cols].copy()
        lat.index = pd.Index(ids, name="person_id")
        fits.append(fit)
        latents.append(lat)
    return PersonaFit(dataset=dataset, latent_dims=dims, n_shared=k_shared, seeds=seeds, fits=fits,
                      latents=latents, split=_split_of(fits[0]))


# --------------------------------------------------------------------------- interpretation

def _pvalue(x: np.ndarray, y: np.ndarray, test: str, seed: int, y_discrete: bool) -> float:
    """Level I test of latent x against variable y (project implementation)."""
    from personax import independence

    kwargs = {"seed": seed}
    res = independence.test(test, x, y, **kwargs)
    p = res["pvalue"] if isinstance(res, dict) else res.pvalue
    return float(p)


def _design(values: pd.Series, discrete: bool):
    """Feature map of one explanatory variable for the out-of-sample R²."""
    from sklearn.preprocessing import OneHotEncoder, SplineTransformer, StandardScaler
    from sklearn.pipeline import make_pipeline

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

    * ``p_value`` of the Level I test ``test`` (``personax.independence``) of L ⫫ V, on at
      most ``max_n`` rows (seeded subsample) after dropping rows where V is missing;
      nominal variables with more than two levels enter the test one-hot encoded;
      ``q_value`` is the Benjamini–Hochberg adjustment over the whole table;
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
        ``n`` (rows tested), ``p_value``, ``q_value``, ``r2_test``, ``error`` (empty, or why
        the test failed; its p-value is then NaN).
    """
    lat = latents_df[_latent_columns(latents_df)]
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
    out = pd.DataFrame(rows, columns=["latent", "block", "variable", "kind", "n", "p_value", "r2_test", "error"])
    out.insert(out.columns.get_loc("p_value") + 1, "q_value", benjamini_hochberg(out["p_value"].to_numpy()))
    return out


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
                         "p_value": p, "r2_test": float(r2[j]), "error": err})
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
        dep = g[(g["q_value"] < alpha)].sort_values("r2_test", ascending=False)
        ev = "; ".join(f"{r.variable} (R² {r.r2_test:.2f})" for r in dep.head(top).itertuples())
        best = dep.iloc[0] if len(dep) else None
        rows.append({"latent": L, "block": block, "evidence": ev or "no evidence",
                     "best_variable": best["variable"] if best is not None else "",
                     "best_r2_test": float(best["r2_test"]) if best is not None else float("nan"),
                     "n_dependent": int(len(dep))})
    return pd.DataFrame(rows, columns=["latent", "block", "evidence", "best_variable", "best_r2_test", "n_dependent"])


# --------------------------------------------------------------------------- recovery on the sample

def match_to_truth(latents_df: pd.DataFrame, truth_latents: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rename learned latents to their best-matching planted latents, block by block.

    Thin wrapper over :func:`personax.crl.graph.align_latents` with the planted latents as
    reference (Hungarian matching on |Spearman|).  Needed before comparing graphs, because
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
    from personax.crl import metrics

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
        out.append({"block": block, "n_latents": len(tc), "mcc": _scalar(mcc), "r2": _scalar(r2),
                    "n_rows": int(n_rows)})
    return pd.DataFrame(out, columns=["block", "n_latents", "mcc", "r2", "n_rows"])


def _scalar(res: Any) -> float:
    if isinstance(res, (float, int, np.floating, np.integer)):
        return float(res)
    if isinstance(res, dict):
        for key in ("mcc", "r2", "mean", "value", "score"):
            if key in res:
                return float(res[key])
    for key in ("mcc", "r2", "mean", "value", "score"):
        if hasattr(res, key):
            return float(getattr(res, key))
    raise TypeError(f"cannot read a score from {type(res).__name__}: {res!r}")


def evaluate_recovery(latents_df: pd.DataFrame, truth, *, graph_adjacency: pd.DataFrame | None = None,
                      fit_rows: np.ndarray | None = None, eval_rows: np.ndarray | None = None,
                      seed: int = 0, stable_edges: pd.DataFrame | None = None) -> dict:
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
    dict
        ``blocks``: DataFrame (block, n_latents, mcc, r2, n_rows); ``matching``: DataFrame
        (planted, learned, block, abs_spearman), chosen on ``fit_rows`` when given;
        ``graph``: dict from :func:`~personax.crl.graph.compare_graphs` against the planted
        DAG after renaming learned latents to their matched planted names (only with
        ``graph_adjacency``; ``shd_cpdag`` is the CPDAG SHD); ``graph_stable``: the same for
        ``stable_edges``; ``mapping``: learned name → planted name.
    """
    if truth is None:
        raise ValueError("this dataset has no planted truth (real data): recovery cannot be scored; "
                         "use the synthetic sample (source='sample')")
    T = truth.latents.reset_index(drop=True)
    L = latents_df.reset_index(drop=True)[_latent_columns(latents_df)]
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
    out = {"blocks": _block_metric_scores(L, T, fit_rows, eval_rows, seed), "matching": matching}
    mapping = dict(zip(matching["learned"], matching["planted"]))
    out["mapping"] = mapping
    if graph_adjacency is not None:
        A = graph_adjacency.rename(index=mapping, columns=mapping)
        dag = truth.dag.loc[list(A.index), list(A.index)]
        out["graph"] = compare_graphs(A, dag)
    if stable_edges is not None:
        from personax.crl.graph import edges_to_adjacency

        nodes = list(L.columns)
        A = edges_to_adjacency(stable_edges, nodes).rename(index=mapping, columns=mapping)
        out["graph_stable"] = compare_graphs(A, truth.dag.loc[list(A.index), list(A.index)])
    return out


# --------------------------------------------------------------------------- one-call pipeline

from personax.profiles import BUDGETS as _BUDGETS  # noqa: E402  (kept beside its one use)

#: Budget presets of :func:`run_level2` (rows, training profile, PC test and stability sizes):
#: the same dict object as ``personax.profiles.BUDGETS["crl.realworld"]``, which documents
#: each setting (the one table of profile budgets).
PROFILE_SETTINGS: dict[str, dict] = _BUDGETS["crl.realworld"]


@dataclass
class OracleGraph:
    """PC on the planted latents of a synthetic sample (the graph step with perfect latents).

    Attributes
    ----------
    graph : personax.crl.graph.LatentGraph
        PC with the run's test, α and rows on ``ds.truth.latents``.
    scores : dict
        :func:`~personax.crl.graph.compare_graphs` against the planted DAG (``shd_cpdag`` is
        the CPDAG SHD, refined by the background knowledge).
    """

    graph: Any
    scores: dict

    def to_dict(self) -> dict:
        return {"graph": self.graph.to_dict(), "scores": dict(self.scores)}


@dataclass
class Level2Result:
    """Everything :func:`run_level2` computed for one dataset.

    Attributes
    ----------
    dataset : str
    fit : PersonaFit
    graph : personax.crl.graph.LatentGraph
        PC over the first seed's latents (every row of ``pc_rows``, depth unlimited).
    stability : DataFrame
        Edge frequencies over the main PC run plus seeds × ``n_boot`` half-sample resamples
        (:func:`~personax.crl.graph.edge_stability`).
    stable : DataFrame
        The edges with frequency ≥ ``settings["freq_threshold"]``
        (:func:`~personax.crl.graph.stable_edges`): the graph the chapter draws.
    description : DataFrame
        :func:`describe_latents` of the first seed.
    labels : DataFrame
        :func:`suggest_labels` of ``description``.
    recovery : dict or None
        :func:`evaluate_recovery` (synthetic data only); its ``graph`` scores the main PC
        run and ``graph_stable`` the stable graph, both against the planted DAG after
        renaming learned latents to their matched planted ones.
    oracle : OracleGraph or None
        On synthetic data: PC with the same test, α and rows on the *planted* latents and
        its scores against the planted DAG — the graph step's own error, beside the error
        that comes from the learned latents.
    settings : dict
        The resolved settings (profile preset + overrides), ``timings`` (wall seconds per
        step), ``cpu_seconds`` (CPU time of the process that ran the pipeline; on a shared
        machine the wall times include waiting for a core) and, when :func:`run_level2_all`
        ran the oracle in another process, ``cpu_seconds_oracle``.
    """

    dataset: str
    fit: PersonaFit
    graph: Any
    stability: pd.DataFrame
    description: pd.DataFrame
    labels: pd.DataFrame
    recovery: dict | None
    oracle: OracleGraph | None
    settings: dict
    stable: pd.DataFrame = field(default_factory=pd.DataFrame)


def run_level2(ds, *, profile: str = "quick", seeds: Sequence[int] | None = None, alpha: float = 0.05,
               ci_test: str | None = None, seed: int = 0, device: str = "auto", n_boot: int | None = None,
               checkpoint_dir=None, describe_test: str = "kci", pc_rows: str = "all",
               pc_options: dict | None = None, freq_threshold: float | None = None,
               oracle: "OracleGraph | bool" = True) -> Level2Result:
    """Fit, graph, stability, interpretation and (on synthetic data) recovery for one dataset.

    Parameters
    ----------
    ds : PersonaData
        Already subsampled if wanted (``load(..., n=...)``).
    profile : {"ci", "quick", "paper"}
        Budget preset (:data:`PROFILE_SETTINGS`).
    seeds : sequence of int, optional
        CRL training seeds (default from the profile).
    alpha : float
        PC significance level.
    ci_test : {"rcit", "kci", "fisherz"} or None
        PC's CI test; ``None`` takes the profile's (``ci``: Fisher-z, a smoke test;
        ``quick`` / ``paper``: RCIT, the paper's test for CelebPersona, O(n·100²) per test).
        ``"kci"`` runs the project's conditional KCI (causal-learn's definition; minutes per
        PC run at 2,000 rows on two cores, see ``benchmarks/results/pc.csv``).
    seed : int
        Seeds PC subsamples, resamples, tests and the interpretation split.
    device : str
    n_boot : int, optional
        Resamples per seed for edge stability (default from the profile).
    checkpoint_dir : path, optional
        CRL checkpoints (resume after interruption).
    describe_test : str
        Level I test for :func:`describe_latents`.
    pc_rows : {"all", "heldout"}
        Rows PC and the stability resamples use: every person (default; the trained
        encoder is a fixed map, and more rows give the tests power) or only the validation
        + test rows (the authors ran PC on validation rows only).  The oracle uses the same rows.
    pc_options : dict, optional
        Options of the CI test (e.g. ``{"max_rank": 300}`` for KCI).
    freq_threshold : float, optional
        Frequency above which an edge enters the stable graph (default from the profile).
    oracle : bool or OracleGraph
        On synthetic data: ``True`` runs the oracle PC here, ``False`` skips it, an
        :class:`OracleGraph` from :func:`oracle_graph` (same settings, same rows) is used as
        given — :func:`run_level2_all` computes it in another process, beside the fit.

    Returns
    -------
    Level2Result
    """
    import time

    from personax.crl.graph import edge_frequencies, edge_stability, pc_graph, stable_edges

    st = _settings(profile, seeds=seeds, n_boot=n_boot, ci_test=ci_test, pc_options=pc_options,
                   freq_threshold=freq_threshold, pc_rows=pc_rows, alpha=alpha, seed=seed)
    ci_test = st["ci_test"]
    pc_kw = _pc_kwargs(st, device)
    if isinstance(oracle, OracleGraph) and pc_rows != "all":
        raise ValueError("a precomputed oracle is PC on every row; with pc_rows='heldout' let run_level2 compute it")
    timings = {}
    cpu0 = time.process_time()
    t = time.perf_counter()
    pf = fit_persona(ds, seeds=st["seeds"], profile=st["train_profile"], device=device,
                     checkpoint_dir=checkpoint_dir, config=st["train_config"])
    timings["fit"] = time.perf_counter() - t
    split = pf.split
    # the interpretation's R² is scored on rows no training step saw (validation + test)
    held = np.sort(np.concatenate([split["val"], split["test"]])) if split else np.arange(len(ds.frame))
    pc_idx = held if pc_rows == "heldout" else np.arange(len(ds.frame))
    t = time.perf_counter()
    lat_pc = [lat.iloc[pc_idx] for lat in pf.latents]
    graph = pc_graph(lat_pc[0], seed=seed, **pc_kw)
    timings["pc"] = time.perf_counter() - t
    t = time.perf_counter()
    # the main run counts as one stability run; half-sample resamples add seeds × n_boot more
    runs = [graph]
    if st["n_boot"] > 0 or len(lat_pc) > 1:
        runs += edge_stability(lat_pc, n_boot=st["n_boot"], seed=seed + 1, return_graphs=True, **pc_kw)
    stability = edge_frequencies(runs, graph.nodes)
    stable = stable_edges(stability, st["freq_threshold"])
    st["n_stability_runs"] = len(runs)
    timings["stability"] = time.perf_counter() - t
    t = time.perf_counter()
    schema = ds.schema
    description = describe_latents(pf.latents[0], ds.frame, schema.traits, schema.attributes,
                                   discrete=schema.discrete, test=describe_test,
                                   train_rows=split.get("train"), test_rows=held if split else None,
                                   seed=seed, max_n=st["describe_max_n"])
    labels = suggest_labels(description)
    timings["describe"] = time.perf_counter() - t
    recovery = None
    if ds.truth is not None:
        t = time.perf_counter()
        recovery = evaluate_recovery(pf.latents[0], ds.truth, graph_adjacency=graph.adjacency,
                                     fit_rows=split.get("train"), eval_rows=split.get("test"), seed=seed,
                                     stable_edges=stable)
        timings["recovery"] = time.perf_counter() - t
        if isinstance(oracle, OracleGraph):
            if oracle.graph.params["n_rows"] != len(pc_idx):
                raise ValueError(f"the oracle given ran on {oracle.graph.params['n_rows']} rows, PC here on "
                                 f"{len(pc_idx)}: compute it with oracle_graph on the same data")
            timings["oracle_pc"] = float(oracle.graph.params["seconds"])
        elif oracle:
            oracle = _oracle(ds, pc_idx, st, pc_kw)
            timings["oracle_pc"] = float(oracle.graph.params["seconds"])
        else:
            oracle = None
    else:
        oracle = None
    st["timings"] = timings
    # CPU seconds of this process (one thread): on a shared machine the wall times above
    # include waiting for a core, this does not
    st["cpu_seconds"] = time.process_time() - cpu0
    return Level2Result(dataset=pf.dataset, fit=pf, graph=graph, stability=stability, description=description,
                        labels=labels, recovery=recovery, oracle=oracle, settings=st, stable=stable)


def _settings(profile: str, *, seeds, n_boot, ci_test, pc_options, freq_threshold, pc_rows, alpha, seed) -> dict:
    """The profile preset of :data:`PROFILE_SETTINGS` with the caller's overrides."""
    if profile not in PROFILE_SETTINGS:
        raise ValueError(f"profile={profile!r}: use one of {sorted(PROFILE_SETTINGS)}")
    st = dict(PROFILE_SETTINGS[profile])
    if seeds is not None:
        st["seeds"] = tuple(int(s) for s in seeds)
    if n_boot is not None:
        st["n_boot"] = int(n_boot)
    if ci_test is not None:
        st["ci_test"] = ci_test
    if pc_options is not None:
        st["pc_options"] = dict(pc_options)
    if freq_threshold is not None:
        st["freq_threshold"] = float(freq_threshold)
    if pc_rows not in ("all", "heldout"):
        raise ValueError(f"pc_rows={pc_rows!r}: use 'all' or 'heldout'")
    st.update(alpha=float(alpha), seed=int(seed), pc_rows=pc_rows)
    return st


def _pc_kwargs(st: dict, device: str) -> dict:
    return {"alpha": st["alpha"], "test": st["ci_test"], "max_depth": st["max_depth"], "options": st["pc_options"],
            "device": device}


def _oracle(ds, rows: np.ndarray, st: dict, pc_kw: dict) -> OracleGraph:
    from personax.crl.graph import pc_graph

    og = pc_graph(ds.truth.latents.iloc[rows], seed=st["seed"], **pc_kw)
    return OracleGraph(graph=og, scores=compare_graphs(og.adjacency, ds.truth.dag.loc[og.nodes, og.nodes]))


def oracle_graph(ds, *, profile: str = "quick", alpha: float = 0.05, ci_test: str | None = None, seed: int = 0,
                 device: str = "auto", pc_options: dict | None = None) -> OracleGraph:
    """PC on the planted latents of a synthetic sample, every row, with :func:`run_level2`'s settings.

    The same test, α, options, depth and seed as ``run_level2(ds, profile=..., ...)`` with
    ``pc_rows="all"``, so the result equals the oracle that call computes; it does not
    depend on the CRL fit, so it can run beside it (:func:`run_level2_all`).

    Raises
    ------
    ValueError
        ``ds`` has no planted truth (real data).
    """
    if ds.truth is None:
        raise ValueError("this dataset has no planted truth (real data): there is no oracle to run; "
                         "use the synthetic sample (source='sample')")
    st = _settings(profile, seeds=None, n_boot=None, ci_test=ci_test, pc_options=pc_options, freq_threshold=None,
                   pc_rows="all", alpha=alpha, seed=seed)
    return _oracle(ds, np.arange(len(ds.frame)), st, _pc_kwargs(st, device))


def _level2_worker(task: str, ds, kwargs: dict):
    """One task of :func:`run_level2_all` in a worker process (libraries kept quiet, as in the notebook)."""
    from personax.utils import quiet_third_party

    quiet_third_party()
    if task == "oracle":
        keep = ("profile", "alpha", "ci_test", "seed", "device", "pc_options")
        return oracle_graph(ds, **{k: v for k, v in kwargs.items() if k in keep})
    return run_level2(ds, **kwargs)


def run_level2_all(data: Mapping[str, Any], *, n_jobs: int | None = None, **kwargs) -> dict[str, Level2Result]:
    """:func:`run_level2` for every dataset of ``data``, in parallel processes on a CPU machine.

    The work is split into independent tasks — per dataset the pipeline of
    :func:`run_level2` (fit, PC, stability, interpretation, recovery) and, on synthetic
    data, the oracle PC on the planted latents (:func:`oracle_graph`, which does not need
    the fit) — and handed to ``n_jobs`` worker processes, longest first.  Every task is
    seeded on its own and runs on one CPU thread (``crl.fit(threads=1)``,
    :func:`~personax.crl.graph.cpu_threads`), so the results equal those of
    ``run_level2`` one dataset after the other (``n_jobs=1``); on two cores the chapter
    takes about the time of its longest task instead of the sum.

    Parameters
    ----------
    data : mapping
        ``{dataset: PersonaData}``.
    n_jobs : int or None
        Worker processes; ``None`` = up to the CPU count (at most one per task) on a CPU
        device, and 1 on a GPU (one device, one process).  ``1`` runs everything in this
        process.
    **kwargs
        Passed to :func:`run_level2` (``profile``, ``seeds``, ``alpha``, ``device`` ...).

    Returns
    -------
    dict
        ``{dataset: Level2Result}`` in the order of ``data``.
    """
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    from personax.errors import ParameterError
    from personax.utils import resolve_device

    if not data:
        raise ParameterError("data is empty: pass {dataset: PersonaData}", hint="e.g. {'athlepersona': load(...)}")
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1):
        raise ParameterError(f"n_jobs={n_jobs!r} must be a positive integer or None", hint="e.g. n_jobs=2")
    if "oracle" in kwargs:
        raise ParameterError("run_level2_all schedules the oracle itself", hint="drop the oracle= argument")
    on_cpu = resolve_device(kwargs.get("device", "auto")).startswith("cpu")
    split_oracle = kwargs.get("pc_rows", "all") == "all"
    tasks = [("level2", d) for d in data]
    if split_oracle:
        tasks += [("oracle", d) for d, ds in data.items() if ds.truth is not None]
    if n_jobs is None:
        n_jobs = min(len(tasks), os.cpu_count() or 1) if on_cpu else 1
    if n_jobs == 1:
        return {d: run_level2(ds, **kwargs) for d, ds in data.items()}
    # longest first: the pipelines (largest dataset first), then the oracles
    tasks.sort(key=lambda t: (t[0] != "level2", -len(data[t[1]].frame)))
    # spawn, not fork: the parent holds torch's and BLAS's thread pools, which a fork would copy in a broken state
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=int(n_jobs), mp_context=ctx) as pool:
        run_kw = {**kwargs, "oracle": False} if split_oracle else dict(kwargs)
        futures = {t: pool.submit(_level2_worker, t[0], data[t[1]], run_kw) for t in tasks}
        done = {t: f.result() for t, f in futures.items()}
    out = {}
    for d in data:
        r = done[("level2", d)]
        if ("oracle", d) in done:
            r.oracle = done[("oracle", d)]
            r.settings["timings"]["oracle_pc"] = float(r.oracle.graph.params["seconds"])
            r.settings["cpu_seconds_oracle"] = float(r.oracle.graph.params["cpu_seconds"])
        out[d] = r
    return out
