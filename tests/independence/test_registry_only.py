"""The registry is the only way in: the battery reaches every test through its spec, never its name."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from personax.independence import battery, registry
from personax.independence.result import TestResult

GRID = Path(registry.__file__).with_name("grid.py")


def test_grid_never_branches_on_a_test_name():
    """No comparison of a test name with a string literal (``test == "kci"``, ``t in ("kci", ...)``)."""
    names = set(registry.TESTS) | {"hsic", "fisherz"}
    hits = []
    for node in ast.walk(ast.parse(GRID.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare):
            consts = [c for c in [node.left, *node.comparators] for c in ast.walk(c)
                      if isinstance(c, ast.Constant) and c.value in names]
            if consts:
                hits.append(f"line {node.lineno}: {ast.unparse(node)}")
    assert not hits, f"grid.py branches on test names; declare the path on the TestSpec instead: {hits}"


def _toy(x, y, *, seed, device, scale):
    """A sixth test in one spec: |Spearman rho| with a normal null (for the demonstration only)."""
    from scipy import stats

    r = stats.spearmanr(x.ravel(), y.ravel())
    return TestResult("toy", scale * abs(float(r.statistic)), float(r.pvalue), "Spearman (toy)", "fast", len(x))


def test_adding_a_test_is_one_spec(monkeypatch):
    spec = registry.TestSpec("toy", "Toy", "any", {"scale": 1.0}, _toy, _toy, "H0: no monotone association.")
    monkeypatch.setitem(registry.TESTS, "toy", spec)  # the registry entry is the whole addition
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    frame = pd.DataFrame({"t1": x + rng.normal(size=200), "t2": rng.normal(size=200), "a": x})
    res = battery(frame, traits=["t1", "t2"], attributes=["a"], tests=["toy", "kci"], cache=False, progress=False,
                  options={"toy": {"scale": 2.0}})
    toy = res[res.test == "toy"].set_index("trait")
    assert toy.loc["t1", "pvalue"] < 1e-6 < toy.loc["t2", "pvalue"]
    assert toy.loc["t1", "statistic"] == pytest.approx(2 * abs(pd.Series(frame.t1).corr(frame.a, method="spearman")))
    assert set(res.columns) >= {"pvalue", "pvalue_bh", "reject", "statistic", "n", "error"}


def test_hsic_hyppo_is_such_a_spec_and_fast_paths_are_declared():
    from personax.independence import reference

    hyppo = registry.TESTS["hsic_hyppo"]
    assert hyppo.many is None and hyppo.from_codes is None  # pair by pair through spec.fast
    assert hyppo.fast is reference.hsic_hyppo is hyppo.reference  # the implementation itself: no adapter
    assert {n for n, s in registry.TESTS.items() if s.many is not None} == {"kci", "rcit", "hsic_gamma"}
    assert {n for n, s in registry.TESTS.items() if s.from_codes is not None} == {"chi2", "g2"}
    assert {n for n, s in registry.TESTS.items() if s.many_given is not None} == {"kci", "rcit"}


def test_the_batched_path_equals_the_pairwise_one():
    """Bypassing a spec's batched path (``many=None``) gives the same numbers: it is only faster."""
    from personax.data import load

    ds = load("athlepersona", n=300, seed=0)
    kw = dict(attributes=["height_cm", "league"], cache=False, progress=False)
    batched = battery(ds, tests=["kci", "rcit", "hsic_gamma", "chi2"], **kw)
    plain = {n: dataclasses.replace(registry.TESTS[n], many=None, from_codes=None)
             for n in ("kci", "rcit", "hsic_gamma", "chi2")}
    with pytest.MonkeyPatch.context() as mp:
        for n, s in plain.items():
            mp.setitem(registry.TESTS, n, s)
        pairwise = battery(ds, tests=list(plain), **kw)
    np.testing.assert_allclose(batched["pvalue"], pairwise["pvalue"], rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(batched["statistic"], pairwise["statistic"], rtol=1e-9)
