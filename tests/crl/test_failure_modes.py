"""Tests of personax.crl.failure_modes: the grouping by noise law and the sparsity-ablation table."""

import pandas as pd
import pytest

from personax.crl import failure_modes as fm
from personax.crl.designs import random_design


def test_design_settings_match_the_designs():
    t = fm.design_settings(["design:3", "design:6", "design:1000", "numerical", "design:2001s"])
    assert list(t.index) == ["design:3", "design:6", "design:1000"]
    for b in t.index:
        info = random_design(int(b.split(":")[1]), n=50).info["design"]
        assert t.loc[b, "noise"] == info["noise"] and t.loc[b, "strength"] == info["strength"]


def test_by_noise_law_groups_family_rows_only():
    labels = ["design:3", "design:3", "design:6", "design:1000", "numerical"]
    res = pd.DataFrame({"benchmark": labels, "method": "personax", "seed": [0, 1, 0, 0, 0],
                        "conditions_satisfied": [True, True, True, False, False],
                        "mcc": [0.8, 0.9, 0.7, 0.1, 0.2], "mcc_m1": 0.5, "mcc_m2": 0.5, "shd": 1, "shd_empty": 2})
    t = fm.by_noise_law(res)
    s = fm.design_settings(["design:3", "design:6"])
    assert t["fits"].sum() == 3  # the violating design and numerical are left out
    res_f = res.iloc[:3].join(s, on="benchmark")
    expected = res_f.groupby(["noise", "strength"])["mcc"].mean()
    got = t.set_index(["noise", "strength"])["mcc"]
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False)
    assert "weakest group" in fm.sentence_noise_law(t)


def test_sparsity_ablation_pairs_variants():
    rows = []
    for b, d0, d1 in [("design:14", 0.87, 0.99), ("design:4", 0.95, 0.80), ("design:15", 0.99, 0.995)]:
        for v, m in ((fm.DEFAULT_VARIANT, d0), ("s2_sparsity=0.1", d1)):
            rows.append({"variant": v, "benchmark": b, "seed": 0, "noise": "gaussian", "strength": 1.0,
                         "n_edges": 3, "shd_empty": 3, "mcc": m, "shd": 1})
    t = fm.sparsity_ablation(pd.DataFrame(rows)).set_index("benchmark")
    assert t.loc["design:14", "delta_mcc"] == pytest.approx(0.12)
    assert t.loc["design:4", "delta_mcc"] == pytest.approx(-0.15)
    text = fm.sentence_sparsity(t.reset_index())
    assert "helps 1 (design:14" in text and "hurts 1 (design:4" in text


def test_machine_spread_counts_identical_fits():
    table = pd.DataFrame({"benchmark": ["design:1", "design:2"], "seed": [0, 0], "mcc default": [0.9, 0.8]})
    res = pd.DataFrame({"benchmark": ["design:1", "design:2", "design:3"], "seed": 0, "method": "personax",
                        "mcc": [0.9, 0.85, 0.7]})
    text = fm.sentence_machine_spread(table, res)
    assert "1 of 2 agree to six decimals" in text and "up to 0.050" in text
    assert "No fit" in fm.sentence_machine_spread(table, res.assign(seed=1))
