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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from personax.data.aggregate import median_drop_zeros
from personax.data.dataset import PersonaData, PlantedTruth
from personax.data.schema import (DATASETS, FACE_ATTRIBUTES, LEAGUES, LLMS, TRAITS, face_key, get_schema,
                                  llm_score_column, text_key)

GENERATOR_VERSION = "1.0.0"
#: Root of the fixed mixing-function seeds (part of the world, not of a sample).
WORLD_SEED = 20250914

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


# ----------------------------------------------------------------------------------------
# World specification
# ----------------------------------------------------------------------------------------

_TRANSFORMS = {
    "lin": lambda x: x,
    "sat": lambda x: 1.5 * np.tanh(x / 1.5),
    "convex": lambda x: np.logaddexp(0.0, 1.5 * x) - 0.7,
}

# Continuous attribute parents are standardised with these fixed world constants.
_STANDARDISE = {
    "celebpersona": {"birth_year": (1962.0, 16.0), "latitude": (30.0, 22.0), "longitude": (0.0, 75.0),
                     "height_cm": (172.0, 9.5), "weight_kg": (72.0, 13.0)},
    "athlepersona": {"birth_year": (1993.0, 5.5), "latitude": (35.0, 20.0), "longitude": (-20.0, 70.0),
                     "height_cm": (187.0, 9.0), "weight_kg": (90.0, 15.0)},
}

OCCUPATIONS: tuple[str, ...] = ("actor", "musician", "athlete", "politician", "writer", "presenter",
                                "business", "scientist")
GENDERS: tuple[str, ...] = ("female", "male")  # synthetic coding; the release's coding is unknown
# region: (name, lat centre, lon centre, lat sd, lon sd)
REGIONS: tuple[tuple, ...] = (
    ("North America", 40.0, -95.0, 6.0, 12.0),
    ("Europe", 49.0, 10.0, 5.0, 10.0),
    ("East Asia", 33.0, 120.0, 7.0, 10.0),
    ("South America", -15.0, -55.0, 9.0, 8.0),
    ("Africa", 5.0, 15.0, 9.0, 12.0),
)

# A latent/face-attribute equation: list of terms (parent, coefficient or per-category
# effects, transform).  Order of the dict is a topological order.
# Effect signs are aligned on purpose (every gender path favours index 0, occupation
# effects share one profile, league effects share one profile) so that no two causal
# paths cancel and a simple marginal test sees every d-connected pair (faithfulness with
# margin).  Occupation order = OCCUPATIONS; league order = LEAGUES.
_OCC_PROFILE = np.array([0.8, 0.6, -0.5, -0.2, 0.3, 0.5, -0.6, -0.3])
_LEAGUE_PROFILE = np.array([-0.1, 0.5, 0.6, -0.6, -0.6, 0.1, 0.3])


def _tup(x) -> tuple:
    return tuple(float(v) for v in np.round(x, 3))


_CELEB_NODES: dict[str, list] = {
    # shared latents
    "S1": [("occupation", _tup(0.9 * _OCC_PROFILE + 0.2 * np.array([0, 0, 0, 1, 1, 0, 0, 1])), "lin"),
           ("gender", (0.6, -0.6), "lin")],
    "S3": [("birth_year", 0.7, "sat")],
    "S2": [("S1", 0.6, "lin"), ("S3", 0.35, "sat"), ("latitude", 0.45, "lin"), ("longitude", 0.5, "sat")],
    # text latents (Z2_5 and Z2_4 are the text block's entry points)
    "Z2_5": [("gender", (0.6, -0.6), "lin"), ("occupation", _tup(0.8 * _OCC_PROFILE), "lin")],
    "Z2_1": [("S3", 0.5, "lin"), ("Z2_5", 0.65, "sat")],
    "Z2_4": [("S2", 0.85, "lin")],
    "Z2_2": [("Z2_1", 0.35, "lin"), ("Z2_4", 0.6, "sat"), ("Z2_5", 0.35, "convex")],
    "Z2_3": [("Z2_1", 0.4, "sat"), ("Z2_2", 0.35, "lin"), ("Z2_4", 0.45, "lin")],
    # face latents
    "Z1_1": [("gender", (0.6, -0.6), "lin"), ("occupation", _tup(0.6 * _OCC_PROFILE), "lin")],
    "Z1_3": [],
    "Z1_5": [("occupation", _tup(0.8 * _OCC_PROFILE), "lin")],
    "Z1_9": [],
    "Z1_2": [("Z1_1", 0.6, "lin"), ("Z1_3", 0.45, "sat")],
    "Z1_4": [("Z1_3", 0.3, "lin"), ("Z1_5", 0.3, "sat"), ("gender", (0.6, -0.6), "lin")],
    "Z1_6": [("Z1_1", 0.4, "lin"), ("Z1_4", 0.45, "sat"), ("Z1_9", 0.3, "lin")],
    "Z1_8": [("Z1_4", 0.65, "lin")],
    "Z1_7": [("Z1_6", 0.6, "sat"), ("Z1_8", 0.5, "lin")],
    "Z1_10": [("Z1_9", 0.4, "lin"), ("Z2_5", 0.65, "sat")],
}
# CelebA attributes: (terms, prevalence)
_CELEB_FACE_ATTRS: dict[str, tuple[list, float]] = {
    "Arched_Eyebrows": ([("Z1_4", 0.8, "lin")], 0.30),
    "Big_Nose": ([("Z1_2", 0.8, "lin")], 0.25),
    "Pointy_Nose": ([("Z1_10", 0.8, "sat")], 0.30),
    "Bushy_Eyebrows": ([("Z1_3", 0.8, "lin")], 0.15),
    "Big_Lips": ([("Z1_7", 0.8, "lin")], 0.25),
    "Oval_Face": ([("Z1_6", 0.8, "sat")], 0.30),
    "Double_Chin": ([("Z1_2", -0.55, "lin"), ("weight_kg", 0.45, "lin")], 0.12),
    "Receding_Hairline": ([("Z1_8", -0.55, "lin"), ("birth_year", -0.5, "lin")], 0.20),
    "Narrow_Eyes": ([("Z1_9", 0.8, "lin")], 0.15),
    "High_Cheekbones": ([("Z1_10", 0.6, "lin"), ("Z1_8", 0.45, "lin")], 0.45),
}

_ATHLE_NODES: dict[str, list] = {
    "S2": [("latitude", 0.5, "lin"), ("longitude", 0.4, "sat")],
    "S1": [("S2", 0.5, "lin"), ("league", _tup(0.7 * _LEAGUE_PROFILE), "lin")],
    "Z2_1": [("league", _tup(1.3 * _LEAGUE_PROFILE), "lin"), ("birth_year", 0.4, "sat")],
    "Z2_3": [("league", _tup(0.9 * _LEAGUE_PROFILE), "lin"), ("birth_year", 0.35, "lin")],
    "Z2_2": [("Z2_1", 0.85, "lin")],
    "Z2_4": [("Z2_3", 0.45, "lin"), ("S1", 0.5, "sat")],
    "Z2_5": [("Z2_1", 0.4, "lin"), ("Z2_3", 0.35, "sat"), ("Z2_4", 0.4, "convex")],
    "Z1_1": [],
    "Z1_5": [],
    "Z1_2": [("Z1_1", 0.45, "lin"), ("Z1_5", 0.35, "sat"), ("Z2_3", 0.45, "lin")],
    "Z1_3": [("Z1_1", 0.6, "sat")],
    "Z1_4": [("Z1_3", 0.4, "lin"), ("Z1_5", 0.35, "lin"), ("Z2_1", 0.5, "sat")],
}

# Athle league parameters (order = LEAGUES: PGA, Bundesliga, EPL, NBA, NFL, NHL, ATP)
_LEAGUE_P = (0.10, 0.12, 0.14, 0.12, 0.24, 0.16, 0.12)
_LEAGUE_HEIGHT = (181.0, 184.0, 181.0, 200.0, 188.0, 185.0, 187.0)
_LEAGUE_WEIGHT_OFFSET = (2.0, -4.0, -4.0, 8.0, 22.0, 8.0, -5.0)
_LEAGUE_BIRTH_OFFSET = (-6.0, 1.0, 0.5, 0.0, 0.0, -0.5, -1.0)
# P(region | league), rows = leagues, columns = REGIONS
_LEAGUE_REGION = np.array([
    [0.65, 0.20, 0.07, 0.04, 0.04],   # PGA
    [0.03, 0.85, 0.03, 0.05, 0.04],   # Bundesliga
    [0.04, 0.80, 0.03, 0.07, 0.06],   # EPL
    [0.78, 0.14, 0.02, 0.02, 0.04],   # NBA
    [0.97, 0.01, 0.00, 0.01, 0.01],   # NFL
    [0.50, 0.48, 0.01, 0.005, 0.005],  # NHL
    [0.10, 0.72, 0.06, 0.08, 0.04],   # ATP
])
_CELEB_REGION_P = (0.45, 0.30, 0.10, 0.08, 0.07)
# P(occupation | gender)
_OCC_GIVEN_GENDER = np.array([
    [0.32, 0.20, 0.04, 0.05, 0.10, 0.17, 0.06, 0.06],
    [0.22, 0.18, 0.16, 0.14, 0.09, 0.06, 0.09, 0.06],
])

#: Missing-completely-at-random rates (columns sharing a group go missing together).
MISSING_RATES: dict[str, float] = {"height_cm": 0.06, "weight_kg": 0.08, "latitude+longitude": 0.03,
                                   "birth_month+birth_day": 0.02, "birth_day": 0.01, "occupation": 0.01}

# attribute → attribute / hidden edges of the world graph, per dataset (parents listed)
_CELEB_ATTR_PARENTS = {
    "gender": [], "birth_year": [], "birth_month": [], "birth_day": ["birth_month"], "region": [],
    "occupation": ["gender"], "latitude": ["region"], "longitude": ["region"],
    "height_cm": ["gender"], "weight_kg": ["height_cm", "gender"],
}
_ATHLE_ATTR_PARENTS = {
    "league": [], "birth_month": [], "birth_day": ["birth_month"], "birth_year": ["league"],
    "region": ["league"], "latitude": ["region"], "longitude": ["region"],
    "height_cm": ["league"], "weight_kg": ["height_cm", "league"],
}

_DAYS_IN_MONTH = np.array([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _spec(dataset: str):
    get_schema(dataset)
    if dataset == "celebpersona":
        return _CELEB_ATTR_PARENTS, _CELEB_NODES, _CELEB_FACE_ATTRS
    return _ATHLE_ATTR_PARENTS, _ATHLE_NODES, {}


def attribute_edges(dataset: str) -> list[tuple[str, str]]:
    """Attribute → latent edges of the world graph (derived from the node specs)."""
    _, nodes, _ = _spec(dataset)
    latent = set(nodes)
    return [(p, c) for c, terms in nodes.items() for p, _, _ in terms if p not in latent]


def world_graph(dataset: str):
    """The full causal DAG of the synthetic world.

    Returns
    -------
    networkx.DiGraph
        Nodes carry ``kind`` ∈ {``attribute``, ``hidden``, ``latent``, ``trait``} and for
        latents ``block`` ∈ {``shared``, ``face``, ``text``}.  Edges parent → child.
    """
    import networkx as nx

    attr_parents, nodes, face_attrs = _spec(dataset)
    schema = get_schema(dataset)
    blocks = schema.latent_names
    g = nx.DiGraph()
    for name, parents in attr_parents.items():
        g.add_node(name, kind="hidden" if name == "region" else "attribute")
        for p in parents:
            g.add_edge(p, name)
    for block, names in blocks.items():
        for name in names:
            g.add_node(name, kind="latent", block=block)
    for name, terms in nodes.items():
        for parent, _, _ in terms:
            g.add_edge(parent, name)
    for name, (terms, _) in face_attrs.items():
        g.add_node(name, kind="attribute")
        for parent, _, _ in terms:
            g.add_edge(parent, name)
    for k, trait in enumerate(TRAITS):
        g.add_node(trait, kind="trait")
        g.add_edge(blocks["text"][k], trait)
    if not nx.is_directed_acyclic_graph(g):  # pragma: no cover - guards spec edits
        raise RuntimeError(f"the {dataset} world graph has a cycle")
    return g


def latent_dag(dataset: str) -> pd.DataFrame:
    """0/1 adjacency over the latents (``dag.loc[parent, child] == 1``), in S, Z1, Z2 order.

    Examples
    --------
    >>> dag = latent_dag("athlepersona")
    >>> dag.shape[0] == dag.shape[1], set(dag.to_numpy().ravel()) <= {0, 1}
    (True, True)
    """
    g = world_graph(dataset)
    names = [n for b in get_schema(dataset).latent_names.values() for n in b]
    dag = pd.DataFrame(0, index=names, columns=names, dtype="int64")
    for p, c in g.edges:
        if p in dag.index and c in dag.columns:
            dag.loc[p, c] = 1
    return dag


def derive_pairs(dataset: str, given=()) -> tuple[list, list]:
    """Dependent / independent (trait, attribute) pairs by d-separation in the world graph.

    Parameters
    ----------
    dataset : ``"celebpersona"`` or ``"athlepersona"``
    given : iterable of str
        Conditioning set (observed columns of the world graph, e.g. ``("gender",
        "occupation")``); empty (default) for the marginal pairs of the planted truth.
        Attributes in ``given`` are left out.

    Returns
    -------
    (dependent_pairs, independent_pairs) : lists of ``(trait, attribute)`` tuples, traits in
    OCEAN order, attributes in ``schema.attributes`` order.
    """
    import networkx as nx

    g = world_graph(dataset)
    given = set(given)
    unknown = sorted(given - set(g.nodes))
    if unknown:
        raise ValueError(f"given={sorted(given)}: {unknown} are not nodes of the {dataset} world graph "
                         f"(attributes: {', '.join(get_schema(dataset).attributes)})")
    dep, ind = [], []
    for trait in TRAITS:
        for attr in get_schema(dataset).attributes:
            if attr in given:
                continue
            (ind if nx.is_d_separator(g, {trait}, {attr}, given) else dep).append((trait, attr))
    return dep, ind


#: The conditioning sets of the Level I conditional batteries (confounders of trait–attribute pairs).
CONFOUNDERS: dict[str, tuple[str, ...]] = {"celebpersona": ("gender", "occupation"),
                                           "athlepersona": ("league", "birth_year")}


def confounding_table(dataset: str, given=None) -> pd.DataFrame:
    """Which planted (trait, attribute) pairs change when conditioning on ``given``.

    The world graph already plants confounded pairs: CelebPersona's height, weight and
    five face attributes depend on the traits only through gender/occupation, AthlePersona's
    height/weight (and latitude/longitude for O, C, E) only through league/birth year.

    Parameters
    ----------
    dataset : ``"celebpersona"`` or ``"athlepersona"``
    given : iterable of str, optional
        Conditioning set; default :data:`CONFOUNDERS` of the dataset.

    Returns
    -------
    DataFrame, one row per (trait, attribute) with the attribute not in ``given``; columns
    ``trait``, ``attribute``, ``marginal`` and ``conditional`` (``"dependent"`` /
    ``"independent"``, by d-separation), ``change`` (``"explained away"``: dependent only
    marginally; ``"induced"``: dependent only given Z; ``""``: no change).
    """
    given = tuple(CONFOUNDERS[dataset] if given is None else given)
    dep0, _ = derive_pairs(dataset)
    dep1, ind1 = derive_pairs(dataset, given)
    dep0, dep1 = set(dep0), set(dep1)
    rows = []
    for trait, attr in [*dep1, *ind1]:
        m, c = (trait, attr) in dep0, (trait, attr) in dep1
        rows.append({"trait": trait, "attribute": attr, "marginal": "dependent" if m else "independent",
                     "conditional": "dependent" if c else "independent",
                     "change": "explained away" if m and not c else ("induced" if c and not m else "")})
    order = {a: i for i, a in enumerate(get_schema(dataset).attributes)}
    out = pd.DataFrame(rows, columns=["trait", "attribute", "marginal", "conditional", "change"])
    out["_a"], out["_t"] = out["attribute"].map(order), out["trait"].map({t: i for i, t in enumerate(TRAITS)})
    return out.sort_values(["_a", "_t"]).drop(columns=["_a", "_t"]).reset_index(drop=True)


def _category_labels(parent: str) -> tuple[str, ...]:
    return {"occupation": OCCUPATIONS, "league": LEAGUES, "gender": GENDERS}.get(parent, ())


def _term_text(parent, coef, fn) -> str:
    if isinstance(coef, tuple):
        # centred per-category effects, as used by _eval_terms
        eff = np.asarray(coef) - np.mean(coef)
        labels = _category_labels(parent) or tuple(str(i) for i in range(len(eff)))
        return "+e(" + parent + ": " + ", ".join(f"{l} {v:+.2f}" for l, v in zip(labels, eff)) + ")"
    name = parent if fn == "lin" else f"{fn}({parent})"
    return f"{coef:+.2f}·{name}"


def equations(dataset: str) -> dict[str, str]:
    """Human-readable structural equations of the latents, CelebA attributes and traits."""
    _, nodes, face_attrs = _spec(dataset)
    out = {}
    for name, terms in nodes.items():
        out[name] = " ".join(_term_text(*t) for t in terms) + f" + {_noise_sd(terms):.2f}·ε" if terms else "ε"
    for name, (terms, prev) in face_attrs.items():
        out[name] = ("sign(" + " ".join(_term_text(*t) for t in terms) + f" + noise − τ), P(+1) = {prev:.2f}")
    text = get_schema(dataset).latent_names["text"]
    for k, trait in enumerate(TRAITS):
        out[trait] = f"median_drop_zeros(rate(0.90·sat({text[k]}) + 0.45·ε, llm) for llm in LLMs)"
    return out


def _noise_sd(terms) -> float:
    total = 0.0
    for _, coef, _ in terms:
        if isinstance(coef, tuple):
            e = np.asarray(coef)
            total += float(np.var(e))
        else:
            total += coef ** 2
    return float(np.sqrt(max(1.0 - total, 0.25)))


def world_card(dataset: str) -> str:
    """Markdown description of one synthetic world: latent DAG, attribute edges, structural
    equations and the derived planted pairs (used in ``data/README.md`` and the book).

    Examples
    --------
    >>> world_card("athlepersona").splitlines()[0]
    '### athlepersona'
    """
    from personax.data.schema import TRAIT_ABBREV

    schema = get_schema(dataset)
    dag = latent_dag(dataset)
    edges = [f"{p} → {c}" for p in dag.index for c in dag.columns if dag.loc[p, c]]
    attr_parents, _, _ = _spec(dataset)
    lines = [f"### {dataset}", "",
             f"Latents: shared {', '.join(schema.latent_names['shared'])}; "
             f"face {', '.join(schema.latent_names['face'])}; "
             f"text {', '.join(schema.latent_names['text'])}.", "",
             f"Latent DAG ({len(edges)} edges): " + "; ".join(edges) + ".", "",
             "Attribute → latent edges: " + "; ".join(f"{a} → {b}" for a, b in attribute_edges(dataset)) + ".", "",
             "Attribute → attribute edges: " + "; ".join(f"{p} → {c}" for c, ps in attr_parents.items() for p in ps)
             + " (`region` is hidden).", "",
             "| node | structural equation |", "|---|---|"]
    for name, eq in equations(dataset).items():
        lines.append(f"| {name} | {eq} |")
    dep, ind = derive_pairs(dataset)
    lines += ["", "Planted pairs (derived by d-separation; D = dependent, · = independent):", "",
              "| attribute | " + " | ".join(TRAIT_ABBREV[t] for t in TRAITS) + " |",
              "|---|" + "---|" * len(TRAITS)]
    dep_set = set(dep)
    for a in schema.attributes:
        lines.append(f"| {a} | " + " | ".join("D" if (t, a) in dep_set else "·" for t in TRAITS) + " |")
    lines += ["", f"{len(dep)} dependent and {len(ind)} independent (trait, attribute) pairs.", ""]
    return "\n".join(lines)


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

    attr_parents, nodes, face_attrs = _spec(dataset)
    values = _sample_attributes(dataset, n, rng)
    for name, terms in nodes.items():
        values[name] = _eval_terms(terms, values, dataset) + _noise_sd(terms) * rng.standard_normal(n)
    from scipy.stats import norm

    for name, (terms, prev) in face_attrs.items():
        noise = _noise_sd(terms)
        score = _eval_terms(terms, values, dataset) + noise * rng.standard_normal(n)
        # τ from the prevalence under an approximately unit-variance score
        total_sd = np.sqrt(sum(c ** 2 for _, c, _ in terms) + noise ** 2)
        values[name] = np.where(score > norm.ppf(1.0 - prev) * total_sd, 1, -1).astype(np.int64)

    blocks = schema.latent_names
    text_names = blocks["text"]
    trait_values = np.column_stack([0.9 * _TRANSFORMS["sat"](values[z]) + 0.45 * rng.standard_normal(n)
                                    for z in text_names])
    rrng = np.random.default_rng(s_rate)
    scores = {llm: rate(trait_values, llm, rrng) for llm in LLMS}

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

    # MCAR gaps, drawn after every child was computed from the complete values
    mrng = np.random.default_rng(s_miss)
    for group, p in MISSING_RATES.items():
        cols = [c for c in group.split("+") if c in frame.columns]
        if cols:
            mask = mrng.random(n) < p
            for c in cols:
                frame.loc[mask, c] = pd.NA if str(frame[c].dtype) in ("Int64", "string") else np.nan
    frame = frame[list(schema.columns)]

    latents = pd.DataFrame({name: values[name] for b in blocks.values() for name in b})
    erng = np.random.default_rng(s_emb)
    shared = latents[blocks["shared"]].to_numpy()
    embeddings = {}
    face_in = np.column_stack([shared, latents[blocks["face"]].to_numpy()])
    for k in range(1, n_face + 1):
        embeddings[face_key(k)] = _embed(dataset, face_key(k), face_in, face_dim, erng)
    text_in = np.column_stack([shared, latents[text_names].to_numpy()])
    for llm in LLMS:
        embeddings[text_key(llm)] = _embed(dataset, text_key(llm), text_in, text_dim, erng)

    dep, ind = derive_pairs(dataset)
    truth = PlantedTruth(latents=latents, blocks=blocks, dag=latent_dag(dataset), dependent_pairs=dep,
                         independent_pairs=ind, graph=world_graph(dataset),
                         trait_values=pd.DataFrame(trait_values, columns=list(TRAITS)),
                         equations=equations(dataset))
    info = {"dataset": dataset, "source": "synthetic", "n": int(n), "synthetic": True, "seed": int(seed),
            "generator_version": GENERATOR_VERSION, "face_dim": int(face_dim), "text_dim": int(text_dim),
            "n_face": int(n_face)}
    return PersonaData(frame=frame, embeddings=embeddings, schema=schema, info=info, truth=truth)


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
    (dependent/independent), ``test``, ``statistic``, ``p_value``, ``n``, ``detected``
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
                     "statistic": stat, "p_value": p, "n": used, "detected": detected,
                     "agrees": detected == (r.planted == "dependent")})
    return pd.DataFrame(rows)
