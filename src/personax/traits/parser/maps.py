"""Score maps inside parsed JSON: ``{trait: score}`` objects and lists of trait records."""

from __future__ import annotations

from typing import Any

from personax.traits.aliases import trait_from_key
from personax.traits.parser.result import _RECORD_NAME_FIELDS
from personax.traits.parser.spans import _Pairs


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
