"""Independence tests: the five Level I tests (KCI, RCIT, HSIC, χ², G²) and conditional tests.

Public API
----------
``test(name, x, y, given=None, backend="fast", device="auto", seed=0, **options)`` → :class:`TestResult`
    One test on two arrays (registry: :data:`TESTS`); with ``given`` (a conditioning
    matrix, continuous and/or discrete-coded columns) the conditional test X ⫫ Y | Z
    (KCI, RCIT; ``"fisherz"`` too, see :data:`CONDITIONAL_TESTS`).
``test_batch(name_or_spec, variables, triples, ...)`` → list of :class:`TestResult`
    Many (x, y, S) triples at once (what PC and conditional batteries use); a
    :class:`TestSpec` exposes the same as ``spec.run_batch``.
``battery(frame, traits=None, attributes=None, tests=..., alpha=0.05, ...)`` → DataFrame
    Every trait × attribute × test, with Benjamini–Hochberg adjustment per test.

Backends: ``"fast"`` (default, the project's torch implementation, exact low-rank forms
for few-valued variables, bounded memory, CPU or GPU) and ``"reference"`` (causal-learn,
hyppo, pingouin).  Submodules: ``result`` (record, error), ``prepare`` (cleaning rules),
``kernels`` (exact kernel moments), ``nulls`` (Gamma / HBE), ``fast``, ``conditional``
(conditional KCI / RCIT / Fisher-z, batched), ``reference``,
``registry``, ``grid`` (the battery), ``bh``, ``cache``, ``summary``, ``cli``.
"""

from __future__ import annotations

from personax.independence.registry import (CONDITIONAL_TESTS, TESTS, TestSpec, available_tests, get_spec, test,
                                            test_batch)
from personax.independence.result import IndependenceTestError, TestResult

__all__ = ["TESTS", "CONDITIONAL_TESTS", "TestSpec", "TestResult", "IndependenceTestError", "available_tests",
           "get_spec", "test", "test_batch", "battery", "benjamini_hochberg"]


def __getattr__(name: str):
    # battery pulls in pandas and the data schema: import on first use
    if name == "battery":
        from personax.independence.grid import battery
        return battery
    if name == "benjamini_hochberg":
        from personax.independence.bh import benjamini_hochberg
        return benjamini_hochberg
    raise AttributeError(f"module 'personax.independence' has no attribute {name!r}")
