"""The trait-name table shared by the reply parser and the data layer."""

from __future__ import annotations

import json

import pytest

from personax.data.schema import TRAIT_ABBREV, TRAITS
from personax.traits.aliases import DATA_LAYER_FORMS, TRAIT_ALIASES, TRAIT_SYNONYMS, normalize_key, trait_from_key
from personax.traits.parser import parse_response


@pytest.mark.parametrize("trait", TRAITS)
def test_names_letters_and_casing(trait):
    letter = TRAIT_ABBREV[trait]
    for key in (trait, trait.upper(), trait.capitalize(), letter, letter.lower(), f"{trait}_score",
                f"{trait.capitalize()} ({letter})", f"{letter} ({trait.capitalize()})", f"**{trait}**",
                f"score_{letter}", f" {trait} "):
        assert trait_from_key(key) == trait, key


def test_the_data_layer_accepts_nothing_the_parser_reads_differently():
    """Every trait key the data layer's packed-cell reader accepts (name, letter, first four
    letters) and every trait alias of its column table means the same trait here."""
    from personax.data import schema
    from personax.data.io import _parse_packed

    for trait in TRAITS:
        for key in (trait, TRAIT_ABBREV[trait].lower(), trait[:4], *schema._TRAIT_ALIASES_EXTRA[trait]):
            assert trait_from_key(key) == trait, key
    # and the data layer really reads a letter-keyed cell the way the parser reads a reply
    cell = {"O": 3, "C": 2, "E": 1, "A": 0, "N": 2}
    assert _parse_packed(json.dumps(cell)) == [3.0, 2.0, 1.0, 0.0, 2.0]
    r = parse_response(json.dumps(cell), "number-l3-inc")
    assert [r.scores[t] for t in TRAITS] == [3.0, 2.0, 1.0, 0.0, 2.0]


def test_reverse_pole_and_strangers_are_not_traits():
    for key in ("emotional stability", "Emotional_Stability", "stability", "name", "score", "summary", "curiosity",
                "openness2", "", "O1", "Opennes"):
        assert trait_from_key(key) is None, key


def test_synonyms_map_to_their_trait_and_never_collide():
    for trait, names in {**TRAIT_SYNONYMS}.items():
        for name in names:
            assert trait_from_key(name) == trait
    for trait, names in DATA_LAYER_FORMS.items():
        for name in names:
            assert trait_from_key(name) == trait
    assert len(set(TRAIT_ALIASES.values())) == 5
    assert normalize_key("Open-Mindedness (O)") == "openmindedness"
