"""Chapter 04b's steps and sentences (``personax.independence.beyond``): each sentence reads its own run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from personax.data import load
from personax.data.synthetic import CONFOUNDERS
from personax.independence import beyond
from personax.independence.confounding import change_check


@pytest.fixture(scope="module")
def celeb():
    return {"celebpersona": load("celebpersona", n=400, seed=0)}


@pytest.fixture(scope="module")
def conditional(celeb):
    return beyond.conditional_batteries(celeb, CONFOUNDERS, tests=["kci", "chi2"], alpha=0.05, seed=0, cache=False)


def test_conditional_counts_are_the_batteries_own(conditional):
    u, c = conditional["celebpersona"]
    assert set(c["attribute"]).isdisjoint(CONFOUNDERS["celebpersona"])  # Z itself is not tested
    counts = beyond.conditional_counts(conditional).iloc[0]
    assert counts["dependent given Z (BH)"] == int(c["reject"].sum())
    assert counts["dependent, unconditional (BH)"] == int(u[u.attribute.isin(c.attribute)]["reject"].sum())
    assert counts["pairs × tests"] == len(c)


def test_confounding_sentence_carries_the_check_numbers(celeb, conditional):
    changes = beyond.changes_by_dataset(conditional, celeb, CONFOUNDERS)
    k = change_check(changes["celebpersona"]).loc["kci"]
    text = beyond.sentence_confounding(changes, conditional)
    assert f"of {int(k.planted)} planted explained-away pairs KCI finds {int(k.hits)} (recall {k.recall:.2f})" in text
    assert "χ²" in text and "G² 0" in text  # g2 was not run: counted as 0 rejections, not an error
    real = {ds: ch.drop(columns=[c for c in ch if c.startswith("planted")]) for ds, ch in changes.items()}
    assert beyond.sentence_confounding(real, conditional) == "Real data: no planted truth to check against."


def test_rater_sentence_counts_agreement(celeb):
    agreement, aggregate = beyond.rater_runs(celeb, alpha=0.05, seed=0, attributes=["gender", "height_cm"],
                                             cache=False)
    a = agreement["celebpersona"]
    text = beyond.sentence_raters(agreement, aggregate)
    n_all = int((a["n_agree"] == a["n_raters"]).sum())
    assert f"all three raters agree with the aggregate on {n_all} of {len(a)} pairs" in text
    assert len(aggregate["celebpersona"]) == len(a)


def test_hsic_circle_power_and_speed_sentences():
    hsic = pd.DataFrame({"trait": ["o", "o", "c", "c"], "attribute": ["a"] * 4,
                         "test": ["hsic_gamma", "hsic_hyppo"] * 2, "reject_raw": [True, False, False, False]})
    assert "disagree on **1 of 2** pairs at p < 0.05" in beyond.sentence_hsic(hsic, "celebpersona", 400, 0.05)
    circle = pd.DataFrame({"power": [0.9, 0.4]}, index=["hsic_gamma", "hsic_hyppo"])
    assert "in 90% of them and hyppo's HSIC in 40%; their decisions differ on 50 of 100" in \
        beyond.sentence_circle(circle, 50, 100)
    mde = pd.DataFrame({"test": ["kci", "kci", "rcit"], "beta80": [0.1, 0.2, 0.9], "r80": [0.05, 0.08, 0.5]})
    text = beyond.sentence_power(mde, 50, 0.05)
    assert "β ≈ 0.100–0.200" in text and "r ≈ 0.050–0.080" in text and "± ~0.06" in text
    assert beyond.conditional_speed({}).columns.tolist() == beyond.SPEED_COLUMNS
    assert beyond.sentence_speed(beyond.conditional_speed({})).startswith("No Level I benchmark results")
    level1 = pd.DataFrame({"test": ["kci", "all|gender+occupation", "kci|gender+occupation"], "n_rows": [9444] * 3,
                           "n_pairs": [60] * 3, "fast_wall_s": [1.0, 12.5, 8.0], "ref_n_rows": [1000] * 3,
                           "ref_wall_s_extrapolated": [10.0, 36000.0, 30000.0], "speed_ratio": [10, 2880, 3750],
                           "max_rel_p_diff": [1e-9] * 3, "decision_disagreements": [0] * 3,
                           "ref_scaling_exponent": [np.nan, np.nan, 2.5]})
    cond = beyond.conditional_speed({"level1": level1})
    assert list(cond["test"]) == ["all|gender+occupation", "kci|gender+occupation"]
    assert "**12.5 s**" in beyond.sentence_speed(cond) and "**10.0 h**" in beyond.sentence_speed(cond)
    assert "exponent 2.50" in beyond.sentence_speed(cond)
