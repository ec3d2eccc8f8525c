"""Figures of the *Performance* page: speed-ups of the Level I battery and CRL training speed."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from personax.plots.layout import readable


def level1_speed(summary: pd.DataFrame, *, ax=None):
    """Horizontal bars of wall time per test, fast vs reference backend (log scale)."""
    per_test = summary[~summary["test"].astype(str).str.startswith("all")]   # "all" and "all|<given>" totals
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.6 * len(per_test) + 1.5))
    y = np.arange(len(per_test))
    ax.barh(y - 0.2, per_test["reference_s"], height=0.4, color="#9ecae1", label="reference libraries (extrapolated)")
    ax.barh(y + 0.2, per_test["fast_s"], height=0.4, color="#08519c", label="personax fast backend")
    for yi, (_, r) in zip(y, per_test.iterrows()):
        ax.text(max(r["reference_s"], r["fast_s"]) * 1.3, yi, f"×{r['speedup']:.0f}", va="center", fontsize=9)
    ax.set_yticks(y, per_test["test"])
    ax.set_xscale("log")
    ax.set_xlabel("wall time for the whole grid (s, log scale)")
    ax.set_title("Level I battery at CelebPersona scale")
    ax.legend(loc="lower right", fontsize=8)
    ax.figure.tight_layout()
    return readable(ax.figure)


def crl_speed(df: pd.DataFrame):
    """Two panels: training throughput and wall seconds per fit, per (benchmark, method).

    ``df`` is ``benchmarks/results/crl.csv`` (one row per benchmark, method and seed) or
    :func:`personax.crl.report.speed_table` of it.
    """
    from personax.crl.report import speed_table

    t = df if "seconds_mean" in df else speed_table(df)
    labels = [f"{b} · {m}" for b, m in zip(t["benchmark"], t["method"])]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 0.35 * len(t) + 1.4))
    a.barh(labels, t["samples_per_s_mean"].fillna(0), color="#31a354")
    a.set_xlabel("training samples / s")
    a.set_title("throughput")
    b.barh(labels, t["seconds_mean"], color="#756bb1")
    b.set_yticklabels([])
    b.set_xlabel("wall seconds per fit")
    b.set_title("time per fit")
    for ax in (a, b):
        ax.invert_yaxis()
    fig.tight_layout()
    return readable(fig)
