"""One table of the names a Big Five trait may be given: keys of an LLM reply, labels in
its text, keys of a packed score cell.

:func:`trait_from_key` is what the reply parser (:mod:`personax.traits.parser`) uses for
every JSON key and text label.  It accepts, case-insensitively and ignoring spaces,
underscores, hyphens and punctuation:

* the five canonical names (``openness`` ... ``neuroticism``);
* the single letters ``O C E A N`` (also the data layer's lower-case ``o c e a n``);
* the data layer's short forms (``open``, ``cons``, ``consc``, ``extr``, ``extra``,
  ``agre``, ``agree``, ``neur``, ``neuro``: :mod:`personax.data.schema` and
  ``personax.data.io._parse_packed`` accept these, so the two parts agree);
* common synonyms from the personality literature, listed in :data:`TRAIT_SYNONYMS`;
* a trait name followed or preceded by ``score``/``rating``/``level`` (``openness_score``,
  ``rating_O``) or with its letter in brackets (``Openness (O)``, ``O (Openness)``).

Deliberately **not** accepted: "emotional stability" (the reverse pole of neuroticism:
reading it as neuroticism would flip the score) and loose descriptive words such as
"curiosity".  An unknown key is ignored by the parser (and then the trait is missing),
never mapped to the nearest trait.
"""

from __future__ import annotations

import re

from personax.data.schema import TRAIT_ABBREV, TRAITS

#: synonyms per trait beyond the canonical name, its letter and the data layer's short
#: forms.  Sources: BFI-2 (Soto & John 2017: "open-mindedness", "negative
#: emotionality"), Goldberg's IPIP markers ("intellect" for factor V), the common
#: spelling "extroversion" and adjective forms.
TRAIT_SYNONYMS: dict[str, tuple[str, ...]] = {
    "openness": ("openness to experience", "open to experience", "open-mindedness", "open mindedness",
                 "intellect", "openness to experiences"),
    "conscientiousness": ("conscientious",),
    "extraversion": ("extroversion", "extraverted", "extroverted", "extravert", "extrovert", "surgency"),
    "agreeableness": ("agreeable",),
    "neuroticism": ("neurotic", "negative emotionality", "emotional instability",
                    "emotional stability reversed"),
}

#: the data layer's short forms (``personax.data.schema._TRAIT_ALIASES_EXTRA`` and the
#: first four letters used by the packed-cell reader); kept here so both parts agree.
DATA_LAYER_FORMS: dict[str, tuple[str, ...]] = {
    "openness": ("o", "open", "openness to experience"),
    "conscientiousness": ("c", "cons", "consc", "conscientious"),
    "extraversion": ("e", "extr", "extra", "extroversion"),
    "agreeableness": ("a", "agre", "agree", "agreeable"),
    "neuroticism": ("n", "neur", "neuro", "emotional stability reversed"),
}

_AFFIXES = ("score", "rating", "level", "trait", "value")


def normalize_key(key: object) -> str:
    """Comparison form of a key or label: bracketed parts removed, lower case, letters and digits only.

    >>> normalize_key("Openness (O)"), normalize_key("open-mindedness"), normalize_key("**E**")
    ('openness', 'openmindedness', 'e')
    """
    s = str(key)
    s = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", s)
    return re.sub(r"[^a-z0-9]", "", s.lower())


def _build() -> dict[str, str]:
    table: dict[str, str] = {}
    for trait in TRAITS:
        names = {trait, TRAIT_ABBREV[trait].lower(), trait[:4], *TRAIT_SYNONYMS[trait], *DATA_LAYER_FORMS[trait]}
        for name in names:
            key = normalize_key(name)
            if key in table and table[key] != trait:
                raise AssertionError(f"alias {name!r} maps to both {table[key]} and {trait}")
            table[key] = trait
    return table


#: normalised alias -> canonical trait (see the module docstring)
TRAIT_ALIASES: dict[str, str] = _build()

# "emotional stability" is the reverse of neuroticism and must never be read as it
_REVERSED = frozenset({normalize_key("emotional stability"), normalize_key("stability")})


def trait_from_key(key: object) -> str | None:
    """The canonical trait a reply key or label names, or ``None``.

    Parameters
    ----------
    key : object
        A JSON key or text label as written by the model.

    Returns
    -------
    str or None
        One of :data:`personax.data.schema.TRAITS`, or ``None`` for anything else
        (including "emotional stability", the reverse of neuroticism).

    Examples
    --------
    >>> [trait_from_key(k) for k in ("O", "Extroversion", "openness_score", "N (Neuroticism)",
    ...                              "emotional stability", "name")]
    ['openness', 'extraversion', 'openness', 'neuroticism', None, None]
    """
    raw = str(key)
    norm = normalize_key(raw)
    if not norm:
        # "O (Openness)": the name is in the brackets
        inner = re.findall(r"\(([^)]*)\)", raw)
        norm = normalize_key(inner[0]) if len(inner) == 1 else ""
    if norm in _REVERSED:
        return None
    if norm in TRAIT_ALIASES:
        return TRAIT_ALIASES[norm]
    for affix in _AFFIXES:
        if norm.endswith(affix) and norm[: -len(affix)] in TRAIT_ALIASES:
            return TRAIT_ALIASES[norm[: -len(affix)]]
        if norm.startswith(affix) and norm[len(affix):] in TRAIT_ALIASES:
            return TRAIT_ALIASES[norm[len(affix):]]
    return None


def label_pattern() -> str:
    """A regular-expression alternation of every alias spelling with free separators,
    longest first (used for text labels such as ``**Openness (O):** 3``)."""
    spellings: set[str] = set()
    for trait in TRAITS:
        for name in {trait, TRAIT_ABBREV[trait], trait[:4], *TRAIT_SYNONYMS[trait], *DATA_LAYER_FORMS[trait]}:
            words = re.split(r"[\s_\-]+", name.strip())
            spellings.add(r"[\s_\-]*".join(re.escape(w) for w in words if w))
    return "|".join(sorted(spellings, key=len, reverse=True))


__all__ = ["TRAIT_ALIASES", "TRAIT_SYNONYMS", "DATA_LAYER_FORMS", "normalize_key", "trait_from_key",
           "label_pattern"]
