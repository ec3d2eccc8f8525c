"""Column mapping: a raw table with unknown column names onto the canonical schema.

:func:`map_columns` takes canonical names first, then the alias table
(:data:`personax.data.schema.ALIASES`), packed five-trait cells, array or wide-numbered
embedding columns and dimension checks (1024 face / 3584 text); each step is one function
below, sharing one :class:`_Mapping` state.  :func:`read_column_map` reads an explicit
``raw_name: canonical_name`` YAML file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from personax.data.aggregate import agreement_with_released, median_drop_zeros
from personax.data.io.cells import _is_array_column, _parse_packed_column, _stack, _text_vectors
from personax.data.io.errors import ColumnMappingError, DataAccessError, check_not_empty
from personax.data.schema import (
    ALIASES,
    FACE_DIM,
    LEAGUES,
    LLMS,
    TEXT_DIM,
    TRAIT_ABBREV,
    TRAITS,
    DatasetSchema,
    face_key,
    get_schema,
    llm_score_column,
    normalize_name,
    text_key,
)
from personax.data.validate import ValidationError, check_embeddings, check_frame
from personax.errors import DataError, ParameterError

_LEAGUE_VALUE_ALIASES = {normalize_name(v): v for v in LEAGUES}
_LEAGUE_VALUE_ALIASES.update({"premierleague": "EPL", "englishpremierleague": "EPL", "pl": "EPL",
                              "golf": "PGA", "pgatour": "PGA", "atptour": "ATP", "tennis": "ATP",
                              "nationalbasketballassociation": "NBA", "nationalfootballleague": "NFL",
                              "nationalhockeyleague": "NHL", "1bundesliga": "Bundesliga"})


def read_column_map(path: str | os.PathLike) -> dict[str, str]:
    """Read a column map file: YAML (or JSON) lines ``raw_name: canonical_name``.

    Raises
    ------
    DataAccessError
        The file is missing or empty.
    DataError
        It is not a YAML mapping of names to names.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "map.yaml"
    >>> _ = f.write_text("Height (cm): height_cm\\nYear: birth_year\\n")
    >>> read_column_map(f)
    {'Height (cm)': 'height_cm', 'Year': 'birth_year'}
    """
    import yaml

    path = Path(path).expanduser()
    if not path.is_file():
        raise DataAccessError(f"column map {path} does not exist" + (" (it is a folder)" if path.is_dir() else ""),
                              hint="pass a YAML file with one line per column: raw_name: canonical_name")
    check_not_empty(path)
    try:
        obj = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None)
        detail = (f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark is not None and problem
                  else str(exc).splitlines()[0])
        raise DataError(f"cannot read the column map {path} as YAML ({detail})",
                        hint="one line per column: raw_name: canonical_name (quote names with ':' or '#')") from exc
    if not isinstance(obj, dict) or not obj:
        raise DataError(f"the column map {path} must be a mapping raw_name: canonical_name, got "
                        f"{type(obj).__name__} {str(obj)[:60]!r}",
                        hint="one line per column, e.g.  Height (cm): height_cm")
    bad = {k: v for k, v in obj.items() if not isinstance(v, (str, int)) or isinstance(v, bool)}
    if bad:
        raise DataError(f"the column map {path} maps {list(bad)[:5]} to {list(bad.values())[:5]}, not to column names",
                        hint="each value is a canonical column name such as height_cm")
    return {str(k): str(v) for k, v in obj.items()}


def _check_column_map(column_map, raw_columns, dataset: str) -> dict[str, str]:
    import difflib

    if not isinstance(column_map, dict):
        raise ParameterError(f"column_map must be a dict {{raw_name: canonical_name}} or a YAML file path, got "
                             f"{type(column_map).__name__}")
    schema = get_schema(dataset)
    targets = list(schema.columns) + [k for spec in schema.embeddings.values() for k in spec.keys]
    raw = [str(c) for c in raw_columns]
    seen: dict[str, str] = {}
    for rc, canon in column_map.items():
        if canon not in targets:
            reversed_entry = rc in targets and canon in raw
            close = difflib.get_close_matches(str(canon), targets, n=3)
            raise DataError(
                f"column_map maps {rc!r} to {canon!r}, which is not a canonical {dataset} column"
                + (f" (did you mean {', '.join(close)}?)" if close and not reversed_entry else ""),
                hint=("the entry looks reversed: write raw_name: canonical_name, here "
                      f"{canon}: {rc}" if reversed_entry else
                      f"targets are the canonical columns {', '.join(targets[:12])}, … "
                      "(personax.data.schema.SCHEMAS[dataset].table())"))
        if canon in seen:
            raise DataError(f"column_map maps both {seen[canon]!r} and {rc!r} to {canon!r}; map one raw column "
                            "to each canonical column")
        seen[canon] = rc
    return column_map


def _wide_groups(columns) -> dict[str, list[str]]:
    """Groups of numeric-suffixed columns ``<prefix>_<i>`` (≥ 8 consecutive indices)."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for c in columns:
        m = re.match(r"^(.*?)[_\-\.\s]?(\d+)$", str(c))
        if m and m.group(1):
            groups.setdefault(m.group(1), []).append((int(m.group(2)), c))
    out = {}
    for prefix, items in groups.items():
        idx = sorted(i for i, _ in items)
        if len(items) >= 8 and idx == list(range(idx[0], idx[0] + len(idx))) and idx[0] in (0, 1):
            out[prefix] = [c for _, c in sorted(items)]
    return out


def _match_alias(norm: str, role: str) -> bool:
    return norm in {normalize_name(a) for a in ALIASES.get(role, [])}


def map_columns(raw: pd.DataFrame, dataset: str, column_map: dict | None = None, source: str | None = None):
    """Map a raw table onto the canonical schema.

    Parameters
    ----------
    raw : DataFrame as read from a file (any column names).
    dataset : dataset name.
    column_map : optional explicit ``{raw_name: canonical_name}`` overrides (applied first).
    source : optional file/folder name used in error messages.

    Returns
    -------
    frame : DataFrame with canonical scalar columns (dtypes coerced per schema).
    embeddings : dict of float32 arrays.
    report : dict with ``column_map`` (canonical/role → raw), ``unused`` raw columns,
        ``notes`` (e.g. aggregate computed, ids generated, non-release embedding widths),
        ``aggregate_agreement`` (per trait: match rate of the released aggregate with
        :func:`~personax.data.aggregate.median_drop_zeros`, or None) and
        ``observed_score_values`` (per LLM: the distinct integer scores present).

    Raises
    ------
    ColumnMappingError
        With the columns found, the roles mapped and the roles still unmapped.
    ValidationError
        The mapped columns hold values outside the schema (named column, rows, values).
    DataError
        An invalid ``column_map`` entry, or unreadable packed/vector cells.

    Examples
    --------
    >>> from personax.data.io import load, to_table
    >>> raw = to_table(load("athlepersona", n=5)).rename(columns={"height_cm": "Height (cm)"})
    >>> frame, embeddings, report = map_columns(raw, "athlepersona")
    >>> report["column_map"]["height_cm"], frame["height_cm"].dtype.name
    ('Height (cm)', 'float64')
    """
    st = _Mapping(raw.reset_index(drop=True), dataset, get_schema(dataset))
    if column_map:
        _check_column_map(column_map, st.raw.columns, dataset)
        _apply_column_map(st, column_map)
    for c in st.raw.columns:
        st.norm_to_raw.setdefault(normalize_name(c), c)
    _read_text_vectors(st)
    # embeddings (array columns and wide groups) first, so their columns are not taken as scalars
    embeddings = _map_embeddings(st, _embedding_candidates(st))
    frame = _map_scalars(st)
    have_llm = _derive_columns(st, frame)
    _check_complete(st, frame, embeddings)
    frame = _coerce_dtypes(frame[list(st.schema.columns)], dataset, st.notes)
    # report bad cells now, with their column and rows, before anything computes with them
    problems = check_frame(frame, dataset) + check_embeddings(embeddings, len(frame), dataset)
    if problems:
        raise ValidationError(dataset, problems, source=source)
    agree, observed = _score_report(frame, have_llm, st.notes)
    unused = [c for c in st.raw.columns if c not in st.used]
    return frame, embeddings, {"column_map": st.mapping, "unused": unused, "notes": st.notes,
                               "aggregate_agreement": agree, "observed_score_values": observed}


@dataclass
class _Mapping:
    """State of one :func:`map_columns` call: the raw table, what is mapped so far, what is used."""

    raw: pd.DataFrame
    dataset: str
    schema: DatasetSchema
    mapping: dict[str, str] = field(default_factory=dict)
    used: set = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    norm_to_raw: dict[str, str] = field(default_factory=dict)

    def find(self, role: str, include_canonical: bool = True) -> str | None:
        """The first unused raw column named ``role`` or one of its aliases."""
        cands = ([role] if include_canonical else []) + ALIASES.get(role, [])
        for a in cands:
            rc = self.norm_to_raw.get(normalize_name(a))
            if rc is not None and rc not in self.used:
                return rc
        return None

    def error(self, unmapped: list, extra: str = "") -> ColumnMappingError:
        return ColumnMappingError(self.dataset, list(self.raw.columns), self.mapping, unmapped, extra=extra)


def _apply_column_map(st: _Mapping, column_map: dict) -> None:
    """The explicit ``{raw_name: canonical_name}`` entries, applied before any alias."""
    for rc, canon in column_map.items():
        if rc not in st.raw.columns:
            import difflib

            close = difflib.get_close_matches(str(rc), [str(c) for c in st.raw.columns], n=3)
            extra = f"  column_map names the raw column {rc!r}, which the table does not have" + (
                f" (did you mean {', '.join(map(repr, close))}?)" if close else "") + "\n"
            raise st.error([f"{canon} (column_map names {rc!r}, absent)"], extra=extra)
        st.mapping[canon] = rc
        st.used.add(rc)


def _read_text_vectors(st: _Mapping) -> None:
    """Vectors written as text (a CSV of the package's own frames) become array cells."""
    for c in st.raw.columns:
        if st.raw[c].dtype == object or pd.api.types.is_string_dtype(st.raw[c].dtype):
            parsed = _text_vectors(st.raw[c], str(c))
            if parsed is not None:
                st.raw[c] = parsed
                st.notes.append(f"column {c!r}: vectors read from text")


def _embedding_candidates(st: _Mapping) -> dict[str, np.ndarray]:
    """Array-cell columns (embeddings whether or not column_map named them) and wide groups."""
    candidates: dict[str, np.ndarray] = {}
    for c in st.raw.columns:
        if st.raw[c].dtype == object and _is_array_column(st.raw[c]):
            candidates[c] = _stack(st.raw[c], c)
    for prefix, cols in _wide_groups([c for c in st.raw.columns if c not in st.used]).items():
        if all(pd.api.types.is_numeric_dtype(st.raw[c]) for c in cols):
            candidates[prefix] = st.raw[cols].to_numpy(dtype=np.float32)
            st.used.update(cols)
            st.notes.append(f"wide embedding {prefix!r}: {len(cols)} columns {cols[0]}…{cols[-1]}")
    return candidates


def _embedding_role(name: str) -> tuple[str, int | None] | None:
    """``(text key, None)``, ``("face", index or None)`` or None, from a column's name."""
    norm = normalize_name(name)
    for llm in LLMS:
        if _match_alias(norm, f"embedding:{text_key(llm)}") or norm == normalize_name(text_key(llm)):
            return text_key(llm), None
    m = re.match(r"^(.*?)(\d+)$", norm)
    base, k = (m.group(1), int(m.group(2))) if m else (norm, None)
    if _match_alias(norm, "embedding:face") or _match_alias(base, "embedding:face"):
        return "face", k
    return None


def _map_embeddings(st: _Mapping, candidates: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Embeddings by explicit map, then by name (text keys, numbered faces), then by width."""
    embeddings: dict[str, np.ndarray] = {}
    emb_keys = {k for spec in st.schema.embeddings.values() for k in spec.keys}
    for canon, rc in list(st.mapping.items()):
        if canon in emb_keys:
            if rc not in candidates:
                raise st.error([canon], extra=f"  column_map maps {rc!r} to {canon}, but its cells are not vectors\n")
            embeddings[canon] = candidates.pop(rc)
            st.mapping[f"embedding:{canon}"] = st.mapping.pop(canon)
    face_items: list[tuple[int, str]] = []
    for name in list(candidates):
        r = _embedding_role(name)
        if r is None:
            continue
        role, k = r
        if role == "face":
            face_items.append((k if k is not None else 0, name))
        elif role not in embeddings:
            embeddings[role] = candidates.pop(name)
            st.mapping[f"embedding:{role}"] = name
    for i, (_, name) in enumerate(sorted(face_items)):
        embeddings[face_key(i + 1)] = candidates.pop(name)
        st.mapping[f"embedding:{face_key(i + 1)}"] = name
    # dimension fallback: an unnamed 1024-d array is a face measurement
    for name in list(candidates):
        if candidates[name].shape[1] == FACE_DIM and not any(k.startswith("face_") for k in embeddings):
            embeddings[face_key(1)] = candidates.pop(name)
            st.mapping[f"embedding:{face_key(1)}"] = name
            st.notes.append(f"{name!r} taken as the face embedding by its width ({FACE_DIM})")
    _check_embedding_widths(st, embeddings)
    st.used.update(v for k, v in st.mapping.items() if k.startswith("embedding:"))
    for name in candidates:
        st.used.add(name)
        st.notes.append(f"array column {name!r} ({candidates[name].shape[1]}-d) not recognised; ignored")
    return embeddings


def _check_embedding_widths(st: _Mapping, embeddings: dict[str, np.ndarray]) -> None:
    """The other modality's release width is an error; any other width is noted."""
    for key, arr in embeddings.items():
        d = arr.shape[1]
        want, other = (FACE_DIM, TEXT_DIM) if key.startswith("face_") else (TEXT_DIM, FACE_DIM)
        if d == other:
            raise st.error([key], extra=f"  column {st.mapping.get(f'embedding:{key}', key)!r} was named like "
                                        f"{key} but is {d}-d, the width of the other modality ({want} expected)\n")
        if d != want:
            st.notes.append(f"{key} is {d}-d, not the release width {want} (reduced sample or other encoder)")


def _map_scalars(st: _Mapping) -> pd.DataFrame:
    """Canonical scalar columns by name or alias, then packed per-LLM / aggregate score cells."""
    frame = pd.DataFrame(index=st.raw.index)
    for canon in st.schema.columns:
        rc = st.mapping.get(canon) or st.find(canon)
        if rc is not None:
            st.mapping[canon] = rc
            st.used.add(rc)
            frame[canon] = st.raw[rc]
    for llm in LLMS:
        cols = [llm_score_column(llm, t) for t in TRAITS]
        if not all(c in frame for c in cols):
            _unpack(st, frame, f"packed:{llm}", cols)
    if not all(t in frame for t in TRAITS):
        _unpack(st, frame, "packed:aggregate", list(TRAITS))
    return frame


def _unpack(st: _Mapping, frame: pd.DataFrame, role: str, cols: list[str]) -> None:
    """Fill the missing ``cols`` from the packed five-trait cells of ``role``'s column, if any."""
    rc = st.find(role, include_canonical=False)
    if rc is None:
        return
    parsed = _parse_packed_column(st.raw[rc], rc)
    for k, c in enumerate(cols):
        if c not in frame:
            frame[c] = parsed[:, k]
    st.mapping[role] = rc
    st.used.add(rc)


def _derive_columns(st: _Mapping, frame: pd.DataFrame) -> bool:
    """Identifiers and aggregates that can be derived; True when every per-LLM score is present."""
    if "person_id" not in frame:
        frame["person_id"] = [f"row{i:06d}" for i in range(len(st.raw))]
        st.notes.append("no identifier column found: person_id generated from the row number")
    have_llm = all(llm_score_column(l, t) in frame for l in LLMS for t in TRAITS)
    for t in TRAITS:
        cols = [llm_score_column(l, t) for l in LLMS]
        if have_llm and t not in frame:
            frame[t] = median_drop_zeros(frame[cols].apply(pd.to_numeric, errors="coerce").to_numpy(float))
            st.notes.append(f"{t}: aggregate computed with median_drop_zeros (no released column)")
    return have_llm


def _check_complete(st: _Mapping, frame: pd.DataFrame, embeddings: dict[str, np.ndarray]) -> None:
    """Every canonical column and enough measurements of every embedding role, else the error."""
    unmapped = [c for c in st.schema.columns if c not in frame]
    for role, spec in st.schema.embeddings.items():
        got = [k for k in spec.keys if k in embeddings]
        if len(got) < spec.min_measurements:
            unmapped.append(f"embedding:{role} ({spec.min_measurements}–{spec.max_measurements} of "
                            f"{', '.join(spec.keys)}; release width {spec.real_dim})")
    if unmapped:
        raise st.error(unmapped)


def _score_report(frame: pd.DataFrame, have_llm: bool, notes: list[str]) -> tuple[dict | None, dict]:
    """Agreement of the released aggregate with median_drop_zeros, and the observed score values."""
    agree = None
    if have_llm:
        agree = {}
        for t in TRAITS:
            comp = median_drop_zeros(frame[[llm_score_column(l, t) for l in LLMS]])
            agree[t] = agreement_with_released(comp, frame[t].to_numpy(dtype=float, na_value=np.nan))["match_rate"]
        notes.append("aggregate agreement with median_drop_zeros: "
                     + ", ".join(f"{TRAIT_ABBREV[t]} {v:.3f}" for t, v in agree.items()))
    # the per-LLM score scale of the release is not documented (paper.md §6 #2): report it
    observed = {llm: sorted({int(v) for c in (llm_score_column(llm, t) for t in TRAITS)
                             for v in frame[c].dropna().unique()
                             if float(v) == int(v)}) for llm in LLMS}
    notes.append("observed per-LLM score values: " + "; ".join(f"{l} {v}" for l, v in observed.items()))
    return agree, observed


def _coerce_dtypes(frame: pd.DataFrame, dataset: str, notes: list | None = None) -> pd.DataFrame:
    """Cast columns to the schema dtypes where that loses nothing; otherwise leave them for
    :func:`validate` to report (non-integral values in an Int64 column stay float)."""
    schema = get_schema(dataset)
    out = frame.copy()
    for name, spec in schema.columns.items():
        if name not in out:
            continue
        s = out[name]
        if spec.dtype == "string":
            if name == "league":
                mapped = s.map(lambda v: v if pd.isna(v) else _LEAGUE_VALUE_ALIASES.get(normalize_name(v), v))
                if notes is not None and not mapped.equals(s):
                    notes.append("league values mapped onto the canonical names")
                s = mapped
            out[name] = s.astype("string")
        elif spec.dtype == "Int64":
            if pd.api.types.is_integer_dtype(s.dtype):
                out[name] = s.astype("Int64")
                continue
            num = pd.to_numeric(s, errors="coerce")
            bad_text = s.notna() & num.isna()
            if bad_text.any() and name in ("gender", "occupation"):
                # categorical labels instead of indices: encode with a recorded vocabulary
                cats = sorted(s.dropna().astype(str).unique())
                out[name] = s.map(lambda v, cats=cats: pd.NA if pd.isna(v) else cats.index(str(v))).astype("Int64")
                if notes is not None:
                    notes.append(f"{name}: text labels encoded as indices {dict(enumerate(cats))}")
                continue
            if bad_text.any():
                continue  # validate() reports the dtype problem with examples
            vals = num.to_numpy(dtype=float, na_value=np.nan)
            finite = np.isfinite(vals)
            if np.all(vals[finite] == np.round(vals[finite])):
                out[name] = pd.array(np.where(finite, vals, 0).astype(np.int64), dtype="Int64")
                out.loc[~finite, name] = pd.NA
            else:
                out[name] = num.astype("float64")  # left non-integral: validate() names the rows
        elif spec.dtype == "float64":
            num = pd.to_numeric(s, errors="coerce")
            if (s.notna() & num.isna()).any():
                continue
            out[name] = num.astype("float64")
    return out
