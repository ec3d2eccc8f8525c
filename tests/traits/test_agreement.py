"""Agreement statistics: published worked example, reference libraries, bootstrap behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from personax.traits.agreement import (
    LEVELS,
    _icc_weighted,
    _spearman_weighted,
    agreement_summary,
    agreement_table,
    icc,
    krippendorff_alpha,
    pairwise_spearman,
)

NAN = np.nan
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers
# x 12 units with missing values.  Published: nominal .743, ordinal .815, interval .849, ratio .797.
KRIPP_EXAMPLE = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]).T  # units x raters
PUBLISHED = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}


@pytest.mark.parametrize("level", LEVELS)
def test_krippendorff_worked_example(level):
    assert krippendorff_alpha(KRIPP_EXAMPLE, level) == pytest.approx(PUBLISHED[level], abs=5e-4)


def test_krippendorff_edge_cases():
    perfect = np.array([[1, 1, 1], [2, 2, 2], [3, 3, NAN]])
    assert krippendorff_alpha(perfect, "ordinal") == pytest.approx(1.0)
    assert np.isnan(krippendorff_alpha(np.ones((5, 3)), "interval"))  # no variation: undefined
    assert np.isnan(krippendorff_alpha(np.full((4, 2), NAN)))
    with pytest.raises(ValueError, match="level"):
        krippendorff_alpha(perfect, "cardinal")
    # a unit seen by one rater only is not pairable and does not change alpha
    extra = np.vstack([KRIPP_EXAMPLE, [[5, NAN, NAN, NAN]]])
    assert krippendorff_alpha(extra, "interval") == pytest.approx(krippendorff_alpha(KRIPP_EXAMPLE, "interval"))


def _ratings(n, rho, rng, k=3, levels=3):
    z = rng.standard_normal(n)
    out = []
    for _ in range(k):
        x = np.sqrt(rho) * z + np.sqrt(1 - rho) * rng.standard_normal(n)
        out.append(np.digitize(x, np.quantile(x, np.linspace(0, 1, levels + 1)[1:-1])) + 1.0)
    return np.column_stack(out)


def test_icc_wrapper_matches_closed_form_and_drops_incomplete_rows():
    rng = np.random.default_rng(3)
    y = _ratings(200, 0.5, rng)
    y[:10, 1] = NAN
    res = icc(y).set_index("measure")
    full = y[np.isfinite(y).all(1)]
    closed = _icc_weighted(full, np.ones((1, len(full))))
    for m, v in closed.items():
        assert res.loc[m, "estimate"] == pytest.approx(float(v[0]), abs=1e-10)
    assert (res["n_units"] == 190).all()
    assert list(res.columns) == ["estimate", "ci_low", "ci_high", "F", "pvalue", "n_units", "n_raters"]


def test_pval_is_a_deprecated_name_of_pvalue():
    rng = np.random.default_rng(3)
    y = _ratings(60, 0.5, rng)
    res, sp = icc(y), pairwise_spearman(y)
    assert "pval" not in res.columns and "pval" not in sp.columns
    with pytest.warns(DeprecationWarning, match="column 'pval' of icc\\(\\) is deprecated.*use 'pvalue'"):
        old = res["pval"]
    assert old.equals(res["pvalue"])
    with pytest.warns(DeprecationWarning, match="pairwise_spearman"):
        assert sp.pval.equals(sp["pvalue"])


def test_bootstrap_closed_forms_equal_recomputation_on_resampled_data():
    rng = np.random.default_rng(4)
    y = _ratings(150, 0.4, rng)
    idx = rng.integers(0, 150, 150)
    w = np.bincount(idx, minlength=150)[None, :].astype(float)
    closed = _icc_weighted(y, w)
    direct = icc(y[idx]).set_index("measure")["estimate"]
    for m in closed:
        assert closed[m][0] == pytest.approx(direct[m], abs=1e-10)
    rho = _spearman_weighted(y[:, 0], y[:, 2], w)[0]
    assert rho == pytest.approx(spearmanr(y[idx, 0], y[idx, 2]).statistic, abs=1e-12)


def test_pairwise_spearman_matches_scipy():
    rng = np.random.default_rng(5)
    y = _ratings(100, 0.6, rng)
    y[::7, 0] = NAN
    res = pairwise_spearman(pd.DataFrame(y, columns=["a", "b", "c"]))
    ok = np.isfinite(y[:, 0])
    assert res.iloc[0]["rho"] == pytest.approx(spearmanr(y[ok, 0], y[ok, 1]).statistic)
    assert res.iloc[0]["n_units"] == ok.sum() and list(res["rater_b"]) == ["b", "c", "c"]


def _frame(y, trait="openness"):
    return pd.DataFrame({f"{l}_{trait}": y[:, i] for i, l in enumerate(("chatgpt", "gemini", "llama"))})


def test_agreement_table_schema_and_determinism():
    rng = np.random.default_rng(6)
    y = _ratings(300, 0.5, rng)
    y[rng.random(y.shape) < 0.1] = 0  # insufficient information
    f = _frame(y)
    a = agreement_table(f, traits=["openness"], n_boot=200, seed=11)
    b = agreement_table(f, traits=["openness"], n_boot=200, seed=11)
    c = agreement_table(f, traits=["openness"], n_boot=200, seed=12)
    pd.testing.assert_frame_equal(a, b)
    assert np.allclose(a["estimate"], c["estimate"]) and not np.allclose(a["ci_low"], c["ci_low"])
    assert list(a.columns) == ["trait", "measure", "estimate", "ci_low", "ci_high", "n_units", "n_boot",
                               "estimate_source"]
    assert list(a["measure"]) == ["alpha_ordinal", "alpha_interval", "ICC(A,1)", "ICC(C,1)", "ICC(C,k)",
                                  "spearman_chatgpt_gemini", "spearman_chatgpt_llama", "spearman_gemini_llama"]
    assert (a["ci_low"] <= a["estimate"]).all() and (a["estimate"] <= a["ci_high"]).all()
    # zeros are treated as missing: alpha equals alpha of the NaN-coded table
    coded = np.where(y == 0, NAN, y)
    assert a.iloc[0]["estimate"] == pytest.approx(krippendorff_alpha(coded, "ordinal"))
    assert agreement_summary(a).shape == (1, 8)
    with pytest.raises(KeyError, match="chatgpt_conscientiousness"):
        agreement_table(f, traits=["conscientiousness"], n_boot=0)


def test_bootstrap_ci_coverage_under_null_and_power_under_agreement():
    # Independent raters: true alpha = 0 (chance agreement).  95% CIs should cover 0 in
    # about 95% of replications; with planted agreement they should exclude 0.
    rng = np.random.default_rng(7)
    covered, excluded = 0, 0
    reps = 100
    for r in range(reps):
        null = _frame(_ratings(200, 0.0, rng))
        t = agreement_table(null, traits=["openness"], n_boot=300, seed=r, measures=("alpha",))
        row = t.set_index("measure").loc["alpha_interval"]
        covered += row.ci_low <= 0 <= row.ci_high
        dep = _frame(_ratings(200, 0.3, rng))
        t = agreement_table(dep, traits=["openness"], n_boot=300, seed=r, measures=("alpha",))
        row = t.set_index("measure").loc["alpha_interval"]
        excluded += row.ci_low > 0
    assert 0.88 <= covered / reps <= 0.995, covered
    assert excluded / reps >= 0.95, excluded
