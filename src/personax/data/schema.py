"""Canonical schema of the two PersonaX datasets and the alias table for real column names.

This module is the single place that says what a PersonaX table looks like inside the
package: column names, pandas dtypes, discrete/continuous kind, allowed values or
ranges, which columns each dataset requires, the Level I attribute order, the latent
layout of the paper's CRL model, and the embedding measurements.

The released Hugging Face column names are not known in advance (paper.md §2.10), so
:data:`ALIASES` maps plausible real names (``"Birthyear"``, ``"Height"``,
``"Chatgpt_score"``, ``"final_o"``, ``"Aggregated_BigFive_score"``, …) onto canonical
roles.  Names are compared after :func:`normalize_name` (lower case, only ``a-z0-9``),
so ``"Height(cm)"``, ``"height_cm"`` and ``"HeightCm"`` are the same key.

Canonical scalar columns (both datasets unless noted):

==========================  ========  ==========  ============================================
column                      dtype     kind        values
==========================  ========  ==========  ============================================
person_id                   string    id          anonymised
birth_year                  Int64     discrete    1850–2030
birth_month                 Int64     discrete    1–12
birth_day                   Int64     discrete    1–31
latitude                    float64   continuous  −90–90
longitude                   float64   continuous  −180–180
height_cm                   float64   continuous  50–260
weight_kg                   float64   continuous  20–300
gender                      Int64     discrete    index ≥ 0 (CelebPersona)
occupation                  Int64     discrete    index ≥ 0 (CelebPersona)
league                      string    discrete    PGA, Bundesliga, EPL, NBA, NFL, NHL, ATP (AthlePersona)
10 CelebA attributes        Int64     discrete    −1 / 1 (CelebPersona)
{llm}_{trait}               Int64     discrete    0–3, 0 = insufficient information
{trait}                     float64   continuous  1–3 (median of non-zero LLM scores; NaN if none)
==========================  ========  ==========  ============================================

Embeddings are not frame columns: :class:`personax.data.PersonaData` keeps them in a dict
keyed ``face_1 … face_K`` (K = 1 or 3 image measurements) and ``text_chatgpt``,
``text_gemini``, ``text_llama``; the released widths are 1024 (ImageBind, faces) and
3584 (gte-Qwen2, LLM descriptions); the shipped sample uses reduced widths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

from personax.names import BOTH, DATASETS, SOURCES, SYNTHETIC_SOURCES  # noqa: F401  (re-exported: the one definition)

TRAITS: tuple[str, ...] = ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")
TRAIT_ABBREV: dict[str, str] = {"openness": "O", "conscientiousness": "C", "extraversion": "E",
                                "agreeableness": "A", "neuroticism": "N"}
LLMS: tuple[str, ...] = ("chatgpt", "gemini", "llama")
#: Full model names used for the released data (paper.md §2.4, tag S); display only.
LLM_MODELS: dict[str, str] = {"chatgpt": "ChatGPT-4o-Latest", "gemini": "Gemini-2.5-Pro",
                              "llama": "Llama-4-Maverick"}
FACE_ATTRIBUTES: tuple[str, ...] = (
    "Arched_Eyebrows", "Big_Nose", "Pointy_Nose", "Bushy_Eyebrows", "Big_Lips",
    "Oval_Face", "Double_Chin", "Receding_Hairline", "Narrow_Eyes", "High_Cheekbones",
)
LEAGUES: tuple[str, ...] = ("PGA", "Bundesliga", "EPL", "NBA", "NFL", "NHL", "ATP")
#: Per-LLM score scale: 0 = "insufficient information", 1–3 = low/medium/high (Number-L3-Inc).
SCORE_VALUES: tuple[int, ...] = (0, 1, 2, 3)
#: Released embedding widths (paper.md §2.8).
FACE_DIM = 1024
TEXT_DIM = 3584
#: Hugging Face dataset repositories.
HF_REPOS: dict[str, str] = {"celebpersona": "Persona-X/celebpersona", "athlepersona": "Persona-X/athlepersona"}
#: Row counts of the release (paper.md §2.1).
PAPER_ROWS: dict[str, int] = {"celebpersona": 9444, "athlepersona": 4181}


def llm_score_column(llm: str, trait: str) -> str:
    """Canonical name of one LLM's score for one trait, e.g. ``chatgpt_openness``.

    Examples
    --------
    >>> llm_score_column("gemini", "openness")
    'gemini_openness'
    """
    return f"{llm}_{trait}"


def text_key(llm: str) -> str:
    """Embedding-dict key of one LLM's description embedding, e.g. ``text_chatgpt``."""
    return f"text_{llm}"


def face_key(k: int) -> str:
    """Embedding-dict key of the k-th (1-based) face measurement, e.g. ``face_1``."""
    return f"face_{int(k)}"


def normalize_name(name: object) -> str:
    """Alias-comparison key of a column name: lower case, only ``a-z`` and ``0-9`` kept.

    Examples
    --------
    >>> normalize_name("Birth Year"), normalize_name("birth_year")
    ('birthyear', 'birthyear')
    """
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


@dataclass(frozen=True)
class ColumnSpec:
    """One canonical scalar column.

    Attributes
    ----------
    name : canonical column name.
    dtype : pandas dtype string (``"string"``, ``"Int64"``, ``"float64"``).
    kind : ``"id"``, ``"discrete"`` or ``"continuous"``.
    allowed : allowed values (discrete columns with a closed vocabulary), else ``None``.
    value_range : inclusive ``(low, high)`` for numeric columns, else ``None``.
    nullable : whether NaN/NA is accepted (real data has gaps).
    description : one line for the data card.
    """

    name: str
    dtype: str
    kind: str
    allowed: tuple | None = None
    value_range: tuple[float, float] | None = None
    nullable: bool = True
    description: str = ""


@dataclass(frozen=True)
class EmbeddingSpec:
    """One embedding role (a family of measurements).

    ``role`` is ``"face"`` or ``"text"``; ``keys`` are the allowed dict keys;
    ``real_dim`` the released width; ``model`` the encoder named by the paper;
    ``default_measurements`` the count the authors' code uses (3 face photos per celebrity,
    1 per athlete; paper.md §2.8) — how many the release holds is unknown, so 1–3 face
    measurements are accepted for both datasets.
    """

    role: str
    keys: tuple[str, ...]
    real_dim: int
    model: str
    min_measurements: int
    max_measurements: int
    default_measurements: int


def _common_columns() -> list[ColumnSpec]:
    return [
        ColumnSpec("person_id", "string", "id", nullable=False, description="anonymised identifier"),
        ColumnSpec("birth_year", "Int64", "discrete", value_range=(1850, 2030), description="year of birth"),
        ColumnSpec("birth_month", "Int64", "discrete", value_range=(1, 12), description="month of birth (1–12)"),
        ColumnSpec("birth_day", "Int64", "discrete", value_range=(1, 31),
                   description="day of the month of birth (1–31)"),
        ColumnSpec("latitude", "float64", "continuous", value_range=(-90.0, 90.0),
                   description="latitude of origin, degrees"),
        ColumnSpec("longitude", "float64", "continuous", value_range=(-180.0, 180.0),
                   description="longitude of origin, degrees"),
        ColumnSpec("height_cm", "float64", "continuous", value_range=(50.0, 260.0), description="height, cm"),
        ColumnSpec("weight_kg", "float64", "continuous", value_range=(20.0, 300.0), description="weight, kg"),
    ]


def _trait_columns() -> list[ColumnSpec]:
    cols = []
    for llm in LLMS:
        for trait in TRAITS:
            cols.append(ColumnSpec(llm_score_column(llm, trait), "Int64", "discrete", allowed=SCORE_VALUES,
                                   value_range=(0, 3),
                                   description=f"{LLM_MODELS[llm]} score for {trait} (0 = insufficient information)"))
    for trait in TRAITS:
        cols.append(ColumnSpec(trait, "float64", "continuous", value_range=(1.0, 3.0),
                               description=f"aggregated {trait}: median of the non-zero LLM scores"))
    return cols


@dataclass(frozen=True)
class DatasetSchema:
    """Schema of one dataset.

    Attributes
    ----------
    name : ``"celebpersona"`` or ``"athlepersona"``.
    columns : ordered mapping canonical name → :class:`ColumnSpec`.
    attributes : Level I attribute columns, in display order.
    traits : aggregated trait columns (:data:`TRAITS`).
    llm_score_columns : the 15 per-LLM score columns, LLM-major.
    latent_layout : paper latent sizes ``{"shared", "face", "text"}``.
    embeddings : role → :class:`EmbeddingSpec`.
    paper_rows : row count of the release.

    Examples
    --------
    >>> s = SCHEMAS["celebpersona"]
    >>> s.name, s.traits[:2], s.llm_score_columns[0]
    ('celebpersona', ('openness', 'conscientiousness'), 'chatgpt_openness')
    """

    name: str
    columns: Mapping[str, ColumnSpec]
    attributes: tuple[str, ...]
    latent_layout: Mapping[str, int]
    embeddings: Mapping[str, EmbeddingSpec]
    paper_rows: int
    traits: tuple[str, ...] = TRAITS
    llm_score_columns: tuple[str, ...] = field(
        default_factory=lambda: tuple(llm_score_column(l, t) for l in LLMS for t in TRAITS))

    @property
    def discrete(self) -> frozenset[str]:
        """Names of the discrete columns (attributes and per-LLM scores)."""
        return frozenset(c.name for c in self.columns.values() if c.kind == "discrete")

    @property
    def continuous(self) -> frozenset[str]:
        """Names of the continuous columns."""
        return frozenset(c.name for c in self.columns.values() if c.kind == "continuous")

    @property
    def required(self) -> tuple[str, ...]:
        """Columns a loaded frame must contain (all canonical columns of the dataset)."""
        return tuple(self.columns)

    @property
    def discrete_attributes(self) -> tuple[str, ...]:
        """Level I attributes that are discrete (the χ²/G² rows), in display order."""
        return tuple(a for a in self.attributes if a in self.discrete)

    @property
    def continuous_attributes(self) -> tuple[str, ...]:
        """Level I attributes that are continuous, in display order."""
        return tuple(a for a in self.attributes if a in self.continuous)

    @property
    def latent_names(self) -> dict[str, list[str]]:
        """Latent names per block: ``S1..``, ``Z1_1..`` (face), ``Z2_1..`` (text)."""
        lay = self.latent_layout
        return {"shared": [f"S{i + 1}" for i in range(lay["shared"])],
                "face": [f"Z1_{i + 1}" for i in range(lay["face"])],
                "text": [f"Z2_{i + 1}" for i in range(lay["text"])]}

    def table(self):
        """The schema as a DataFrame (columns: column, dtype, kind, values, description)."""
        import pandas as pd

        rows = []
        for c in self.columns.values():
            if c.allowed is not None:
                values = ", ".join(str(v) for v in c.allowed)
            elif c.value_range is not None:
                values = f"{c.value_range[0]}–{c.value_range[1]}"
            else:
                values = ""
            rows.append({"column": c.name, "dtype": c.dtype, "kind": c.kind, "values": values,
                         "description": c.description})
        for spec in self.embeddings.values():
            rows.append({"column": " / ".join(spec.keys), "dtype": "float32 array", "kind": "embedding",
                         "values": f"{spec.real_dim}-d ({spec.model})",
                         "description": f"{spec.role} measurement(s), {spec.min_measurements}–{spec.max_measurements}"})
        return pd.DataFrame(rows)


def _celeb_schema() -> DatasetSchema:
    cols = _common_columns() + [
        ColumnSpec("occupation", "Int64", "discrete", value_range=(0, 10_000), description="occupation index"),
        ColumnSpec("gender", "Int64", "discrete", value_range=(0, 10), description="gender index"),
    ] + [ColumnSpec(a, "Int64", "discrete", allowed=(-1, 1), value_range=(-1, 1),
                    description=f"CelebA attribute {a} (−1 absent, 1 present)") for a in FACE_ATTRIBUTES]
    cols += _trait_columns()
    attributes = ("height_cm", "weight_kg", "birth_year", "birth_month", "birth_day", "latitude", "longitude",
                  "occupation", "gender") + FACE_ATTRIBUTES
    emb = {
        "face": EmbeddingSpec("face", tuple(face_key(k) for k in (1, 2, 3)), FACE_DIM, "ImageBind-huge", 1, 3, 3),
        "text": EmbeddingSpec("text", tuple(text_key(l) for l in LLMS), TEXT_DIM, "gte-Qwen2", 3, 3, 3),
    }
    return DatasetSchema("celebpersona", {c.name: c for c in cols}, attributes,
                         {"shared": 3, "face": 10, "text": 5}, emb, PAPER_ROWS["celebpersona"])


def _athle_schema() -> DatasetSchema:
    cols = _common_columns() + [
        ColumnSpec("league", "string", "discrete", allowed=LEAGUES, description="league (7 in the release)"),
    ]
    cols += _trait_columns()
    attributes = ("birth_year", "birth_month", "birth_day", "league", "latitude", "longitude", "height_cm",
                  "weight_kg")
    emb = {
        "face": EmbeddingSpec("face", tuple(face_key(k) for k in (1, 2, 3)), FACE_DIM, "ImageBind-huge", 1, 3, 1),
        "text": EmbeddingSpec("text", tuple(text_key(l) for l in LLMS), TEXT_DIM, "gte-Qwen2", 3, 3, 3),
    }
    return DatasetSchema("athlepersona", {c.name: c for c in cols}, attributes,
                         {"shared": 2, "face": 5, "text": 5}, emb, PAPER_ROWS["athlepersona"])


SCHEMAS: dict[str, DatasetSchema] = {"celebpersona": _celeb_schema(), "athlepersona": _athle_schema()}


def get_schema(dataset: str) -> DatasetSchema:
    """Return ``SCHEMAS[dataset]`` or raise a ParameterError (a ValueError) naming the valid datasets.

    Examples
    --------
    >>> s = get_schema("athlepersona")
    >>> s.latent_layout, "league" in s.discrete
    ({'shared': 2, 'face': 5, 'text': 5}, True)
    """
    if not isinstance(dataset, str) or dataset not in SCHEMAS:
        from personax.errors import ParameterError

        raise ParameterError(f"unknown dataset {dataset!r}: use one of {', '.join(DATASETS)}")
    return SCHEMAS[dataset]


# ----------------------------------------------------------------------------------------
# Alias table.  Keys are canonical columns (or packed/embedding roles); values are raw
# names that may appear in a release, compared after normalize_name().  Order matters only
# for documentation; the first raw column matching any alias of a role wins, and a raw
# column is never used for two roles.
# ----------------------------------------------------------------------------------------

_TRAIT_ALIASES_EXTRA = {
    "openness": ["o", "open", "openness_to_experience"],
    "conscientiousness": ["c", "consc", "conscientious"],
    "extraversion": ["e", "extra", "extroversion"],
    "agreeableness": ["a", "agree", "agreeable"],
    "neuroticism": ["n", "neuro", "emotional_stability_reversed"],
}

_LLM_ALIASES = {"chatgpt": ["chatgpt", "gpt", "gpt4o", "openai", "chatgpt4o", "chatgpt4olatest"],
                "gemini": ["gemini", "gemini25pro", "google"],
                "llama": ["llama", "llama4", "llama4maverick", "meta"]}


def _build_aliases() -> dict[str, list[str]]:
    a: dict[str, list[str]] = {
        "person_id": ["person_id", "id", "uid", "pid", "anon_id", "anonymized_id", "anonymised_id", "identity",
                      "identity_id", "celeb_id", "athlete_id", "person", "index"],
        "birth_year": ["birth_year", "birthyear", "year_of_birth", "yob", "year", "born_year"],
        "birth_month": ["birth_month", "birthmonth", "month_of_birth", "month", "born_month"],
        # "Birthday" in the author figure is the day of the month (next to Birthyear/Birthmonth).
        "birth_day": ["birth_day", "birthday", "day_of_birth", "day", "born_day", "birthdate_day"],
        "latitude": ["latitude", "lat", "birth_latitude", "nationality_latitude"],
        "longitude": ["longitude", "lon", "lng", "long", "birth_longitude", "nationality_longitude"],
        "height_cm": ["height_cm", "height", "height(cm)", "heightcm", "height_in_cm"],
        "weight_kg": ["weight_kg", "weight", "weight(kg)", "weightkg", "weight_in_kg"],
        "gender": ["gender", "gender_idx", "gender_index", "sex", "sex_idx"],
        "occupation": ["occupation", "occupation_idx", "occupation_index", "job", "profession", "occupation_id"],
        "league": ["league", "league_name", "competition", "sport_league"],
    }
    for attr in FACE_ATTRIBUTES:
        a[attr] = [attr, attr.lower(), f"attr_{attr}", f"celeba_{attr}"]
    for trait in TRAITS:
        ab = TRAIT_ABBREV[trait].lower()
        names = [trait, f"final_{ab}", f"final_{trait}", f"aggregated_{trait}", f"aggregate_{trait}",
                 f"agg_{ab}", f"agg_{trait}", f"median_{trait}", f"{trait}_score", f"bigfive_{trait}"]
        # a bare one-letter column ("O") is accepted only for the aggregate
        names += _TRAIT_ALIASES_EXTRA[trait]
        a[trait] = names
        for llm in LLMS:
            lnames = []
            for lal in _LLM_ALIASES[llm]:
                lnames += [f"{lal}_{trait}", f"{lal}_{ab}", f"{lal}_score_{trait}", f"{lal}_score_{ab}",
                           f"{trait}_{lal}", f"{ab}_{lal}"]
            a[llm_score_column(llm, trait)] = lnames
    # Packed columns: one cell holds all five traits (list/array of 5 in OCEAN order,
    # a dict keyed by trait name or letter, or a JSON/str rendering of either).
    a["packed:aggregate"] = ["aggregated_bigfive_score", "aggregated_score", "bigfive_score", "big_five",
                             "bigfive", "final_score", "final_scores", "aggregate", "aggregated"]
    for llm in LLMS:
        a[f"packed:{llm}"] = [f"{lal}_{suffix}" for lal in _LLM_ALIASES[llm]
                              for suffix in ("score", "scores", "bigfive", "bigfive_score")]
    # Embedding roles: list/array cells, or wide numbered columns <prefix>_<i>.
    face_prefixes = ["face_embedding", "face_embeddings", "image_embedding", "img_embedding", "face_emb",
                     "image_emb", "imagebind", "imagebind_embedding", "profile_picture_embedding",
                     "profile_picture", "face", "image", "face_features", "embedding_face"]
    a["embedding:face"] = face_prefixes
    for llm in LLMS:
        a[f"embedding:{text_key(llm)}"] = [
            f"{lal}_{suffix}" for lal in _LLM_ALIASES[llm]
            for suffix in ("description_embedding", "embedding", "text_embedding", "emb", "description_emb",
                           "description")] + [f"text_embedding_{lal}" for lal in _LLM_ALIASES[llm]] + [
            f"text_{lal}" for lal in _LLM_ALIASES[llm]]
    return a


#: Canonical role → accepted raw names.  Scalar roles are canonical column names;
#: ``packed:aggregate`` / ``packed:{llm}`` are cells holding all five trait scores;
#: ``embedding:face`` / ``embedding:text_{llm}`` are embedding columns (array cells, or
#: wide numbered columns ``<name>_0 … <name>_{d-1}``; several face columns, e.g.
#: ``face_embedding_1..3`` holding arrays, become measurements face_1..face_3).
ALIASES: dict[str, list[str]] = _build_aliases()


def alias_table():
    """The alias table as a DataFrame (columns: role, aliases) for the data card.

    Examples
    --------
    >>> table = alias_table()
    >>> list(table.columns)[:2]
    ['role', 'aliases']
    """
    import pandas as pd

    return pd.DataFrame([{"role": role, "aliases": ", ".join(names)} for role, names in ALIASES.items()])
