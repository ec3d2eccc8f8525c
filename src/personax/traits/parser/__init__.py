"""Parse LLM replies into Big Five scores: strictly, by a documented rule table.

A reply yields scores only if it gives **all five traits, each once, on the prompt's
scale, unambiguously**.  Anything else gets a status saying what is wrong and no scores
at all (not even the traits that were fine): a flawed reply never becomes data.

What is accepted as a well-formed reply
---------------------------------------
* a JSON object, bare, in a fenced code block, or after/before other text;
  ``<think>…</think>`` (also ``thinking``/``reasoning``) blocks are removed first;
* flat (``{"openness": 2, ...}``) or per-trait objects (``{"openness": {"score": 2,
  "description": "..."}}``; score fields ``score``/``rating``/``value``/``level``/``answer``),
  at the top level or nested under any key (``{"scores": {...}}``, ``{"big_five": {...}}``),
  or a list of records (``[{"trait": "openness", "score": 2}, ...]``);
* keys: full names, single letters ``O C E A N``, the data layer's short forms and common
  synonyms, any casing (:mod:`personax.traits.aliases`; never "emotional stability",
  the reverse of neuroticism);
* numbers as numbers or strings (``2``, ``"2"``, ``2.0``, ``"2/3"``, ``"2 out of 3"``,
  ``"2 (medium)"``); text answers in any casing, with the prompt file's synonyms and an
  optional comment (``"high (very curious)"``);
* Python-style single quotes and trailing commas (the scores are still unambiguous);
* labelled text when there is no JSON object at all: ``Openness: 2``, ``- **O**: 2``,
  ``1. Openness (O) = 2``, ``O: 2, C: 3, ...``, Markdown table rows ``| Openness | 2 |``;
* the same score object repeated identically (e.g. once in the text and once in a code
  block) counts once.

Rule table (applied in this order; the first row that applies gives the status)
---------------------------------------------------------------------------------
====  ======================================================================  ===============
row   condition                                                               status
====  ======================================================================  ===============
R1    no reply at all (transport failure; set when ``text`` is ``None``)      ``error``
R2    nothing but whitespace after removing reasoning blocks (also a reply    ``empty``
      cut off inside an unclosed ``<think>``)
R3    refusal language outside the score object ("I can't help with", "I      ``refused``
      must decline", "I'm sorry, but", ...: :data:`REFUSAL_PATTERNS`), even
      if numbers follow (they may be an example, not an answer)
R4    a score object that cannot be read (invalid JSON, unbalanced or         ``malformed``
      truncated braces) and no readable one
R5    no trait score in any form (prose, a JSON object without trait keys,    ``no_scores``
      an API error text)
R6    several score objects that differ (two different JSON objects, a        ``ambiguous``
      top-level map and a nested one, a readable and an unreadable one, or
      labelled lines that contradict the JSON)
R7    a trait given twice with different values, or a value whose comment    ``conflicting``
      names another level (``"3 (low)"``)
R8    a trait given twice with the same value (a repeated key, or two         ``duplicate_key``
      aliases such as ``"O"`` and ``"openness"``)
R9    a trait value that is a range or two answers (``"2-3"``, ``"2 or 3"``,  ``ambiguous``
      ``"2,5"``, ``"low to medium"``, ``"medium/high"``)
R10   a value of the right kind that is not on this prompt's scale (4 or -1   ``out_of_range``
      or 2.5 on a 0-3 scale, ``"4/5"`` on a 3-point scale, ``"very high"``
      on a 3-level text scale)
R11   a value that is not an answer of the prompt's kind (a word on a         ``non_numeric``
      number scale, a number or an unknown word on a text scale, ``null``,
      ``true``, a list, NaN, an empty string, "N/A")
R12   a trait absent (no key or label names it; an unknown key such as       ``missing_trait``
      "emotional stability" names none)
R13   all five traits, once each, every value on the scale                    ``ok``
M1    constrained scoring only (:func:`flag_low_mass`, applied by the         ``low_mass``
      runner): the model put less than the threshold of its probability on
      the valid answers of some trait
P1    opt-in only (``allow_partial=True``): R7-R12 or M1 with at least one    ``partial``
      valid trait; the valid traits keep their scores
====  ======================================================================  ===============

Within R7-R12 the per-trait reasons (``reasons``) say what happened to every trait;
``values`` keeps the traits that were individually valid, for diagnostics only.  Scores
of a reply are all NaN unless its status is ``ok`` (or ``partial`` when asked for by
name): :func:`personax.traits.run.wide_scores` and the aggregation read ``scores``, so
nothing but ``ok`` replies reaches them by default.

Status groups (:data:`STATUS_GROUP`): ``ok``; ``refused``; ``error``; ``partial``; and
``invalid`` for every other status (the coarse status of version 1 of this parser;
``ParseResult.group`` gives it).  Version 1 returned ``partial`` with the valid traits
whenever one to four traits were valid; that is now an opt-in.

The parse itself (:func:`parse_response`, :func:`flag_low_mass`, :func:`rule_table`) lives here;
its steps are the sibling modules ``result`` (statuses, :class:`ParseResult`), ``spans``
(reasoning blocks, JSON in free text), ``maps`` (score maps), ``values`` (one score) and
``labels`` (``Openness: 3`` lines).  Every name stays importable from ``personax.traits.parser``.
"""

from __future__ import annotations

import math
import re
from typing import Any

from personax.data.schema import TRAITS
from personax.traits.aliases import label_pattern
from personax.traits.parser.labels import _HEADING_RE, _label_pairs, _label_res  # noqa: F401  (re-exported: the old import path)
from personax.traits.parser.maps import _items, _records, _score_maps  # noqa: F401  (re-exported: the old import path)
from personax.traits.parser.result import (  # noqa: F401  (re-exported: the old import path)
    _CLOSE_THINK_RE,
    _DESC_FIELDS,
    _NA_WORDS,
    _OPEN_THINK_RE,
    _RECORD_NAME_FIELDS,
    _REFUSAL_RE,
    _SCORE_FIELDS,
    _THINK_RE,
    _TRAIT_ORDER,
    GROUPS,
    REFUSAL_PATTERNS,
    STATUS_GROUP,
    STATUSES,
    TRAIT_LEVEL,
    TRAIT_REASONS,
    ParseResult,
    _nan5,
    _reject,
)
from personax.traits.parser.spans import (  # noqa: F401  (re-exported: the old import path)
    _json_spans,
    _literal_pairs,
    _loads,
    _match,
    _Pairs,
    _pairs_hook,
    _Span,
    strip_thinking,
)
from personax.traits.parser.values import (  # noqa: F401  (re-exported: the old import path)
    _COMMENT_START,
    _NUM_RE,
    _RANGE_WORDS,
    _all_text_words,
    _answer_words,
    _clean,
    _description,
    _meanings,
    _number_string,
    _read_entries,
    _Reading,
    _show,
    _text_string,
    _value,
)
from personax.traits.prompts import PromptFormat, get_format


# ----------------------------------------------------------------------------------------
# the parse
# ----------------------------------------------------------------------------------------
def _trait_looking(chunk: str) -> bool:
    labels = label_pattern()
    return re.search(r"[\"'“”‘’`]?\b(?:" + labels + r")\b[\"'“”‘’`]?\s*:", chunk, re.IGNORECASE) is not None


def parse_response(text: str | None, prompt: str | PromptFormat, *, allow_partial: bool = False) -> ParseResult:
    """Parse one LLM reply for the prompt format ``prompt`` (rule table: module docstring).

    Parameters
    ----------
    text : str or None
        The raw reply. ``None`` means no reply was received (status ``error``).
    prompt : str or PromptFormat
        The prompt format the reply answers (fixes the scale and the answer kind).
    allow_partial : bool, keyword-only
        Opt in to the ``partial`` status (rule P1): a reply whose only problems are
        per-trait keeps the scores of its valid traits.  Off by default; nothing in the
        package turns it on unless asked by name.

    Returns
    -------
    ParseResult
        Never raises on bad replies: failures are encoded in ``status``/``reasons``.

    Examples
    --------
    >>> r = parse_response('```json\\n{"O": 3, "C": "2", "E": 1, "A": 2, "N": 0}\\n```', "number-l3-inc")
    >>> r.status, [r.scores[t] for t in ("openness", "neuroticism")]
    ('ok', [3.0, 0.0])
    >>> r = parse_response('{"openness": 4, "conscientiousness": 2, "extraversion": 1, '
    ...                    '"agreeableness": 2, "neuroticism": 1}', "number-l3-inc")
    >>> r.status, r.n_valid, r.reasons["openness"]
    ('out_of_range', 0, 'out_of_range')
    """
    fmt = get_format(prompt)
    if text is None:
        return _reject("error", "no reply received")
    if not isinstance(text, str):
        raise TypeError(f"parse_response expects the reply text as str, got {type(text).__name__}")
    body, cut = strip_thinking(text)
    if not body.strip():
        return _reject("empty", "reply ended inside an unclosed <think> block" if cut else "empty reply")

    spans, broken = _json_spans(body)
    # an object still open at the end is a cut-off reply, whatever it holds so far
    broken = [b for b in broken if b.end == len(body) or _trait_looking(body[b.start:b.end])]
    outside = body
    for s in sorted(spans, key=lambda s: -s.start):
        outside = outside[: s.start] + " " + outside[s.end:]
    maps = [m for s in spans for m in _score_maps(s.value)]
    refusal = _REFUSAL_RE.search(_without_label_lines(outside))
    if refusal:
        return _reject("refused", f"reply reads as a refusal ({refusal.group(0).strip()!r})")

    if maps:
        readings = [_read_entries(m, fmt) for m in maps]
        distinct = list({r.key(): r for r in readings}.values())
        if len(distinct) > 1:
            return _reject("ambiguous", f"{len(distinct)} different score objects in one reply")
        if broken:
            return _reject("ambiguous", "a readable and an unreadable score object in one reply "
                                        f"({broken[0].error})")
        reading = distinct[0]
        labelled = _read_entries(_label_entries(outside), fmt)
        clash = [t for t in TRAITS if labelled.reasons[t] == "ok" and reading.reasons[t] == "ok"
                 and labelled.values[t] != reading.values[t]]
        if clash:
            return _reject("ambiguous", f"the text outside the JSON gives other scores for {', '.join(clash)}")
    else:
        if broken:
            return _reject("malformed", f"score object cannot be read: {broken[0].error}")
        entries = _label_entries(body)
        if not entries:
            any_json = bool(spans)
            return _reject("no_scores", "a JSON object without trait keys" if any_json else "no trait scores found")
        reading = _read_entries(entries, fmt)
    return _finish(reading, allow_partial)


def _label_entries(text: str) -> list[tuple[str, Any, str]]:
    return [(t, v, label) for t, v, label in _label_pairs(text)]


def _without_label_lines(text: str) -> str:
    """The text minus lines that hold labelled scores (their comments may say "cannot
    determine" about one trait without refusing the task)."""
    return "\n".join(line for line in text.splitlines() if not _label_pairs(line))


def _finish(reading: _Reading, allow_partial: bool) -> ParseResult:
    reasons = reading.reasons
    values = {t: (reading.values[t] if reasons[t] == "ok" else math.nan) for t in TRAITS}
    bad = {t: r for t, r in reasons.items() if r != "ok"}
    if not bad:
        return ParseResult("ok", dict(values), dict(reasons), reading.descriptions, "", dict(values))
    worst = next(r for r in _TRAIT_ORDER if r in bad.values())
    status = "missing_trait" if worst == "missing" else worst
    detail = "; ".join(f"{t}: {r}" + (f" ({reading.shown[t]})" if t in reading.shown else "")
                       for t, r in bad.items())
    if allow_partial and any(not math.isnan(v) for v in values.values()):
        return ParseResult("partial", dict(values), dict(reasons), reading.descriptions, f"{status}: {detail}",
                           dict(values))
    return ParseResult(status, _nan5(), dict(reasons), reading.descriptions, detail, dict(values))


def flag_low_mass(result: ParseResult, mass: dict[str, float], threshold: float, *,
                  allow_partial: bool = False) -> ParseResult:
    """Rule M1: reject a constrained-scoring reply whose answer mass is below ``threshold``.

    Parameters
    ----------
    result : ParseResult
        The parse of the constrained reply.
    mass : dict
        trait -> total probability the model put on the valid answers (not renormalised).
    threshold : float
        Minimum mass for a trait's answer to count (the backend's ``mass_threshold``).
    allow_partial : bool
        As in :func:`parse_response`.

    Returns
    -------
    ParseResult
        ``result`` unchanged when every trait reaches the threshold (or it was not
        ``ok``); else status ``low_mass``, those traits' reason ``low_mass``, no scores.

    Examples
    --------
    >>> r = parse_response('{"O": 1, "C": 1, "E": 1, "A": 1, "N": 1}', "number-l3-inc")
    >>> flag_low_mass(r, {"openness": 0.2, "conscientiousness": 0.9, "extraversion": 0.9,
    ...                   "agreeableness": 0.9, "neuroticism": 0.9}, 0.5).status
    'low_mass'
    """
    if result.status != "ok":
        return result
    low = [t for t in TRAITS if t in mass and not (mass[t] >= threshold)]
    if not low:
        return result
    reasons = dict(result.reasons)
    for t in low:
        reasons[t] = "low_mass"
    values = {t: (math.nan if t in low else v) for t, v in result.values.items()}
    detail = "answer mass below %g: " % threshold + ", ".join(f"{t} {mass[t]:.3f}" for t in low)
    if allow_partial and any(not math.isnan(v) for v in values.values()):
        return ParseResult("partial", values, reasons, result.descriptions, "low_mass: " + detail, values)
    return ParseResult("low_mass", _nan5(), reasons, result.descriptions, detail, values)


def rule_table():
    """The rule table of the module docstring as a DataFrame.

    Returns
    -------
    DataFrame
        Columns ``row`` (R1..R13, M1, P1), ``condition`` (plain text), ``status``.

    Examples
    --------
    >>> rule_table().loc[0, ["row", "status"]].tolist()
    ['R1', 'error']
    """
    import pandas as pd

    doc = __doc__ or ""
    block = doc.split("Rule table", 1)[1]
    rows, cur = [], None
    for line in block.splitlines():
        m = re.match(r"^([RMP]\d+)\s{2,}(.*?)\s{2,}``(\w+)``\s*$", line)
        if m:
            cur = {"row": m.group(1), "condition": m.group(2).strip(), "status": m.group(3)}
            rows.append(cur)
        elif cur is not None and line.startswith("      ") and line.strip() and not line.startswith("===="):
            cur["condition"] += " " + line.strip()
        elif line.startswith("====") and rows:
            cur = None
    for r in rows:  # plain text for display: drop the reST markup
        r["condition"] = re.sub(r":\w+:`([^`]+)`", r"\1", r["condition"]).replace("``", "`")
    return pd.DataFrame(rows, columns=["row", "condition", "status"])


__all__ = ["ParseResult", "STATUSES", "STATUS_GROUP", "GROUPS", "TRAIT_REASONS", "TRAIT_LEVEL", "REFUSAL_PATTERNS",
           "parse_response", "flag_low_mass", "strip_thinking", "rule_table"]
