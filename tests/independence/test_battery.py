"""The battery: schema roles, tidy output, BH, failures as NaN, cache, planted truth, CLI."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from personax.independence import battery, benjamini_hochberg, grid
from personax.independence.summary import (
    dependence_table,
    paper_comparison,
    permutation_null,
    pvalue_matrix,
    truth_recovery,
)


@pytest.fixture(scope="module")
def celeb():
    from personax.data.synthetic import generate

    return generate("celebpersona", n=800, seed=3, face_dim=16, text_dim=16)


@pytest.fixture(scope="module")
def celeb_result(celeb):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no test may fail on clean synthetic data
        return battery(celeb, cache=False, device="cpu")


def test_tidy_schema_and_roles(celeb, celeb_result):
    r = celeb_result
    assert list(r.columns) == grid.COLUMNS
    schema = celeb.schema
    n_attr, n_disc, n_tr = len(schema.attributes), len(schema.discrete_attributes), len(schema.traits)
    assert len(r) == 3 * n_attr * n_tr + 2 * n_disc * n_tr
    # chi2/g2 only on the schema's discrete attributes, kernel tests on all
    assert set(r.loc[r.test == "chi2", "attribute"]) == set(schema.discrete_attributes)
    assert set(r.loc[r.test == "kci", "attribute"]) == set(schema.attributes)
    assert r["pvalue"].between(0, 1).all() and (r["error"] == "").all()
    assert (r["n"] <= len(celeb.frame)).all() and (r["n"] > 700).all()
    assert r.attrs["n_failed"] == 0 and r.attrs["dataset"] == "celebpersona"


def test_bh_matches_statsmodels(celeb_result):
    for _, sub in celeb_result.groupby("test"):
        expected = multipletests(sub["pvalue"], method="fdr_bh")[1]
        np.testing.assert_allclose(sub["pvalue_bh"], expected, rtol=1e-12)
        assert (sub["reject"] == (sub["pvalue_bh"] < 0.05)).all()


def test_bh_ignores_nan_and_validates():
    p = np.array([0.01, np.nan, 0.04, 0.03, 0.5])
    adj = benjamini_hochberg(p)
    assert np.isnan(adj[1])
    np.testing.assert_allclose(adj[[0, 2, 3, 4]], multipletests(p[[0, 2, 3, 4]], method="fdr_bh")[1])
    with pytest.raises(ValueError):
        benjamini_hochberg([1.5])


def test_failed_tests_are_nan_with_error_and_counted():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"t": np.round(rng.uniform(1, 3, 200)), "const": np.ones(200),
                          "sparse": np.where(np.arange(200) < 5, 1.0, np.nan), "ok": rng.integers(0, 3, 200)})
    with pytest.warns(RuntimeWarning, match="produced no p-value"):
        r = battery(frame, traits=["t"], attributes=["const", "sparse", "ok"], discrete=["const", "sparse", "ok"],
                    cache=False, progress=False)
    bad = r[r.attribute.isin(["const", "sparse"])]
    assert bad["pvalue"].isna().all() and (bad["error"] != "").all()
    assert not bad["reject"].any() and not bad["reject_raw"].any()
    assert r.attrs["n_failed"] == len(bad) == 10
    assert r.loc[r.attribute == "ok", "pvalue"].notna().all()
    assert bad.loc[bad.attribute == "const", "error"].str.contains("constant").all()


def test_roles_must_come_from_schema_or_be_given():
    frame = pd.DataFrame({"t": [1.0, 2.0] * 20, "a": [0, 1, 1, 0] * 10})
    with pytest.raises(ValueError, match="dataset="):
        battery(frame, traits=["t"], attributes=["a"], cache=False)
    with pytest.raises(ValueError, match="not in the frame"):
        battery(frame, traits=["t"], attributes=["zzz"], tests=["kci"], cache=False)
    with pytest.raises(ValueError, match="unknown test"):
        battery(frame, traits=["t"], attributes=["a"], tests=["kcx"], cache=False)
    r = battery(frame, traits=["t"], attributes=["a"], tests=["kci"], cache=False, progress=False)
    assert len(r) == 1


def test_string_attribute_is_factorised():
    rng = np.random.default_rng(1)
    league = pd.Series(rng.choice(["NBA", "NFL", "ATP"], 300), dtype="string")
    trait = np.where(league == "NBA", 3.0, 1.0) + np.round(rng.uniform(0, 1, 300))
    frame = pd.DataFrame({"trait": trait, "league": league})
    r = battery(frame, traits=["trait"], attributes=["league"], discrete=["league"], cache=False, progress=False)
    assert (r["pvalue"] < 1e-6).all()


def test_cache_hit_skips_computation(celeb, monkeypatch, tmp_path):
    monkeypatch.setenv("PERSONAX_CACHE", str(tmp_path))
    first = battery(celeb, tests=("kci", "chi2"), cache=True, progress=False)
    assert list(tmp_path.rglob("*.json"))

    def boom(*a, **k):
        raise AssertionError("cache miss: the unit was recomputed")

    monkeypatch.setattr(grid, "_run_unit", boom)
    second = battery(celeb, tests=("kci", "chi2"), cache=True, progress=False)
    pd.testing.assert_frame_equal(first, second)
    # a different seed or option is a different key
    with pytest.raises(AssertionError, match="cache miss"):
        battery(celeb, tests=("kci",), cache=True, progress=False, options={"kci": {"min_n": 20}})


@pytest.mark.slow
def test_fast_and_reference_batteries_agree_on_a_small_sample():
    from personax.data.synthetic import generate

    ds = generate("athlepersona", n=300, seed=1, face_dim=16, text_dim=16)
    fast = battery(ds, cache=False, progress=False, options={"hsic_gamma": {"hyppo": False}})
    ref = battery(ds, cache=False, progress=False, backend="reference", options={"hsic_gamma": {"hyppo": False}})
    np.testing.assert_allclose(fast["pvalue"], ref["pvalue"], rtol=1e-6, atol=1e-14)
    assert (fast["reject"] == ref["reject"]).all()


def test_planted_truth_is_recovered(celeb, celeb_result):
    rec = truth_recovery(celeb_result, celeb.truth.dependent_pairs, celeb.truth.independent_pairs)
    assert set(rec.index) == {"kci", "rcit", "hsic_gamma", "chi2", "g2"}
    for t in ("kci", "hsic_gamma", "rcit"):
        assert rec.loc[t, "precision"] >= 0.9, rec
        assert rec.loc[t, "recall"] >= 0.7, rec
    assert (rec["failed"] == 0).all()


def test_summaries(celeb_result):
    m = pvalue_matrix(celeb_result, "kci")
    assert m.shape == (19, 5) and list(m.columns)[0] == "openness"
    assert pvalue_matrix(celeb_result, "chi2").shape[0] == 15
    d = dependence_table(celeb_result)
    assert set(d.columns) >= {"kci", "chi2", "n_tests_any"}
    assert d.loc["latitude", "chi2"] == "n/a"
    comp = paper_comparison(celeb_result, "celebpersona")
    assert list(comp.columns) == ["the paper reports", "reproduced here", "consistent"]
    assert len(comp) == 3
    with pytest.raises(ValueError, match="no rows"):
        pvalue_matrix(celeb_result, "nope")


def test_permutation_null_is_uniform_enough(celeb):
    frame = celeb.frame.iloc[:300]
    null = permutation_null(frame, ["openness", "extraversion"], ["height_cm", "gender", "birth_month"],
                            tests=("kci", "chi2"), n_perm=4, seed=0, dataset="celebpersona", cache=False)
    assert set(null["permutation"]) == {0, 1, 2, 3}
    p = null["pvalue"].dropna()
    assert len(p) == 4 * (2 * 3 + 2 * 2)
    assert 0.2 < p.mean() < 0.8  # uniform mean 0.5; not the near-zero p of the real dependences


def test_cli_battery_writes_csv(tmp_path):
    from personax.cli import main

    out = tmp_path / "r.csv"
    assert main(["independence", "battery", "--dataset", "athlepersona", "--source", "synthetic", "--n", "200",
                 "--tests", "kci,g2", "--out", str(out), "--no-cache"]) == 0
    r = pd.read_csv(out)
    assert set(r["test"]) == {"kci", "g2"} and len(r) == 5 * 8 + 5 * 4
    assert main(["independence", "list"]) == 0
    with pytest.raises(SystemExit):
        main(["independence", "battery", "--help"])


def test_battery_fast_paths_equal_pairwise_tests(celeb, celeb_result):
    # the battery's batched paths (shared kernel passes, batched RCIT, precomputed
    # contingency codes) must give what test() gives pair by pair
    from personax.independence import test as run_test

    rng = np.random.default_rng(0)
    rows = celeb_result.iloc[rng.choice(len(celeb_result), size=40, replace=False)]
    for tr, a, t, p in zip(rows["trait"], rows["attribute"], rows["test"], rows["pvalue"]):
        q = run_test(t, grid._numeric(celeb.frame[tr]), grid._numeric(celeb.frame[a]), seed=0).pvalue
        assert p == pytest.approx(q, rel=1e-10, abs=1e-15), (tr, a, t)


def test_shared_continuous_pass_with_several_masks_equals_pairwise():
    # > 2000 distinct attribute values: the one-pass continuous×grouped path, with traits
    # whose missing rows differ (two mask groups) and a trait sharing the attribute's mask
    from personax.independence import test as run_test

    rng = np.random.default_rng(5)
    n = 2300
    lat = rng.normal(size=n)
    frame = pd.DataFrame({"latitude": lat,
                          "t1": np.round(np.clip(2 + lat + rng.normal(size=n), 1, 3) * 2) / 2,
                          "t2": np.round(rng.uniform(1, 3, n)),
                          "t3": np.round(np.clip(2 - 0.5 * lat + rng.normal(size=n), 1, 3))})
    frame.loc[:40, "t2"] = np.nan
    frame.loc[100:130, "latitude"] = np.nan
    res = battery(frame, traits=["t1", "t2", "t3"], attributes=["latitude"], tests=("kci", "hsic_gamma", "rcit"),
                  cache=False, progress=False)
    for tr, t, p, n_used in zip(res["trait"], res["test"], res["pvalue"], res["n"]):
        r = run_test(t, frame[tr], frame["latitude"], seed=0)
        assert r.n == n_used
        assert p == pytest.approx(r.pvalue, rel=1e-9, abs=1e-15), (tr, t)
    assert (res.loc[res.trait != "t2", "pvalue"] < 1e-6).all()
