"""``personax independence battery``: bad options stop before any test runs; failed tests are reported."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

AREA = "independence battery"


@pytest.fixture
def outdir(tmp_path):
    """An output folder with an earlier good result (checksummed by the cases)."""
    out = tmp_path / "results"
    out.mkdir()
    (out / "r.csv").write_text("trait,attribute,test,pvalue\nopenness,height_cm,kci,0.5\n")
    return out


def battery(out, *extra, dataset="athlepersona"):
    return ["independence", "battery", "--dataset", dataset, "--out", str(out / "r.csv"), "--no-cache", *extra]


@pytest.fixture(scope="module")
def degenerate(tmp_path_factory):
    """An AthlePersona table whose height is all missing and whose weight is constant: those tests cannot run."""
    from personax.data import load
    from personax.data.io import write_table

    data = load("athlepersona", n=120)
    data.frame["height_cm"] = np.nan
    data.frame["weight_kg"] = 80.0
    return write_table(data, tmp_path_factory.mktemp("degenerate") / "athle.parquet")


@pytest.mark.parametrize("extra, code, fragments", [
    (["--tests", "kci,foo"], 2, ["--tests 'kci,foo'", "['foo']", "kci,rcit,hsic,chi2,g2"]),
    (["--tests", ","], 2, ["--tests ','", "no test named"]),
    (["--tests", "chi2,g2", "--attributes", "height_cm,weight_kg"], 2,
     ["chi2, g2", "need discrete attributes", "['height_cm', 'weight_kg']", "birth_month"]),
    (["--traits", "openess"], 2, ["--traits", "['openess']", "did you mean 'openness'"]),
    (["--attributes", "height,league"], 2, ["--attributes", "['height']", "height_cm"]),
    (["--alpha", "2"], 2, ["--alpha", "(0, 1)"]),
    (["--alpha", "x"], 2, ["--alpha", "'x'"]),
    (["--n", "0"], 2, ["--n", "positive integer"]),
    (["--seed", "-4"], 2, ["--seed", "non-negative"]),
    (["--backend", "slow"], 2, ["--backend", "'slow'"]),
    (["--device", "tpu"], 2, ["--device 'tpu'", "unknown device"]),
])
def test_bad_option_stops_before_any_test(bad, outdir, extra, code, fragments):
    bad(battery(outdir, *extra), code=code, names=fragments, watch=[outdir])


def test_cuda_without_a_gpu(bad, outdir, no_gpu):
    bad(battery(outdir, "--device", "cuda"), code=2, names=["--device 'cuda'", "no CUDA GPU"], watch=[outdir])


def test_missing_source(bad, outdir, tmp_path):
    bad(battery(outdir, "--source", tmp_path / "nothere.csv"), code=1, names=["nothere.csv", "does not exist"],
        watch=[outdir])


def test_bad_table_names_the_cell(bad, outdir, tmp_path, sample_small):
    t = pd.read_csv(sample_small["folder"] / "athlepersona.csv")
    t["weight_kg"] = t["weight_kg"].astype(object)
    t.loc[7, "weight_kg"] = "heavy"
    t.to_csv(tmp_path / "heavy.csv", index=False)
    bad(battery(outdir, "--source", tmp_path / "heavy.csv"), code=1, names=["'weight_kg'", "rows [7]", "'heavy'"],
        watch=[outdir, tmp_path])


def test_missing_column_map(bad, outdir, sample_small):
    bad(battery(outdir, "--source", sample_small["folder"] / "athlepersona.csv", "--column-map", "nomap.yaml"),
        code=1, names=["nomap.yaml", "does not exist"], watch=[outdir])


def test_out_is_a_folder(bad, tmp_path):
    bad(["independence", "battery", "--dataset", "athlepersona", "--out", tmp_path], code=2,
        names=["--out", "is a folder"], watch=[tmp_path])


def test_failed_tests_exit_1_with_reasons_and_keep_the_earlier_result(bad, outdir, degenerate):
    out, err = bad(battery(outdir, "--source", degenerate, "--tests", "kci", "--attributes",
                           "height_cm,weight_kg,birth_month"), code=1,
                   names=["10 of 15 test(s) failed", "openness x height_cm [kci]: only 0 complete rows",
                          "weight_kg [kci]: y is constant", "r.failed.csv", "r.csv was not written",
                          "--allow-failures"],
                   watch=[outdir], created=["r.failed.csv"])
    assert "15 tests on 120 rows" in out and "kci 15 (10 failed)" in out
    table = pd.read_csv(outdir / "r.failed.csv")
    assert len(table) == 15 and table["error"].notna().sum() == 10


def test_allow_failures_writes_the_table_and_exits_0(outdir, degenerate, capsys):
    from personax.cli import main

    assert main(battery(outdir, "--source", str(degenerate), "--tests", "kci", "--attributes",
                        "height_cm,birth_month", "--allow-failures")) == 0
    captured = capsys.readouterr()
    assert "5 of 10 test(s) failed" in captured.err and "warning:" in captured.err
    assert len(pd.read_csv(outdir / "r.csv")) == 10
