"""Reading one score value (numbers, ``n/5``, the format's words) and a set of entries."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from personax.data.schema import TRAITS
from personax.traits.parser.maps import _items
from personax.traits.parser.result import _DESC_FIELDS, _NA_WORDS, _SCORE_FIELDS, _nan5
from personax.traits.parser.spans import _Pairs
from personax.traits.prompts import PromptFormat, get_format, list_formats


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
