r"""The synthetic PersonaX world: a documented structural causal model (SCM) per dataset.

This is a *project* generator (the authors published none, paper.md §6 item 7).  It
produces tables with the canonical schema of :mod:`personax.data.schema`, embedding
measurements, and a **planted truth** that tests and book pages can check methods
against.  Nothing here is real data; example people do not exist.

Structure
---------
Every variable is a node of one causal DAG (:func:`world_graph`):

* **attributes** (the Level I columns) and one hidden node ``region`` (geographic origin);
* **latents** with the paper's sizes — CelebPersona ``S1–S3``, ``Z1_1–Z1_10`` (face),
  ``Z2_1–Z2_5`` (text); AthlePersona ``S1–S2``, ``Z1_1–Z1_5``, ``Z2_1–Z2_5``;
* the five **traits** (aggregated columns); trait *k* is a child of ``Z2_k`` only.

The latent DAG uses the directed edges of the paper's learned graphs (paper.md §4.5).
The two undirected edges of the AthlePersona figure are oriented by this project:
``S2 → S1`` (culture shapes mindset; the other orientation would make S2 a collider and cut
geography off from every trait) and ``Z2_1 → Z2_2`` (confidence → achievement).
Biographical attributes act as causes of latents (the edges listed by
:func:`attribute_edges` are this project's choice, made to reproduce the paper's
qualitative Level I findings, §3.2): CelebPersona — gender and occupation drive
education ``S1``, expressiveness ``Z2_5`` and some face latents; birth year drives the
growing environment ``S3``; latitude/longitude drive the cultural background ``S2``
("culture"); AthlePersona — league drives mindset ``S1``, confidence ``Z2_1`` and
emotional stability ``Z2_3``, birth year drives ``Z2_1``/``Z2_3``, latitude/longitude drive
culture ``S2``; height and weight depend on gender (Celeb) or league (Athle).  Birth month
and birth day are drawn independently of everything else (day given month only).

Structural equations
--------------------
Continuous nodes are additive in monotone transforms of their parents,

.. math:: v = \sum_{p \in \mathrm{Pa}(v)} c_{p}\, f_{p}(\tilde p) + \sigma_v\,\varepsilon_v,
          \qquad \sigma_v = \sqrt{\max(1 - \textstyle\sum_p c_p^2,\; 0.25)},

with :math:`\tilde p` a parent standardised by fixed world constants (not sample
statistics), :math:`f_p \in \{\mathrm{lin}, \mathrm{sat}, \mathrm{convex}\}` (identity,
:math:`1.5\tanh(x/1.5)`, :math:`\mathrm{softplus}(1.5x) - 0.7`), categorical parents
entering through a fixed effect per category, and :math:`\varepsilon_v \sim N(0, 1)`.
The per-node equations are listed by :func:`equations` and on the data card.

* **Traits:** :math:`t_k = 0.9\,\mathrm{sat}(Z_{2,k}) + 0.45\,\varepsilon`.
* **Raters** (:data:`RATERS`, :func:`rate`): LLM *l* sees
  :math:`r = a_l t_k + b_{l,k} + \sigma_l \varepsilon`, reports 1/2/3 by the cut points
  :math:`(-0.45, 0.45)`, or abstains with probability :math:`\pi_{l,k}` (score 0).
* **Aggregate:** :func:`personax.data.aggregate.median_drop_zeros` of the three raters.
* **CelebA attributes:** :math:`\pm 1 = \mathrm{sign}(\text{score} - \tau)` of a noisy
  additive score of face latents, τ set by the attribute's prevalence.
* **Embeddings:** measurement *k* of modality *m* is
  :math:`x^{(k)}_m = g^{(k)}_m([S, Z_m]) + 0.05\,s\,\eta` (``s`` = the typical output
  scale of :math:`g^{(k)}_m`), with :math:`g^{(k)}_m` a fixed
  injective MLP (full-column-rank linear → leaky-ReLU → orthogonal → leaky-ReLU →
  full-column-rank linear) seeded by (dataset, measurement, width) — the same world for
  every sample seed.  No unit-norm projection (real embeddings pass an unknown privacy
  transform, paper.md §2.9).  Face: 3 measurements (Celeb) / 1 (Athle); text: one per LLM.
* **Gaps:** MCAR missingness in height/weight, latitude/longitude, birth month/day,
  occupation (small rates, :data:`MISSING_RATES`), applied after all children were drawn.

Planted truth
-------------
The dependent / independent (trait, attribute) pairs are **derived** by d-separation in
the world graph (:func:`derive_pairs`), not listed by hand; the effect sizes are tuned so
that a simple test (:func:`check_planted_truth`: Spearman for ordered attributes,
Kruskal–Wallis for nominal ones) detects every dependent pair at full scale (9,444 /
4,181 rows; p < 1e-3 at seed 0) while the independent pairs stay at the nominal level.
Effect signs are aligned across paths (every gender path favours the same index,
occupation and league effects each share one profile), so that no two causal paths
cancel: d-connected pairs are dependent with a margin (faithfulness), not just in theory.
For a categorical parent, :math:`c_p^2` in :math:`\sigma_v` is the variance of its
centred per-category effects.

The package: ``world`` (the specification: equations, graph, planted pairs, world card),
``sampling`` (attributes, equations, mixing functions, the frame); the raters and
:func:`generate` live here.  Every name stays importable from ``personax.data.synthetic``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from personax.data.dataset import PersonaData, PlantedTruth
from personax.data.schema import DATASETS, LLMS, TRAITS, get_schema
from personax.data.synthetic.sampling import (  # noqa: F401  (re-exported: the old import path)
    WORLD_SEED,
    _add_missing,
    _check_int,
    _embed,
    _embeddings,
    _eval_terms,
    _mixing_mlp,
    _parent_value,
    _sample_attributes,
    _sample_values,
    _scalar_frame,
)
from personax.data.synthetic.world import (  # noqa: F401  (re-exported: the old import path)
    _ATHLE_ATTR_PARENTS,
    _ATHLE_NODES,
    _CELEB_ATTR_PARENTS,
    _CELEB_FACE_ATTRS,
    _CELEB_NODES,
    _CELEB_REGION_P,
    _DAYS_IN_MONTH,
    _LEAGUE_BIRTH_OFFSET,
    _LEAGUE_HEIGHT,
    _LEAGUE_P,
    _LEAGUE_PROFILE,
    _LEAGUE_REGION,
    _LEAGUE_WEIGHT_OFFSET,
    _OCC_GIVEN_GENDER,
    _OCC_PROFILE,
    _STANDARDISE,
    _TRANSFORMS,
    CONFOUNDERS,
    GENDERS,
    MISSING_RATES,
    OCCUPATIONS,
    REGIONS,
    _category_labels,
    _noise_sd,
    _spec,
    _term_text,
    _tup,
    attribute_edges,
    confounding_table,
    derive_pairs,
    equations,
    latent_dag,
    world_card,
    world_graph,
)
from personax.utils import renamed_columns

GENERATOR_VERSION = "1.0.0"

# ----------------------------------------------------------------------------------------
# Simulated LLM raters
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rater:
    """A simulated LLM rater.

    Attributes
    ----------
    name : LLM key (``chatgpt``, ``gemini``, ``llama``).
    slope : sensitivity ``a`` to the true trait value.
    bias : per-trait offsets ``b`` (OCEAN order); positive = rates higher.
    noise_sd : rater noise ``σ``.
    abstain : per-trait probability of answering 0 ("insufficient information").
    cutpoints : thresholds between levels 1|2 and 2|3.
    """

    name: str
    slope: float
    bias: tuple[float, ...]
    noise_sd: float
    abstain: tuple[float, ...]
    cutpoints: tuple[float, float] = (-0.45, 0.45)


#: The three simulated raters: ChatGPT is the sharpest and rarely abstains; Llama is the
#: noisiest, most lenient and abstains most (ordering loosely follows paper.md §2.4/2.7).
RATERS: dict[str, Rater] = {
    "chatgpt": Rater("chatgpt", 1.00, (0.10, 0.15, 0.00, 0.20, -0.20), 0.45, (0.02, 0.02, 0.02, 0.03, 0.05)),
    "gemini": Rater("gemini", 0.90, (0.00, 0.05, -0.10, 0.10, -0.10), 0.55, (0.04, 0.04, 0.03, 0.05, 0.08)),
    "llama": Rater("llama", 0.80, (0.20, 0.20, 0.10, 0.30, -0.30), 0.65, (0.06, 0.06, 0.05, 0.08, 0.12)),
}


def rate(trait_values, llm: str, rng) -> np.ndarray:
    """Scores of one simulated LLM for continuous trait values.

    Parameters
    ----------
    trait_values : array-like (n, 5)
        Continuous trait values in OCEAN order (NaN allowed → score 0).
    llm : ``"chatgpt" | "gemini" | "llama"``
    rng : int seed or numpy Generator

    Returns
    -------
    numpy.ndarray of int64, shape (n, 5), values in {0, 1, 2, 3} (0 = abstention).

    Examples
    --------
    >>> from personax.utils import make_rng
    >>> scores = rate(make_rng(0).normal(size=(6, 5)), "chatgpt", make_rng(1))
    >>> scores.shape, set(scores.ravel()) <= {0, 1, 2, 3}
    ((6, 5), True)
    """
    from personax.utils import make_rng

    if llm not in RATERS:
        raise ValueError(f"unknown llm {llm!r}: use one of {', '.join(RATERS)}")
    t = np.asarray(trait_values, dtype=np.float64)
    if t.ndim != 2 or t.shape[1] != len(TRAITS):
        raise ValueError(f"trait_values must have shape (n, {len(TRAITS)}), got {t.shape}")
    rng = make_rng(rng)
    r = RATERS[llm]
    latent = r.slope * t + np.asarray(r.bias) + r.noise_sd * rng.standard_normal(t.shape)
    scores = 1 + (latent > r.cutpoints[0]).astype(np.int64) + (latent > r.cutpoints[1]).astype(np.int64)
    abstain = rng.random(t.shape) < np.asarray(r.abstain)
    scores[abstain | ~np.isfinite(t)] = 0
    return scores


def generate(dataset: str, n: int | None = None, seed: int = 0, face_dim: int = 1024, text_dim: int = 3584,
             n_face: int | None = None) -> PersonaData:
    """Draw a synthetic PersonaX dataset with planted truth.

    Parameters
    ----------
    dataset : ``"celebpersona"`` or ``"athlepersona"``
    n : int, optional
        Rows; defaults to the release size (9,444 / 4,181).
    seed : int
        Sampling seed (the mixing functions are fixed by the world, not by ``seed``).  The
        scalar frame does not depend on ``face_dim``, ``text_dim`` or ``n_face``.
    face_dim, text_dim : int
        Embedding widths (release: 1024 ImageBind / 3584 gte-Qwen2).
    n_face : int, optional
        Face measurements (default 3 for CelebPersona, 1 for AthlePersona).

    Returns
    -------
    PersonaData
        ``frame`` with the canonical columns, ``embeddings`` (``face_1..``, ``text_{llm}``),
        ``truth`` (:class:`PlantedTruth`), ``info`` with ``synthetic=True``, ``seed``,
        ``generator_version``.

    Examples
    --------
    >>> ds = generate("athlepersona", n=40, seed=0, face_dim=8, text_dim=8)
    >>> len(ds), ds.info["synthetic"], sorted(ds.truth.blocks)
    (40, True, ['face', 'shared', 'text'])
    """
    from personax.utils import make_rng

    schema = get_schema(dataset)
    n = schema.paper_rows if n is None else n
    _check_int("n", n, 1)
    _check_int("face_dim", face_dim, 1)
    _check_int("text_dim", text_dim, 1)
    n_face = schema.embeddings["face"].default_measurements if n_face is None else n_face
    _check_int("n_face", n_face, 1)
    make_rng(seed)  # validates the seed
    ds_index = DATASETS.index(dataset)
    # independent streams so that widths/measurement counts never change the scalar frame
    s_struct, s_rate, s_emb, s_miss = np.random.SeedSequence([int(seed), ds_index]).spawn(4)
    rng = np.random.default_rng(s_struct)

    values = _sample_values(dataset, n, rng)
    blocks = schema.latent_names
    trait_values, scores = _rate_traits(values, blocks["text"], n, rng, np.random.default_rng(s_rate))
    frame = _scalar_frame(dataset, seed, n, values, scores)
    _add_missing(frame, n, np.random.default_rng(s_miss))  # MCAR gaps, after every child was computed
    frame = frame[list(schema.columns)]

    latents = pd.DataFrame({name: values[name] for b in blocks.values() for name in b})
    embeddings = _embeddings(dataset, latents, blocks, n_face, face_dim, text_dim, np.random.default_rng(s_emb))

    dep, ind = derive_pairs(dataset)
    truth = PlantedTruth(latents=latents, blocks=blocks, dag=latent_dag(dataset), dependent_pairs=dep,
                         independent_pairs=ind, graph=world_graph(dataset),
                         trait_values=pd.DataFrame(trait_values, columns=list(TRAITS)),
                         equations=equations(dataset))
    info = {"dataset": dataset, "source": "synthetic", "n": int(n), "synthetic": True, "seed": int(seed),
            "generator_version": GENERATOR_VERSION, "face_dim": int(face_dim), "text_dim": int(text_dim),
            "n_face": int(n_face)}
    return PersonaData(frame=frame, embeddings=embeddings, schema=schema, info=info, truth=truth)


def _rate_traits(values: dict, text_names, n: int, rng, rate_rng) -> tuple[np.ndarray, dict]:
    """True trait values (n, 5) from the text latents (structure stream) and each rater's 0–3 scores."""
    trait_values = np.column_stack([0.9 * _TRANSFORMS["sat"](values[z]) + 0.45 * rng.standard_normal(n)
                                    for z in text_names])
    scores = {llm: rate(trait_values, llm, rate_rng) for llm in LLMS}
    return trait_values, scores


# ----------------------------------------------------------------------------------------
# Checking the planted truth with a simple test
# ----------------------------------------------------------------------------------------

_NOMINAL = {"occupation", "league", "gender"}


def simple_dependence_test(x: pd.Series, y: pd.Series, nominal: bool) -> tuple[str, float, float, int]:
    """A deliberately simple test of X ⫫ Y: Kruskal–Wallis of y across the categories of a
    nominal x, else Spearman's rank correlation.  Rows with a missing value are dropped.

    Returns
    -------
    (test name, statistic, p-value, rows used); p is NaN with fewer than 10 rows or a
    constant column.
    """
    from scipy import stats

    df = pd.DataFrame({"x": x, "y": pd.to_numeric(y, errors="coerce")}).dropna()
    if len(df) < 10 or df["x"].nunique() < 2 or df["y"].nunique() < 2:
        return ("kruskal" if nominal else "spearman", float("nan"), float("nan"), len(df))
    if nominal:
        groups = [g["y"].to_numpy(float) for _, g in df.groupby("x", observed=True) if len(g) > 0]
        stat, p = stats.kruskal(*groups)
        return "kruskal", float(stat), float(p), len(df)
    res = stats.spearmanr(df["x"].to_numpy(float), df["y"].to_numpy(float))
    return "spearman", float(res.statistic), float(res.pvalue), len(df)


def check_planted_truth(data: PersonaData, alpha: float = 0.05) -> pd.DataFrame:
    """Run :func:`simple_dependence_test` on every planted (trait, attribute) pair.

    Parameters
    ----------
    data : PersonaData with ``truth``
    alpha : significance level

    Returns
    -------
    DataFrame, one row per pair, columns ``trait``, ``attribute``, ``planted``
    (dependent/independent), ``test``, ``statistic``, ``pvalue``, ``n``, ``detected``
    (p < alpha), ``agrees`` (detected == planted dependent).
    """
    if data.truth is None:
        raise ValueError("this dataset has no planted truth (it is not synthetic)")
    rows = []
    for _, r in data.truth.pairs_table().iterrows():
        test, stat, p, used = simple_dependence_test(data.frame[r.attribute], data.frame[r.trait],
                                                     r.attribute in _NOMINAL)
        detected = bool(p < alpha) if np.isfinite(p) else False
        rows.append({"trait": r.trait, "attribute": r.attribute, "planted": r.planted, "test": test,
                     "statistic": stat, "pvalue": p, "n": used, "detected": detected,
                     "agrees": detected == (r.planted == "dependent")})
    return renamed_columns(pd.DataFrame(rows), {"p_value": "pvalue"}, where="check_planted_truth")
