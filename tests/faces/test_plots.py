"""The face chapter's figures build from real extract/audit outputs (Agg backend)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from personax.faces import PrivacyKey, obfuscate
from personax.faces.audit import procrustes_attack, reidentification
from personax.plots import faces as fp


def _frame():
    return pd.DataFrame({"source": ["a", "b", "c"], "status": ["ok", "no_face", "unreadable"],
                         "message": ["", "", ""], "n_faces": pd.array([1, 0, None], dtype="Int64"),
                         "box_x": pd.array([10, None, None], dtype="Int64"),
                         "box_y": pd.array([5, None, None], dtype="Int64"),
                         "box_w": pd.array([20, None, None], dtype="Int64"),
                         "box_h": pd.array([20, None, None], dtype="Int64"),
                         "confidence": [0.9, np.nan, np.nan]})


def test_detection_overlay_draws_one_box_per_used_face():
    imgs = {k: np.zeros((40, 40, 3), np.uint8) for k in "abc"}
    fig = fp.detection_overlay(imgs, _frame(), ncols=2)
    axes = [ax for ax in fig.axes if ax.images]
    assert len(axes) == 3 and len(axes[0].patches) == 1 and not axes[1].patches
    assert "no_face" in axes[1].get_title()
    with pytest.raises(ValueError, match="2 images but 3 rows"):
        fp.detection_overlay({"a": imgs["a"], "b": imgs["b"]}, _frame())
    plt.close("all")


def test_similarity_heatmap_and_status_counts():
    X = np.array([[1.0, 0.0], [0.9, 0.1], [np.nan, np.nan]])
    fig = fp.similarity_heatmap(X, ["a", "b", "c"])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts.count("1.00") == 2 and len(texts) == 4  # NaN row: no numbers
    fig = fp.status_counts(_frame())
    assert len(fig.axes[0].patches) == 5  # every status shown, zero counts included
    plt.close("all")


def test_privacy_figures():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 8))
    versions = {m: obfuscate(X, PrivacyKey.for_data(X, seed=1, mode=m)) for m in ("orthogonal", "orthogonal+monotone")}
    fig = fp.distance_preservation(X, versions, n_pairs=200)
    assert len(fig.axes) == 2
    reid = {m: reidentification(X, Z) for m, Z in versions.items()}
    attack = {m: procrustes_attack(X, Z, [4, 16]) for m, Z in versions.items()}
    fig = fp.reidentification_plot(reid, attack)
    assert len(fig.axes) == 2 and len(fig.axes[1].lines) == 3
    plt.close("all")
