"""The parser's vocabulary (statuses, per-trait reasons, refusal patterns) and :class:`ParseResult`."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from personax.data.schema import TRAITS

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
