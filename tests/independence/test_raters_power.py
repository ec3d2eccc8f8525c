"""Per-rater robustness and simulated power (``personax.independence.raters`` / ``power``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from personax.data import load
from personax.errors import ParameterError
from personax.independence.power import detectable_effect, power_curve, simulate_traits
from personax.independence.raters import agreement_summary, rater_agreement, rater_batteries, rater_frame


@pytest.fixture(scope="module")
def athle():
    return load("athlepersona")


def test_rater_frame_uses_the_raters_scores_with_zero_as_missing(athle):
    f = rater_frame(athle.frame, "gemini", ["openness"])
    raw = athle.frame["gemini_openness"]
    assert f["openness"].isna().sum() == int((raw == 0).sum() + raw.isna().sum())
    ok = raw != 0
    assert (f.loc[ok, "openness"] == raw[ok]).all()
    with pytest.raises(ParameterError, match="rater column"):
        rater_frame(athle.frame, "claude", ["openness"])


def test_rater_batteries_and_agreement_counts(athle):
    res = rater_batteries(athle, attributes=["league", "height_cm"], cache=False, progress=False)
    assert list(dict.fromkeys(res["rater"])) == ["aggregate", "chatgpt", "gemini", "llama"]
    agr = rater_agreement(res)
    assert len(agr) == 10                                   # 5 traits × 2 attributes × kci
    # recount one row by hand
    row = agr.iloc[0]
    sub = res[(res.trait == row.trait) & (res.attribute == row.attribute) & (res.test == row.test)]
    dec = dict(zip(sub.rater, sub.reject))
    assert row["aggregate"] == dec["aggregate"]
    assert row["n_agree"] == sum(dec[r] == dec["aggregate"] for r in ("chatgpt", "gemini", "llama"))
    assert ((agr.n_agree >= 0) & (agr.n_agree <= agr.n_raters)).all()
    summ = agreement_summary(agr)
    assert summ.loc["kci", "pairs"] == 10
    assert sum(summ.loc["kci", f"{k} agree"] for k in range(4)) == 10
    with pytest.raises(ParameterError):
        rater_agreement(res.drop(columns="rater"))


def test_simulated_traits_are_five_level_and_correlate_as_planted():
    rng = np.random.default_rng(0)
    s = rng.standard_normal(3000)
    t = simulate_traits(s, [0.0, 0.5], reps=2, rng=rng)
    assert t.shape == (3000, 4) and np.isfinite(t).all()
    assert set(np.unique(t)) <= {1.0, 1.5, 2.0, 2.5, 3.0}
    r = [np.corrcoef(t[:, j], s)[0, 1] for j in range(4)]
    assert abs(r[0]) < 0.06 and abs(r[1]) < 0.06 and r[2] > 0.25 and r[3] > 0.25
    with pytest.raises(ParameterError, match="beta"):
        simulate_traits(s, [1.2], reps=2, rng=rng)


def test_power_curve_size_at_zero_and_power_grows(athle):
    curve = power_curve(athle.frame, "height_cm", tests=["kci", "rcit"], n=300, grid=(0, 6), reps=60, seed=1)
    for t, sub in curve.groupby("test"):
        zero, big = sub[sub.k == 0].iloc[0], sub[sub.k == 6].iloc[0]
        k0 = int(round(zero.power * zero.reps))
        assert binomtest(k0, int(zero.reps), 0.05).pvalue > 1e-3, (t, k0)
        assert big.power > 0.6 and big.r_obs > zero.r_obs
    mde = detectable_effect(curve)
    assert set(mde.columns) >= {"attribute", "test", "n", "type1", "beta80", "r80", "reached"}


def test_detectable_effect_interpolates():
    curves = pd.DataFrame({"attribute": "a", "test": "kci", "n": 100, "beta": [0.0, 0.1, 0.2, 0.3],
                           "power": [0.05, 0.4, 0.6, 1.0], "r_obs": [0.0, 0.05, 0.1, 0.15]})
    row = detectable_effect(curves).iloc[0]
    assert row.type1 == 0.05 and row.reached
    assert row.beta80 == pytest.approx(0.25) and row.r80 == pytest.approx(0.125)
    never = detectable_effect(curves.assign(power=[0.05, 0.1, 0.2, 0.3])).iloc[0]
    assert not never.reached and np.isnan(never.beta80)


def test_power_curve_errors(athle):
    with pytest.raises(ParameterError, match="not in the frame"):
        power_curve(athle.frame, "shoe_size")
    with pytest.raises(ParameterError, match="reps"):
        power_curve(athle.frame, "height_cm", reps=1)


def test_circle_power_separates_the_two_hsics():
    from personax.independence.power import circle_power

    table, differ = circle_power(n=100, reps=30, seed=0)
    assert set(table.index) == {"hsic_gamma", "hsic_hyppo"} and (table["n"] == 100).all()
    # noise 0.3, 100 replicates measured 0.86 (Gamma-HSIC) vs 0.46 (hyppo), 40 decisions apart
    # (the outside measurement: 0.90 vs 0.37); 30 replicates are enough to see the gap
    assert table.loc["hsic_gamma", "power"] - table.loc["hsic_hyppo", "power"] >= 0.15
    assert differ >= 5
