"""The reply parser on a corpus of nasty LLM outputs: it must never invent a score."""

from __future__ import annotations

import json
import math

import pytest

from personax.data.schema import TRAITS
from personax.traits.parser import STATUSES, parse_response, strip_thinking

NAN = math.nan
FULL = {"openness": 3, "conscientiousness": 2, "extraversion": 1, "agreeableness": 0, "neuroticism": 2}


def _scores(r):
    return [r.scores[t] for t in TRAITS]


def _same(a, b):
    return all((math.isnan(x) and math.isnan(y)) or x == y for x, y in zip(a, b))


# (reply, prompt id, expected status, expected scores in TRAITS order)
CORPUS = [
    # clean nested JSON
    (json.dumps({t: {"score": v, "description": "d"} for t, v in FULL.items()}), "number-l3-inc", "ok",
     [3, 2, 1, 0, 2]),
    # flat JSON, capitalised keys, string digits, "extroversion" spelling
    ('{"Openness": "3", "Conscientiousness": "2", "Extroversion": 1, "Agreeableness": "0", "Neuroticism": 2}',
     "number-l3-inc", "ok", [3, 2, 1, 0, 2]),
    # fenced block with chatter around it
    ("Sure! Here is my assessment:\n```json\n" + json.dumps(FULL) + "\n```\nLet me know.", "number-l3-inc", "ok",
     [3, 2, 1, 0, 2]),
    # nested under a wrapper key
    (json.dumps({"big_five": FULL, "name": "X"}), "number-l3-inc", "ok", [3, 2, 1, 0, 2]),
    # reasoning block containing decoy scores, answer after it
    ("<think>Openness: 1? maybe {\"openness\": 1}</think>\n" + json.dumps(FULL), "number-l3-inc", "ok",
     [3, 2, 1, 0, 2]),
    # unclosed think block: the model never answered
    ("<think>Let me consider openness: 3 and conscientiousness: 2 ...", "number-l3-inc", "invalid", [NAN] * 5),
    # out of range on a 3-point scale, a half point, a negative
    ('{"openness": 4, "conscientiousness": 2.5, "extraversion": -1, "agreeableness": 2, "neuroticism": 1}',
     "number-l3-inc", "partial", [NAN, NAN, NAN, 2, 1]),
    # 4 is fine on the 5-point scale
    ('{"openness": 4, "conscientiousness": 5, "extraversion": 1, "agreeableness": 2, "neuroticism": 3}',
     "number-l5-inc", "ok", [4, 5, 1, 2, 3]),
    # missing traits
    ('{"openness": 2, "neuroticism": 3}', "number-l3-inc", "partial", [2, NAN, NAN, NAN, 3]),
    # refusals
    ("I'm sorry, but I can't help with assessing the personality of real individuals.", "number-l3-inc",
     "refused", [NAN] * 5),
    ("As an AI, I cannot speculate about a person's personality.", "text-l3-inc", "refused", [NAN] * 5),
    # partial answer that also refuses part: traits given count, status partial
    ("I cannot assess neuroticism. Openness: 2\nConscientiousness: 3", "number-l3-inc", "partial",
     [2, 3, NAN, NAN, NAN]),
    # labelled markdown text with bullets, bold, "2/3", "(low)"
    ("- **Openness**: 3\n- **Conscientiousness:** 2/3\n- Extraversion - 1 (low)\n- Agreeableness = 0\n"
     "- Neuroticism: 2 (medium)", "number-l3-inc", "ok", [3, 2, 1, 0, 2]),
    # text scale, "very high" must not be read as "high", synonyms, insufficient information
    ("Openness: very high\nConscientiousness: high\nExtraversion: moderate\n"
     "Agreeableness: insufficient information\nNeuroticism: very low", "text-l5-inc", "ok", [5, 4, 3, 0, 1]),
    ('{"openness": {"score": "High"}, "conscientiousness": {"score": "LOW"}, "extraversion": {"score": "medium"},'
     ' "agreeableness": {"score": "unknown"}, "neuroticism": {"score": "average"}}', "text-l3-inc", "ok",
     [3, 1, 2, 0, 2]),
    # text scale answered with a word that is not on it, and a number where a label was asked
    ('{"openness": "fairly high", "conscientiousness": 2, "extraversion": "low", "agreeableness": "high", '
     '"neuroticism": "low"}', "text-l3-inc", "partial", [NAN, NAN, 1, 3, 1]),
    # "very high" on a 3-level text scale is not an answer there
    ('{"openness": "very high", "conscientiousness": "high", "extraversion": "low", "agreeableness": "high", '
     '"neuroticism": "low"}', "text-l3-inc", "partial", [NAN, 3, 1, 3, 1]),
    # verbal answer with a comment is read; an ambiguous range is not
    ('{"openness": "High (very curious)", "conscientiousness": "low - disorganised", "extraversion": '
     '"low to medium", "agreeableness": "medium.", "neuroticism": "highly variable"}', "text-l3-inc", "partial",
     [3, 1, NAN, 2, NAN]),
    ("Openness: very high (loves novelty)\nConscientiousness: low to medium", "text-l5-inc", "partial",
     [5, NAN, NAN, NAN, NAN]),
    # conflicting duplicate keys must not silently keep the last one
    ('{"openness": 1, "openness": 3, "conscientiousness": 2, "extraversion": 2, "agreeableness": 2, '
     '"neuroticism": 2}', "number-l3-inc", "partial", [NAN, 2, 2, 2, 2]),
    # conflicting labelled lines
    ("Openness: 1\nOpenness: 3\nConscientiousness: 2", "number-l3-inc", "partial", [NAN, 2, NAN, NAN, NAN]),
    # truncated JSON (max_tokens hit) with no labelled fallback
    ('{"openness": {"score": 2, "description": "curious"}, "conscien', "number-l3-inc", "invalid", [NAN] * 5),
    # empty, whitespace, prose without scores
    ("", "number-l3-inc", "invalid", [NAN] * 5),
    ("   \n ", "number-l3-inc", "invalid", [NAN] * 5),
    ("This person seems nice and hard-working.", "number-l3-inc", "invalid", [NAN] * 5),
    # booleans, nulls and NaN-like strings are not scores
    ('{"openness": true, "conscientiousness": null, "extraversion": "N/A", "agreeableness": "", '
     '"neuroticism": 2}', "number-l3-inc", "partial", [NAN, NAN, NAN, NAN, 2]),
    # "Emotional stability" is the reverse of neuroticism: it must NOT be read as neuroticism
    ('{"openness": 2, "conscientiousness": 2, "extraversion": 2, "agreeableness": 2, "emotional stability": 3}',
     "number-l3-inc", "partial", [2, 2, 2, 2, NAN]),
]


@pytest.mark.parametrize("text,prompt,status,expected", CORPUS)
def test_corpus(text, prompt, status, expected):
    r = parse_response(text, prompt)
    assert r.status == status, (r.status, r.detail)
    assert _same(_scores(r), expected), (_scores(r), r.reasons)
    # every failed trait says why; every valid one is on the prompt's scale
    from personax.traits.prompts import get_format

    allowed = set(get_format(prompt).allowed_values)
    for t in TRAITS:
        if math.isnan(r.scores[t]):
            assert r.reasons[t] != "ok"
        else:
            assert r.reasons[t] == "ok" and r.scores[t] in allowed


def test_no_reply_is_error_status():
    r = parse_response(None, "number-l3-inc")
    assert r.status == "error" and all(math.isnan(v) for v in r.scores.values())
    assert set(STATUSES) == {"ok", "partial", "refused", "invalid", "error"}


def test_reason_codes_are_specific():
    r = parse_response('{"openness": 4, "conscientiousness": 2.5, "extraversion": "x", "agreeableness": 1}',
                       "number-l3-inc")
    assert r.reasons == {"openness": "out_of_range", "conscientiousness": "not_on_scale",
                         "extraversion": "unparseable", "agreeableness": "ok", "neuroticism": "missing"}


def test_descriptions_are_kept():
    r = parse_response(json.dumps({"openness": {"score": 2, "description": "Curious about art."}}),
                       "number-l3-inc")
    assert r.descriptions == {"openness": "Curious about art."}


def test_strip_thinking_variants():
    assert strip_thinking("<THINK>a</THINK>b") == ("b", False)
    assert strip_thinking("reasoning here</think>answer")[0] == "answer"  # opening tag stripped by server
    assert strip_thinking("x <reasoning>never closed")[1] is True


def test_non_string_reply_raises():
    with pytest.raises(TypeError, match="str"):
        parse_response(b"bytes", "number-l3-inc")
