"""Bad or degenerate input gives a clear error or a documented p-value, never a silent 0."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from personax.independence import TESTS, IndependenceTestError, available_tests, get_spec, test


@pytest.mark.parametrize("name", list(TESTS))
@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_constant_column_is_an_error(name, backend):
    x = np.ones(50)
    y = np.arange(50) % 3
    with pytest.raises(IndependenceTestError, match="constant"):
        test(name, x, y, backend=backend)


@pytest.mark.parametrize("name", list(TESTS))
def test_all_nan_pair_and_small_n(name):
    x = np.full(30, np.nan)
    y = np.arange(30) % 2
    with pytest.raises(IndependenceTestError, match="complete rows"):
        test(name, x, y)
    with pytest.raises(IndependenceTestError, match="min_n=10"):
        test(name, np.arange(9.0) % 3, np.arange(9.0) % 2)


def test_listwise_deletion_counts_rows_and_matches_clean_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    y = np.round(x + rng.normal(size=200))
    x_missing = x.copy()
    x_missing[:20] = np.nan
    y_missing = pd.Series(y).astype("Int64")
    y_missing[20:30] = pd.NA
    r = test("kci", x_missing, y_missing)
    assert r.n == 170
    assert r.pvalue == test("kci", x[30:], y[30:]).pvalue


def test_bad_arguments_name_the_fix():
    x = np.arange(20.0)
    with pytest.raises(ValueError, match="unknown test 'kcii'"):
        test("kcii", x, x)
    with pytest.raises(ValueError, match="unknown backend"):
        test("kci", x, x, backend="gpu")
    with pytest.raises(ValueError, match="allowed are min_n"):
        test("kci", x, x, width=2)
    with pytest.raises(IndependenceTestError, match="rows"):
        test("kci", x, x[:10])
    with pytest.raises(IndependenceTestError, match="factorize"):
        test("chi2", np.array(["a", "b"] * 10), x)
    with pytest.raises(ValueError, match="seed"):
        test("rcit", x, x % 3, seed=-1)
    with pytest.raises(IndependenceTestError, match="max_levels"):
        test("chi2", np.random.default_rng(0).normal(size=600), np.arange(600) % 2)


def test_degenerate_contingency_table_has_defined_pvalue():
    # y takes a single value on the rows where x varies -> constant -> error; a 2x1 table
    # cannot occur, but dof = 0 only happens with one level, guarded as constant
    x = np.array([0, 1] * 10, dtype=float)
    y = np.array([0, 0, 1, 1] * 5, dtype=float)
    r = test("chi2", x, y)
    assert r.details["dof"] == 1 and 0 <= r.pvalue <= 1


def test_registry_metadata():
    assert available_tests() == ("kci", "rcit", "hsic_gamma", "chi2", "g2", "hsic_hyppo")
    assert get_spec("KCI").name == "kci"
    assert {s.data for s in TESTS.values()} == {"any", "discrete"}
    for spec in TESTS.values():
        assert spec.h0.startswith("H0")


def test_result_record_is_frozen_and_serialisable():
    r = test("g2", np.arange(40) % 2, np.arange(40) % 4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.pvalue = 0.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        r.details["dof"] = 0  # type: ignore[index]
    d = r.to_dict()
    assert d["test"] == "g2" and d["backend"] == "fast" and d["n"] == 40
    with pytest.warns(DeprecationWarning, match="as_dict\\(\\) is deprecated.*use to_dict\\(\\)"):
        assert r.as_dict() == d
    assert r.reject(0.05) == (r.pvalue < 0.05)
