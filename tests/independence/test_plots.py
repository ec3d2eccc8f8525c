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
