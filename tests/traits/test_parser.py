"""The reply parser: one test per row of its rule table, the accepted forms, and compatibility."""

from __future__ import annotations

import inspect
import json
import math

import pytest

from personax.data.schema import TRAITS
from personax.traits.parser import (
    GROUPS,
    STATUS_GROUP,
    STATUSES,
    TRAIT_REASONS,
    ParseResult,
    flag_low_mass,
    parse_response,
    rule_table,
    strip_thinking,
)

GOOD = {"openness": 3, "conscientiousness": 2, "extraversion": 1, "agreeableness": 0, "neuroticism": 2}
GOOD_LIST = [3.0, 2.0, 1.0, 0.0, 2.0]


def js(d=None, **override):
    obj = dict(GOOD if d is None else d)
    obj.update(override)
    return json.dumps(obj)


def scores(r: ParseResult):
    return [r.scores[t] for t in TRAITS]


def rejected(r: ParseResult, status: str):
    """The reply got ``status`` and no scores at all."""
    assert r.status == status, (r.status, r.detail)
    assert all(math.isnan(v) for v in r.scores.values()), r.scores
    assert r.n_valid == 0 and r.group != "ok"
    return r


def accepted(r: ParseResult, expected=GOOD_LIST):
    assert r.status == "ok", (r.status, r.detail)
    assert scores(r) == expected
    assert all(reason == "ok" for reason in r.reasons.values())
    return r


# ----------------------------------------------------------------------------------------
# one test per rule-table row
# ----------------------------------------------------------------------------------------
def test_R1_no_reply_is_error():
    rejected(parse_response(None, "number-l3-inc"), "error")


@pytest.mark.parametrize("text", ["", "   \n\t ", "<think>I should rate openness: 3</think>",
                                  "<think>Let me consider openness: 3 and conscientiousness: 2 ..."])
def test_R2_empty(text):
    r = rejected(parse_response(text, "number-l3-inc"), "empty")
    if "<think>L" in text:
        assert "unclosed" in r.detail


@pytest.mark.parametrize("text", [
    "I'm sorry, but I can't help with assessing the personality of real individuals.",
    "I cannot provide personality ratings for real people.",
    "I must decline this request.",
    "As an AI, I won't speculate about someone's personality.",
    # numbers after a refusal may be an example, not an answer: still refused
    "I can't rate real people. Here is an example format: " + js(),
    "I'm unable to assess this person; neuroticism is not something I can judge.\nOpenness: 2",
])
def test_R3_refused(text):
    rejected(parse_response(text, "number-l3-inc"), "refused")


def test_R3_refusal_words_inside_the_answer_do_not_count():
    # a description that says "cannot determine" about one trait is part of a valid answer
    reply = {t: {"score": v, "description": "I cannot determine this from the text." if v == 0 else "clear"}
             for t, v in GOOD.items()}
    accepted(parse_response(json.dumps(reply), "number-l3-inc"))
    labelled = "Openness: 3\nConscientiousness: 2\nExtraversion: 1\nAgreeableness: 0 - I cannot judge this\n" \
               "Neuroticism: 2"
    accepted(parse_response(labelled, "number-l3-inc"))


@pytest.mark.parametrize("text", [
    '{"openness": {"score": 2, "description": "curious"}, "conscien',            # cut off by max_tokens
    '{"openness": 2, "conscientiousness": 3 "extraversion": 1}',                # missing comma
    '{"openness": <one of 1, 2, 3, or 0>, "conscientiousness": 2}',             # template echoed
    "```json\n{'openness': 2, 'conscientiousness': }\n```",
    '{“openness”: 3, “conscientiousness”: 2, “extraversion”: 1, “agreeableness”: 0, “neuroticism”: 2}',
    '{"openness": 3, // curious\n"conscientiousness": 2, "extraversion": 1, "agreeableness": 0, "neuroticism": 2}',
    "Final answer: {",
])
def test_R4_malformed(text):
    rejected(parse_response(text, "number-l3-inc"), "malformed")


@pytest.mark.parametrize("text", ["This person seems nice and hard-working.", '{"error": {"message": "rate limit"}}',
                                  "Internal Server Error", '{"name": "Maren", "summary": "warm"}'])
def test_R5_no_scores(text):
    rejected(parse_response(text, "number-l3-inc"), "no_scores")


@pytest.mark.parametrize("text", [
    js() + "\n" + js(openness=1),                                                # two different objects
    json.dumps({**GOOD, "scores": {**GOOD, "openness": 1}}),                     # top-level vs nested map
    js() + '\n{"openness": 3, "conscientiousness": 2, "extraversion"',           # readable + unreadable
    "Openness: 1\n" + js(),                                                      # labelled text contradicts JSON
])
def test_R6_ambiguous_objects(text):
    r = rejected(parse_response(text, "number-l3-inc"), "ambiguous")
    assert r.detail


def test_R6_identical_repeats_are_accepted():
    text = "My answer: " + js() + "\n\nIn a block:\n```json\n" + json.dumps(GOOD, indent=2) + "\n```"
    accepted(parse_response(text, "number-l3-inc"))
    accepted(parse_response("Openness: 3\n" + js(), "number-l3-inc"))  # consistent labelled text


@pytest.mark.parametrize("text", [
    '{"openness": 1, "openness": 3, "conscientiousness": 2, "extraversion": 1, "agreeableness": 0, "neuroticism": 2}',
    '{"O": 1, "openness": 3, "conscientiousness": 2, "extraversion": 1, "agreeableness": 0, "neuroticism": 2}',
    "Openness: 1\nOpenness: 3\nConscientiousness: 2\nExtraversion: 1\nAgreeableness: 0\nNeuroticism: 2",
    js(openness={"score": 1, "rating": 3}),
    js(openness="3 (low)"),                                                       # comment names another level
])
def test_R7_conflicting(text):
    r = rejected(parse_response(text, "number-l3-inc"), "conflicting")
    assert r.reasons["openness"] == "conflicting"


@pytest.mark.parametrize("text", [
    '{"openness": 3, "openness": 3, "conscientiousness": 2, "extraversion": 1, "agreeableness": 0, "neuroticism": 2}',
    '{"O": 3, "Openness": 3, "conscientiousness": 2, "extraversion": 1, "agreeableness": 0, "neuroticism": 2}',
])
def test_R8_duplicate_key(text):
    r = rejected(parse_response(text, "number-l3-inc"), "duplicate_key")
    assert r.reasons["openness"] == "duplicate_key"
    assert r.values["conscientiousness"] == 2  # diagnostics keep what was individually fine


@pytest.mark.parametrize("value,prompt", [("2-3", "number-l3-inc"), ("2 or 3", "number-l3-inc"),
                                          ("1 to 2", "number-l5-inc"), ("2,5", "number-l3-inc"),
                                          ("low to medium", "text-l3-inc"), ("medium/high", "text-l3-inc"),
                                          ("medium-high", "text-l5-inc"), ("high or very high", "text-l5-inc")])
def test_R9_ambiguous_value(value, prompt):
    base = GOOD if prompt.startswith("number") else {t: "medium" for t in TRAITS}
    r = rejected(parse_response(js(base, openness=value), prompt), "ambiguous")
    assert r.reasons["openness"] == "ambiguous"


@pytest.mark.parametrize("value,prompt", [(4, "number-l3-inc"), (-1, "number-l3-inc"), (2.5, "number-l3-inc"),
                                          ("4", "number-l3-inc"), ("4/5", "number-l3-inc"), (6, "number-l5-dec"),
                                          ("very high", "text-l3-inc"), ("extremely low", "text-l3-inc")])
def test_R10_out_of_range(value, prompt):
    base = GOOD if prompt.startswith("number") else {t: "medium" for t in TRAITS}
    r = rejected(parse_response(js(base, openness=value), prompt), "out_of_range")
    assert r.reasons["openness"] == "out_of_range" and r.reasons["conscientiousness"] == "ok"


@pytest.mark.parametrize("value,prompt", [("high", "number-l3-inc"), (None, "number-l3-inc"),
                                          (True, "number-l3-inc"), ("N/A", "number-l3-inc"), ("", "number-l3-inc"),
                                          ([2], "number-l3-inc"), ({"description": "no score"}, "number-l3-inc"),
                                          ("about 2", "number-l3-inc"), (2, "text-l3-inc"),
                                          ("fairly high", "text-l3-inc"), ("highly variable", "text-l3-inc")])
def test_R11_non_numeric(value, prompt):
    base = GOOD if prompt.startswith("number") else {t: "medium" for t in TRAITS}
    r = rejected(parse_response(js(base, openness=value), prompt), "non_numeric")
    assert r.reasons["openness"] == "non_numeric"


def test_R11_nan_literal_is_not_a_score():
    rejected(parse_response(js().replace('"openness": 3', '"openness": NaN'), "number-l3-inc"), "non_numeric")


@pytest.mark.parametrize("text", [
    '{"openness": 2, "neuroticism": 3}',
    json.dumps({k: v for k, v in GOOD.items() if k != "neuroticism"} | {"emotional stability": 3}),
    "Openness: 2\nConscientiousness: 3",
])
def test_R12_missing_trait(text):
    r = rejected(parse_response(text, "number-l3-inc"), "missing_trait")
    assert "missing" in r.reasons.values()


def test_R13_ok():
    r = accepted(parse_response(js(), "number-l3-inc"))
    assert r.group == "ok" and r.detail == "" and r.n_valid == 5


def test_M1_low_mass_flag():
    ok = parse_response(js(), "number-l3-inc")
    mass = {t: 0.9 for t in TRAITS}
    assert flag_low_mass(ok, mass, 0.5) is ok
    low = flag_low_mass(ok, {**mass, "extraversion": 0.2}, 0.5)
    rejected(low, "low_mass")
    assert low.reasons["extraversion"] == "low_mass" and "0.200" in low.detail
    assert math.isnan(low.values["extraversion"]) and low.values["openness"] == 3
    assert flag_low_mass(ok, {**mass, "extraversion": 0.2}, 0.0) is ok  # threshold 0 disables it
    # a rejected reply stays what it was
    bad = parse_response(js(openness=9), "number-l3-inc")
    assert flag_low_mass(bad, mass, 0.5) is bad


def test_P1_partial_only_by_name():
    text = js(openness=4)
    strict = rejected(parse_response(text, "number-l3-inc"), "out_of_range")
    assert strict.values["conscientiousness"] == 2
    partial = parse_response(text, "number-l3-inc", allow_partial=True)
    assert partial.status == "partial" and partial.group == "partial"
    assert math.isnan(partial.scores["openness"]) and partial.scores["conscientiousness"] == 2
    # reply-level failures never become partial
    for reply, status in (("I'm sorry, but no.", "refused"), (js() + js(openness=1), "ambiguous"),
                          ('{"openness": 2, "consc', "malformed")):
        rejected(parse_response(reply, "number-l3-inc", allow_partial=True), status)
    param = inspect.signature(parse_response).parameters["allow_partial"]
    assert param.default is False and param.kind is inspect.Parameter.KEYWORD_ONLY


# ----------------------------------------------------------------------------------------
# accepted forms
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    '{"O": 3, "C": 2, "E": 1, "A": 0, "N": 2}',
    '{"o": "3", "c": "2", "e": "1", "a": "0", "n": "2"}',
    '{"Openness": 3, "CONSCIENTIOUSNESS": 2, "Extroversion": 1, "agreeableness": 0, "Neuroticism": 2}',
    '{"openness_score": 3, "conscientiousness score": 2, "extraversion": 1, "agreeable": 0, "neurotic": 2}',
    '{"Openness to experience": 3, "conscientious": 2, "extravert": 1, "agreeableness": 0, '
    '"negative emotionality": 2}',
    '{"Openness (O)": 3, "C (Conscientiousness)": 2, "E": 1, "A": 0, "N": 2}',
    '{"open": 3, "cons": 2, "extr": 1, "agre": 0, "neur": 2}',
    '{"openness": 3.0, "conscientiousness": "2.0", "extraversion": "1/3", "agreeableness": "0 out of 3", '
    '"neuroticism": "2 (medium)"}',
    json.dumps({t: {"score": v, "description": "x"} for t, v in GOOD.items()}),
    json.dumps({t: {"Rating": str(v)} for t, v in GOOD.items()}),
    json.dumps({"scores": GOOD}), json.dumps({"name": "X", "result": {"big_five": GOOD}}),
    json.dumps([{"trait": t, "score": v} for t, v in GOOD.items()]),
    json.dumps({"traits": [{"name": t.capitalize(), "rating": v} for t, v in GOOD.items()]}),
    "```json\n" + json.dumps(GOOD, indent=2) + "\n```",
    "Sure! Here is my assessment:\n```\n" + js() + "\n```\nLet me know if you need more.",
    "<think>Openness: 1? maybe {\"openness\": 1}</think>\n" + js(),
    "Thinking about it, the person is curious and organised.\n\nFinal answer: " + js(),
    "reasoning the server cut the opening tag of</think>" + js(),
    "{'openness': 3, 'conscientiousness': 2, 'extraversion': 1, 'agreeableness': 0, 'neuroticism': 2}",
    '{"openness": 3, "conscientiousness": 2, "extraversion": 1, "agreeableness": 0, "neuroticism": 2,}',
    js(openness={"score": 3, "level": "high"}),
    "- **Openness**: 3\n- **Conscientiousness:** 2/3\n- Extraversion - 1 (low)\n- Agreeableness = 0\n"
    "- Neuroticism: 2 (medium)",
    "1. Openness (O): 3\n2. Conscientiousness (C): 2\n3. Extraversion (E): 1\n4. Agreeableness (A): 0\n"
    "5. Neuroticism (N): 2",
    "O: 3, C: 2, E: 1, A: 0, N: 2",
    "O=3 C=2 E=1 A=0 N=2",
    "**Scores:** O=3, C=2, E=1, A=0, N=2",
    "openness: 3\nconscientiousness: 2\nextraversion: 1\nagreeableness: 0\nneuroticism: 2\n",
    '```json\r\n{"O": 3, "C": 2, "E": 1, "A": 0, "N": 2}\r\n```',
    "Here's the JSON: " + js() + ". I hope it's helpful!",
    "| Trait | Score |\n|---|---|\n| Openness | 3 |\n| Conscientiousness | 2 |\n| Extraversion | 1 |\n"
    "| Agreeableness | 0 |\n| Neuroticism | 2 |",
])
def test_well_formed_number_replies(text):
    accepted(parse_response(text, "number-l3-inc"))


@pytest.mark.parametrize("text,prompt,expected", [
    ("Openness: very high\nConscientiousness: high\nExtraversion: moderate\n"
     "Agreeableness: insufficient information\nNeuroticism: very low", "text-l5-inc", [5, 4, 3, 0, 1]),
    ('{"openness": {"score": "High"}, "conscientiousness": {"score": "LOW"}, "extraversion": {"score": "medium"},'
     ' "agreeableness": {"score": "unknown"}, "neuroticism": {"score": "average"}}', "text-l3-inc", [3, 1, 2, 0, 2]),
    ('{"O": "high (very curious)", "C": "low - disorganised", "E": "Medium.", "A": "**high**", "N": "low"}',
     "text-l3-inc", [3, 1, 2, 3, 1]),
    ('{"openness": 4, "conscientiousness": 5, "extraversion": 1, "agreeableness": 2, "neuroticism": 3}',
     "number-l5-inc", [4, 5, 1, 2, 3]),
])
def test_well_formed_other_scales(text, prompt, expected):
    accepted(parse_response(text, prompt), [float(v) for v in expected])


def test_descriptions_are_kept():
    r = parse_response(json.dumps({t: {"score": 2, "description": f"About {t}."} for t in TRAITS}), "number-l3-inc")
    assert r.status == "ok" and r.descriptions["openness"] == "About openness."


def test_strip_thinking_variants():
    assert strip_thinking("<THINK>a</THINK>b") == ("b", False)
    assert strip_thinking("reasoning here</think>answer")[0] == "answer"  # opening tag stripped by server
    assert strip_thinking("x <reasoning>never closed")[1] is True


# ----------------------------------------------------------------------------------------
# the documented table and the compatibility promises
# ----------------------------------------------------------------------------------------
def test_rule_table_is_documented_and_covered():
    table = rule_table()
    assert list(table["row"]) == [f"R{i}" for i in range(1, 14)] + ["M1", "P1"]
    # every status but the umbrella "partial"/"low_mass" rows appears in the table, and vice versa
    assert set(table["status"]) == set(STATUSES)
    assert all(len(c) > 20 for c in table["condition"])
    # every row has a test in this module
    names = [n for n in globals() if n.startswith("test_")]
    for row in table["row"]:
        assert any(n.startswith(f"test_{row}_") for n in names), row


def test_groups_and_reasons_vocabulary():
    assert set(STATUS_GROUP.values()) == set(GROUPS)
    assert STATUS_GROUP["ok"] == "ok" and STATUS_GROUP["malformed"] == "invalid"
    assert STATUS_GROUP["invalid"] == "invalid"  # the version-1 status, found in old ledgers
    r = parse_response('{"openness": 4, "conscientiousness": 2.5, "extraversion": "x", "agreeableness": 1}',
                       "number-l3-inc")
    assert set(r.reasons.values()) <= set(TRAIT_REASONS)
    assert r.reasons == {"openness": "out_of_range", "conscientiousness": "out_of_range",
                         "extraversion": "non_numeric", "agreeableness": "ok", "neuroticism": "missing"}


def test_public_signature_still_works():
    """parse_response(text, prompt) with a format id or a PromptFormat, as in version 1."""
    from personax.traits.prompts import get_format

    params = list(inspect.signature(parse_response).parameters)
    assert params[:2] == ["text", "prompt"]
    a = parse_response(js(), "number-l3-inc")
    b = parse_response(js(), get_format("Number-L3-Inc"))
    assert a.status == b.status == "ok" and a.to_json() == b.to_json() == a.to_dict()
    assert a.to_json()["scores"]["openness"] == 3 and a.to_json()["group"] == "ok"
    with pytest.raises(TypeError, match="str"):
        parse_response(b"bytes", "number-l3-inc")
    with pytest.raises(KeyError, match="unknown prompt format"):
        parse_response(js(), "number-l7-inc")
