"""Prompt formats for Big Five trait inference, stored as versioned YAML data.

Each of the six formats compared in the paper (Number/Text x L3/L5 x Inc/Dec: §2.5) is a
YAML file next to this module.  The files hold the *project prompt*: only the opening
sentence ("Analyze the Big Five behavior traits of the individual described below…") is
quoted from the paper, whose full prompt text is unknown.  A SHA-256 content hash of the
parsed file is computed at load time and recorded with every ledger line, so any edit to
a prompt is visible in the results it produced.

Rendering takes a person's ``name`` plus either a ``description`` (CelebPersona) or a
``league`` (AthlePersona) and returns chat messages (``[{"role", "content"}, ...]``).
"""

from __future__ import annotations

import hashlib
import json
import string
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from personax.data.schema import TRAITS

#: the six format ids, in the paper's order
FORMAT_IDS = ("number-l3-inc", "number-l5-inc", "number-l3-dec", "number-l5-dec",
              "text-l3-inc", "text-l5-inc")
#: the format used for the released data (§2.5: lowest variance)
DEFAULT_FORMAT = "number-l3-inc"


@dataclass(frozen=True)
class ScaleLevel:
    """One answer on a rating scale: numeric ``value``, the ``answer`` the model should
    write, and its ``meaning`` (e.g. value 3, answer "3", meaning "high")."""

    value: int
    answer: str
    meaning: str


@dataclass(frozen=True)
class PromptFormat:
    """A loaded prompt format (see the module docstring).

    Attributes
    ----------
    id, name, version, label : str, str, int, str
        Identity; ``label`` is always "project prompt" (the paper's text is unknown).
    answer_kind : {"number", "text"}
        Whether the model answers with digits or verbal labels.
    levels : int
        3 or 5 scale points (plus 0 = insufficient information).
    order : {"increasing", "decreasing"}
        Order in which the scale is listed in the prompt.
    scale : tuple of ScaleLevel
        The scale points in prompt order.
    insufficient : ScaleLevel
        The "insufficient information" answer (value 0).
    synonyms : dict
        Extra accepted spellings of text answers (data, not code).
    system, template, subject : str, str, dict
        Message texts; ``template`` has a ``$subject`` slot, ``subject`` holds one
        template per subject kind (``description`` or ``league``).
    output_schema : dict
        The expected JSON reply, documented for users.
    content_hash : str
        SHA-256 (hex) of the canonical JSON of the parsed file.
    """

    id: str
    name: str
    version: int
    label: str
    answer_kind: str
    levels: int
    order: str
    scale: tuple[ScaleLevel, ...]
    insufficient: ScaleLevel
    synonyms: dict[str, tuple[str, ...]]
    system: str
    template: str
    subject: dict[str, str]
    output_schema: dict[str, Any]
    content_hash: str
    source: str = field(default="", compare=False)

    @property
    def allowed_values(self) -> tuple[int, ...]:
        """All valid numeric answers, 0 (insufficient information) first."""
        return (0,) + tuple(sorted(level.value for level in self.scale))

    def answer_to_value(self) -> dict[str, int]:
        """Map every accepted answer string (lower case, synonyms included) to its value."""
        table = {self.insufficient.answer.lower(): 0}
        for level in self.scale:
            table[level.answer.lower()] = level.value
        for canonical, alternatives in self.synonyms.items():
            value = table.get(canonical.lower())
            if value is None:
                raise ValueError(f"prompt {self.id}: synonym target {canonical!r} is not a scale answer")
            for alt in alternatives:
                table[alt.lower()] = value
        return table

    def render(self, name: str, description: str | None = None, league: str | None = None) -> list[dict[str, str]]:
        """Chat messages asking for the Big Five of one person.

        Parameters
        ----------
        name : str
            The person's (for the shipped examples: fictional) name.
        description : str, optional
            Public-style description (CelebPersona-style input).
        league : str, optional
            Professional league (AthlePersona-style input). Exactly one of
            ``description`` and ``league`` must be given.

        Returns
        -------
        list of dict
            ``[{"role": "system", ...}, {"role": "user", ...}]``.
        """
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"render: name must be a non-empty string, got {name!r}")
        has_desc = isinstance(description, str) and description.strip() != ""
        has_league = isinstance(league, str) and league.strip() != ""
        if has_desc == has_league:
            raise ValueError(
                f"render({name!r}): give exactly one of description= (CelebPersona) or league= (AthlePersona); "
                f"got description={description!r}, league={league!r}")
        kind = "description" if has_desc else "league"
        # string.Template, not str.format: the JSON example in the prompt contains braces and
        # substituted values are never re-parsed, so '$' or '{' in a description is harmless.
        subject = string.Template(self.subject[kind]).substitute(
            name=name.strip(), description=(description or "").strip(), league=(league or "").strip())
        user = string.Template(self.template).substitute(subject=subject)
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]


def _hash(data: dict[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _parse(data: dict[str, Any], source: str) -> PromptFormat:
    required = ("id", "name", "version", "label", "answer_kind", "levels", "order", "scale",
                "insufficient", "system", "template", "subject", "output_schema")
    missing = [k for k in required if k not in data]
    if missing:
        raise ValueError(f"prompt file {source} lacks the field(s) {missing}")
    if data["answer_kind"] not in ("number", "text"):
        raise ValueError(f"prompt file {source}: answer_kind must be 'number' or 'text', got {data['answer_kind']!r}")
    scale = tuple(ScaleLevel(int(s["value"]), str(s["answer"]), str(s["meaning"])) for s in data["scale"])
    if sorted(s.value for s in scale) != list(range(1, int(data["levels"]) + 1)):
        raise ValueError(f"prompt file {source}: scale values must be 1..{data['levels']}, "
                         f"got {[s.value for s in scale]}")
    ins = data["insufficient"]
    if int(ins["value"]) != 0:
        raise ValueError(f"prompt file {source}: the insufficient-information answer must have value 0")
    if "$subject" not in data["template"]:
        raise ValueError(f"prompt file {source}: template must contain the $subject slot")
    return PromptFormat(
        id=str(data["id"]), name=str(data["name"]), version=int(data["version"]), label=str(data["label"]),
        answer_kind=str(data["answer_kind"]), levels=int(data["levels"]), order=str(data["order"]),
        scale=scale, insufficient=ScaleLevel(0, str(ins["answer"]), str(ins["meaning"])),
        synonyms={str(k): tuple(str(x) for x in v) for k, v in (data.get("synonyms") or {}).items()},
        system=str(data["system"]), template=str(data["template"]),
        subject={str(k): str(v) for k, v in data["subject"].items()},
        output_schema=data["output_schema"], content_hash=_hash(data), source=source,
    )


@lru_cache(maxsize=None)
def _load_all() -> dict[str, PromptFormat]:
    out: dict[str, PromptFormat] = {}
    for entry in resources.files(__name__).iterdir():
        if entry.name.endswith(".yaml"):
            fmt = _parse(yaml.safe_load(entry.read_text(encoding="utf-8")), entry.name)
            if fmt.id in out:
                raise ValueError(f"duplicate prompt id {fmt.id!r} in {entry.name} and {out[fmt.id].source}")
            out[fmt.id] = fmt
    return out


def list_formats() -> list[str]:
    """Ids of the shipped prompt formats, in the paper's order."""
    loaded = _load_all()
    return [f for f in FORMAT_IDS if f in loaded] + sorted(set(loaded) - set(FORMAT_IDS))


def get_format(prompt_id: str | PromptFormat) -> PromptFormat:
    """Return the prompt format ``prompt_id`` (case-insensitive; "Number-L3-Inc" works).

    A :class:`PromptFormat` is passed through, so users can build their own with
    :func:`load_format_file`.
    """
    if isinstance(prompt_id, PromptFormat):
        return prompt_id
    key = str(prompt_id).strip().lower()
    loaded = _load_all()
    if key not in loaded:
        raise KeyError(f"unknown prompt format {prompt_id!r}; available: {', '.join(list_formats())}")
    return loaded[key]


def load_format_file(path: str) -> PromptFormat:
    """Load a user-written prompt format from a YAML file (same fields as the shipped ones)."""
    with open(path, encoding="utf-8") as fh:
        return _parse(yaml.safe_load(fh), str(path))


def formats_table():
    """The shipped formats as a DataFrame.

    Columns: ``id, name, version, label, answer_kind, levels, order, scale, content_hash``
    (``scale`` lists the answers in prompt order; the hash is shortened to 12 hex digits).
    """
    import pandas as pd

    rows = []
    for fid in list_formats():
        f = get_format(fid)
        rows.append({"id": f.id, "name": f.name, "version": f.version, "label": f.label,
                     "answer_kind": f.answer_kind, "levels": f.levels, "order": f.order,
                     "scale": ", ".join(s.answer for s in f.scale) + f" | {f.insufficient.answer}",
                     "content_hash": f.content_hash[:12]})
    return pd.DataFrame(rows)


__all__ = ["PromptFormat", "ScaleLevel", "FORMAT_IDS", "DEFAULT_FORMAT", "TRAITS", "get_format",
           "list_formats", "load_format_file", "formats_table"]
