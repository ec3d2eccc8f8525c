"""The Level I battery: every trait × attribute × test, tidy, BH-adjusted, cached.

Variable roles come from the schema (``personax.data.schema.SCHEMAS[dataset]``):
``traits`` default to the five aggregated trait columns, ``attributes`` to the dataset's
Level I attributes, and the discrete attributes (χ²/G² rows) to ``schema.discrete``.
The aggregated traits are continuous in the schema (medians of 1–3 scores) but take
only a handful of distinct values (1, 1.5, 2, 2.5, 3), so χ²/G² treat each trait as
discrete through its distinct values; a trait with more than ``max_trait_levels``
distinct values gets an error row instead.  KCI, RCIT and HSIC run on every pair.

String attributes (AthlePersona's ``league``) are integer-coded by order of first
appearance (``pandas.factorize``), as in the authors' code; kernel tests then see the
codes as numbers (an arbitrary but documented choice), χ²/G² only their identity.

The fast backend computes each (kernel test, attribute) unit with one kernel pass shared
by every trait whose complete rows coincide with another's (see
:func:`personax.independence.fast.kernel_many`).
"""

from __future__ import annotations

import warnings
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from personax.independence import cache as _cache
from personax.independence import fast
from personax.independence.bh import benjamini_hochberg
from personax.independence.prepare import clean_pair
from personax.independence.registry import check_backend, get_spec, resolve_options, test as run_test
from personax.independence.result import IndependenceTestError

DEFAULT_TESTS = ("kci", "rcit", "hsic", "chi2", "g2")
COLUMNS = ["trait", "attribute", "test", "backend", "n", "statistic", "pvalue", "pvalue_bh", "reject",
           "reject_raw", "error", "note"]


def _numeric(series: pd.Series) -> np.ndarray:
    """Float64 view of a column: numbers as is, strings/categories as first-appearance codes."""
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return series.astype("float64").to_numpy(na_value=np.nan)
    codes, _ = pd.factorize(series, use_na_sentinel=True)
    out = codes.astype(np.float64)
    out[codes < 0] = np.nan
    return out


def _resolve_roles(frame: pd.DataFrame, dataset: str | None, traits, attributes, discrete):
    schema = None
    if dataset is not None:
        from personax.data.schema import get_schema

        schema = get_schema(dataset)
    if traits is None:
        if schema is None:
            raise ValueError("traits=None needs dataset= (to take the schema's trait columns); or pass traits=[...]")
        traits = list(schema.traits)
    if attributes is None:
        if schema is None:
            raise ValueError("attributes=None needs dataset= (to take the schema's attributes); or pass attributes=[...]")
        attributes = list(schema.attributes)
    if discrete is None and schema is not None:
        discrete = set(schema.discrete)
    traits, attributes = [str(t) for t in traits], [str(a) for a in attributes]
    missing = [c for c in [*traits, *attributes] if c not in frame.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the frame (have: {list(frame.columns)[:12]}...): "
                         "check traits=/attributes= or the dataset")
    if not traits or not attributes:
        raise ValueError("need at least one trait and one attribute")
    return traits, attributes, (None if discrete is None else set(discrete))


def battery(frame: Any, traits: Sequence[str] | None = None, attributes: Sequence[str] | None = None,
            tests: Iterable[str] = DEFAULT_TESTS, alpha: float = 0.05, backend: str = "fast",
            device: str = "auto", seed: int = 0, cache: bool = True, dataset: str | None = None, *,
            discrete: Iterable[str] | None = None, max_trait_levels: int = 20,
            options: dict[str, dict[str, Any]] | None = None, progress: bool | None = None) -> pd.DataFrame:
    """Run the Level I tests on every trait × attribute pair.

    Parameters
    ----------
    frame : pandas.DataFrame or personax.data.PersonaData
        One row per person.  A ``PersonaData`` supplies its frame and dataset name.
    traits, attributes : sequence of str, optional
        Columns to test; default to the schema's traits and Level I attributes.
    tests : iterable of str
        Subset of ``("kci", "rcit", "hsic", "chi2", "g2")``.
    alpha : float
        Level for the decisions ``reject`` (BH-adjusted) and ``reject_raw``.
    backend : {"fast", "reference"}
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"`` (fast backend).
    seed : int
        RCIT seed (each pair uses this seed).
    cache : bool
        Reuse / store results under ``personax.utils.cache_dir("independence")``.
    dataset : {"celebpersona", "athlepersona"}, optional
        Selects the schema (roles and defaults).
    discrete : iterable of str, optional
        Discrete attribute names when no ``dataset`` is given (needed for χ²/G²).
    max_trait_levels : int
        Largest number of distinct values a trait may take to enter χ²/G².
    options : dict, optional
        Per-test options, e.g. ``{"hsic": {"standardize": False}}``.  With the reference
        backend HSIC skips hyppo's cross-check (``hyppo=False``) unless set here.
    progress : bool, optional
        Show a progress bar (default: unless quiet, see ``personax.utils.quiet``).

    Returns
    -------
    pandas.DataFrame
        One row per (trait, attribute, test) with columns:

        ``trait``, ``attribute``, ``test``, ``backend`` — what was tested and how;
        ``n`` — complete rows used (listwise deletion per pair; NaN when the test failed
        before counting); ``statistic``, ``pvalue`` — the test's output (NaN on failure);
        ``pvalue_bh`` — Benjamini–Hochberg adjusted p within the same test across all
        its pairs (failed pairs excluded from the family); ``reject`` — ``pvalue_bh <
        alpha`` (dependence declared with FDR control); ``reject_raw`` — ``pvalue <
        alpha`` (the paper's unadjusted rule); ``error`` — empty, or why no p-value was
        produced; ``note`` — warnings such as sparse contingency tables.

        ``df.attrs`` holds ``alpha``, ``backend``, ``seed``, ``dataset``, ``n_failed``.
    """
    from personax.utils import progress as _progress
    from personax.utils import make_rng, quiet, resolve_device

    if hasattr(frame, "frame") and hasattr(frame, "info"):
        dataset = dataset or frame.info.get("dataset")
        frame = frame.frame
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame or PersonaData, got {type(frame).__name__}")
    if not (0 < float(alpha) < 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    check_backend(backend)
    make_rng(seed)
    tests = [get_spec(t).name for t in tests]
    if not tests:
        raise ValueError("tests is empty: pass at least one of kci, rcit, hsic, chi2, g2")
    options = dict(options or {})
    unknown = sorted(set(options) - set(tests))
    if unknown:
        raise ValueError(f"options given for tests not run: {unknown}")
    traits, attributes, disc = _resolve_roles(frame, dataset, traits, attributes, discrete)
    if disc is None and any(get_spec(t).data == "discrete" for t in tests):
        raise ValueError("chi2/g2 need to know which attributes are discrete: pass dataset= (schema roles) "
                         "or discrete=[...]")
    dev = resolve_device(device) if backend == "fast" else "cpu"
    cols = {c: _numeric(frame[c]) for c in dict.fromkeys([*traits, *attributes])}

    units = []
    for t in tests:
        spec = get_spec(t)
        for a in attributes:
            if spec.data == "discrete" and a not in disc:
                continue
            units.append((t, a))
    rows: list[dict[str, Any]] = []
    codes = None  # integer level codes per column, built on first use by chi2/g2
    show = (not quiet()) if progress is None else bool(progress)
    for t, a in _progress(units, desc=f"independence battery ({backend})", total=len(units), disable=not show):
        opts = dict(options.get(t, {}))
        if t == "hsic" and backend == "reference":
            # hyppo's cross-check p-value is not a battery column: skip its n×n cost unless asked
            opts.setdefault("hyppo", False)
        min_n, merged = resolve_options(get_spec(t), opts)
        key = None
        if cache:
            key = _cache.unit_key(t, backend, {**merged, "min_n": min_n, "max_trait_levels": max_trait_levels},
                                  seed, a, cols[a], traits, [cols[tr] for tr in traits])
            hit = _cache.load(key)
            if hit is not None:
                rows.extend(hit)
                continue
        if codes is None and backend == "fast" and get_spec(t).data == "discrete":
            codes = {c: fast.level_codes(cols[c]) for c in dict.fromkeys([*traits, *(a for a in attributes if a in disc)])}
        unit_rows = _run_unit(t, a, traits, cols, backend, dev, seed, opts, min_n, merged, max_trait_levels, codes)
        if cache:
            _cache.store(key, unit_rows)
        rows.extend(unit_rows)

    out = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("pvalue_bh", "reject", "reject_raw")])
    out["pvalue_bh"] = np.nan
    for t in tests:
        sel = (out["test"] == t).to_numpy()
        out.loc[sel, "pvalue_bh"] = benjamini_hochberg(out.loc[sel, "pvalue"].to_numpy(dtype=float))
    out["reject"] = out["pvalue_bh"] < alpha
    out["reject_raw"] = out["pvalue"] < alpha
    out["n"] = out["n"].astype("Int64")
    out = out[COLUMNS]
    n_failed = int(out["pvalue"].isna().sum())
    out.attrs.update({"alpha": float(alpha), "backend": backend, "seed": int(seed), "dataset": dataset,
                      "n_failed": n_failed})
    if n_failed:
        warnings.warn(f"{n_failed} of {len(out)} tests produced no p-value (NaN); see the 'error' column",
                      RuntimeWarning, stacklevel=2)
    return out


def _row(trait, attribute, test, backend, n=np.nan, statistic=np.nan, pvalue=np.nan, error="", note=""):
    return {"trait": trait, "attribute": attribute, "test": test, "backend": backend,
            "n": None if n is None or (isinstance(n, float) and np.isnan(n)) else int(n),
            "statistic": float(statistic), "pvalue": float(pvalue), "error": error, "note": note}


def _note(result) -> str:
    frac = result.details.get("frac_expected_below_5")
    if frac:
        return f"{100 * frac:.0f}% of expected counts < 5 (chi-square approximation may be poor)"
    return ""


def _run_unit(test: str, attribute: str, traits: list[str], cols: dict[str, np.ndarray], backend: str,
              device: str, seed: int, opts: dict, min_n: int, merged: dict, max_trait_levels: int,
              codes: dict[str, tuple[np.ndarray, int]] | None = None) -> list[dict]:
    """All traits against one attribute for one test; errors become rows with NaN p-values."""
    x_attr = cols[attribute]
    results: dict[str, dict] = {}
    if backend == "fast" and test in ("kci", "hsic", "rcit"):
        # group traits by their complete-row mask so that one kernel pass serves several
        by_mask: dict[bytes, list[str]] = {}
        for tr in traits:
            y = cols[tr]
            try:
                clean_pair(y, x_attr, min_n=min_n)
            except IndependenceTestError as exc:
                results[tr] = _row(tr, attribute, test, backend, error=str(exc))
                continue
            mask = np.isfinite(y) & np.isfinite(x_attr)
            by_mask.setdefault(np.packbits(mask).tobytes(), []).append(tr)
        for group in by_mask.values():
            mask = np.isfinite(cols[group[0]]) & np.isfinite(x_attr)
            xa = x_attr[mask][:, None]
            try:
                if test == "rcit":  # roles as in test("rcit", trait, attribute): trait draws first
                    res = fast.rcit_many([cols[tr][mask][:, None] for tr in group], xa, seed=seed,
                                         num_features=int(merged["num_features"]))
                else:
                    res = fast.kernel_many(test, xa, [cols[tr][mask][:, None] for tr in group], device=device,
                                           **{k: v for k, v in merged.items() if k in ("standardize", "sigma")})
            except (IndependenceTestError, FloatingPointError) as exc:
                for tr in group:
                    results[tr] = _row(tr, attribute, test, backend, error=f"{test}: {exc}")
                continue
            for tr, r in zip(group, res):
                results[tr] = _row(tr, attribute, test, backend, r.n, r.statistic, r.pvalue)
    elif backend == "fast" and get_spec(test).data == "discrete":
        # contingency tests from column codes computed once per battery (no per-pair sorting)
        ca, ka = codes[attribute]
        for tr in traits:
            ct, kt = codes[tr]
            if kt > max_trait_levels:
                results[tr] = _row(tr, attribute, test, backend, error=(
                    f"trait {tr!r} has {kt} distinct values (> max_trait_levels={max_trait_levels}): "
                    "not treated as discrete for chi2/g2"))
                continue
            try:
                table = fast.contingency_from_codes(ct, kt, ca, ka, min_n=min_n, max_levels=merged["max_levels"])
            except IndependenceTestError as exc:
                results[tr] = _row(tr, attribute, test, backend, error=str(exc))
                continue
            r = fast.contingency_test(test, table)
            results[tr] = _row(tr, attribute, test, backend, r.n, r.statistic, r.pvalue, note=_note(r))
    else:
        for tr in traits:
            y = cols[tr]
            if get_spec(test).data == "discrete":
                k = np.unique(y[np.isfinite(y)]).size
                if k > max_trait_levels:
                    results[tr] = _row(tr, attribute, test, backend, error=(
                        f"trait {tr!r} has {k} distinct values (> max_trait_levels={max_trait_levels}): "
                        "not treated as discrete for chi2/g2"))
                    continue
            try:
                r = run_test(test, y, x_attr, backend=backend, device=device, seed=seed, min_n=min_n, **opts)
            except IndependenceTestError as exc:
                results[tr] = _row(tr, attribute, test, backend, error=str(exc))
                continue
            results[tr] = _row(tr, attribute, test, backend, r.n, r.statistic, r.pvalue, note=_note(r))
    return [results[tr] for tr in traits]
