"""Validation of a PersonaX frame (and its embeddings) against the canonical schema.

:func:`validate` collects every problem (missing required column, wrong dtype, value
outside the allowed set/range, bad embedding) and raises one :class:`ValidationError`
whose message names each column, what is allowed, and the first offending rows with
their values (and ``person_id``).  NaN/NA is accepted in nullable columns, because the
real data have gaps.

Rows are 0-based positions in the table (in a CSV with a header line, row ``r`` is on
line ``r + 2``).

:func:`check_aggregates` compares each aggregate trait column with the median of its
non-zero LLM scores (:func:`~personax.data.aggregate.median_drop_zeros`); disagreements
are a :class:`~personax.errors.DataWarning` (count and examples), or part of the
:class:`ValidationError` under ``strict=True``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from personax.data.schema import get_schema
from personax.errors import DataError, DataWarning

_MAX_EXAMPLES = 5
#: Tolerance of the aggregate consistency check (released values may be rounded floats).
AGGREGATE_ATOL = 1e-6

_FIX = ("correct the cells named above (every column's type and allowed values: "
        "personax.data.schema.SCHEMAS[dataset].table()); if a column holds something else under a canonical "
        "name, map the right raw column with column_map= (CLI: --column-map FILE.yaml)")


class ValidationError(DataError):
    """A frame does not match the schema.  ``problems`` lists one dict per problem
    (keys ``column``, ``problem``, ``rows`` — example row labels — and ``values``; ``ids``
    — their ``person_id`` — and ``allowed`` when known).

    A :class:`personax.errors.DataError`, hence a ``ValueError`` (exit code 1 on the CLI).
    """

    def __init__(self, dataset: str, problems: list[dict], source: str | None = None):
        self.dataset = dataset
        self.problems = problems
        where = f" in {source}" if source else ""
        rows_note = (" (rows are 0-based positions; in a CSV with a header, row r is on line r + 2)"
                     if any(p.get("rows") for p in problems) and str(source or "").lower().endswith((".csv", ".tsv"))
                     else "")
        lines = [f"{dataset}{where}: {len(problems)} schema problem(s){rows_note}:"]
        for p in problems:
            if "recomputed" in p:
                lines.append(f"  - {_aggregate_text(p)}")
            else:
                lines.append(f"  - column {p['column']!r}: {p['problem']}{_where(p)}")
        super().__init__("\n".join(lines), hint=_FIX)


def _where(p: dict) -> str:
    text = ""
    if p.get("rows"):
        text = f": rows {p['rows']} values {p['values']}"
        if p.get("ids"):
            text += f" (person_id {p['ids']})"
    if p.get("allowed"):
        text += f"; allowed: {p['allowed']}"
    return text


def _dtype_ok(series: pd.Series, dtype: str) -> bool:
    if dtype == "string":
        return isinstance(series.dtype, pd.StringDtype) or series.dtype == object
    if dtype == "Int64":
        return pd.api.types.is_integer_dtype(series.dtype)
    if dtype == "float64":
        return pd.api.types.is_float_dtype(series.dtype) or pd.api.types.is_integer_dtype(series.dtype)
    raise ValueError(f"unknown schema dtype {dtype!r}")  # pragma: no cover


def _plain(v):
    if v is pd.NA or v is None:
        return None
    return v.item() if hasattr(v, "item") else v


def _examples(series: pd.Series, mask, ids: pd.Series | None = None) -> dict:
    mask = np.asarray(mask, dtype=bool)
    bad = series[mask]
    out = {"rows": [int(i) if isinstance(i, (int, np.integer)) else i for i in bad.index[:_MAX_EXAMPLES]],
           "values": [_plain(v) for v in bad.iloc[:_MAX_EXAMPLES]]}
    if ids is not None:
        out["ids"] = [_plain(v) for v in ids[mask].iloc[:_MAX_EXAMPLES]]
    return out


def _allowed_text(spec) -> str:
    kind = {"Int64": "integers", "float64": "numbers", "string": "text"}[spec.dtype]
    parts = [kind]
    if spec.allowed is not None:
        parts.append(f"in {sorted(spec.allowed, key=str)}")
    elif spec.value_range is not None:
        lo, hi = spec.value_range
        parts.append(f"in [{lo}, {hi}]")
    if spec.nullable:
        parts.append("or empty")
    return " ".join(parts)


def _dtype_problem(name: str, s: pd.Series, spec, ids) -> dict:
    """A wrong dtype, with the cells that cause it (text in a number column, 2.5 in an integer one)."""
    num = pd.to_numeric(s, errors="coerce")
    present = s.notna().to_numpy(dtype=bool)
    not_number = present & num.isna().to_numpy(dtype=bool)
    allowed = _allowed_text(spec)
    if not_number.any():
        return {"column": name, "problem": f"{int(not_number.sum())} value(s) are not numbers (dtype {s.dtype})",
                "allowed": allowed, **_examples(s, not_number, ids)}
    if spec.dtype == "Int64":
        vals = num.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            fractional = present & np.isfinite(vals) & (vals != np.round(vals))
        infinite = present & ~np.isfinite(vals)
        bad = fractional | infinite
        if bad.any():
            return {"column": name, "problem": f"{int(bad.sum())} value(s) are not whole numbers (dtype {s.dtype})",
                    "allowed": allowed, **_examples(s, bad, ids)}
    return {"column": name, "problem": f"dtype is {s.dtype}, expected {spec.dtype} (the values are numbers "
                                       f"stored as {s.dtype}: convert with pandas.to_numeric)", "allowed": allowed}


def check_frame(frame: pd.DataFrame, dataset: str) -> list[dict]:
    """All schema problems of ``frame`` (empty list when valid); see :func:`validate`."""
    schema = get_schema(dataset)
    problems: list[dict] = []
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    if frame.columns.duplicated().any():
        dups = sorted(set(map(str, frame.columns[frame.columns.duplicated()])))
        problems.append({"column": dups[0], "problem": f"column name(s) {dups} appear more than once; keep one"})
        return problems
    ids = frame["person_id"] if "person_id" in frame.columns else None
    missing = [c for c in schema.required if c not in frame.columns]
    for c in missing:
        problems.append({"column": c, "problem": f"required column is missing (columns present: "
                                                 f"{', '.join(map(str, frame.columns[:40]))}"
                                                 f"{' …' if len(frame.columns) > 40 else ''})"})
    for name, spec in schema.columns.items():
        if name not in frame.columns:
            continue
        s = frame[name]
        if not _dtype_ok(s, spec.dtype):
            problems.append(_dtype_problem(name, s, spec, ids))
            continue
        na = s.isna().to_numpy()
        if na.any() and not spec.nullable:
            problems.append({"column": name, "problem": "missing values are not allowed",
                             "allowed": _allowed_text(spec), **_examples(s, na, ids)})
        present = ~na
        if spec.allowed is not None:
            allowed = set(spec.allowed)
            bad = present & ~s.isin(list(allowed)).fillna(False).to_numpy(dtype=bool)
            if bad.any():
                problems.append({"column": name,
                                 "problem": f"{int(bad.sum())} value(s) outside the allowed set "
                                            f"{sorted(allowed, key=str)}",
                                 **_examples(s, bad, ids)})
                continue
        if spec.value_range is not None and spec.dtype != "string":
            lo, hi = spec.value_range
            v = pd.to_numeric(s, errors="coerce").astype("float64").to_numpy(na_value=np.nan)
            with np.errstate(invalid="ignore"):
                bad = present & ((v < lo) | (v > hi) | ~np.isfinite(v))
            if bad.any():
                problems.append({"column": name,
                                 "problem": f"{int(bad.sum())} value(s) outside the range [{lo}, {hi}]",
                                 **_examples(s, bad, ids)})
    if "person_id" in frame.columns:
        dup = frame["person_id"].duplicated(keep=False).to_numpy() & frame["person_id"].notna().to_numpy()
        if dup.any():
            problems.append({"column": "person_id", "problem": f"{int(dup.sum())} duplicated identifier(s)",
                             **_examples(frame["person_id"], dup)})
    return problems


def check_embeddings(embeddings: dict, n: int, dataset: str) -> list[dict]:
    """Problems of an embedding dict: unknown keys, shape/row alignment, non-finite values,
    missing text measurements, inconsistent widths within a modality."""
    schema = get_schema(dataset)
    problems: list[dict] = []
    known = {k for spec in schema.embeddings.values() for k in spec.keys}
    for key, arr in embeddings.items():
        if key not in known:
            problems.append({"column": key, "problem": f"unknown embedding key; expected one of {sorted(known)}"})
            continue
        a = np.asarray(arr)
        if a.ndim != 2 or a.shape[0] != n:
            problems.append({"column": key, "problem": f"shape {a.shape}, expected ({n}, d) aligned with the frame"})
            continue
        if not np.issubdtype(a.dtype, np.floating):
            problems.append({"column": key, "problem": f"dtype {a.dtype}, expected float32"})
            continue
        bad_rows = ~np.isfinite(a).all(axis=1)
        if bad_rows.any():
            problems.append({"column": key, "problem": f"{int(bad_rows.sum())} row(s) with NaN/inf entries",
                             "rows": np.flatnonzero(bad_rows)[:_MAX_EXAMPLES].tolist(), "values": ["non-finite"]})
    for role, spec in schema.embeddings.items():
        present = [k for k in spec.keys if k in embeddings]
        if len(present) < spec.min_measurements:
            problems.append({"column": f"embedding:{role}",
                             "problem": f"{len(present)} measurement(s) found ({present}); "
                                        f"need at least {spec.min_measurements} of {list(spec.keys)}"})
        widths = {np.asarray(embeddings[k]).shape[-1] for k in present if np.asarray(embeddings[k]).ndim == 2}
        if len(widths) > 1:
            problems.append({"column": f"embedding:{role}",
                             "problem": f"measurements have different widths {sorted(widths)}"})
    return problems


def check_aggregates(frame: pd.DataFrame, dataset: str, atol: float = AGGREGATE_ATOL) -> list[dict]:
    """Aggregate trait columns that contradict the median of their non-zero LLM scores.

    A row disagrees when the aggregate and the recomputed median are both present and
    differ by more than ``atol``, or when the aggregate has a value although every LLM
    score is 0 or missing.  A missing aggregate is a gap, not a contradiction.

    Returns
    -------
    list of dict
        One per trait with disagreements: ``column``, ``problem`` (count out of the rows
        compared), ``rows``, ``values`` (the aggregate), ``ids``, ``recomputed`` and
        ``scores`` (the LLM scores of the example rows).
    """
    from personax.data.aggregate import median_drop_zeros
    from personax.data.schema import LLMS, TRAITS, llm_score_column

    schema = get_schema(dataset)
    out: list[dict] = []
    ids = frame["person_id"] if "person_id" in frame.columns else None
    for trait in TRAITS:
        cols = [llm_score_column(llm, trait) for llm in LLMS]
        if trait not in frame.columns or trait not in schema.columns or not all(c in frame.columns for c in cols):
            continue
        try:
            scores = frame[cols].apply(pd.to_numeric, errors="raise").astype("float64")
            released = pd.to_numeric(frame[trait], errors="raise").astype("float64").to_numpy(na_value=np.nan)
        except (ValueError, TypeError):
            continue  # non-numeric cells: check_frame reports them
        recomputed = median_drop_zeros(scores.to_numpy(dtype=float, na_value=np.nan))
        has_r, has_c = np.isfinite(released), np.isfinite(recomputed)
        with np.errstate(invalid="ignore"):
            bad = (has_r & has_c & (np.abs(released - recomputed) > atol)) | (has_r & ~has_c)
        if not bad.any():
            continue
        ex = _examples(frame[trait], bad, ids)
        idx = np.flatnonzero(bad)[:_MAX_EXAMPLES]
        ex["recomputed"] = [None if not np.isfinite(recomputed[i]) else float(recomputed[i]) for i in idx]
        ex["scores"] = [[None if not np.isfinite(v) else int(v) for v in scores.iloc[i]] for i in idx]
        out.append({"column": trait,
                    "problem": f"{int(bad.sum())} of {int(has_r.sum())} value(s) disagree with the median of the "
                               f"non-zero scores in {', '.join(cols)}", **ex})
    return out


def _aggregate_text(p: dict) -> str:
    examples = "; ".join(
        f"row {r}{f' ({i})' if i is not None else ''}: {p['column']}={v} but scores {s} give {c}"
        for r, v, s, c, i in zip(p["rows"], p["values"], p["scores"], p["recomputed"],
                                 p.get("ids") or [None] * len(p["rows"])))
    return f"column {p['column']!r}: {p['problem']} (e.g. {examples})"


def validate(frame: pd.DataFrame, dataset: str, embeddings: dict | None = None, *, strict: bool = False,
             source: str | None = None) -> pd.DataFrame:
    """Check a frame (and optionally its embeddings) against ``SCHEMAS[dataset]``.

    Parameters
    ----------
    frame : DataFrame with canonical column names.
    dataset : ``"celebpersona"`` or ``"athlepersona"``.
    embeddings : dict of arrays, optional (checked for row alignment and finite values).
    strict : bool
        Make an aggregate trait column that disagrees with its LLM scores an error
        (default: a :class:`~personax.errors.DataWarning` with the count and examples).
    source : str, optional
        File or folder the frame came from, named in the error message.

    Returns
    -------
    The same frame (unchanged) when it is valid.

    Raises
    ------
    ValidationError
        Listing every problem with the column name, what is allowed, and example
        offending rows, e.g. ``column 'chatgpt_openness': 1 value(s) outside the allowed
        set [0, 1, 2, 3] rows [4] values [7]``.

    Examples
    --------
    >>> import personax.data as pdata
    >>> frame = pdata.load("athlepersona", n=20).frame.copy()
    >>> frame.loc[3, "birth_month"] = 13
    >>> try:
    ...     pdata.validate(frame, "athlepersona")
    ... except pdata.ValidationError as exc:
    ...     print(exc.problems[0]["column"], exc.problems[0]["rows"], exc.problems[0]["values"])
    birth_month [3] [13]
    """
    problems = check_frame(frame, dataset)
    if embeddings is not None:
        problems += check_embeddings(embeddings, len(frame), dataset)
    aggregates = check_aggregates(frame, dataset) if not problems else []
    if strict:
        problems += aggregates
    if problems:
        raise ValidationError(dataset, problems, source=source)
    for p in aggregates:
        warnings.warn(f"{dataset}{f' in {source}' if source else ''}: {_aggregate_text(p)}. The aggregate is "
                      "used as given; check it or recompute it with personax.data.aggregate.median_drop_zeros "
                      "(strict=True / --strict makes this an error)", DataWarning, stacklevel=2)
    return frame
