"""The canonical schema matches the contract in DEVELOPING.md."""

from personax.data.schema import (
    ALIASES,
    DATASETS,
    FACE_ATTRIBUTES,
    LLMS,
    SCHEMAS,
    TRAIT_ABBREV,
    TRAITS,
    alias_table,
    normalize_name,
)


def test_constants():
    assert TRAITS == ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")
    assert [TRAIT_ABBREV[t] for t in TRAITS] == list("OCEAN")
    assert LLMS == ("chatgpt", "gemini", "llama")
    assert DATASETS == ("celebpersona", "athlepersona")
    assert len(FACE_ATTRIBUTES) == 10 and "Chubby" not in FACE_ATTRIBUTES


def test_celeb_schema():
    s = SCHEMAS["celebpersona"]
    assert s.attributes[:9] == ("height_cm", "weight_kg", "birth_year", "birth_month", "birth_day", "latitude",
                                "longitude", "occupation", "gender")
    assert s.attributes[9:] == FACE_ATTRIBUTES
    assert dict(s.latent_layout) == {"shared": 3, "face": 10, "text": 5}
    assert {"gender", "occupation", "birth_month", "Big_Nose", "chatgpt_openness"} <= s.discrete
    assert {"latitude", "height_cm", "openness"} <= s.continuous
    assert s.columns["gender"].dtype == "Int64" and s.columns["openness"].dtype == "float64"
    assert s.embeddings["face"].real_dim == 1024 and s.embeddings["text"].real_dim == 3584
    assert s.latent_names["face"][-1] == "Z1_10"


def test_athle_schema():
    s = SCHEMAS["athlepersona"]
    assert s.attributes == ("birth_year", "birth_month", "birth_day", "league", "latitude", "longitude",
                            "height_cm", "weight_kg")
    assert dict(s.latent_layout) == {"shared": 2, "face": 5, "text": 5}
    assert "league" in s.discrete and "gender" not in s.columns
    assert s.discrete_attributes == ("birth_year", "birth_month", "birth_day", "league")
    assert s.columns["league"].allowed == ("PGA", "Bundesliga", "EPL", "NBA", "NFL", "NHL", "ATP")


def test_llm_score_columns_and_ranges():
    for s in SCHEMAS.values():
        assert len(s.llm_score_columns) == 15 and s.llm_score_columns[0] == "chatgpt_openness"
        for c in s.llm_score_columns:
            assert s.columns[c].allowed == (0, 1, 2, 3)
        assert s.traits == TRAITS
        table = s.table()
        assert {"column", "dtype", "kind", "values", "description"} <= set(table.columns)
        assert len(table) == len(s.columns) + 2


def test_alias_table_covers_figure_names():
    norm = {role: {normalize_name(a) for a in names} for role, names in ALIASES.items()}
    assert "birthyear" in norm["birth_year"] and "height" in norm["height_cm"]
    assert "birthday" in norm["birth_day"]          # the figure's "Birthday" = day of month
    assert "finalo" in norm["openness"] and "latitude" in norm["latitude"]
    assert "chatgptscore" in norm["packed:chatgpt"]
    assert "aggregatedbigfivescore" in norm["packed:aggregate"]
    assert normalize_name("Height(cm)") == "heightcm"
    assert len(alias_table()) == len(ALIASES)
