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

**Conditional batteries** (``given=[...]``) test trait ⫫ attribute | Z for every pair with
the tests that have a conditional form (KCI, RCIT, χ², G²; causal-learn's definitions).
A discrete Z (at most :data:`personax.independence.given.MAX_STRATA` distinct rows, e.g.
gender × occupation) takes the exact stratified fast path
(:mod:`personax.independence.stratified`), every trait of an attribute in one pass; a
continuous Z goes through :func:`personax.independence.given.continuous_given` (today
causal-learn, O(n³) per test).  Rows with a missing value in the trait, the attribute or
any conditioning column are dropped per pair; attributes that are themselves in ``given``
are skipped (listed in ``df.attrs["skipped_attributes"]``).
"""

from __future__ import annotations

import warnings
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from personax.errors import ParameterError
from personax.independence import cache as _cache, fast, given as _given, stratified
from personax.independence.bh import benjamini_hochberg
from personax.independence.prepare import clean_pair
from personax.independence.registry import check_backend, get_spec, resolve_options, test as run_test
from personax.independence.result import IndependenceTestError

DEFAULT_TESTS = ("kci", "rcit", "hsic_gamma", "chi2", "g2")
#: the tests a conditional battery runs by default (those with a conditional form)
CONDITIONAL_TESTS = tuple(_given.CONDITIONAL_TESTS)
COLUMNS = ["trait", "attribute", "given", "test", "backend", "n", "statistic", "pvalue", "pvalue_bh", "reject",
           "reject_raw", "error", "note"]
#: the ``given`` value of unconditional rows
UNCONDITIONAL = ""


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
            raise ParameterError("traits=None needs dataset= (to take the schema's trait columns); "
                                 "or pass traits=[...]")
        traits = list(schema.traits)
    if attributes is None:
        if schema is None:
            raise ParameterError("attributes=None needs dataset= (to take the schema's attributes); "
                                 "or pass attributes=[...]")
        attributes = list(schema.attributes)
    if discrete is None and schema is not None:
        discrete = set(schema.discrete)
    traits, attributes = [str(t) for t in traits], [str(a) for a in attributes]
    missing = [c for c in [*traits, *attributes] if c not in frame.columns]
    if missing:
        raise ParameterError(f"columns {missing} are not in the frame (have: {list(frame.columns)[:12]}...): "
                             "check traits=/attributes= or the dataset")
    if not traits or not attributes:
        raise ParameterError("need at least one trait and one attribute")
    return traits, attributes, (None if discrete is None else set(discrete))


def _resolve_given(frame: pd.DataFrame, given, traits: list[str], attributes: list[str], tests: list[str],
                   disc: set | None) -> tuple[list[str], list[str]]:
    """Check ``given=``; return (conditioning columns, attributes skipped because they are in it)."""
    if given is None:
        return [], []
    if isinstance(given, str):
        given = [given]
    given = [str(g) for g in given]
    if not given:
        return [], []
    missing = [g for g in given if g not in frame.columns]
    if missing:
        raise ParameterError(f"given={given}: columns {missing} are not in the frame",
                             hint=f"condition on columns of the data, e.g. {list(frame.columns)[:8]}")
    clash = [g for g in given if g in traits]
    if clash:
        raise ParameterError(f"given={given} contains the trait(s) {clash}: a trait cannot be conditioned on "
                             "while it is tested", hint="drop them from given= or from traits=")
    no_form = [t for t in tests if t not in _given.CONDITIONAL_TESTS]
    if no_form:
        raise ParameterError(f"tests {no_form} have no conditional form (X ⫫ Y | Z)",
                             hint=f"with given= use a subset of {', '.join(_given.CONDITIONAL_TESTS)}")
    contingency = [t for t in tests if get_spec(t).data == "discrete"]
    if contingency:
        continuous = [g for g in given if disc is None or g not in disc]
        if continuous:
            raise ParameterError(f"{', '.join(contingency)} given {given}: {continuous} are not discrete, and "
                                 "chi2/g2 condition on strata", hint="use kci/rcit for a continuous conditioning "
                                 "set, or name the discrete columns with dataset=/discrete=")
    skipped = [a for a in attributes if a in given]
    if len(skipped) == len(attributes):
        raise ParameterError(f"every attribute {attributes} is in given={given}: nothing left to test",
                             hint="condition on other columns")
    return given, skipped


def battery(frame: Any, traits: Sequence[str] | None = None, attributes: Sequence[str] | None = None,
            tests: Iterable[str] | None = None, alpha: float = 0.05, backend: str = "fast",
            device: str = "auto", seed: int = 0, cache: bool = True, dataset: str | None = None, *,
            discrete: Iterable[str] | None = None, max_trait_levels: int = 20,
            options: dict[str, dict[str, Any]] | None = None, progress: bool | None = None,
            given: Sequence[str] | None = None) -> pd.DataFrame:
    """Run the Level I tests on every trait × attribute pair, unconditionally or given Z.

    Parameters
    ----------
    frame : pandas.DataFrame or personax.data.PersonaData
        One row per person.  A ``PersonaData`` supplies its frame and dataset name.
    traits, attributes : sequence of str, optional
        Columns to test; default to the schema's traits and Level I attributes.
    tests : iterable of str, optional
        Subset of ``("kci", "rcit", "hsic_gamma", "chi2", "g2", "hsic_hyppo")``; default
        the paper's five (``DEFAULT_TESTS``), or the four with a conditional form
        (``CONDITIONAL_TESTS``) when ``given`` is set.  ``"hsic"`` is a deprecated alias of
        ``"hsic_gamma"``.
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
        Discrete column names when no ``dataset`` is given (needed for χ²/G², also for
        χ²/G² conditioning columns).
    max_trait_levels : int
        Largest number of distinct values a trait may take to enter χ²/G².
    options : dict, optional
        Per-test options, e.g. ``{"hsic_gamma": {"standardize": False}}``.  With the
        reference backend Gamma-HSIC skips hyppo's cross-check (``hyppo=False``) unless set.
    progress : bool, optional
        Show a progress bar (default: unless quiet, see ``personax.utils.quiet``).
    given : sequence of str, optional
        Conditioning set Z (column names): test trait ⫫ attribute | Z.  Attributes in Z
        are skipped.  See the module docstring for the paths taken.

    Returns
    -------
    pandas.DataFrame
        One row per (trait, attribute, test) with columns:

        ``trait``, ``attribute``, ``test``, ``backend`` — what was tested and how;
        ``given`` — the conditioning set joined by ``+`` (``""`` when unconditional);
        ``n`` — complete rows used (listwise deletion per pair, over Z too; NaN when the
        test failed before counting); ``statistic``, ``pvalue`` — the test's output (NaN
        on failure; the reference χ²/G² given Z report no statistic); ``pvalue_bh`` —
        Benjamini–Hochberg adjusted p within the same test across all its pairs of this
        call (failed pairs excluded from the family); ``reject`` — ``pvalue_bh < alpha``
        (dependence declared with FDR control); ``reject_raw`` — ``pvalue < alpha`` (the
        paper's unadjusted rule); ``error`` — empty, or why no p-value was produced;
        ``note`` — warnings such as sparse contingency tables.

        ``df.attrs`` holds ``alpha``, ``backend``, ``seed``, ``dataset``, ``n_failed``,
        ``given`` (list) and ``skipped_attributes``.

    Raises
    ------
    ParameterError
        Bad alpha, tests, options, columns or conditioning set; χ²/G² requested when no
        tested attribute is discrete — all checked before any test runs.

    Examples
    --------
    >>> from personax.data import load
    >>> ds = load("celebpersona")
    >>> res = battery(ds, attributes=["height_cm", "Big_Nose"], tests=["kci"], given=["gender"],
    ...               cache=False, progress=False)
    >>> res[["trait", "attribute", "given", "test"]].iloc[0].tolist()
    ['openness', 'height_cm', 'gender', 'kci']
    """
    from personax.utils import resolve_device

    if hasattr(frame, "frame") and hasattr(frame, "info"):
        dataset = dataset or frame.info.get("dataset")
        frame = frame.frame
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame or PersonaData, got {type(frame).__name__}")
    tests, options = _check_request(alpha, backend, seed, tests, options, given)
    traits, attributes, disc = _resolve_roles(frame, dataset, traits, attributes, discrete)
    contingency = [t for t in tests if get_spec(t).data == "discrete"]
    if contingency and disc is None:
        raise ParameterError(f"{', '.join(contingency)} need to know which attributes are discrete",
                             hint="pass dataset= (schema roles) or discrete=[...]")
    z_names, skipped = _resolve_given(frame, given, traits, attributes, tests, disc)
    attributes = [a for a in attributes if a not in skipped]
    if contingency and not any(a in disc for a in attributes):
        raise ParameterError(f"{', '.join(contingency)} requested but none of the attributes {attributes} is "
                             f"discrete (discrete={sorted(disc)})",
                             hint="drop chi2/g2 from tests=, or name the discrete attributes with discrete=[...]")
    dev = resolve_device(device) if backend == "fast" else "cpu"
    cols = {c: _numeric(frame[c]) for c in dict.fromkeys([*traits, *attributes, *z_names])}
    units = [(t, a) for t in tests for a in attributes if get_spec(t).data != "discrete" or a in disc]
    rows = _run_units(units, traits, attributes, disc, cols, z_names, options, backend=backend, device=dev,
                      seed=seed, cache=cache, max_trait_levels=max_trait_levels, progress=progress)
    out = _tidy(rows, tests, alpha)
    n_failed = int(out["pvalue"].isna().sum())
    out.attrs.update({"alpha": float(alpha), "backend": backend, "seed": int(seed), "dataset": dataset,
                      "n_failed": n_failed, "given": list(z_names), "skipped_attributes": skipped})
    if n_failed:
        warnings.warn(f"{n_failed} of {len(out)} tests produced no p-value (NaN); see the 'error' column",
                      RuntimeWarning, stacklevel=2)
    return out


def _check_request(alpha, backend: str, seed: int, tests, options, given) -> tuple[list[str], dict]:
    """Check alpha, backend and seed; the canonical test names and their per-test options."""
    from personax.utils import make_rng

    try:
        ok_alpha = 0 < float(alpha) < 1
    except (TypeError, ValueError):
        ok_alpha = False
    if not ok_alpha:
        raise ParameterError(f"alpha must be a number in (0, 1), got {alpha!r}", hint="e.g. alpha=0.05")
    check_backend(backend)
    make_rng(seed)
    conditional = bool(given) if not isinstance(given, str) else True
    if tests is None:
        tests = CONDITIONAL_TESTS if conditional else DEFAULT_TESTS
    tests = list(dict.fromkeys(get_spec(t).name for t in tests))
    if not tests:
        raise ParameterError("tests is empty: pass at least one of " + ", ".join(DEFAULT_TESTS))
    options = {get_spec(k).name: v for k, v in dict(options or {}).items()}
    unknown = sorted(set(options) - set(tests))
    if unknown:
        raise ParameterError(f"options given for tests not run: {unknown}", hint=f"tests run: {tests}")
    return tests, options


def _run_units(units, traits, attributes, disc, cols, z_names, options, *, backend, device, seed, cache,
               max_trait_levels, progress) -> list[dict[str, Any]]:
    """Every (test, attribute) unit (all traits at once), through the cache when asked; result rows."""
    from personax.utils import progress as _progress, quiet

    zmat = np.column_stack([cols[g] for g in z_names]) if z_names else None
    given_label = "+".join(z_names)
    rows: list[dict[str, Any]] = []
    codes = None  # integer level codes per column, built on first use by chi2/g2
    show = (not quiet()) if progress is None else bool(progress)
    desc = f"independence battery ({backend}{', given ' + given_label if z_names else ''})"
    for t, a in _progress(units, desc=desc, total=len(units), disable=not show):
        # the spec's battery defaults (Gamma-HSIC's hyppo cross-check is not a column), then the caller's
        opts = {**get_spec(t).battery_defaults.get(backend, {}), **options.get(t, {})}
        if z_names:
            _, min_n, merged = _given.check_options(t, opts)
        else:
            min_n, merged = resolve_options(get_spec(t), opts)
        key = None
        if cache:
            names = [*traits, *(f"given:{g}" for g in z_names)]
            values = [cols[tr] for tr in traits] + [cols[g] for g in z_names]
            key = _cache.unit_key(t, backend, {**merged, "min_n": min_n, "max_trait_levels": max_trait_levels},
                                  seed, a, cols[a], names, values)
            hit = _cache.load(key)
            if hit is not None:
                rows.extend({**r, "given": r.get("given", given_label)} for r in hit)
                continue
        if z_names:
            if codes is None:
                codes = {}
            unit_rows = _run_unit_given(t, a, traits, cols, zmat, backend, device, seed, min_n, merged,
                                        max_trait_levels, codes)
        else:
            if codes is None and backend == "fast" and get_spec(t).from_codes is not None:
                codes = {c: fast.level_codes(cols[c])
                         for c in dict.fromkeys([*traits, *(x for x in attributes if x in disc)])}
            unit_rows = _run_unit(t, a, traits, cols, backend, device, seed, opts, min_n, merged,
                                  max_trait_levels, codes)
        for r in unit_rows:
            r["given"] = given_label
        if cache:
            _cache.store(key, unit_rows)
        rows.extend(unit_rows)
    return rows


def _tidy(rows: list[dict[str, Any]], tests: list[str], alpha: float) -> pd.DataFrame:
    """The documented frame: BH-adjusted p within each test, decisions, dtypes, column order."""
    out = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("pvalue_bh", "reject", "reject_raw")])
    out["pvalue_bh"] = np.nan
    for t in tests:
        sel = (out["test"] == t).to_numpy()
        out.loc[sel, "pvalue_bh"] = benjamini_hochberg(out.loc[sel, "pvalue"].to_numpy(dtype=float))
    out["reject"] = out["pvalue_bh"] < alpha
    out["reject_raw"] = out["pvalue"] < alpha
    out["n"] = out["n"].astype("Int64")
    out["given"] = out["given"].astype(object)
    return out[COLUMNS]


def _row(trait, attribute, test, backend, n=np.nan, statistic=np.nan, pvalue=np.nan, error="", note=""):
    return {"trait": trait, "attribute": attribute, "given": "", "test": test, "backend": backend,
            "n": None if n is None or (isinstance(n, float) and np.isnan(n)) else int(n),
            "statistic": float(statistic), "pvalue": float(pvalue), "error": error, "note": note}


def _too_many_levels(trait, attribute, test, backend, k: int, max_trait_levels: int) -> dict:
    """The error row of a trait with too many distinct values for a contingency test."""
    return _row(trait, attribute, test, backend, error=(
        f"trait {trait!r} has {k} distinct values (> max_trait_levels={max_trait_levels}): "
        "not treated as discrete for chi2/g2"))


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
    spec = get_spec(test)
    results: dict[str, dict] = {}
    if backend == "fast" and spec.many is not None:
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
        spec_opts = {k: merged[k] for k in spec.options}
        for group in by_mask.values():
            mask = np.isfinite(cols[group[0]]) & np.isfinite(x_attr)
            try:
                res = spec.many(x_attr[mask][:, None], [cols[tr][mask][:, None] for tr in group], seed=seed,
                                device=device, **spec_opts)
            except (IndependenceTestError, FloatingPointError) as exc:
                for tr in group:
                    results[tr] = _row(tr, attribute, test, backend, error=f"{test}: {exc}")
                continue
            for tr, r in zip(group, res):
                results[tr] = _row(tr, attribute, test, backend, r.n, r.statistic, r.pvalue)
    elif backend == "fast" and spec.from_codes is not None:
        # contingency tests from column codes computed once per battery (no per-pair sorting)
        ca, ka = codes[attribute]
        for tr in traits:
            ct, kt = codes[tr]
            if kt > max_trait_levels:
                results[tr] = _too_many_levels(tr, attribute, test, backend, kt, max_trait_levels)
                continue
            try:
                r = spec.from_codes(ct, kt, ca, ka, min_n=min_n, max_levels=merged["max_levels"])
            except IndependenceTestError as exc:
                results[tr] = _row(tr, attribute, test, backend, error=str(exc))
                continue
            results[tr] = _row(tr, attribute, test, backend, r.n, r.statistic, r.pvalue, note=_note(r))
    else:
        for tr in traits:
            y = cols[tr]
            if spec.data == "discrete":
                k = np.unique(y[np.isfinite(y)]).size
                if k > max_trait_levels:
                    results[tr] = _too_many_levels(tr, attribute, test, backend, k, max_trait_levels)
                    continue
            try:
                r = run_test(test, y, x_attr, backend=backend, device=device, seed=seed, min_n=min_n, **opts)
            except IndependenceTestError as exc:
                results[tr] = _row(tr, attribute, test, backend, error=str(exc))
                continue
            results[tr] = _row(tr, attribute, test, backend, r.n, r.statistic, r.pvalue, note=_note(r))
    return [results[tr] for tr in traits]


def _run_unit_given(test: str, attribute: str, traits: list[str], cols: dict[str, np.ndarray], zmat: np.ndarray,
                    backend: str, device: str, seed: int, min_n: int, merged: dict,
                    max_trait_levels: int, codes: dict | None = None) -> list[dict]:
    """All traits against one attribute given Z; one stratified pass per row set on the fast path."""
    x_attr = cols[attribute]
    codes = {} if codes is None else codes
    z_ok = np.isfinite(zmat).all(axis=1)
    results: dict[str, dict] = {}
    by_mask: dict[bytes, list[str]] = {}
    spec = get_spec(test)
    discrete_test = spec.data == "discrete"
    for tr in traits:
        y = cols[tr]
        if discrete_test:
            k = np.unique(y[np.isfinite(y)]).size
            if k > max_trait_levels:
                results[tr] = _too_many_levels(tr, attribute, test, backend, k, max_trait_levels)
                continue
        try:
            _given.clean_triple(y, x_attr, zmat, min_n=min_n)
        except IndependenceTestError as exc:
            results[tr] = _row(tr, attribute, test, backend, error=str(exc))
            continue
        mask = np.isfinite(y) & np.isfinite(x_attr) & z_ok
        by_mask.setdefault(np.packbits(mask).tobytes(), []).append(tr)

    def one_by_one(group: list[str]) -> None:
        for tr in group:
            try:
                r = _given.test_given(test, cols[tr], x_attr, zmat, backend=backend, device=device, seed=seed,
                                      min_n=min_n, **merged)
            except IndependenceTestError as exc:
                results[tr] = _row(tr, attribute, test, backend, error=str(exc))
                continue
            results[tr] = _row(tr, attribute, test, backend, r.n, r.statistic, r.pvalue, note=_note(r))

    for group in by_mask.values():
        mask = np.isfinite(cols[group[0]]) & np.isfinite(x_attr) & z_ok
        z = zmat[mask]
        if backend == "fast" and spec.from_codes_given is not None:
            # codes of every column and of the strata computed once per battery (no per-pair sorts)
            if "__strata__" not in codes:
                codes["__strata__"] = stratified.unique_rows(np.where(np.isfinite(zmat), zmat, -np.inf))[1]
            zcode = codes["__strata__"][mask]
            kz = int(zcode.max()) + 1
            levels = int(merged["max_levels"])
            if np.unique(zcode).size > levels:
                one_by_one(group)   # each trait gets test_given's error message
                continue
            for c in (attribute, *group):
                if c not in codes:
                    codes[c] = fast.level_codes(cols[c])
            ca, ka = codes[attribute]
            for tr in group:
                ct, kt = codes[tr]
                nt, na = np.unique(ct[mask]).size, np.unique(ca[mask]).size
                if max(nt, na) > levels:
                    one_by_one([tr])
                    continue
                r = spec.from_codes_given(ct[mask], kt, ca[mask], ka, zcode, kz)
                results[tr] = _row(tr, attribute, test, backend, r.n, r.statistic, r.pvalue, note=_note(r))
            continue
        if backend != "fast" or spec.many_given is None or stratified.n_strata(z) > _given.MAX_STRATA:
            one_by_one(group)
            continue
        xs = [cols[tr][mask][:, None] for tr in group]
        try:
            res = spec.many_given(xs, x_attr[mask][:, None], z, seed=seed, device=device, **merged)
        except (IndependenceTestError, FloatingPointError):
            one_by_one(group)   # let each trait get its own outcome (and error message)
            continue
        for tr, r in zip(group, res):
            results[tr] = _row(tr, attribute, test, backend, r.n, r.statistic, r.pvalue)
    return [results[tr] for tr in traits]
