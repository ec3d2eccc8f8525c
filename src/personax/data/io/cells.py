"""Cells that hold more than one value: packed five-trait scores, array cells, vectors written as text."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from personax.data.schema import TRAIT_ABBREV, TRAITS, normalize_name
from personax.errors import DataError


def _parse_packed(cell) -> list | None:
    """A cell holding five trait scores: list/array (OCEAN order), dict keyed by trait or
    letter, or a JSON / Python-literal string of either.  None for a missing cell."""
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return None
    if isinstance(cell, str):
        s = cell.strip()
        if not s:
            return None
        try:
            cell = json.loads(s)
        except json.JSONDecodeError:
            import ast

            try:
                cell = ast.literal_eval(s)
            except (ValueError, SyntaxError) as exc:
                nums = re.findall(r"-?\d+(?:\.\d+)?", s)
                if len(nums) == len(TRAITS):
                    cell = [float(x) for x in nums]
                else:
                    raise ValueError(f"cannot parse packed trait scores from {cell!r}") from exc
    if isinstance(cell, dict):
        keys = {normalize_name(k): v for k, v in cell.items()}
        out = []
        for t in TRAITS:
            for k in (t, TRAIT_ABBREV[t].lower(), t[:4]):
                if k in keys:
                    out.append(keys[k])
                    break
            else:
                raise ValueError(f"packed trait dict {cell!r} has no entry for {t!r}")
        return [float(v) if v is not None else np.nan for v in out]
    vals = list(np.asarray(cell, dtype=np.float64).ravel())
    if len(vals) != len(TRAITS):
        raise ValueError(f"packed trait cell has {len(vals)} values, expected {len(TRAITS)} (OCEAN order)")
    return vals


def _parse_packed_column(s: pd.Series, name: str) -> np.ndarray:
    """(n, 5) float array from a packed column; errors name the column and the row."""
    out = np.full((len(s), len(TRAITS)), np.nan)
    for i, v in enumerate(s.to_numpy()):
        try:
            parsed = _parse_packed(v)
        except ValueError as exc:
            raise DataError(f"column {name!r}, row {i}: {exc}",
                            hint="a packed cell holds five scores in OCEAN order, e.g. [2, 3, 1, 2, 0] or "
                                 "{\"openness\": 2, ...}") from exc
        if parsed is not None:
            out[i] = parsed
    return out


def _is_array_column(s: pd.Series) -> bool:
    first = s.dropna()
    if first.empty:
        return False
    v = first.iloc[0]
    return isinstance(v, (list, tuple, np.ndarray)) and np.asarray(v).ndim == 1 and np.asarray(v).size > 5


def _stack(s: pd.Series, name: str) -> np.ndarray:
    missing = s.map(lambda v: v is None or (isinstance(v, float) and np.isnan(v))).to_numpy(dtype=bool)
    if missing.any():
        raise DataError(f"embedding column {name!r} has {int(missing.sum())} row(s) without a vector "
                        f"(rows {np.flatnonzero(missing)[:5].tolist()})",
                        hint="drop those rows or fill them before loading")
    lengths = s.map(len)
    if lengths.nunique() != 1:
        first = int(lengths.iloc[0])
        odd = np.flatnonzero(lengths.to_numpy() != first)[:5].tolist()
        raise DataError(f"embedding column {name!r} has rows of different lengths {sorted(lengths.unique())[:5]} "
                        f"(row 0 has {first}; rows {odd} differ)",
                        hint="every vector of a column must have the same width")
    return np.stack([np.asarray(v, dtype=np.float32) for v in s.to_numpy()])


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)", re.IGNORECASE)
_VECTOR_SEPARATORS = re.compile(r"[\s,;]+")


def _vector_tokens(text: str) -> list[str]:
    return [t for t in _VECTOR_SEPARATORS.split(text.strip().strip("[]()").strip()) if t]


def _text_vectors(s: pd.Series, name: str) -> pd.Series | None:
    """A text column holding numeric vectors → a column of float32 arrays, else None.

    Recognised cells: numpy's text of an array (``"[ 0.42 -0.13 ...]"``, what
    ``DataFrame.to_csv`` writes for array cells), JSON/Python lists (``"[0.42, -0.13]"``)
    and space- or comma-separated numbers (``personax faces extract --out x.csv``).  Only
    cells with more than five numbers qualify (five are packed trait scores).
    """
    values = s.dropna()
    if values.empty or not all(isinstance(v, str) for v in values.iloc[:5]):
        return None
    first = values.iloc[0].strip()
    if first.startswith("[") and "..." in first and _NUMBER.search(first):
        raise DataError(f"column {name!r} holds shortened vector text ({first[:50]!r} …): numpy printed only the "
                        "first and last numbers of each vector when the table was written, so the values are lost",
                        hint="write tables with embeddings as Parquet, or as CSV with "
                             "personax.data.io.write_table(data, 'table.csv')")
    tokens = _vector_tokens(first)
    if len(tokens) <= 5 or not all(_NUMBER.fullmatch(t) for t in tokens):
        return None
    out = []
    for label, v in s.items():
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip()):
            out.append(None)
            continue
        try:
            out.append(np.asarray(_vector_tokens(str(v)), dtype=np.float32))
        except ValueError as exc:
            raise DataError(f"column {name!r}, row {label}: cannot read a vector from {str(v)[:60]!r}",
                            hint="every cell of an embedding column holds the same number of numbers") from exc
    return pd.Series(out, index=s.index, dtype=object)
