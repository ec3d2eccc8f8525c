"""Labelled free text: ``Openness: 3`` lines."""

from __future__ import annotations

import re
from functools import lru_cache

from personax.traits.aliases import label_pattern, trait_from_key


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
