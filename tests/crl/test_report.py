"""Chapter 05's sentences come from the numbers: summary bullets and target checks read crl_summary.csv."""

import numpy as np
import pandas as pd
import pytest

from personax.crl import report


def _summary():
    row = {"method": "personax", "seeds": 5, "mcc_mean": 0.97, "mcc_min": 0.93, "mcc_shared_mean": 0.99,
           "mcc_m1_mean": 0.96, "mcc_m2_mean": 0.88, "r2_mean": 0.98, "r2_leak_shared_mean": 0.05,
           "shd_mean": 0.5, "shd_empty_mean": 4.0, "ref_mcc_rotation_mean": 0.7, "ref_mcc_ica_mean": 0.6}
    fam = {**row, "benchmark": "design family (conditions met)", "designs": 20, "seeds": 20,
           "designs_mcc_ge_0.95": 14, "designs_shd_below_empty": 18}
    return pd.DataFrame([{**row, "benchmark": "numerical"}, fam])


def test_target_check_marks_each_target():
    chk = report.target_check(_summary(), "design family (conditions met)")
    held = dict(zip(chk["target"], chk["holds"]))
    assert held["overall MCC (mean over seeds)"] and not held["modality-2 block MCC"]
    assert held["SHD below the empty graph's"]


def test_summary_lines_read_the_numbers_and_name_missed_targets():
    text = report.summary_lines(_summary())
    lines = text.splitlines()
    assert len(lines) == 2 and lines[0].startswith("- **paper's numerical benchmark** (5 seeds): MCC 0.970")
    assert "(20 designs, 20 fits)" in lines[1] and "missed: modality-2 block MCC" in lines[1]
    assert "14 of 20 designs reach MCC ≥ 0.95" in lines[1]
    assert "SHD 0.5 vs 4.0" in lines[1]


def test_summary_lines_skip_missing_groups_and_show_nan_as_na():
    s = _summary().iloc[:1].copy()
    s["r2_mean"] = np.nan
    text = report.summary_lines(s)
    assert "R² n/a" in text and "design" not in text


def test_live_plan_per_profile():
    from personax.crl import report

    assert report.live_plan("ci") == {"seeds": [0], "n": 600, "n_images": 300, "methods": ["personax"],
                                      "live_extra": False, "block_r2": False}
    p = report.live_plan("paper", seeds=[3], n=100)
    assert p["seeds"] == [3] and p["n"] == p["n_images"] == 100 and p["live_extra"]
    with pytest.raises(ValueError, match="profile"):
        report.live_plan("fast")


def test_headline_reads_the_committed_summary():
    import pandas as pd

    from personax.crl import report

    s = pd.DataFrame([
        {"benchmark": "images_paper", "method": "personax", "seeds": 2, "mcc_mean": 0.611, "r2_mean": 0.922},
        {"benchmark": "images_paper", "method": "mmcrl", "seeds": 2, "mcc_mean": 0.52, "r2_mean": 0.93},
        {"benchmark": "numerical", "method": "personax", "seeds": 5, "mcc_mean": 0.876, "r2_mean": 0.964},
        {"benchmark": "design family (conditions met)", "method": "personax", "seeds": 60, "mcc_mean": 0.917,
         "r2_mean": 0.96, "designs": 20, "designs_mcc_ge_0.95": 11}])
    h = report.headline(s)
    assert "**Paper:** MCC 0.92, R² 0.96" in h
    assert "MCC 0.61, R² 0.92 (2 seeds), MMCRL 0.52 / 0.93" in h
    assert "numerical benchmark MCC 0.88, R² 0.96" in h and "20 random designs" in h and "11 of them" in h
    assert "no committed benchmark" in report.headline(None)


def test_chapter_setup_rejects_other_sources():
    from types import SimpleNamespace

    import personax.notebook
    from personax.crl import report

    with pytest.raises(personax.notebook.ParameterError, match="source='sample'"):
        report.chapter_setup(SimpleNamespace(source="hf"), "standin")
    assert report.chapter_setup(SimpleNamespace(source="sample"), "standin") is None


def test_contrast_ablation_groups_and_sentence():
    from personax.crl import report

    rows = []
    for bench, before, after in [("design:0", 0.75, 0.96), ("design:1", 0.93, 0.92), ("design:1000", 0.9, 0.93),
                                 ("design:2001s", 0.97, 0.98), ("numerical", 0.88, 0.87)]:
        row = {"benchmark": bench, "seed": 0}
        for c in ("mcc", "mcc_m1", "mcc_m2", "r2_block_m1", "r2_block_m2", "shd"):
            row[f"{c}_contrast0"], row[f"{c}_contrast1"] = before, after
        rows.append(row)
    t = report.contrast_ablation(pd.DataFrame(rows)).set_index("group")
    from personax.crl.benchmark_summary import FAMILY, SINGLE, VIOLATED

    assert list(t.index) == [FAMILY, VIOLATED, SINGLE, "numerical"]
    fam = t.loc["design family (conditions met)"]
    assert fam["fits"] == 2 and fam["fits_better"] == 1
    assert fam["mcc_contrast0"] == pytest.approx(0.84) and fam["mcc_contrast1"] == pytest.approx(0.94)
    text = report.sentence_contrast(t.reset_index())
    assert "MCC 0.840 → 0.940" in text and "higher MCC in 1 of 2 fits" in text and "numerical" in text


def test_summary_and_ablation_group_designs_alike():
    """One grouping rule: the summary's aggregate rows and the ablation's groups agree."""
    from personax.crl import benchmark_summary as bs

    res = pd.DataFrame({"benchmark": ["design:0", "design:1000", "design:2001s", "numerical"],
                        "method": "personax", "seed": 0, "conditions_satisfied": [True, False, True, False],
                        "mcc": [0.9, 0.8, 0.7, 0.6], "shd": [1, 2, 3, 4], "shd_empty": 3})
    summ = bs.summarize(res)
    agg = summ[summ["benchmark"].isin([bs.FAMILY, bs.VIOLATED, bs.SINGLE])].set_index("benchmark")
    assert agg.loc[bs.FAMILY, "mcc_mean"] == pytest.approx(0.9)
    assert agg.loc[bs.VIOLATED, "mcc_mean"] == pytest.approx(0.8)
    assert agg.loc[bs.SINGLE, "mcc_mean"] == pytest.approx(0.7)
    assert not agg.loc[bs.VIOLATED, "conditions_satisfied"]
    by_name = bs.family_group(res["benchmark"])
    by_column = bs.family_group(res["benchmark"], res["conditions_satisfied"])
    assert list(by_name) == list(by_column) == [bs.FAMILY, bs.VIOLATED, bs.SINGLE, "numerical"]
