"""Smoke tests of the chapter's figures on a small battery (structure, not pixels)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from personax.independence import battery
from personax.plots import independence as iplots


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    n = 150
    a = rng.normal(size=n)
    frame = pd.DataFrame({"openness": np.round(np.clip(2 + a + rng.normal(size=n), 1, 3)),
                          "neuroticism": np.round(rng.uniform(1, 3, n)),
                          "height_cm": 170 + 8 * a, "gender": (a > 0).astype(int),
                          "birth_month": rng.integers(1, 13, n)})
    return battery(frame, traits=["openness", "neuroticism"], attributes=["height_cm", "gender", "birth_month"],
                   discrete=["gender", "birth_month"], cache=False, progress=False)


def test_heatmap_style(small):
    import matplotlib.pyplot as plt

    fig = iplots.pvalue_heatmap(small, "kci")
    ax = fig.axes[0]
    assert ax.get_title() == "KCI P-value Heatmap"
    assert ax.images[0].get_cmap().name == "Blues"
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 3 * 2 and all(len(t.split(".")[1]) == 3 for t in texts)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["O", "N"]
    plt.close(fig)
    fig = iplots.heatmap_panel(small, ["kci", "chi2"], suptitle="x")
    assert len([a for a in fig.axes if a.images]) == 2
    plt.close(fig)


def test_other_figures(small):
    import matplotlib.pyplot as plt

    null = small.assign(permutation=0)
    fig = iplots.pvalue_qq(null)
    assert fig.axes[0].get_xlabel().startswith("expected")
    plt.close(fig)
    rec = pd.DataFrame({"precision": [1.0, 0.5], "recall": [0.8, 0.4]}, index=["kci", "chi2"])
    plt.close(iplots.recovery_bars(rec))
    fig = iplots.backend_agreement(small, small[["trait", "attribute", "test", "pvalue"]])
    assert len(fig.axes[0].collections) == small["test"].nunique()
    plt.close(fig)


def test_beyond_the_paper_figures(small):
    import matplotlib.pyplot as plt

    from personax.independence.power import power_curve

    rng = np.random.default_rng(1)
    n = 150
    a = rng.normal(size=n)
    df = pd.DataFrame({"openness": np.round(np.clip(2 + a + rng.normal(size=n), 1, 3)), "height_cm": 170 + 8 * a,
                       "gender": (a > 0).astype(int), "Big_Nose": rng.integers(0, 2, n)})
    kw = dict(traits=["openness"], attributes=["height_cm", "Big_Nose", "gender"], tests=["kci"], cache=False,
              progress=False)
    unc = battery(df, **kw)
    cond = battery(df, given=["gender"], **kw)
    fig = iplots.conditional_heatmaps(unc, cond, "kci")
    left, right = [ax for ax in fig.axes if ax.images][:2]
    assert right.get_title() == "given gender" and "in Z" in [t.get_text() for t in right.texts]
    pick = ["height_cm", "Big_Nose"]
    changed = sum(bool(u) != bool(c) for u, c in zip(unc.set_index("attribute").loc[pick, "reject"],
                                                     cond.set_index("attribute").loc[pick, "reject"]))
    assert len(right.patches) == changed
    plt.close(fig)
    agr = pd.DataFrame({"trait": ["openness", "openness"], "attribute": ["height_cm", "Big_Nose"], "test": "kci",
                        "aggregate": [True, False], "n_agree": [3, 1], "n_raters": [3, 3]})
    fig = iplots.rater_agreement_heatmap({"x": agr})
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ["D 3", "· 1"]
    plt.close(fig)
    curve = power_curve(df, "height_cm", tests=["kci"], grid=(0, 3), reps=4, n=100)
    fig = iplots.power_curves(curve)
    assert fig.axes[0].get_title().startswith("height_cm (n = 100)")
    plt.close(fig)
    both = battery(df, traits=["openness"], attributes=["height_cm"], tests=["hsic_gamma", "hsic_hyppo"], cache=False,
                   progress=False)
    fig = iplots.hsic_comparison(both)
    assert fig.axes[0].get_title() == "Two tests called HSIC"
    plt.close(fig)
