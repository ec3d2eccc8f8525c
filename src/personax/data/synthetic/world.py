"""The synthetic world's specification: attribute and latent equations, the world graph, planted
pairs, confounders, equations and the world card."""

from __future__ import annotations

import numpy as np
import pandas as pd

from personax.data.schema import LEAGUES, TRAITS, get_schema

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
