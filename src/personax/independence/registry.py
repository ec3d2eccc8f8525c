"""The registry of the tests and the single entry points :func:`test` and :func:`test_batch`.

Six tests: the paper's five (``kci``, ``rcit``, ``hsic_gamma`` — the authors' Gamma-HSIC,
registered until now as ``hsic``, which stays a deprecated alias — ``chi2``, ``g2``) and
hyppo's HSIC (``hsic_hyppo``), a different test under the same name in the literature.

Each test is a :class:`TestSpec`: its name, the data it is meant for, its options with
defaults, one implementation per backend, and — for the tests that support a
conditioning set — its conditional implementations and its **batched** conditional path
(many (x, y, S) triples at once; :mod:`personax.independence.conditional`).  Callers that
run many tests (PC in :mod:`personax.crl.graph`, a conditional battery) hold a spec and
call :meth:`TestSpec.run_batch`, never a test name.

:data:`TESTS` holds the five Level I tests (KCI, RCIT, HSIC, χ², G²); KCI and RCIT also
accept ``given=`` (a conditioning matrix).  :data:`CONDITIONAL_TESTS` holds the tests PC can
use: KCI, RCIT and Fisher-z (a linear-Gaussian smoke test, not a Level I test).

:func:`test` cleans the data once (listwise deletion and edge-case guards,
:mod:`personax.independence.prepare`, :func:`personax.independence.conditional.clean_triple`),
checks the options, resolves the device and dispatches.

The adapters behind each spec live in :mod:`personax.independence.adapters` (re-exported here).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from personax.errors import ParameterError
from personax.independence import conditional, reference
from personax.independence.adapters import (  # noqa: F401  (re-exported: the old import path)
    KCI_CONDITIONAL_OPTIONS,
    RCIT_CONDITIONAL_OPTIONS,
    _batch_fisherz,
    _batch_kci,
    _batch_rcit,
    _codes,
    _fast_chi2,
    _fast_fisherz,
    _fast_fisherz_cond,
    _fast_g2,
    _fast_hsic,
    _fast_kci,
    _fast_kci_cond,
    _fast_rcit,
    _fast_rcit_cond,
    _many_hsic,
    _many_kci,
    _many_kci_given,
    _many_rcit,
    _many_rcit_given,
    _ref_chi2,
    _ref_fisherz,
    _ref_fisherz_cond,
    _ref_g2,
    _ref_hsic,
    _ref_kci,
    _ref_kci_cond,
    _ref_rcit,
    _ref_rcit_cond,
)
from personax.independence.prepare import DEFAULT_MIN_N, clean_pair
from personax.independence.result import IndependenceTestError, TestResult

BACKENDS = ("fast", "reference")


@dataclass(frozen=True)
class TestSpec:
    """One registered test.

    Attributes
    ----------
    name : str
        Registry key.
    title : str
        Display name.
    data : str
        ``"any"`` (kernel tests: every pair) or ``"discrete"`` (contingency tests).
    options : Mapping[str, Any]
        Accepted keyword options and their defaults (``min_n`` is accepted by all).
    fast, reference : callable
        ``f(x, y, *, seed, device, **options) -> TestResult`` on cleaned arrays.
    h0 : str
        One-line description of the hypothesis, kernel and null approximation.
    conditional_fast, conditional_reference : callable or None
        ``f(x, y, z, *, seed, device, **options) -> TestResult`` on cleaned arrays (z the
        conditioning matrix); None when the test takes no conditioning set.
    batch : callable or None
        The fast batched path: ``f(variables, triples, *, seeds, device, errors, min_n,
        **options) -> list`` for many (x, y, S) triples (S may be empty); see
        :meth:`run_batch`.
    conditional_options : Mapping[str, Any]
        Options accepted only with a conditioning set, with defaults.
    many : callable or None
        The battery's fast path: ``f(x, ys, *, seed, device, **options) -> list[TestResult]``,
        one attribute ``x`` (n, 1) against several traits ``ys`` on the same cleaned rows (one
        kernel pass serves them all); None: the battery runs the test pair by pair.
    from_codes : callable or None
        The battery's contingency path on level codes computed once per battery:
        ``f(ct, kt, ca, ka, *, min_n, max_levels) -> TestResult`` (trait codes ``ct`` with
        ``kt`` levels, attribute codes ``ca`` with ``ka``; raises
        :class:`IndependenceTestError`).
    many_given : callable or None
        The conditional battery's fast path given a discrete Z: ``f(xs, y, z, *, seed,
        device, **options) -> list[TestResult]``, several traits ``xs`` against one
        attribute ``y`` on the same rows.
    from_codes_given : callable or None
        The conditional contingency path: ``f(ct, kt, ca, ka, zcode, kz) -> TestResult``.
    battery_defaults : Mapping[str, Mapping[str, Any]]
        Option defaults the battery sets per backend (``{"reference": {"hyppo": False}}``:
        Gamma-HSIC's hyppo cross-check is not a battery column).

    Adding a test is one spec in :data:`TESTS` (plus its tests): the battery and PC reach it
    through these fields, never through its name.

    Examples
    --------
    >>> spec = TESTS["chi2"]
    >>> spec.data, dict(spec.options), spec.from_codes is not None
    ('discrete', {'max_levels': 500}, True)
    >>> import numpy as np
    >>> round(spec.run(np.arange(60) % 2, np.arange(60) % 3).pvalue, 3)
    1.0
    """

    __test__ = False

    name: str
    title: str
    data: str
    options: Mapping[str, Any]
    fast: Callable[..., TestResult]
    reference: Callable[..., TestResult]
    h0: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    conditional_fast: Callable[..., TestResult] | None = None
    conditional_reference: Callable[..., TestResult] | None = None
    batch: Callable[..., list] | None = None
    conditional_options: Mapping[str, Any] = field(default_factory=dict)
    many: Callable[..., list] | None = None
    from_codes: Callable[..., TestResult] | None = None
    many_given: Callable[..., list] | None = None
    from_codes_given: Callable[..., TestResult] | None = None
    battery_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def conditional(self) -> bool:
        """True when the test accepts a conditioning set (``given=``)."""
        return self.conditional_fast is not None

    def run(self, x: Any, y: Any, given: Any = None, *, backend: str = "fast", device: str = "auto",
            seed: int = 0, **options: Any) -> TestResult:
        """One test of x ⫫ y (| given); same as :func:`test` with this spec."""
        return _run(self, x, y, given, backend=backend, device=device, seed=seed, **options)

    def run_batch(self, variables: Any, triples: Any, *, device: str = "auto", seed: int | Any = 0,
                  errors: str = "raise", **options: Any) -> list:
        """Many tests x ⫫ y | S on named variables (fast backend); see :func:`test_batch`."""
        return _run_batch(self, variables, triples, device=device, seed=seed, errors=errors, **options)



TESTS: dict[str, TestSpec] = {
    "kci": TestSpec(
        "kci", "KCI", "any", {}, _fast_kci, _ref_kci,
        "H0: X ⊥⊥ Y. Gaussian kernels on z-scored data (empirical width 0.8/0.5/0.3 by n); "
        "V = Σ K̃x∘K̃y; Gamma null matched to its mean and variance. "
        "Given Z (causal-learn KCI_CInd): kernels on [X, Z/2], Y and Z (width 1.2/0.7/0.4 by n, per "
        "conditioning column), kernel-ridge residualisation (ε = 1e-3), Gamma null.",
        conditional_fast=_fast_kci_cond, conditional_reference=_ref_kci_cond, batch=_batch_kci,
        conditional_options=KCI_CONDITIONAL_OPTIONS, many=_many_kci, many_given=_many_kci_given),
    "rcit": TestSpec(
        "rcit", "RCIT", "any", {"num_features": 5}, _fast_rcit, _ref_rcit,
        "H0: X ⊥⊥ Y. 5 random Fourier features per variable (median-distance bandwidth); "
        "S = n‖Ĉov(fx, fy)‖²; weighted-χ² null (Hall–Buckley–Eagleson). "
        "Given Z (causal-learn RCIT): 100 features of Z, features of X and [Y, Z] residualised on them.",
        conditional_fast=_fast_rcit_cond, conditional_reference=_ref_rcit_cond, batch=_batch_rcit,
        conditional_options=RCIT_CONDITIONAL_OPTIONS, many=_many_rcit, many_given=_many_rcit_given),
    "hsic_gamma": TestSpec(
        "hsic_gamma", "Gamma-HSIC", "any", {"standardize": True, "sigma": 1 / np.sqrt(2), "hyppo": True},
        _fast_hsic, _ref_hsic,
        "H0: X ⊥⊥ Y. The authors' HSIC (the paper's): Gaussian kernel exp(−‖a−b‖²) with fixed width on "
        "standardised data; biased HSIC; Gamma null (Gretton et al. 2008).",
        many=_many_hsic, battery_defaults={"reference": {"hyppo": False}}),
    "chi2": TestSpec(
        "chi2", "Chi-square", "discrete", {"max_levels": 500}, _fast_chi2, _ref_chi2,
        "H0: X ⊥⊥ Y for discrete X, Y. Pearson X² on the contingency table; χ² null with "
        "(kx−1)(ky−1) df; no continuity correction.", **_codes("chi2")),
    "g2": TestSpec(
        "g2", "G-square", "discrete", {"max_levels": 500}, _fast_g2, _ref_g2,
        "H0: X ⊥⊥ Y for discrete X, Y. Likelihood ratio G² = 2ΣO ln(O/E); χ² null with "
        "(kx−1)(ky−1) df.", **_codes("g2")),
    "hsic_hyppo": TestSpec(
        # the spec protocol's function itself: no adapter, both backends run hyppo
        "hsic_hyppo", "HSIC (hyppo)", "any", {}, reference.hsic_hyppo, reference.hsic_hyppo,
        "H0: X ⊥⊥ Y. hyppo's Hsic on z-scored data: Gaussian kernel with the median-distance width of x "
        "(hyppo uses it for y too), unbiased distance correlation of 1 − K, chi-square null "
        "(n·stat + 1 ~ χ²₁; permutations when n ≤ 20). Runs hyppo on both backends."),
}

#: deprecated names → registry names (a warning on use, for one release)
ALIASES: dict[str, str] = {"hsic": "hsic_gamma"}


def _canonical(name: str, *, warn: bool = True) -> str:
    key = str(name).strip().lower()
    if key in ALIASES:
        if warn:
            warnings.warn(f"test name {key!r} is deprecated and ambiguous: it means {ALIASES[key]!r} (the "
                          "authors' Gamma-HSIC, what the paper used); hyppo's HSIC is 'hsic_hyppo'. "
                          f"Use {ALIASES[key]!r}.", FutureWarning, stacklevel=3)
        return ALIASES[key]
    return key


class _Registry(dict):
    """The registry dict; deprecated aliases resolve (with a FutureWarning) on lookup only."""

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (dict.__contains__(self, name) or name.strip().lower() in ALIASES)

    def __getitem__(self, name: str) -> TestSpec:
        return dict.__getitem__(self, _canonical(name) if isinstance(name, str) else name)

    def get(self, name, default=None):
        return self[name] if name in self else default


TESTS = _Registry(TESTS)


FISHERZ = TestSpec(
    "fisherz", "Fisher-z", "continuous", {}, _fast_fisherz, _ref_fisherz,
    "H0: X ⊥⊥ Y (| Z) under a linear-Gaussian model. Partial correlation from the inverse correlation "
    "matrix; z = √(n − |Z| − 3)·|atanh r|; normal null (causal-learn FisherZ).",
    conditional_fast=_fast_fisherz_cond, conditional_reference=_ref_fisherz_cond, batch=_batch_fisherz)

#: Tests that accept a conditioning set (what PC can use), by name.
CONDITIONAL_TESTS: dict[str, TestSpec] = {"kci": TESTS["kci"], "rcit": TESTS["rcit"], "fisherz": FISHERZ}


def available_tests() -> tuple[str, ...]:
    """Names of the registered Level I tests, in the paper's order.

    Examples
    --------
    >>> available_tests()
    ('kci', 'rcit', 'hsic_gamma', 'chi2', 'g2', 'hsic_hyppo')
    """
    return tuple(TESTS)


def get_spec(name: str | TestSpec, *, conditional: bool = False) -> TestSpec:
    """The :class:`TestSpec` for ``name`` (case-insensitive; deprecated aliases warn), or a clear error.

    With ``conditional=True`` the name is looked up among :data:`CONDITIONAL_TESTS` (which
    adds ``"fisherz"``) and must support a conditioning set.  A spec is returned as is.

    Examples
    --------
    >>> get_spec("kci").title, get_spec("kci", conditional=True).conditional
    ('KCI', True)
    >>> get_spec("fisherz", conditional=True).data
    'continuous'
    """
    if isinstance(name, TestSpec):
        spec = name
    else:
        key = _canonical(name)
        table = CONDITIONAL_TESTS if conditional else TESTS
        if not dict.__contains__(table, key):
            raise ParameterError(f"unknown test {name!r}: choose one of {', '.join(table)}",
                                 hint=f"test names: {', '.join(table)}")
        spec = dict.__getitem__(table, key)
    if conditional and not spec.conditional:
        raise ParameterError(f"test {spec.name!r} takes no conditioning set",
                             hint=f"use one of {', '.join(CONDITIONAL_TESTS)}")
    return spec


def resolve_options(spec: TestSpec, options: Mapping[str, Any], *, conditional: bool = False
                    ) -> tuple[int, dict[str, Any]]:
    """Split ``min_n`` off and merge the remaining options with the test's defaults.

    With ``conditional=True`` the test's ``conditional_options`` are accepted too.
    """
    opts = dict(options)
    min_n = int(opts.pop("min_n", DEFAULT_MIN_N))
    allowed_opts = {**spec.options, **(spec.conditional_options if conditional else {})}
    unknown = sorted(set(opts) - set(allowed_opts))
    if unknown:
        allowed = ", ".join(["min_n", *allowed_opts]) or "min_n"
        extra = ""
        if not conditional and set(unknown) & set(spec.conditional_options):
            extra = " (the others apply only with given=)"
        raise ParameterError(f"unknown option(s) {unknown} for test {spec.name!r}: allowed are {allowed}{extra}")
    merged = {**allowed_opts, **opts}
    return min_n, merged


def check_backend(backend: str) -> str:
    """Validate a backend name."""
    if backend not in BACKENDS:
        from personax.errors import ParameterError

        raise ParameterError(f"unknown backend {backend!r}: use 'fast' (default) or 'reference'")
    return backend


def test(name: str, x: Any, y: Any, given: Any = None, *, backend: str = "fast", device: str = "auto",
         seed: int = 0, **options: Any) -> TestResult:
    """Run one independence test of X ⫫ Y, or a conditional test of X ⫫ Y | Z.

    Parameters
    ----------
    name : {"kci", "rcit", "hsic_gamma", "chi2", "g2", "hsic_hyppo"}, or "fisherz" with ``given``
        Which test (see :data:`TESTS` for each one's hypothesis, kernel and null).
        ``"hsic"`` is a deprecated alias of ``"hsic_gamma"`` (FutureWarning).
    x, y : array-like, shape (n,) or (n, d)
        Paired samples; rows with a missing value in either are dropped.
    given : array-like, shape (n,) or (n, d_z), optional
        Conditioning matrix Z (KCI, RCIT, Fisher-z).  Columns may be continuous or
        discrete-coded (0/1, integer codes, one-hot blocks): every column is treated as a
        number, as causal-learn does — one-hot encode nominal variables with more than two
        levels.  Rows with a missing value in x, y or given are dropped; a constant column
        or more columns than the rows support (``n >= 10·(d_z + 1)``) is an error.  None or
        zero columns: the unconditional test.
    backend : {"fast", "reference"}
        ``"fast"``: the project's torch implementation; ``"reference"``: the libraries
        (causal-learn, hyppo, pingouin).  Same answer up to floating point (RCIT: same
        features under the same seed).
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"`` (fast backend only; the reference runs on CPU).
    seed : int
        Seed for RCIT's random features (ignored by the deterministic tests).
    **options
        ``min_n`` (default 10) for all tests; ``num_features`` (rcit); ``standardize``,
        ``sigma``, ``hyppo`` (hsic_gamma; ``standardize=False`` is the authors' raw-unit
        parity mode; ``hyppo`` adds hyppo's p-value on z-scored data to the reference
        result's details); ``max_levels`` (chi2, g2).  With ``given``: ``method``, ``tol``,
        ``max_rank`` (kci, see :mod:`personax.independence.conditional`);
        ``num_features_z``, ``rcot`` (rcit).

    Returns
    -------
    TestResult

    Raises
    ------
    IndependenceTestError
        Too few complete rows, a constant variable, too many levels for a contingency
        test, or a degenerate null (a :class:`personax.errors.DataError`).
    ParameterError
        Unknown test, backend or option (a ``ValueError``); a conditioning set with more
        columns than the rows support, or ``given`` for a test that takes none.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=400)
    >>> x, y = z + rng.normal(size=400), z + rng.normal(size=400)
    >>> test("kci", x, y).pvalue < 0.01          # dependent through z
    True
    >>> test("kci", x, y, given=z).pvalue > 0.05  # independent given z
    True
    """
    level1 = isinstance(name, TestSpec) or str(name).strip().lower() in TESTS
    spec = get_spec(name, conditional=not level1)
    return _run(spec, x, y, given, backend=backend, device=device, seed=seed, **options)


test.__test__ = False  # a public API name, not a pytest test function


def _has_columns(given: Any) -> bool:
    if given is None:
        return False
    shape = np.shape(given)
    return not (len(shape) == 2 and shape[1] == 0)


def _run(spec: TestSpec, x: Any, y: Any, given: Any, *, backend: str, device: str, seed: int,
         **options: Any) -> TestResult:
    from personax.utils import make_rng, resolve_device

    check_backend(backend)
    make_rng(seed)  # validates the seed (non-negative int)
    cond = _has_columns(given)
    if cond and not spec.conditional:
        raise ParameterError(f"test {spec.name!r} takes no conditioning set (given=)",
                             hint=f"use one of {', '.join(CONDITIONAL_TESTS)} for conditional tests")
    min_n, opts = resolve_options(spec, options, conditional=cond)
    dev = resolve_device(device) if backend == "fast" else "cpu"
    try:
        if cond:
            xa, ya, za = conditional.clean_triple(x, y, given, min_n=min_n, test=spec.name,
                                                  num_features_z=int(opts.get("num_features_z", 100)))
            impl = spec.conditional_fast if backend == "fast" else spec.conditional_reference
            return impl(xa, ya, za, seed=int(seed), device=dev, **opts)
        base = {k: v for k, v in opts.items() if k in spec.options}
        xa, ya = clean_pair(x, y, min_n=min_n)
        impl = spec.fast if backend == "fast" else spec.reference
        return impl(xa, ya, seed=int(seed), device=dev, **base)
    except FloatingPointError as exc:
        raise IndependenceTestError(f"{spec.name}: {exc}") from exc


def test_batch(name: str | TestSpec, variables: Any, triples: Any, *, device: str = "auto",
               seed: int | Any = 0, errors: str = "raise", **options: Any) -> list:
    """Many tests x ⫫ y | S at once with the fast backend (one PC depth level, a battery).

    Parameters
    ----------
    name : str or TestSpec
        ``"kci"``, ``"rcit"`` or ``"fisherz"`` (or their spec).
    variables : mapping name -> array (n,) / (n, d), DataFrame, or ndarray (n, p)
        Aligned variables (an ndarray's columns are named 0 … p − 1).  Rows with a missing
        value are dropped per triple.
    triples : sequence of (x, y, S)
        Names; S a tuple of names, possibly empty (unconditional test).  KCI is asymmetric
        in x and y (causal-learn augments x with Z/2).
    device : str
        torch device for KCI.
    seed : int or sequence of int
        One seed for every triple, or one per triple (RCIT's random features).
    errors : {"raise", "return"}
        Raise on the first bad triple, or put its exception in its place in the result.
    **options
        As :func:`test` (``min_n`` and the test's options, conditional ones included).

    Returns
    -------
    list of TestResult (or exceptions with ``errors="return"``), in the order of ``triples``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(2)
    >>> a = rng.normal(size=300); b = np.tanh(a) + 0.5 * rng.normal(size=300)
    >>> c = b ** 2 + 0.5 * rng.normal(size=300)
    >>> res = test_batch("kci", {"a": a, "b": b, "c": c}, [("a", "c", ()), ("a", "c", ("b",))])
    >>> [round(r.pvalue, 3) < 0.05 for r in res]
    [True, False]
    """
    return _run_batch(get_spec(name, conditional=True), variables, triples, device=device, seed=seed,
                      errors=errors, **options)


test_batch.__test__ = False  # a public API name, not a pytest test function


def _run_batch(spec: TestSpec, variables: Any, triples: Any, *, device: str, seed: int | Any, errors: str,
               **options: Any) -> list:
    from personax.utils import make_rng, resolve_device

    if spec.batch is None:
        raise ParameterError(f"test {spec.name!r} has no batched conditional path",
                             hint=f"use one of {', '.join(CONDITIONAL_TESTS)}")
    seeds = seed
    if isinstance(seed, (int, np.integer)):
        make_rng(int(seed))
    else:
        seeds = [int(s) for s in seed]
        for s in seeds:
            make_rng(s)
    min_n, opts = resolve_options(spec, options, conditional=True)
    dev = resolve_device(device)
    return spec.batch(variables, list(triples), seeds=seeds, device=dev, errors=errors, min_n=min_n, **opts)
