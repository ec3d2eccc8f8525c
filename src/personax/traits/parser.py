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
"""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from personax.data.schema import TRAITS
from personax.traits.aliases import label_pattern, trait_from_key
from personax.traits.prompts import PromptFormat, get_format, list_formats

#: every status a reply can get, in rule-table order (see the module docstring)
STATUSES = ("error", "empty", "refused", "malformed", "no_scores", "ambiguous", "conflicting", "duplicate_key",
            "out_of_range", "non_numeric", "missing_trait", "ok", "low_mass", "partial")
#: per-trait reasons
TRAIT_REASONS = ("ok", "missing", "conflicting", "duplicate_key", "ambiguous", "out_of_range", "non_numeric",
                 "low_mass")
#: status -> coarse group (ok, invalid, refused, error, partial); ``invalid`` is also the
#: version-1 status found in old ledgers
STATUS_GROUP: dict[str, str] = {s: "invalid" for s in STATUSES}
STATUS_GROUP.update({"ok": "ok", "refused": "refused", "error": "error", "partial": "partial", "invalid": "invalid"})
GROUPS = ("ok", "invalid", "refused", "error", "partial")
#: statuses a reply gets from per-trait problems (the ones ``allow_partial`` may turn into ``partial``)
TRAIT_LEVEL = ("conflicting", "duplicate_key", "ambiguous", "out_of_range", "non_numeric", "missing_trait",
               "low_mass")
_TRAIT_ORDER = ("conflicting", "duplicate_key", "ambiguous", "out_of_range", "non_numeric", "missing")

#: refusal phrases (case-insensitive regular expressions) looked for outside the score object
REFUSAL_PATTERNS = (
    r"\bi(?:\s+am|'m|’m)\s+sorry,?\s+but\b",
    r"\bi\s*(?:can(?:not|'t|’t| not)|won't|won’t|will not|am unable to|'m unable to|’m unable to|am not able to"
    r"|'m not able to|do not feel comfortable|don't feel comfortable)\s+(?:\w+\s+){0,2}?"
    r"(?:help|assist|comply|provide|give|share|rate|assess|evaluate|analy[sz]e|score|judge|determine|infer"
    r"|speculate|make|do|fulfil|fulfill|complete|offer|create|generate|perform|answer)\b",
    r"\bi\s+(?:must|have to|need to)\s+(?:respectfully\s+)?decline\b",
    r"\bi\s+(?:respectfully\s+)?decline\b",
    r"\bi\s+refuse\b",
    r"\b(?:it(?:'s|’s| is)|would be)\s+(?:not\s+appropriate|inappropriate|unethical)\b",
    r"\bagainst\s+my\s+(?:guidelines|policy|policies|principles|programming)\b",
    r"\bi(?:'m|’m| am)\s+not\s+(?:comfortable|able|allowed|permitted)\b",
)
_REFUSAL_RE = re.compile("|".join(f"(?:{p})" for p in REFUSAL_PATTERNS), re.IGNORECASE)

_THINK_RE = re.compile(r"<(think|thinking|reasoning)>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_OPEN_THINK_RE = re.compile(r"<(think|thinking|reasoning)>", re.IGNORECASE)
_CLOSE_THINK_RE = re.compile(r"</(?:think|thinking|reasoning)\s*>", re.IGNORECASE)
_SCORE_FIELDS = ("score", "rating", "value", "level", "answer", "rank")
_DESC_FIELDS = ("description", "explanation", "reason", "reasoning", "justification", "rationale", "evidence",
                "comment", "summary")
_RECORD_NAME_FIELDS = ("trait", "name", "dimension", "factor", "big_five_trait", "trait_name")
_NA_WORDS = frozenset({"n/a", "na", "none", "null", "nan", "-", "?", "unknown", ""})


@dataclass
class ParseResult:
    """Outcome of parsing one reply.

    Attributes
    ----------
    status : str
        One of :data:`STATUSES` (see the rule table in the module docstring).
    scores : dict
        trait -> value on the prompt's numeric scale (0 = insufficient information).
        All NaN unless ``status`` is ``ok`` (or ``partial``, opt-in).
    reasons : dict
        trait -> per-trait reason (:data:`TRAIT_REASONS`).
    descriptions : dict
        trait -> the model's short description, when it gave one.
    detail : str
        Human-readable note on what went wrong (empty when ok).
    values : dict
        trait -> value for the traits that were individually valid (NaN otherwise):
        diagnostics only, never aggregated.
    """

    status: str
    scores: dict[str, float]
    reasons: dict[str, str]
    descriptions: dict[str, str] = field(default_factory=dict)
    detail: str = ""
    values: dict[str, float] = field(default_factory=dict)

    @property
    def group(self) -> str:
        """Coarse status: ``ok``, ``invalid``, ``refused``, ``error`` or ``partial``."""
        return STATUS_GROUP.get(self.status, "invalid")

    @property
    def n_valid(self) -> int:
        """Number of traits with a score (5 for ``ok``, 0 for every rejected reply)."""
        return sum(1 for v in self.scores.values() if not math.isnan(v))

    def to_json(self) -> dict[str, Any]:
        """JSON-safe dict (NaN -> None)."""
        return {"status": self.status, "group": self.group,
                "scores": {t: (None if math.isnan(v) else v) for t, v in self.scores.items()},
                "values": {t: (None if math.isnan(v) else v) for t, v in self.values.items()},
                "reasons": dict(self.reasons), "descriptions": dict(self.descriptions), "detail": self.detail}

    to_dict = to_json


def _nan5() -> dict[str, float]:
    return {t: math.nan for t in TRAITS}


def _reject(status: str, detail: str, reasons: dict[str, str] | None = None,
            values: dict[str, float] | None = None, descriptions: dict[str, str] | None = None) -> ParseResult:
    return ParseResult(status, _nan5(), dict(reasons or {t: "missing" for t in TRAITS}), dict(descriptions or {}),
                       detail, dict(values or _nan5()))


# ----------------------------------------------------------------------------------------
# reasoning blocks
# ----------------------------------------------------------------------------------------
def strip_thinking(text: str) -> tuple[str, bool]:
    """Remove ``<think>…</think>`` (also ``thinking``/``reasoning``) blocks.

    Returns the remaining text and whether an *unclosed* block swallowed the rest (a
    reply cut off while still reasoning), in which case the remainder is dropped.  A
    closing tag without an opening one (some servers strip the opening tag) keeps only
    the text after it.

    >>> strip_thinking("<think>maybe 1</think> {}")
    ('{}', False)
    """
    out = _THINK_RE.sub("\n", text)
    if _CLOSE_THINK_RE.search(out) and not _OPEN_THINK_RE.search(out):
        out = _CLOSE_THINK_RE.split(out)[-1]
    m = _OPEN_THINK_RE.search(out)
    if m:
        return out[: m.start()].strip(), True
    return out.strip(), False


# ----------------------------------------------------------------------------------------
# locating JSON values in free text
# ----------------------------------------------------------------------------------------
@dataclass
class _Span:
    start: int
    end: int
    value: Any = None
    ok: bool = False
    error: str = ""


class _Pairs(list):
    """A JSON object kept as its list of (key, value) pairs, so repeated keys stay visible."""


def _pairs_hook(pairs):
    return _Pairs(pairs)


def _loads(text: str) -> Any:
    """Strict JSON first; then the same with trailing commas removed; then a Python literal."""
    try:
        return json.loads(text, object_pairs_hook=_pairs_hook)
    except json.JSONDecodeError as exc:
        first = exc
    no_trailing = re.sub(r",(\s*[}\]])", r"\1", text)
    if no_trailing != text:
        try:
            return json.loads(no_trailing, object_pairs_hook=_pairs_hook)
        except json.JSONDecodeError:
            pass
    if "'" in text:
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except (SyntaxError, ValueError):
            tree = None
        if tree is not None:
            try:
                return _literal_pairs(tree.body)
            except ValueError:
                pass
    raise ValueError(f"invalid JSON ({first.msg} at char {first.pos})")


def _literal_pairs(node) -> Any:
    """ast.literal_eval that keeps dict key order and repeats (as _Pairs)."""
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise ValueError("dict unpacking")
        return _Pairs((_literal_pairs(k), _literal_pairs(v)) for k, v in zip(node.keys, node.values))
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal_pairs(e) for e in node.elts]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) \
            and isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float)):
        v = node.operand.value
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool, type(None))):
        return node.value
    raise ValueError("not a literal")


def _json_spans(text: str) -> tuple[list[_Span], list[_Span]]:
    """Top-level ``{...}``/``[...]`` spans: (parsed ones, unparseable ``{`` ones).

    Scans outside JSON strings; a span that fails to parse is reported and scanned
    inside for smaller parseable objects.  An object still open at the end of the text
    (truncated reply) is reported as unparseable.
    """
    parsed: list[_Span] = []
    broken: list[_Span] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch not in "{[":
            i += 1
            continue
        end = _match(text, i)
        if end is None:  # never closed: truncated
            if ch == "{":
                broken.append(_Span(i, n, error="unterminated object (reply cut off?)"))
            i += 1
            continue
        chunk = text[i:end + 1]
        try:
            value = _loads(chunk)
        except ValueError as exc:
            if ch == "{":
                broken.append(_Span(i, end + 1, error=str(exc)))
            i += 1
            continue
        parsed.append(_Span(i, end + 1, value, True))
        i = end + 1
    # a broken span that only encloses parsed ones and adds nothing trait-like is still broken
    return parsed, broken


def _match(text: str, start: int) -> int | None:
    """Index of the bracket closing the one at ``start`` (strings respected), or None."""
    stack: list[str] = []
    in_str: str | None = None
    esc = False
    pairs = {"{": "}", "[": "]"}
    for i in range(start, len(text)):
        ch = text[i]
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == in_str:
                in_str = None
            elif ch == "\n" and in_str == "'":
                in_str = None  # an apostrophe in prose, not a Python string
            continue
        if ch == '"' or (ch == "'" and stack and text[i - 1] in "{[,: \t\n"):
            in_str = ch
        elif ch in pairs:
            stack.append(pairs[ch])
        elif ch in "}]":
            if not stack or stack[-1] != ch:
                return None
            stack.pop()
            if not stack:
                return i
    return None


# ----------------------------------------------------------------------------------------
# score maps inside parsed JSON
# ----------------------------------------------------------------------------------------
def _items(obj: Any) -> list[tuple[Any, Any]]:
    return list(obj) if isinstance(obj, _Pairs) else list(obj.items())


def _score_maps(obj: Any, depth: int = 0) -> list[list[tuple[str, Any, str]]]:
    """All trait maps in a parsed JSON value: lists of (trait, raw value, key as written)."""
    if depth > 5:
        return []
    found: list[list[tuple[str, Any, str]]] = []
    if isinstance(obj, (_Pairs, dict)):
        entries = []
        for k, v in _items(obj):
            trait = trait_from_key(k) if isinstance(k, str) else None
            if trait is not None:
                entries.append((trait, v, str(k)))
            elif isinstance(v, (_Pairs, dict, list)):
                found.extend(_score_maps(v, depth + 1))
        if entries:
            found.insert(0, entries)
    elif isinstance(obj, list):
        records = _records(obj)
        if records is not None:
            found.append(records)
        else:
            for v in obj:
                if isinstance(v, (_Pairs, dict, list)):
                    found.extend(_score_maps(v, depth + 1))
    return found


def _records(obj: list) -> list[tuple[str, Any, str]] | None:
    """``[{"trait": "openness", "score": 2}, ...]`` -> entries, or None if not that shape."""
    if not obj or not all(isinstance(r, (_Pairs, dict)) for r in obj):
        return None
    entries = []
    for r in obj:
        fields = {str(k).strip().lower(): v for k, v in _items(r)}
        name = next((fields[f] for f in _RECORD_NAME_FIELDS if f in fields), None)
        trait = trait_from_key(name) if isinstance(name, str) else None
        if trait is None:
            return None
        entries.append((trait, r, str(name)))
    return entries


# ----------------------------------------------------------------------------------------
# values
# ----------------------------------------------------------------------------------------
def _clean(s: str) -> str:
    s = s.strip()
    s = re.sub(r"^[\s*_`'\"“”‘’]+|[\s*_`'\"“”‘’]+$", "", s)
    s = re.sub(r"[.!]+$", "", s).strip()
    s = re.sub(r"^[\s*_`'\"“”‘’]+|[\s*_`'\"“”‘’]+$", "", s)
    return re.sub(r"\s+", " ", s)


@lru_cache(maxsize=None)
def _all_text_words() -> frozenset[str]:
    """Every answer word of every shipped text format (for out_of_range vs non_numeric)."""
    words: set[str] = set()
    for fid in list_formats():
        f = get_format(fid)
        if f.answer_kind == "text":
            words.update(f.answer_to_value())
    words.update({"very low", "very high", "extremely low", "extremely high"})
    return frozenset(words)


def _meanings(fmt: PromptFormat) -> dict[str, int]:
    table = {fmt.insufficient.meaning.lower(): 0}
    table.update({lvl.meaning.lower(): lvl.value for lvl in fmt.scale})
    return table


_NUM_RE = re.compile(r"^([+-]?\d+(?:\.\d+)?)(?:\s*(?:/|out\s+of|of)\s*(\d+(?:\.\d+)?))?(.*)$", re.IGNORECASE)
_RANGE_WORDS = re.compile(r"^\s*(?:-|–|—|to|or|and|/|~|,)\s*\d", re.IGNORECASE)
_COMMENT_START = re.compile(r"^\s*(?:\(|\[|-\s|–|—|:|,|;|\.\s|\s-|\s*$)")


def _value(raw: Any, fmt: PromptFormat) -> tuple[float, str, str]:
    """One trait answer -> (value or NaN, reason, what was read)."""
    shown = _show(raw)
    if isinstance(raw, (_Pairs, dict)):
        fields = [(str(k).strip().lower(), v) for k, v in _items(raw)]
        scores = [v for k, v in fields if k in _SCORE_FIELDS]
        if not scores:
            return math.nan, "non_numeric", f"object without a score field: {shown}"
        readings = [_value(v, fmt) for v in scores]
        if len(scores) == 1:
            return readings[0]
        good = [r for r in readings if r[1] == "ok"]
        vals = {r[0] for r in good}
        meanings = _meanings(fmt)
        # {"score": 3, "level": "high"}: a verbal field naming the same level agrees
        agree = all(r[1] == "ok" or (isinstance(v, str) and meanings.get(_clean(v).lower()) in vals)
                    for r, v in zip(readings, scores))
        if len(vals) == 1 and agree:
            return good[0]
        return math.nan, "conflicting", f"several score fields: {shown}"
    if isinstance(raw, bool) or raw is None or isinstance(raw, list):
        return math.nan, "non_numeric", shown
    allowed = set(fmt.allowed_values)
    if isinstance(raw, (int, float)):
        if not math.isfinite(raw):
            return math.nan, "non_numeric", shown
        if fmt.answer_kind == "text":
            return math.nan, "non_numeric", f"number {shown} where a verbal answer was asked"
        if float(raw) != int(raw):
            return math.nan, "out_of_range", f"{shown} is not a point of the scale"
        return (float(raw), "ok", shown) if int(raw) in allowed else (math.nan, "out_of_range", shown)
    if not isinstance(raw, str):
        return math.nan, "non_numeric", shown
    s = _clean(raw)
    if s.lower() in _NA_WORDS and not (fmt.answer_kind == "text" and s.lower() in fmt.answer_to_value()):
        return math.nan, "non_numeric", shown
    if fmt.answer_kind == "number":
        return _number_string(s, fmt, allowed, shown)
    return _text_string(s, fmt, shown)


def _number_string(s: str, fmt: PromptFormat, allowed: set[int], shown: str) -> tuple[float, str, str]:
    m = _NUM_RE.match(s)
    if not m:
        if re.search(r"\d\s*(?:-|–|—|to|or|and|/|,)\s*\d", s, re.IGNORECASE):
            return math.nan, "ambiguous", f"a range or two answers: {shown}"
        return math.nan, "non_numeric", shown
    num, denom, rest = m.group(1), m.group(2), m.group(3)
    if _RANGE_WORDS.match(rest):
        return math.nan, "ambiguous", f"a range or two answers: {shown}"
    if rest.strip() and not _COMMENT_START.match(rest):
        return math.nan, "non_numeric", shown
    comment = _clean(re.sub(r"^[\s(\[\-–—:,;.]+|[)\]]+$", "", rest))
    if re.search(r"(?<![\w.])\d+(?![\w.])", comment) and not re.fullmatch(r".*\b(?:scale|points?)\b.*", comment):
        return math.nan, "ambiguous", f"another number in the comment: {shown}"
    value = float(num)
    if denom is not None and float(denom) != max(fmt.allowed_values):
        return math.nan, "out_of_range", f"{shown} uses another scale (this one ends at {max(fmt.allowed_values)})"
    if value != int(value):
        return math.nan, "out_of_range", f"{shown} is not a point of the scale"
    if int(value) not in allowed:
        return math.nan, "out_of_range", shown
    meanings = _meanings(fmt)
    if comment.lower() in meanings and meanings[comment.lower()] != int(value):
        return math.nan, "conflicting", f"the comment names another level: {shown}"
    return value, "ok", shown


def _text_string(s: str, fmt: PromptFormat, shown: str) -> tuple[float, str, str]:
    answers = fmt.answer_to_value()
    low = s.lower()
    if re.match(r"^[+-]?\d", low):
        return math.nan, "non_numeric", f"number {shown} where a verbal answer was asked"
    if low in answers:
        return float(answers[low]), "ok", shown
    words = sorted(set(answers) | _all_text_words(), key=len, reverse=True)
    found = _answer_words(low, words)
    if len(set(found)) >= 2 and re.search(r"\b(?:to|or|and|between)\b|[/\-–—~]", low):
        return math.nan, "ambiguous", f"two answers: {shown}"
    for a in words:
        if re.match(re.escape(a) + r"(?![\w-])\s*(?:[(\[\-–—:,;.]|$)", low):
            rest = low[len(a):]
            if set(_answer_words(rest, words)) - {a} and re.search(r"\b(?:to|or)\b|[/\-–—~]", rest[:6]):
                return math.nan, "ambiguous", f"two answers: {shown}"
            if a in answers:
                return float(answers[a]), "ok", shown
            return math.nan, "out_of_range", f"{shown!s} is not on this {fmt.levels}-level scale"
    return math.nan, "non_numeric", shown


def _answer_words(s: str, words: list[str]) -> list[str]:
    out = []
    rest = s
    for a in words:
        pat = r"(?<![a-z])" + re.escape(a) + r"(?![a-z])"
        if re.search(pat, rest):
            out.append(a)
            rest = re.sub(pat, " ", rest)
    return out


def _show(raw: Any) -> str:
    if isinstance(raw, _Pairs):
        raw = {str(k): v for k, v in raw}
    try:
        text = json.dumps(raw, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def _description(raw: Any) -> str | None:
    if isinstance(raw, (_Pairs, dict)):
        for k, v in _items(raw):
            if str(k).strip().lower() in _DESC_FIELDS and isinstance(v, str):
                return v.strip()
    return None


@dataclass
class _Reading:
    values: dict[str, float]
    reasons: dict[str, str]
    shown: dict[str, str]
    descriptions: dict[str, str]

    def key(self) -> tuple:
        return tuple((t, self.reasons[t], None if math.isnan(self.values[t]) else self.values[t]) for t in TRAITS)


def _read_entries(entries: list[tuple[str, Any, str]], fmt: PromptFormat) -> _Reading:
    values, reasons, shown, descs = _nan5(), {t: "missing" for t in TRAITS}, {}, {}
    by_trait: dict[str, list[tuple[float, str, str, str]]] = {}
    for trait, raw, key in entries:
        v, why, what = _value(raw, fmt)
        by_trait.setdefault(trait, []).append((v, why, what, key))
        d = _description(raw)
        if d:
            descs[trait] = d
    for trait, got in by_trait.items():
        if len(got) > 1:
            readable = [(g[0] if g[1] == "ok" else g[2]) for g in got]
            same = all(r == readable[0] for r in readable)
            reasons[trait] = "duplicate_key" if same else "conflicting"
            shown[trait] = ", ".join(f"{g[3]}={g[2]}" for g in got)
            continue
        values[trait], reasons[trait], shown[trait] = got[0][0], got[0][1], got[0][2]
    return _Reading(values, reasons, shown, descs)


# ----------------------------------------------------------------------------------------
# labelled text
# ----------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _label_res() -> tuple[re.Pattern, re.Pattern]:
    labels = label_pattern()
    lead = r"(?:[>*#+•·\-]+\s*|\d{1,2}[.)]\s+|\s)*"
    label = (r"(?P<label>[*_`]*(?:" + labels + r")[*_`]*(?:\s*\([^)\n]{1,30}\))?[*_`]*"
             r"(?:\s+(?:score|rating|level))?[*_`]*)")
    sep = r"\s*(?::|=|→|->|\s[-–—]\s|[-–—](?=\s*\S))\s*"
    seg = re.compile(r"^" + lead + label + sep + r"(?P<value>.*)$", re.IGNORECASE)
    # where to split a line holding several pairs: ", " / "; " / " | " before the next label
    split = re.compile(r"\s*(?:[,;]|\s\|\s)\s*(?=" + lead + r"[*_`]*(?:" + labels + r")[*_`]*(?:\s*\([^)\n]{1,30}\))?"
                       r"[*_`]*(?:\s+(?:score|rating|level))?[*_`]*\s*(?::|=|→|->|\s[-–—]\s))"
                       # "O=3 C=2 ...": plain spaces before a label glued to its separator
                       r"|(?<=\S)\s+(?=(?:" + labels + r")(?::|=)\s*\S)", re.IGNORECASE)
    return seg, split


_HEADING_RE = re.compile(r"^\s*[*_#>]*\s*[A-Za-z][A-Za-z ]{0,30}[*_]*\s*:[*_]*\s*")


def _label_pairs(text: str) -> list[tuple[str, str, str]]:
    """(trait, value text, label as written) for every labelled line/segment."""
    seg_re, split_re = _label_res()
    pairs = []
    for line in text.splitlines():
        if line.count("|") >= 2:  # Markdown table row
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            for j, cell in enumerate(cells[:-1]):
                trait = trait_from_key(re.sub(r"[*_`]", "", cell)) if len(cell) <= 40 else None
                if trait is not None and cells[j + 1]:
                    pairs.append((trait, cells[j + 1], cell))
                    break
            continue
        for part in split_re.split(line):
            m = seg_re.match(part)
            if not m:  # "**Scores:** O=3": a heading before the first pair
                m = seg_re.match(_HEADING_RE.sub("", part, count=1))
            if not m:
                continue
            label = re.sub(r"[*_`]", "", m.group("label")).strip()
            label = re.sub(r"\s+(?:score|rating|level)$", "", label, flags=re.IGNORECASE)
            trait = trait_from_key(label)
            if trait is not None:
                pairs.append((trait, m.group("value").strip(), label))
    return pairs


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
