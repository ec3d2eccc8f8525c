"""The Performance page's loader: reads committed CSVs, summarises them, fails clearly."""

from __future__ import annotations

import pandas as pd
import pytest

from personax import performance
from personax.plots import performance as pplots


def _level1_frame():
    return pd.DataFrame({
        "test": ["kci", "chi2", "all"], "n_pairs": [95, 75, 170], "fast_wall_s": [5.0, 0.1, 5.1],
        "ref_wall_s_extrapolated": [1000.0, 3.0, 1003.0], "speed_ratio": [200.0, 30.0, 196.7],
        "max_abs_p_diff": [1e-13, 0.0, 1e-13], "decision_disagreements": [0, 0, 0],
        "device": ["cpu", "cpu", "cpu"], "cpu_count": [2, 2, 2], "torch_threads": [2, 2, 2],
        "timestamp_utc": ["2026-11-25T00:00:00Z"] * 3,
    })


def test_load_results_reads_every_csv(tmp_path):
    _level1_frame().to_csv(tmp_path / "level1.csv", index=False)
    pd.DataFrame({"method": ["a"], "samples_per_s": [10.0], "time_to_mcc90_s": [float("nan")]}).to_csv(
        tmp_path / "crl.csv", index=False)
    res = performance.load_results(tmp_path)
    assert list(res) == ["crl", "level1"]
    summary = performance.machine_summary(res)
    assert set(summary["benchmark"]) == {"crl", "level1"}
    row = summary.set_index("benchmark").loc["level1"]
    assert row["device"] == "cpu" and row["command"] == "python benchmarks/level1.py"


def test_level1_summary_schema_and_figure():
    s = performance.level1_summary(_level1_frame())
    assert list(s.columns) == ["test", "pairs", "fast_s", "reference_s", "speedup", "max_abs_p_diff",
                               "disagreements"]
    assert s.loc[s["test"] == "kci", "speedup"].item() == 200.0
    fig = pplots.level1_speed(s)
    # one pair of bars per test, the "all" row excluded
    assert len(fig.axes[0].patches) == 4


def test_level1_summary_rejects_foreign_csv():
    with pytest.raises(ValueError, match="level1.csv lacks columns"):
        performance.level1_summary(pd.DataFrame({"test": ["kci"]}))


def test_missing_folder_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="make benchmarks"):
        performance.load_results(tmp_path / "absent")


def test_committed_results_are_readable():
    res = performance.load_results()
    assert "level1" in res
    s = performance.level1_summary(res["level1"])
    assert s["disagreements"].fillna(0).astype(int).ge(0).all()


def test_crl_speed_reads_the_benchmark_schema():
    from personax.crl.report import speed_table

    df = pd.DataFrame({"benchmark": ["numerical"] * 3 + ["design:0"],
                       "method": ["personax", "personax", "mcl", "personax"],
                       "seed": [0, 1, 0, 0], "seconds": [50.0, 70.0, 20.0, 99.0],
                       "samples_per_s": [1000.0, 3000.0, float("nan"), 5.0], "machine": ["cpu"] * 4})
    t = speed_table(df)
    assert list(t["method"]) == ["personax", "mcl"] and list(t["fits"]) == [2, 1]
    assert t.loc[0, "seconds_mean"] == 60.0 and t.loc[0, "samples_per_s_mean"] == 2000.0
    fig = pplots.crl_speed(df)
    assert len(fig.axes) == 2 and len(fig.axes[1].patches) == 2
