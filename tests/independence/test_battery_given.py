"""The conditional battery (``battery(..., given=[...])``), the test names and their aliases."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from personax.data import load
from personax.errors import ParameterError
from personax.independence import TESTS, battery, test
from personax.independence.bh import benjamini_hochberg
from personax.independence.confounding import change_check, decision_changes
from personax.independence.given import test_given


@pytest.fixture(scope="module")
def celeb():
    return load("celebpersona")


def test_conditional_battery_schema_bh_and_pairs(celeb):
    res = battery(celeb, attributes=["height_cm", "Big_Nose", "gender"], given=["gender", "occupation"],
                  cache=False, progress=False)
    assert list(res.columns) == ["trait", "attribute", "given", "test", "backend", "n", "statistic", "pvalue",
                                 "pvalue_bh", "reject", "reject_raw", "error", "note"]
    assert set(res["given"]) == {"gender+occupation"}
    assert set(res["test"]) == {"kci", "rcit", "chi2", "g2"}          # the tests with a conditional form
    assert "gender" not in set(res["attribute"])                      # conditioned on, so skipped
    assert res.attrs["skipped_attributes"] == ["gender"] and res.attrs["given"] == ["gender", "occupation"]
    assert set(res.loc[res["test"].isin(["chi2", "g2"]), "attribute"]) == {"Big_Nose"}
    for _, sub in res.groupby("test"):
        ok = sub["pvalue"].notna()
        assert np.allclose(sub.loc[ok, "pvalue_bh"], benjamini_hochberg(sub.loc[ok, "pvalue"].to_numpy()))
        assert (sub["reject"] == (sub["pvalue_bh"] < 0.05)).all()
    # each row equals the single conditional test on the same columns
    from personax.independence.grid import _numeric  # the battery's documented category coding

    frame = celeb.frame
    z = np.column_stack([_numeric(frame["gender"]), _numeric(frame["occupation"])])
    row = res[(res.trait == "openness") & (res.attribute == "height_cm") & (res.test == "kci")].iloc[0]
    one = test_given("kci", frame["openness"].to_numpy(float), frame["height_cm"].to_numpy(float), z)
    assert row.pvalue == pytest.approx(one.pvalue, rel=1e-10) and row.n == one.n
    # unconditional rows carry given == ""
    unc = battery(celeb, attributes=["height_cm"], tests=["kci"], cache=False, progress=False)
    assert set(unc["given"]) == {""}


@pytest.mark.slow
def test_fast_and_reference_conditional_batteries_agree(celeb):
    # 600 rows: causal-learn's conditional KCI is O(n³) per pair
    frame = celeb.frame.sample(600, random_state=0).reset_index(drop=True)
    kw = dict(dataset="celebpersona", attributes=["height_cm", "Big_Nose", "Pointy_Nose"],
              given=["gender", "occupation"], cache=False, progress=False)
    fast = battery(frame, **kw)
    ref = battery(frame, backend="reference", **kw)
    m = fast.merge(ref, on=["trait", "attribute", "test"], suffixes=("_f", "_r"))
    assert len(m) == len(fast) == len(ref)
    for t, sub in m.groupby("test"):
        rel = (sub.pvalue_f - sub.pvalue_r).abs() / sub.pvalue_r.clip(lower=1e-300)
        assert rel.max() < (5e-3 if t == "rcit" else 1e-4), t
        assert (sub.reject_f == sub.reject_r).all(), t


def test_conditional_cache_is_keyed_on_the_conditioning_set(celeb, tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONAX_CACHE", str(tmp_path))
    a = battery(celeb, attributes=["height_cm"], tests=["kci"], given=["gender"], progress=False)
    b = battery(celeb, attributes=["height_cm"], tests=["kci"], given=["occupation"], progress=False)
    again = battery(celeb, attributes=["height_cm"], tests=["kci"], given=["gender"], progress=False)
    assert not np.allclose(a.pvalue, b.pvalue)
    pd.testing.assert_frame_equal(a, again)
    assert set(b["given"]) == {"occupation"}


def test_continuous_conditioning_column_takes_the_continuous_path():
    rng = np.random.default_rng(0)
    n = 150
    z = rng.normal(size=n)
    frame = pd.DataFrame({"t": np.round(np.clip(z + rng.normal(size=n), -2, 2)), "a": z + rng.normal(size=n), "z": z})
    res = battery(frame, traits=["t"], attributes=["a"], tests=["kci"], given=["z"], cache=False, progress=False)
    direct = test_given("kci", frame.t, frame.a, frame.z, backend="reference")
    assert res.pvalue.iloc[0] == pytest.approx(direct.pvalue, rel=1e-9)


def test_conditional_battery_errors(celeb):
    kw = dict(cache=False, progress=False)
    with pytest.raises(ParameterError, match="no conditional form"):
        battery(celeb, tests=["hsic_gamma"], given=["gender"], **kw)
    with pytest.raises(ParameterError, match="not in the frame"):
        battery(celeb, tests=["kci"], given=["genderr"], **kw)
    with pytest.raises(ParameterError, match="trait"):
        battery(celeb, tests=["kci"], given=["openness"], **kw)
    with pytest.raises(ParameterError, match="not discrete"):
        battery(celeb, tests=["chi2"], given=["height_cm"], **kw)
    with pytest.raises(ParameterError, match="nothing left"):
        battery(celeb, attributes=["gender"], tests=["kci"], given=["gender"], **kw)


def test_contingency_tests_with_no_discrete_attribute_is_an_error(celeb):
    frame = celeb.frame
    with pytest.raises(ParameterError, match="none of the attributes"):
        battery(frame, traits=["openness"], attributes=["height_cm", "gender"], tests=["kci", "chi2"],
                discrete=[], cache=False, progress=False)
    with pytest.raises(ParameterError, match="need to know which attributes are discrete"):
        battery(frame, traits=["openness"], attributes=["gender"], tests=["g2"], cache=False, progress=False)
    with pytest.raises(ValueError):       # ParameterError is a ValueError (old code keeps working)
        battery(celeb, attributes=["height_cm"], tests=["chi2"], cache=False, progress=False)


# --------------------------------------------------------------------------- names
def test_hsic_is_a_deprecated_alias_of_hsic_gamma():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=200), rng.normal(size=200)
    with pytest.warns(FutureWarning, match="hsic_gamma"):
        old = test("hsic", x, y)
    new = test("hsic_gamma", x, y)
    assert old.test == new.test == "hsic_gamma" and old.pvalue == new.pvalue
    assert "hsic" in TESTS and "hsic" not in list(TESTS)
    with pytest.warns(FutureWarning):
        res = battery(pd.DataFrame({"t": x, "a": y}), traits=["t"], attributes=["a"], tests=["hsic"], cache=False,
                      progress=False)
    assert set(res["test"]) == {"hsic_gamma"}


def test_hsic_hyppo_is_hyppos_test_on_z_scored_data():
    from hyppo.independence import Hsic

    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, 120)
    y = x ** 2 + 0.2 * rng.normal(size=120)
    zx, zy = (x - x.mean()) / x.std(ddof=1), (y - y.mean()) / y.std(ddof=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        _, hp = Hsic().test(zx, zy, workers=1, auto=True, random_state=0)
    for backend in ("fast", "reference"):
        r = test("hsic_hyppo", x, y, backend=backend)
        assert r.test == "hsic_hyppo" and r.pvalue == pytest.approx(hp, rel=1e-12)
    # z-scoring makes it unit-free: cm vs m give the same answer (hyppo on raw units would not)
    assert test("hsic_hyppo", 100 * x, y).pvalue == pytest.approx(test("hsic_hyppo", x, y).pvalue, rel=1e-9)
    ref = test("hsic_gamma", 100 * x, y, backend="reference")
    assert ref.details["hyppo_pvalue"] == pytest.approx(hp, rel=1e-9) and ref.details["hyppo_inputs"] == "z-scored"


# --------------------------------------------------------------------------- planted truth
def test_planted_truth_has_confounded_pairs_and_the_battery_finds_them(celeb):
    truth = celeb.truth.pairs_given(["gender", "occupation"])
    assert {"trait", "attribute", "marginal", "conditional", "change"} <= set(truth.columns)
    away = truth[truth.change == "explained away"]
    assert len(away) >= 5 and "gender" not in set(truth.attribute)
    attrs = sorted(set(away.attribute))[:3]
    kw = dict(attributes=attrs, tests=["kci"], cache=False, progress=False)
    changes = decision_changes(battery(celeb, **kw), battery(celeb, given=["gender", "occupation"], **kw),
                               truth=truth)
    check = change_check(changes)
    assert check.loc["kci", "planted"] == int((away.attribute.isin(attrs)).sum())
    assert check.loc["kci", "hits"] >= 1
    assert check.loc["kci", "spurious_given"] <= 2
    assert {"pvalue_marginal", "pvalue_given"} <= set(changes.columns)
    with pytest.warns(DeprecationWarning, match="'p_given' of decision_changes"):
        assert changes["p_given"].equals(changes["pvalue_given"])


def test_cli_conditional_battery(tmp_path):
    from personax.cli import main

    out = tmp_path / "r.csv"
    assert main(["independence", "battery", "--dataset", "athlepersona", "--n", "300", "--given", "league",
                 "--attributes", "height_cm,league,birth_month", "--out", str(out), "--no-cache"]) == 0
    r = pd.read_csv(out, keep_default_na=False)
    assert set(r["given"]) == {"league"} and set(r["test"]) == {"kci", "rcit", "chi2", "g2"}
    assert set(r["attribute"]) == {"height_cm", "birth_month"}
