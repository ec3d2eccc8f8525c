"""Level I: the independence tests (KCI, RCIT, Gamma-HSIC, χ², G², hyppo's HSIC), unconditional
and conditional.

Public API
----------
``test(name, x, y, given=None, backend="fast", device="auto", seed=0, **options)`` → :class:`TestResult`
    One test on two arrays (registry: :data:`TESTS`; ``"hsic"`` is a deprecated alias of
    ``"hsic_gamma"``); with ``given`` (a conditioning matrix, continuous and/or
    discrete-coded columns) the conditional test X ⊥⊥ Y | Z (KCI, RCIT; ``"fisherz"`` too,
    see :data:`CONDITIONAL_TESTS`; :mod:`~personax.independence.conditional`).
``test_given(name, x, y, z, backend="fast", ...)`` → :class:`TestResult`
    One conditional test X ⊥⊥ Y | Z on data-frame columns (KCI, RCIT, χ², G²; exact
    stratified sums for discrete Z; :mod:`~personax.independence.given`).
``test_batch(name_or_spec, variables, triples, ...)`` → list of :class:`TestResult`
    Many (x, y, S) triples at once (what PC uses); a :class:`TestSpec` exposes the same as
    ``spec.run_batch``.
``battery(frame, traits=None, attributes=None, tests=None, alpha=0.05, ..., given=None)`` → DataFrame
    Every trait × attribute × test, with Benjamini–Hochberg adjustment per test;
    ``given=[...]`` conditions every pair on Z.

Backends: ``"fast"`` (default, the project's torch implementation, exact low-rank forms
for few-valued variables, bounded memory, CPU or GPU) and ``"reference"`` (causal-learn,
hyppo, pingouin).  Submodules: ``result`` (record, error), ``prepare`` (cleaning rules),
``kernels`` (exact kernel moments), ``nulls`` (Gamma / HBE), ``fast``, ``conditional``
(conditional KCI / RCIT / Fisher-z on continuous data, batched), ``reference``,
``registry``, ``grid`` (the battery), ``given`` (conditional entry point for batteries and
its dispatch), ``stratified`` (exact conditional tests given discrete Z), ``confounding``
(decision changes), ``raters`` (per-rater robustness), ``power`` (simulated power), ``bh``,
``cache``, ``summary``, ``cli``.
"""

from __future__ import annotations

from personax.independence.registry import (
    CONDITIONAL_TESTS,
    TESTS,
    TestSpec,
    available_tests,
    get_spec,
    test,
    test_batch,
)
from personax.independence.result import IndependenceTestError, TestResult

__all__ = ["TESTS", "CONDITIONAL_TESTS", "TestSpec", "TestResult", "IndependenceTestError", "available_tests",
           "get_spec", "test", "test_batch", "test_given", "battery", "benjamini_hochberg"]


def __getattr__(name: str):
    # battery pulls in pandas and the data schema: import on first use
    if name == "battery":
        from personax.independence.grid import battery
        return battery
    if name == "test_given":
        from personax.independence.given import test_given
        return test_given
    if name == "benjamini_hochberg":
        from personax.independence.bh import benjamini_hochberg
        return benjamini_hochberg
    raise AttributeError(f"module 'personax.independence' has no attribute {name!r}")
