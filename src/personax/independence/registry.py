"""The registry of the tests and the single entry point :func:`test`.

Six tests: the paper's five (``kci``, ``rcit``, ``hsic_gamma`` — the authors' Gamma-HSIC,
registered until now as ``hsic``, which stays a deprecated alias — ``chi2``, ``g2``) and
hyppo's HSIC (``hsic_hyppo``), a different test under the same name in the literature.

Each test is a :class:`TestSpec`: its name, the data it is meant for, its options with
defaults, and one implementation per backend.  :func:`test` cleans the pair once
(listwise deletion and edge-case guards, :mod:`personax.independence.prepare`), checks
the options, resolves the device and dispatches.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from personax.independence import fast, reference
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


def _fast_kci(x, y, *, seed, device):
    return fast.kci(x, y, device=device)


def _ref_kci(x, y, *, seed, device):
    return reference.kci(x, y)


def _fast_rcit(x, y, *, seed, device, num_features):
    return fast.rcit(x, y, seed=seed, device=device, num_features=num_features)


def _ref_rcit(x, y, *, seed, device, num_features):
    if num_features != 5:
        raise IndependenceTestError("the reference RCIT (causal-learn RIT) always uses 5 features; "
                                    "use backend='fast' for other num_features")
    return reference.rcit(x, y, seed=seed)


def _fast_hsic(x, y, *, seed, device, standardize, sigma, hyppo):
    return dataclasses.replace(fast.hsic(x, y, device=device, standardize=standardize, sigma=sigma),
                               test="hsic_gamma")


def _ref_hsic(x, y, *, seed, device, standardize, sigma, hyppo):
    return dataclasses.replace(reference.hsic(x, y, standardize=standardize, sigma=sigma, hyppo=hyppo, seed=seed),
                               test="hsic_gamma")


def _hyppo_hsic(x, y, *, seed, device):
    # no project implementation: both backends run hyppo (same answer by construction)
    return reference.hsic_hyppo(x, y, seed=seed)


def _fast_chi2(x, y, *, seed, device, max_levels):
    return fast.chi2(x, y, max_levels=max_levels)


def _ref_chi2(x, y, *, seed, device, max_levels):
    return reference.chi2(x, y, max_levels=max_levels)


def _fast_g2(x, y, *, seed, device, max_levels):
    return fast.g2(x, y, max_levels=max_levels)


def _ref_g2(x, y, *, seed, device, max_levels):
    return reference.g2(x, y, max_levels=max_levels)


TESTS: dict[str, TestSpec] = {
    "kci": TestSpec(
        "kci", "KCI", "any", {}, _fast_kci, _ref_kci,
        "H0: X ⊥⊥ Y. Gaussian kernels on z-scored data (empirical width 0.8/0.5/0.3 by n); "
        "V = Σ K̃x∘K̃y; Gamma null matched to its mean and variance."),
    "rcit": TestSpec(
        "rcit", "RCIT", "any", {"num_features": 5}, _fast_rcit, _ref_rcit,
        "H0: X ⊥⊥ Y. 5 random Fourier features per variable (median-distance bandwidth); "
        "S = n‖Ĉov(fx, fy)‖²; weighted-χ² null (Hall–Buckley–Eagleson)."),
    "hsic_gamma": TestSpec(
        "hsic_gamma", "Gamma-HSIC", "any", {"standardize": True, "sigma": 1 / np.sqrt(2), "hyppo": True},
        _fast_hsic, _ref_hsic,
        "H0: X ⊥⊥ Y. The authors' HSIC (the paper's): Gaussian kernel exp(−‖a−b‖²) with fixed width on "
        "standardised data; biased HSIC; Gamma null (Gretton et al. 2008)."),
    "chi2": TestSpec(
        "chi2", "Chi-square", "discrete", {"max_levels": 500}, _fast_chi2, _ref_chi2,
        "H0: X ⊥⊥ Y for discrete X, Y. Pearson X² on the contingency table; χ² null with "
        "(kx−1)(ky−1) df; no continuity correction."),
    "g2": TestSpec(
        "g2", "G-square", "discrete", {"max_levels": 500}, _fast_g2, _ref_g2,
        "H0: X ⊥⊥ Y for discrete X, Y. Likelihood ratio G² = 2ΣO ln(O/E); χ² null with "
        "(kx−1)(ky−1) df."),
    "hsic_hyppo": TestSpec(
        "hsic_hyppo", "HSIC (hyppo)", "any", {}, _hyppo_hsic, _hyppo_hsic,
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


def available_tests() -> tuple[str, ...]:
    """Names of the registered tests, in the paper's order."""
    return tuple(TESTS)


def get_spec(name: str) -> TestSpec:
    """The :class:`TestSpec` for ``name`` (case-insensitive), or a clear error."""
    from personax.errors import ParameterError

    key = _canonical(name)
    if not dict.__contains__(TESTS, key):
        raise ParameterError(f"unknown test {name!r}: choose one of {', '.join(TESTS)}",
                             hint=f"test names: {', '.join(TESTS)}")
    return dict.__getitem__(TESTS, key)


def resolve_options(spec: TestSpec, options: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
    """Split ``min_n`` off and merge the remaining options with the test's defaults."""
    opts = dict(options)
    min_n = int(opts.pop("min_n", DEFAULT_MIN_N))
    unknown = sorted(set(opts) - set(spec.options))
    if unknown:
        from personax.errors import ParameterError

        allowed = ", ".join(["min_n", *spec.options]) or "min_n"
        raise ParameterError(f"unknown option(s) {unknown} for test {spec.name!r}: allowed are {allowed}")
    merged = {**spec.options, **opts}
    return min_n, merged


def check_backend(backend: str) -> str:
    """Validate a backend name."""
    if backend not in BACKENDS:
        from personax.errors import ParameterError

        raise ParameterError(f"unknown backend {backend!r}: use 'fast' (default) or 'reference'")
    return backend


def test(name: str, x: Any, y: Any, *, backend: str = "fast", device: str = "auto", seed: int = 0,
         **options: Any) -> TestResult:
    """Run one unconditional independence test of X ⫫ Y.

    Parameters
    ----------
    name : {"kci", "rcit", "hsic_gamma", "chi2", "g2", "hsic_hyppo"}
        Which test (see :data:`TESTS` for each one's hypothesis, kernel and null).
        ``"hsic"`` is a deprecated alias of ``"hsic_gamma"`` (FutureWarning).
    x, y : array-like, shape (n,) or (n, d)
        Paired samples; rows with a missing value in either are dropped.
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
        result's details); ``max_levels`` (chi2, g2).

    Returns
    -------
    TestResult

    Raises
    ------
    IndependenceTestError
        Too few complete rows, a constant variable, too many levels for a contingency
        test, or a degenerate null.
    ParameterError
        Unknown test, backend or option (a ``ValueError``).
    """
    from personax.utils import make_rng, resolve_device

    spec = get_spec(name)
    check_backend(backend)
    make_rng(seed)  # validates the seed (non-negative int)
    min_n, opts = resolve_options(spec, options)
    dev = resolve_device(device) if backend == "fast" else "cpu"
    xa, ya = clean_pair(x, y, min_n=min_n)
    impl = spec.fast if backend == "fast" else spec.reference
    try:
        return impl(xa, ya, seed=int(seed), device=dev, **opts)
    except FloatingPointError as exc:
        raise IndependenceTestError(f"{spec.name}: {exc}") from exc


test.__test__ = False  # a public API name, not a pytest test function
