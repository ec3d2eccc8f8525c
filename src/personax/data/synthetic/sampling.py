"""Sampling the synthetic world: attributes, structural equations, fixed mixing functions."""

from __future__ import annotations

import numpy as np
import pandas as pd

from personax.data.aggregate import median_drop_zeros
from personax.data.schema import DATASETS, FACE_ATTRIBUTES, LEAGUES, LLMS, TRAITS, face_key, llm_score_column, text_key
from personax.data.synthetic.world import (
    _CELEB_REGION_P,
    _DAYS_IN_MONTH,
    _LEAGUE_BIRTH_OFFSET,
    _LEAGUE_HEIGHT,
    _LEAGUE_P,
    _LEAGUE_REGION,
    _LEAGUE_WEIGHT_OFFSET,
    _OCC_GIVEN_GENDER,
    _STANDARDISE,
    _TRANSFORMS,
    MISSING_RATES,
    OCCUPATIONS,
    REGIONS,
    _noise_sd,
    _spec,
)

#: Root of the fixed mixing-function seeds (part of the world, not of a sample).
WORLD_SEED = 20250914


# ----------------------------------------------------------------------------------------
# Sampling
# ----------------------------------------------------------------------------------------


def _parent_value(values: dict, parent: str, dataset: str) -> np.ndarray:
    v = values[parent]
    std = _STANDARDISE[dataset]
    if parent in std:
        mu, sd = std[parent]
        return (np.asarray(v, dtype=np.float64) - mu) / sd
    return v


def _eval_terms(terms, values, dataset) -> np.ndarray:
    out = 0.0
    for parent, coef, fn in terms:
        x = _parent_value(values, parent, dataset)
        if isinstance(coef, tuple):
            eff = np.asarray(coef, dtype=np.float64)
            out = out + (eff - eff.mean())[np.asarray(x, dtype=np.int64)]
        else:
            out = out + coef * _TRANSFORMS[fn](x)
    return out


def _sample_attributes(dataset: str, n: int, rng: np.random.Generator) -> dict:
    v: dict[str, np.ndarray] = {}
    v["birth_month"] = rng.integers(1, 13, size=n)
    # day given month only (29 Feb allowed): independent of everything else
    v["birth_day"] = 1 + np.floor(rng.random(n) * _DAYS_IN_MONTH[v["birth_month"] - 1]).astype(np.int64)
    if dataset == "celebpersona":
        v["gender"] = (rng.random(n) < 0.5).astype(np.int64)
        cum = np.cumsum(_OCC_GIVEN_GENDER[v["gender"]], axis=1)
        v["occupation"] = np.minimum((rng.random(n)[:, None] > cum).sum(axis=1), len(OCCUPATIONS) - 1)
        v["birth_year"] = np.clip(np.round(rng.normal(1962.0, 16.0, n)), 1920, 2004).astype(np.int64)
        v["region"] = rng.choice(len(REGIONS), size=n, p=_CELEB_REGION_P)
        v["height_cm"] = 165.0 + 13.0 * v["gender"] + rng.normal(0.0, 7.0, n)
        v["weight_kg"] = 62.0 + 0.8 * (v["height_cm"] - 170.0) + 8.0 * v["gender"] + rng.normal(0.0, 9.0, n)
    else:
        v["league"] = rng.choice(len(LEAGUES), size=n, p=_LEAGUE_P)
        v["birth_year"] = np.clip(np.round(rng.normal(1993.0, 5.0, n) + np.asarray(_LEAGUE_BIRTH_OFFSET)[v["league"]]),
                                  1965, 2007).astype(np.int64)
        cum = np.cumsum(_LEAGUE_REGION[v["league"]], axis=1)
        v["region"] = np.minimum((rng.random(n)[:, None] > cum).sum(axis=1), len(REGIONS) - 1)
        sd = np.where(v["league"] == LEAGUES.index("NBA"), 8.0, 6.0)
        v["height_cm"] = np.asarray(_LEAGUE_HEIGHT)[v["league"]] + sd * rng.standard_normal(n)
        v["weight_kg"] = (84.0 + 0.9 * (v["height_cm"] - 187.0) + np.asarray(_LEAGUE_WEIGHT_OFFSET)[v["league"]]
                          + rng.normal(0.0, 7.0, n))
    reg = np.asarray([r[1:] for r in REGIONS])[v["region"]]
    v["latitude"] = np.clip(reg[:, 0] + reg[:, 2] * rng.standard_normal(n), -60.0, 72.0)
    v["longitude"] = np.clip(reg[:, 1] + reg[:, 3] * rng.standard_normal(n), -170.0, 175.0)
    return v


def _mixing_mlp(dataset: str, measurement: str, d_in: int, d_out: int):
    """Fixed injective MLP R^d_in → R^d_out for one measurement (seeded by the world, not the sample).

    Returns ``(f, scale)``: the float32 function and its typical output scale (standard
    deviation on a fixed reference draw of standard-normal inputs), used to size the
    measurement noise independently of the sample.
    """
    if d_out < d_in:
        raise ValueError(f"embedding width {d_out} is smaller than the {d_in} latents it must encode injectively; "
                         f"use a width ≥ {d_in}")
    h = max(min(64, d_out), d_in)
    key = [WORLD_SEED, DATASETS.index(dataset),
           sum(ord(c) * (i + 1) for i, c in enumerate(measurement)), d_out]
    rng = np.random.default_rng(key)
    # float64 throughout: float32 BLAS results change in the last bits with the thread count,
    # which would make the shipped sample's bytes depend on the machine.
    w1 = rng.standard_normal((d_in, h)) / np.sqrt(d_in)        # full column rank a.s. (h ≥ d_in)
    q = np.linalg.qr(rng.standard_normal((h, h)))[0]           # orthogonal: invertible
    w3 = rng.standard_normal((h, d_out)) / np.sqrt(h)          # rank h a.s. (d_out ≥ h)
    b1, b2 = 0.3 * rng.standard_normal(h), 0.3 * rng.standard_normal(h)
    b3 = 0.1 * rng.standard_normal(d_out)

    def f(z: np.ndarray) -> np.ndarray:
        a = np.asarray(z, dtype=np.float64) @ w1 + b1
        a = np.maximum(a, 0.2 * a) @ q + b2          # leaky-ReLU (slope 0.2) is a bijection
        a = np.maximum(a, 0.2 * a) @ w3
        a += b3
        return a

    scale = float(f(rng.standard_normal((1000, d_in))).std())
    return f, scale


def _embed(dataset, measurement, inputs, d_out, rng) -> np.ndarray:
    f, scale = _mixing_mlp(dataset, measurement, inputs.shape[1], d_out)
    # the mixing runs in float64; the cast and the float32 noise are elementwise, hence
    # identical on every machine
    x = f(inputs).astype(np.float32)
    x += np.float32(0.05 * scale) * rng.standard_normal(x.shape, dtype=np.float32)
    return x


def _check_int(name, value, minimum):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int ≥ {minimum}, got {value!r}")


def _sample_values(dataset: str, n: int, rng: np.random.Generator) -> dict:
    """Attributes, latents (in topological order) and the ±1 face attributes, from the structure stream."""
    from scipy.stats import norm

    attr_parents, nodes, face_attrs = _spec(dataset)
    values = _sample_attributes(dataset, n, rng)
    for name, terms in nodes.items():
        values[name] = _eval_terms(terms, values, dataset) + _noise_sd(terms) * rng.standard_normal(n)
    for name, (terms, prev) in face_attrs.items():
        noise = _noise_sd(terms)
        score = _eval_terms(terms, values, dataset) + noise * rng.standard_normal(n)
        # τ from the prevalence under an approximately unit-variance score
        total_sd = np.sqrt(sum(c ** 2 for _, c, _ in terms) + noise ** 2)
        values[name] = np.where(score > norm.ppf(1.0 - prev) * total_sd, 1, -1).astype(np.int64)
    return values


def _scalar_frame(dataset: str, seed: int, n: int, values: dict, scores: dict) -> pd.DataFrame:
    """The canonical scalar columns (ids, attributes, LLM scores, aggregate traits), complete."""
    frame = pd.DataFrame({"person_id": pd.array([f"{dataset[0].upper()}{seed:03d}-{i:05d}" for i in range(n)],
                                                dtype="string")})
    for col in ("birth_year", "birth_month", "birth_day"):
        frame[col] = pd.array(values[col], dtype="Int64")
    frame["latitude"] = np.round(values["latitude"], 4)
    frame["longitude"] = np.round(values["longitude"], 4)
    frame["height_cm"] = np.round(values["height_cm"], 1)
    frame["weight_kg"] = np.round(values["weight_kg"], 1)
    if dataset == "celebpersona":
        frame["occupation"] = pd.array(values["occupation"], dtype="Int64")
        frame["gender"] = pd.array(values["gender"], dtype="Int64")
        for a in FACE_ATTRIBUTES:
            frame[a] = pd.array(values[a], dtype="Int64")
    else:
        frame["league"] = pd.array(np.asarray(LEAGUES, dtype=object)[values["league"]], dtype="string")
    for llm in LLMS:
        for k, trait in enumerate(TRAITS):
            frame[llm_score_column(llm, trait)] = pd.array(scores[llm][:, k], dtype="Int64")
    for k, trait in enumerate(TRAITS):
        frame[trait] = median_drop_zeros(np.column_stack([scores[l][:, k] for l in LLMS]))
    return frame


def _add_missing(frame: pd.DataFrame, n: int, rng: np.random.Generator) -> None:
    """MCAR gaps in place (:data:`MISSING_RATES`), drawn after every child was computed from complete values."""
    for group, p in MISSING_RATES.items():
        cols = [c for c in group.split("+") if c in frame.columns]
        if cols:
            mask = rng.random(n) < p
            for c in cols:
                frame.loc[mask, c] = pd.NA if str(frame[c].dtype) in ("Int64", "string") else np.nan


def _embeddings(dataset: str, latents: pd.DataFrame, blocks: dict, n_face: int, face_dim: int, text_dim: int,
                rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Face measurements from ``[S, Z1]`` and one text embedding per LLM from ``[S, Z2]`` (embedding stream)."""
    shared = latents[blocks["shared"]].to_numpy()
    embeddings = {}
    face_in = np.column_stack([shared, latents[blocks["face"]].to_numpy()])
    for k in range(1, n_face + 1):
        embeddings[face_key(k)] = _embed(dataset, face_key(k), face_in, face_dim, rng)
    text_in = np.column_stack([shared, latents[blocks["text"]].to_numpy()])
    for llm in LLMS:
        embeddings[text_key(llm)] = _embed(dataset, text_key(llm), text_in, text_dim, rng)
    return embeddings
