"""Validation of a PersonaX frame (and its embeddings) against the canonical schema.

:func:`validate` collects every problem (missing required column, wrong dtype, value
outside the allowed set/range, bad embedding) and raises one :class:`ValidationError`
whose message names each column and shows example offending rows.  NaN/NA is accepted in
nullable columns, because the real data have gaps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from personax.data.schema import get_schema

_MAX_EXAMPLES = 5


class ValidationError(ValueError):
    """A frame does not match the schema.  ``problems`` lists one dict per problem
    (keys ``column``, ``problem``, ``rows`` — example row labels — and ``values``)."""

    def __init__(self, dataset: str, problems: list[dict]):
        self.dataset = dataset
        self.problems = problems
        lines = [f"{dataset}: {len(problems)} schema problem(s):"]
        for p in problems:
            where = f" rows {p['rows']} values {p['values']}" if p.get("rows") else ""
            lines.append(f"  - column {p['column']!r}: {p['problem']}{where}")
        lines.append("Fix the column(s) above (see personax.data.schema.SCHEMAS[dataset].table()), "
                     "or map raw names through personax.data.schema.ALIASES.")
        super().__init__("\n".join(lines))


def _dtype_ok(series: pd.Series, dtype: str) -> bool:
    if dtype == "string":
        return isinstance(series.dtype, pd.StringDtype) or series.dtype == object
    if dtype == "Int64":
        return pd.api.types.is_integer_dtype(series.dtype)
    if dtype == "float64":
        return pd.api.types.is_float_dtype(series.dtype) or pd.api.types.is_integer_dtype(series.dtype)
    raise ValueError(f"unknown schema dtype {dtype!r}")  # pragma: no cover


def _examples(series: pd.Series, mask) -> dict:
    bad = series[mask]
    return {"rows": [int(i) if isinstance(i, (int, np.integer)) else i for i in bad.index[:_MAX_EXAMPLES]],
            "values": [v.item() if hasattr(v, "item") else v for v in bad.iloc[:_MAX_EXAMPLES]]}


def check_frame(frame: pd.DataFrame, dataset: str) -> list[dict]:
    """All schema problems of ``frame`` (empty list when valid); see :func:`validate`."""
    schema = get_schema(dataset)
    problems: list[dict] = []
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
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
            problems.append({"column": name, "problem": f"dtype is {s.dtype}, expected {spec.dtype}"})
            continue
        na = s.isna().to_numpy()
        if na.any() and not spec.nullable:
            problems.append({"column": name, "problem": "missing values are not allowed",
                             **_examples(s, na)})
        present = ~na
        if spec.allowed is not None:
            allowed = set(spec.allowed)
            bad = present & ~s.isin(list(allowed)).fillna(False).to_numpy(dtype=bool)
            if bad.any():
                problems.append({"column": name,
                                 "problem": f"{int(bad.sum())} value(s) outside the allowed set {sorted(allowed, key=str)}",
                                 **_examples(s, bad)})
                continue
        if spec.value_range is not None and spec.dtype != "string":
            lo, hi = spec.value_range
            v = pd.to_numeric(s, errors="coerce").astype("float64").to_numpy(na_value=np.nan)
            with np.errstate(invalid="ignore"):
                bad = present & ((v < lo) | (v > hi) | ~np.isfinite(v))
            if bad.any():
                problems.append({"column": name,
                                 "problem": f"{int(bad.sum())} value(s) outside the range [{lo}, {hi}]",
                                 **_examples(s, bad)})
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
            problems.append({"column": f"embedding:{role}", "problem": f"measurements have different widths {sorted(widths)}"})
    return problems


def validate(frame: pd.DataFrame, dataset: str, embeddings: dict | None = None) -> pd.DataFrame:
    """Check a frame (and optionally its embeddings) against ``SCHEMAS[dataset]``.

    Parameters
    ----------
    frame : DataFrame with canonical column names.
    dataset : ``"celebpersona"`` or ``"athlepersona"``.
    embeddings : dict of arrays, optional (checked for row alignment and finite values).

    Returns
    -------
    The same frame (unchanged) when it is valid.

    Raises
    ------
    ValidationError
        Listing every problem with the column name and example offending rows, e.g.
        ``column 'chatgpt_openness': 1 value(s) outside the allowed set [0, 1, 2, 3] rows [4] values [7]``.
    """
    problems = check_frame(frame, dataset)
    if embeddings is not None:
        problems += check_embeddings(embeddings, len(frame), dataset)
    if problems:
        raise ValidationError(dataset, problems)
    return frame
