"""Parse LLM replies into Big Five scores without ever inventing a score.

A reply is read as JSON first (a bare object, or inside a fenced code block), then as
labelled text ("Openness: 2", "**Extraversion** - high").  ``<think>…</think>`` blocks
of reasoning models are removed before parsing.  Every trait ends up either with a valid
value from the prompt's scale (0 = insufficient information included) or with NaN plus
a reason; the reply gets one status:

``ok``       all five traits valid
``partial``  one to four traits valid
``refused``  no trait valid and the reply reads as a refusal
``invalid``  no trait valid otherwise (empty, malformed, out of range, ...)
``error``    no reply at all (transport failure; set by the backends/runner)

Per-trait reasons: ``ok``, ``missing``, ``out_of_range``, ``not_on_scale``,
``conflicting`` (two different values for one trait), ``unparseable``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from personax.data.schema import TRAITS
from personax.traits.prompts import PromptFormat, get_format

STATUSES = ("ok", "partial", "refused", "invalid", "error")

# Spellings of the trait names a model may use as keys/labels.  "Emotional stability" is
# deliberately absent: it is the reverse of neuroticism and mapping it would flip scores.
_TRAIT_ALIASES = {
    "openness": "openness", "openness to experience": "openness", "open": "openness",
    "conscientiousness": "conscientiousness", "conscientious": "conscientiousness",
    "extraversion": "extraversion", "extroversion": "extraversion", "extraverted": "extraversion",
    "agreeableness": "agreeableness", "agreeable": "agreeableness",
    "neuroticism": "neuroticism", "neurotic": "neuroticism",
}

_THINK_RE = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.IGNORECASE | re.DOTALL)
_OPEN_THINK_RE = re.compile(r"<(think|thinking|reasoning)>", re.IGNORECASE)
_FENCE_RE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)```", re.DOTALL)
_REFUSAL_RE = re.compile(
    r"\b(i\s*(?:am|'m)\s*(?:sorry|unable|not able)|i\s*(?:can(?:not|'t| not)|won't|will not)\s+"
    r"(?:help|assist|provide|comply|do|make|analy[sz]e|assess|rate|evaluate|speculate|infer)|"
    r"as an ai\b|not (?:appropriate|comfortable)|i must decline|i decline)",
    re.IGNORECASE)


@dataclass
class ParseResult:
    """Outcome of parsing one reply.

    Attributes
    ----------
    status : str
        One of :data:`STATUSES`.
    scores : dict
        trait -> float value on the prompt's numeric scale (0 = insufficient
        information) or NaN when the trait failed.
    reasons : dict
        trait -> per-trait reason (see module docstring).
    descriptions : dict
        trait -> the model's short description, when it gave one.
    detail : str
        Human-readable note on what went wrong (empty when ok).
    """

    status: str
    scores: dict[str, float]
    reasons: dict[str, str]
    descriptions: dict[str, str] = field(default_factory=dict)
    detail: str = ""

    @property
    def n_valid(self) -> int:
        return sum(1 for v in self.scores.values() if not math.isnan(v))

    def to_json(self) -> dict[str, Any]:
        """JSON-safe dict (NaN -> None)."""
        return {"status": self.status,
                "scores": {t: (None if math.isnan(v) else v) for t, v in self.scores.items()},
                "reasons": dict(self.reasons), "descriptions": dict(self.descriptions),
                "detail": self.detail}


def strip_thinking(text: str) -> tuple[str, bool]:
    """Remove ``<think>…</think>`` (also ``thinking``/``reasoning``) blocks.

    Returns the remaining text and whether an *unclosed* block swallowed the rest (a
    reply cut off while still reasoning), in which case the remainder is dropped.
    """
    out = _THINK_RE.sub("\n", text)
    # A closing tag without an opening one: some servers strip the opening tag.
    if re.search(r"</think>", out, re.IGNORECASE) and not _OPEN_THINK_RE.search(out):
        out = re.split(r"</think>", out, flags=re.IGNORECASE)[-1]
    m = _OPEN_THINK_RE.search(out)
    if m:
        return out[: m.start()].strip(), True
    return out.strip(), False


def _json_candidates(text: str) -> list[str]:
    """Strings that may hold the JSON object: fenced blocks first, then balanced {...} spans."""
    cands = [m.group(1).strip() for m in _FENCE_RE.finditer(text)]
    depth, start, in_str, esc = 0, None, False, False
    for i, ch in enumerate(text):
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"' and depth > 0:
            in_str = True
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0 and start is not None:
                cands.append(text[start: i + 1])
                start = None
    return cands


class _Duplicate(dict):
    """Marks a JSON object that repeated a key (json.loads would silently keep the last)."""


def _pairs_hook(pairs):
    d: dict = {}
    dups: list = []
    for k, v in pairs:
        if k in d and d[k] != v:
            dups.append(k)
        d[k] = v
    if dups:
        out = _Duplicate(d)
        out.dup_keys = dups  # type: ignore[attr-defined]
        return out
    return d


def _norm_key(key: str) -> str:
    return re.sub(r"[^a-z ]", "", key.lower().replace("_", " ")).strip()


def _find_trait_map(obj: Any, depth: int = 0) -> dict | None:
    """Find the dict whose keys are trait names (possibly nested under "traits", "big_five", ...)."""
    if not isinstance(obj, dict) or depth > 3:
        return None
    if sum(1 for k in obj if _TRAIT_ALIASES.get(_norm_key(str(k)))) >= 1:
        return obj
    for v in obj.values():
        found = _find_trait_map(v, depth + 1)
        if found is not None:
            return found
    return None


def _text_answer(s: str, answers: dict[str, int]) -> float:
    """Value of a verbal answer, or NaN.  Exact match first; then an answer followed only by
    a separator and a comment ("high (very curious)", "low - reserved").  "low to medium"
    is ambiguous and stays unmatched.  Longest answers first so "very high" is not "high"."""
    s = re.sub(r"\s+", " ", s.strip().strip("*_`'\" .").lower())
    if s in answers:
        return float(answers[s])
    for a in sorted(answers, key=len, reverse=True):
        if re.match(re.escape(a) + r"\s*(?:[(\[\-–—:,;.]|$)", s):
            return float(answers[a])
    return math.nan


def _value(raw: Any, fmt: PromptFormat, answers: dict[str, int]) -> tuple[float, str]:
    """Convert one answer to a scale value -> (value or NaN, reason)."""
    allowed = set(fmt.allowed_values)
    if isinstance(raw, bool) or raw is None:
        return math.nan, "unparseable"
    if isinstance(raw, (int, float)):
        if isinstance(raw, float) and not math.isfinite(raw):
            return math.nan, "unparseable"
        if fmt.answer_kind == "text":
            return math.nan, "not_on_scale"  # a number where a verbal label was asked for
        if float(raw) != int(raw):
            return math.nan, "not_on_scale"  # 2.5 is not an answer on an integer scale
        return (float(raw), "ok") if int(raw) in allowed else (math.nan, "out_of_range")
    if isinstance(raw, str):
        s = raw.strip().strip("*_`'\" .").lower()
        if fmt.answer_kind == "text":
            v = _text_answer(s, answers)
            return (v, "ok") if not math.isnan(v) else (math.nan, "not_on_scale")
        m = re.fullmatch(r"([+-]?\d+(?:\.\d+)?)\s*(?:/\s*\d+|out of \d+)?(?:\s*[(\-–:].*)?", s)
        if not m:
            return math.nan, "unparseable"
        return _value(float(m.group(1)) if "." in m.group(1) else int(m.group(1)), fmt, answers)
    return math.nan, "unparseable"


def _from_json(obj: dict, fmt: PromptFormat, answers: dict[str, int]):
    tmap = _find_trait_map(obj)
    if tmap is None:
        return None
    scores = {t: math.nan for t in TRAITS}
    reasons = {t: "missing" for t in TRAITS}
    descs: dict[str, str] = {}
    seen: dict[str, list[float]] = {}
    items = list(tmap.items())
    if isinstance(tmap, _Duplicate):
        reasons_dup = {_TRAIT_ALIASES.get(_norm_key(str(k))) for k in tmap.dup_keys}  # type: ignore[attr-defined]
    else:
        reasons_dup = set()
    for k, v in items:
        trait = _TRAIT_ALIASES.get(_norm_key(str(k)))
        if trait is None:
            continue
        raw = v
        if isinstance(v, dict):
            lowered = {str(kk).lower(): vv for kk, vv in v.items()}
            raw = next((lowered[c] for c in ("score", "rating", "level", "value") if c in lowered), None)
            d = lowered.get("description") or lowered.get("explanation") or lowered.get("reason")
            if isinstance(d, str):
                descs[trait] = d.strip()
        val, why = _value(raw, fmt, answers)
        seen.setdefault(trait, []).append(val)
        scores[trait], reasons[trait] = val, why
    for trait, vals in seen.items():
        if len(vals) > 1 or trait in reasons_dup:
            distinct = {v for v in vals if not math.isnan(v)}
            if len(distinct) > 1 or trait in reasons_dup:
                scores[trait], reasons[trait] = math.nan, "conflicting"
    return scores, reasons, descs


_LABEL_RE = re.compile(
    r"(?i)\b(" + "|".join(sorted({re.escape(a) for a in _TRAIT_ALIASES}, key=len, reverse=True))
    + r")\s*\**\s*(?:\([A-Z]\))?\s*\**\s*(?:score|rating|level)?\s*[:=\-–—]\s*\**\s*([^\n,;]*)")


def _from_labels(text: str, fmt: PromptFormat, answers: dict[str, int]):
    scores = {t: math.nan for t in TRAITS}
    reasons = {t: "missing" for t in TRAITS}
    found: dict[str, list[tuple[float, str]]] = {}
    for m in _LABEL_RE.finditer(text):
        trait = _TRAIT_ALIASES[m.group(1).lower()]
        rest = m.group(2).strip().strip("*").strip()
        if fmt.answer_kind == "text":
            val = _text_answer(rest, answers)
            why = "ok" if not math.isnan(val) else "not_on_scale"
        else:
            num = re.match(r"([+-]?\d+(?:\.\d+)?)", rest)
            val, why = _value(num.group(1), fmt, answers) if num else (math.nan, "unparseable")
        found.setdefault(trait, []).append((val, why))
    if not found:
        return None
    for trait, vals in found.items():
        distinct = {v for v, _ in vals if not math.isnan(v)}
        if len(distinct) > 1:
            scores[trait], reasons[trait] = math.nan, "conflicting"
        else:
            scores[trait], reasons[trait] = vals[0]
            for v, why in vals:
                if not math.isnan(v):
                    scores[trait], reasons[trait] = v, why
    return scores, reasons, {}


def _status(scores: dict[str, float], refusal: bool) -> str:
    n = sum(1 for v in scores.values() if not math.isnan(v))
    if n == len(TRAITS):
        return "ok"
    if n > 0:
        return "partial"
    return "refused" if refusal else "invalid"


def parse_response(text: str | None, prompt: str | PromptFormat) -> ParseResult:
    """Parse one LLM reply for the prompt format ``prompt``.

    Parameters
    ----------
    text : str or None
        The raw reply. ``None`` means no reply was received (status ``error``).
    prompt : str or PromptFormat
        The prompt format the reply answers (fixes the scale and the answer kind).

    Returns
    -------
    ParseResult
        Never raises on bad replies: failures are encoded in ``status``/``reasons``.
    """
    fmt = get_format(prompt)
    nan_scores = {t: math.nan for t in TRAITS}
    if text is None:
        return ParseResult("error", dict(nan_scores), {t: "missing" for t in TRAITS}, detail="no reply received")
    if not isinstance(text, str):
        raise TypeError(f"parse_response expects the reply text as str, got {type(text).__name__}")
    answers = fmt.answer_to_value()
    body, cut = strip_thinking(text)
    if not body.strip():
        detail = "reply ended inside an unclosed <think> block" if cut else "empty reply"
        return ParseResult("invalid", dict(nan_scores), {t: "missing" for t in TRAITS}, detail=detail)

    parsed = None
    json_error = ""
    for cand in _json_candidates(body):
        try:
            obj = json.loads(cand, object_pairs_hook=_pairs_hook)
        except json.JSONDecodeError as exc:
            json_error = f"malformed JSON ({exc.msg} at char {exc.pos})"
            continue
        parsed = _from_json(obj, fmt, answers) if isinstance(obj, dict) else None
        if parsed is not None:
            break
    if parsed is None:
        parsed = _from_labels(body, fmt, answers)
    refusal = bool(_REFUSAL_RE.search(body))
    if parsed is None:
        status = "refused" if refusal else "invalid"
        detail = "reply reads as a refusal" if refusal else (json_error or "no trait scores found")
        return ParseResult(status, dict(nan_scores), {t: "missing" for t in TRAITS}, detail=detail)
    scores, reasons, descs = parsed
    status = _status(scores, refusal)
    bad = {t: r for t, r in reasons.items() if r != "ok"}
    detail = "; ".join(f"{t}: {r}" for t, r in bad.items())
    return ParseResult(status, scores, reasons, descs, detail)


__all__ = ["ParseResult", "STATUSES", "parse_response", "strip_thinking"]
