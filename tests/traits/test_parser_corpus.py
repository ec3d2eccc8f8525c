"""A large generated corpus of LLM replies: every well-formed one yields exactly its scores,
no flawed one yields any score.

Well-formed replies combine, at random (seeded): key spellings (names, letters, synonyms,
casing, the data layer's short forms), value spellings (numbers, strings, ``x/3``,
comments, per-trait objects), containers (flat, nested, records), wrappers (code fences,
chatter, reasoning blocks, Python quotes, trailing commas, indentation), labelled text
and Markdown tables, on all six prompt formats.  Flawed replies are well-formed ones with
one defect (a trait missing, out of range, non-numeric, given twice, a range, a second
object, a refusal, truncation, ...), plus error payloads and prose.
"""

from __future__ import annotations

import json
import math
import random

import pytest

from personax.data.schema import TRAITS
from personax.traits.parser import parse_response
from personax.traits.prompts import FORMAT_IDS, get_format

N_GOOD = 600
N_BAD = 900

KEYS = {
    "full": {t: t for t in TRAITS},
    "title": {t: t.capitalize() for t in TRAITS},
    "upper": {t: t.upper() for t in TRAITS},
    "letter": {t: t[0].upper() for t in TRAITS},
    "lower_letter": {t: t[0] for t in TRAITS},
    "bracket": {t: f"{t.capitalize()} ({t[0].upper()})" for t in TRAITS},
    "suffix": {t: f"{t}_score" for t in TRAITS},
    "synonyms": {"openness": "Openness to Experience", "conscientiousness": "Conscientious",
                 "extraversion": "Extroversion", "agreeableness": "Agreeable", "neuroticism": "Negative Emotionality"},
    "stems": {"openness": "open", "conscientiousness": "consc", "extraversion": "extra", "agreeableness": "agree",
              "neuroticism": "neuro"},
}
LABEL_KEYS = ("full", "title", "upper", "letter", "bracket", "synonyms")
REFUSALS = ("I'm sorry, but I can't help with that request.", "I cannot assess the personality of real people.",
            "I must decline to rate individuals.", "As an AI model I won't provide such ratings.")


def _answers(fmt):
    """value -> list of accepted spellings of that answer for ``fmt``."""
    out: dict[int, list[str]] = {}
    for answer, value in fmt.answer_to_value().items():
        out.setdefault(value, []).append(answer)
    return out


def _value_spelling(rng, fmt, v):
    if fmt.answer_kind == "number":
        top = max(fmt.allowed_values)
        meaning = {lvl.value: lvl.meaning for lvl in fmt.scale}.get(v, fmt.insufficient.meaning)
        return rng.choice([v, str(v), f"{v}.0", float(v), f"{v}/{top}", f"{v} out of {top}", f"{v} ({meaning})",
                           f" {v} ", f"{v} - based on the description"])
    words = _answers(fmt)[v]
    w = rng.choice(words)
    return rng.choice([w, w.upper(), w.capitalize(), f"{w} (from the description)", f"**{w}**", f"{w}."])


def _wrap_value(rng, value):
    kind = rng.random()
    if kind < 0.5:
        return value
    if kind < 0.8:
        return {"score": value, "description": rng.choice(["Curious.", "Known for discipline.", "Hard to say: 0?"])}
    return {rng.choice(["rating", "Score", "value", "level"]): value}


def good_reply(rng):
    """(text, prompt id, expected scores) of a well-formed reply."""
    fid = rng.choice(FORMAT_IDS)
    fmt = get_format(fid)
    true = {t: rng.choice(fmt.allowed_values) for t in TRAITS}
    style = rng.random()
    if style < 0.7:
        keys = KEYS[rng.choice(list(KEYS))]
        order = list(TRAITS)
        rng.shuffle(order)
        obj = {keys[t]: _wrap_value(rng, _value_spelling(rng, fmt, true[t])) for t in order}
        if rng.random() < 0.3:
            obj = {"name": "FICTIONAL person", **obj, "summary": "A fictional summary with 3 numbers 1 2."}
        container = rng.random()
        if container < 0.2:
            obj = {rng.choice(["scores", "big_five", "ratings", "result"]): obj}
        elif container < 0.3:
            obj = [{"trait": keys[t], "score": _value_spelling(rng, fmt, true[t])} for t in order]
        indent = rng.choice([None, 2, 4])
        body = json.dumps(obj, indent=indent, ensure_ascii=False)
        if rng.random() < 0.1:  # Python-style quotes
            body = repr(obj)
        elif rng.random() < 0.1 and body.endswith("}"):  # trailing comma
            body = body[:-1].rstrip() + ",}"
        wrap = rng.random()
        if wrap < 0.25:
            body = "```json\n" + body + "\n```"
        elif wrap < 0.4:
            body = "```\n" + body + "\n```"
        if rng.random() < 0.3:
            body = rng.choice(["Sure! Here is the assessment:\n", "Based on the description, my ratings are:\n\n",
                               "Here you go.\n"]) + body
        if rng.random() < 0.2:
            body += rng.choice(["\n\nLet me know if you need anything else.", "\nThese are estimates.", "\n"])
        if rng.random() < 0.2:
            body = ("<think>The person seems open, maybe openness: 1 or 2. {\"openness\": 1}</think>\n" + body)
    else:
        keys = KEYS[rng.choice(LABEL_KEYS)]
        lines = []
        for t in TRAITS:
            v = _value_spelling(rng, fmt, true[t])
            v = v if isinstance(v, str) else str(v)
            v = v.strip()
            lines.append((keys[t], v))
        layout = rng.random()
        if layout < 0.5:
            bullet = rng.choice(["", "- ", "* ", "• "])
            bold = rng.random() < 0.4
            sep = rng.choice([": ", " = ", " - "])
            body = "\n".join(f"{bullet}{'**' if bold else ''}{k}{'**' if bold else ''}{sep}{v}" for k, v in lines)
        elif layout < 0.7:
            body = "\n".join(f"{i}. {k}: {v}" for i, (k, v) in enumerate(lines, 1))
        elif layout < 0.85:
            body = ", ".join(f"{k}: {v}" for k, v in lines if "," not in v)
            if body.count(":") < 5:
                body = "\n".join(f"{k}: {v}" for k, v in lines)
        else:
            body = "| Trait | Rating |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in lines)
        if rng.random() < 0.3:
            body = "My assessment of this fictional person:\n\n" + body
    return body, fid, [float(true[t]) for t in TRAITS]


def _json_span(text):
    start = text.find("{")
    end = text.rfind("}")
    return (start, end) if 0 <= start < end else None


def bad_reply(rng):
    """(text, prompt id, defect) of a flawed reply."""
    fid = rng.choice(FORMAT_IDS)
    fmt = get_format(fid)
    true = {t: rng.choice(fmt.allowed_values) for t in TRAITS}
    keys = KEYS[rng.choice(["full", "title", "letter", "synonyms"])]
    obj = {keys[t]: _wrap_value(rng, _value_spelling(rng, fmt, true[t])) for t in TRAITS}
    victim = rng.choice(TRAITS)
    top = max(fmt.allowed_values)
    defect = rng.choice(["missing", "out_of_range", "non_numeric", "duplicate", "range", "second_object",
                         "refusal", "truncated", "reversed_key", "wrong_kind", "prose", "error_payload",
                         "empty", "nested_conflict", "label_missing", "label_conflict", "comment_conflict"])
    if defect == "missing":
        del obj[keys[victim]]
        text = json.dumps(obj)
    elif defect == "out_of_range":
        if fmt.answer_kind == "number":
            obj[keys[victim]] = rng.choice([top + 1, top + 3, -1, -2, 1.5, 2.5, str(top + 1), f"{top}/{top + 2}"])
        else:
            obj[keys[victim]] = rng.choice(["extremely high", "very high"] if fmt.levels == 3 else ["extreme"])
        text = json.dumps(obj)
        if fmt.answer_kind == "text" and fmt.levels == 5:
            defect = "non_numeric"
    elif defect == "non_numeric":
        obj[keys[victim]] = rng.choice([None, True, False, "", "N/A", "n/a", "none", [1, 2], {"note": "unclear"},
                                        "somewhat", "above average", "very"])
        text = json.dumps(obj)
    elif defect == "wrong_kind":
        if fmt.answer_kind == "number":
            obj[keys[victim]] = rng.choice(["high", "low", "medium", "insufficient information"])
        else:
            obj[keys[victim]] = rng.choice([1, 2, "3", 0])
        text = json.dumps(obj)
    elif defect == "duplicate":
        other = rng.choice([v for v in fmt.allowed_values])
        text = json.dumps(obj)[:-1] + f', "{victim}": {json.dumps(other if fmt.answer_kind == "number" else "low")}}}'
        if keys[victim] == victim and rng.random() < 0.5:
            text = json.dumps(obj)[:-1] + f', "{victim[0].upper()}": {json.dumps(obj[keys[victim]])}}}'
    elif defect == "range":
        if fmt.answer_kind == "number":
            obj[keys[victim]] = rng.choice(["1-2", "2 - 3", "1 or 2", "between 1 and 2", "1 to 2", "1,5"])
        else:
            obj[keys[victim]] = rng.choice(["low to medium", "medium-high", "low/medium", "low or medium"])
        text = json.dumps(obj)
    elif defect == "second_object":
        other = dict(obj)
        a = [v for v in fmt.allowed_values if v != true[victim]][0]
        other[keys[victim]] = a if fmt.answer_kind == "number" else {v: w for w, v in fmt.answer_to_value().items()}[a]
        text = json.dumps(obj) + rng.choice(["\n\nRevised:\n", "\n", "\nOr alternatively: "]) + json.dumps(other)
    elif defect == "refusal":
        text = rng.choice(REFUSALS) + rng.choice(["", " Example only: " + json.dumps(obj),
                                                   "\n" + json.dumps(obj)])
    elif defect == "truncated":
        full = rng.choice([json.dumps(obj), json.dumps({"scores": obj}), "```json\n" + json.dumps(obj, indent=2)])
        span = _json_span(full)
        cut = rng.randrange(span[0] + 1, span[1])
        text = full[:cut]
    elif defect == "reversed_key":
        obj.pop(keys["neuroticism"], None)
        obj[rng.choice(["emotional stability", "Emotional Stability", "stability"])] = rng.choice(
            fmt.allowed_values) if fmt.answer_kind == "number" else "high"
        text = json.dumps(obj)
    elif defect == "prose":
        text = rng.choice(["This person appears warm and organised but sometimes anxious.",
                           "Openness is high; conscientiousness is moderate.", "No information.", "3",
                           "1 2 3 0 2", "The answer is 2."])
    elif defect == "error_payload":
        text = rng.choice(['{"error": {"message": "Rate limit reached", "type": "rate_limit"}}',
                           "Internal Server Error", "<html><body>502 Bad Gateway</body></html>",
                           '{"detail": "Not Found"}'])
    elif defect == "empty":
        text = rng.choice(["", " ", "\n\n", "<think>openness 3, conscientiousness 2, ...</think>",
                           "<think>I will rate openness: 3 and", "```json\n```"])
    elif defect == "nested_conflict":
        other = dict(obj)
        a = [v for v in fmt.allowed_values if v != true[victim]][0]
        other[keys[victim]] = a if fmt.answer_kind == "number" else {v: w for w, v in fmt.answer_to_value().items()}[a]
        text = json.dumps({**obj, "final": other})
    elif defect == "label_missing":
        text = "\n".join(f"{keys[t]}: {true[t] if fmt.answer_kind == 'number' else 'low'}"
                         for t in TRAITS if t != victim)
    elif defect == "label_conflict":
        lines = [f"{t.capitalize()}: {_value_spelling(rng, fmt, true[t])}" for t in TRAITS]
        a = [v for v in fmt.allowed_values if v != true[victim]][0]
        word = a if fmt.answer_kind == "number" else {v: w for w, v in fmt.answer_to_value().items()}[a]
        text = "\n".join(lines) + f"\n{victim.capitalize()}: {word}"
    else:  # comment_conflict: a number whose comment names another level
        if fmt.answer_kind != "number":  # for text scales: a second object that differs in one trait
            a = [v for v in fmt.allowed_values if v != true[victim]][0]
            word = {v: w for w, v in fmt.answer_to_value().items()}[a]
            text = json.dumps(obj) + "\n" + json.dumps({**obj, keys[victim]: word})
            defect = "second_object"
        else:
            meanings = {lvl.value: lvl.meaning for lvl in fmt.scale}
            v = rng.choice([lvl.value for lvl in fmt.scale])
            wrong = rng.choice([m for val, m in meanings.items() if val != v])
            obj[keys[victim]] = f"{v} ({wrong})"
            text = json.dumps(obj)
    if rng.random() < 0.2 and defect not in ("empty", "truncated"):
        text = "```json\n" + text + "\n```" if text.lstrip().startswith("{") else text
    return text, fid, defect


GOOD_CASES = [good_reply(random.Random(1000 + i)) for i in range(N_GOOD)]
BAD_CASES = [bad_reply(random.Random(5000 + i)) for i in range(N_BAD)]


def test_every_well_formed_reply_yields_its_scores():
    failures = []
    for text, fid, expected in GOOD_CASES:
        r = parse_response(text, fid)
        got = [r.scores[t] for t in TRAITS]
        if r.status != "ok" or got != expected:
            failures.append((fid, text[:200], r.status, r.detail, got, expected))
    assert not failures, f"{len(failures)} of {len(GOOD_CASES)} well-formed replies failed, e.g. {failures[:3]}"


def test_no_flawed_reply_yields_a_score():
    leaks = []
    for text, fid, defect in BAD_CASES:
        r = parse_response(text, fid)
        if r.status == "ok" or any(not math.isnan(v) for v in r.scores.values()):
            leaks.append((defect, fid, text[:200], r.status))
    assert not leaks, f"{len(leaks)} of {len(BAD_CASES)} flawed replies yielded scores, e.g. {leaks[:3]}"


def test_corpus_covers_every_defect_and_format():
    defects = {d for _, _, d in BAD_CASES}
    assert len(defects) >= 17
    assert {f for _, f, _ in GOOD_CASES} == set(FORMAT_IDS) == {f for _, f, _ in BAD_CASES}


@pytest.mark.parametrize("defect,statuses", [
    ("missing", {"missing_trait"}), ("out_of_range", {"out_of_range"}), ("duplicate", {"duplicate_key",
                                                                                      "conflicting"}),
    ("range", {"ambiguous"}), ("second_object", {"ambiguous"}), ("refusal", {"refused"}),
    ("reversed_key", {"missing_trait"}), ("error_payload", {"no_scores"}), ("empty", {"empty", "no_scores"}),
    ("nested_conflict", {"ambiguous"}), ("truncated", {"malformed", "ambiguous"}),
    ("label_conflict", {"conflicting"}), ("wrong_kind", {"non_numeric"}),
])
def test_each_defect_gets_its_own_status(defect, statuses):
    got = {parse_response(text, fid).status for text, fid, d in BAD_CASES if d == defect}
    assert got and got <= statuses, (defect, got)
