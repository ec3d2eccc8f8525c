"""Baselines, benchmark runner (ledger + resume), CLI and plotting smoke tests on tiny data."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from personax.cli import build_parser, main
from personax.crl import baselines, metrics, synthetic
from personax.plots import crl as crl_plots

TINY = {"max_epochs": 3}


@pytest.fixture(scope="module")
def bench():
    return synthetic.numerical(n=300, seed=0, obs_dim=6)


@pytest.mark.parametrize("name", ["beta_vae", "mcl", "mmcrl"])
def test_baselines_run_and_are_deterministic(bench, name):
    fn = baselines.BASELINES[name]
    cfg = TINY if name != "mmcrl" else {**TINY, "hidden": (16,), "shared_hidden": (16,)}
    a = fn(bench.views, bench.latent_dims, n_shared=1, seed=0, device="cpu", profile=None, config=cfg)
    b = fn(bench.views, bench.latent_dims, n_shared=1, seed=0, device="cpu", profile=None, config=cfg)
    za, zb = a.encode(bench.views), b.encode(bench.views)
    assert len(za) == 300 and za.shape[1] >= 5
    pd.testing.assert_frame_equal(za, zb)
    assert "project implementation" in a.record["model"]
    assert metrics.mcc(za, bench.latents).score > 0  # well-formed for the metrics


@pytest.mark.slow
def test_run_benchmark_ledger_resume_and_plots(tmp_path):
    kw = dict(methods=["personax", "mcl"], seeds=[0], profile="ci", n=300, device="cpu", out=tmp_path,
              config={"max_epochs": 2}, keep_fits=True)
    run = synthetic.benchmark_run("numerical", **kw)
    res = run.results
    assert not res.attrs  # nothing heavy rides in DataFrame.attrs
    assert run.to_dict()["fits"] == [["personax", 0], ["mcl", 0]]
    assert list(res["method"]) == ["personax", "mcl"]
    assert np.isfinite(res.loc[0, "shd"]) and np.isnan(res.loc[1, "shd"])
    ledger = pd.read_csv(tmp_path / "results.csv")
    assert len(ledger) == 2 and (tmp_path / "records" / "numerical_personax_seed0.json").exists()
    again = synthetic.run_benchmark("numerical", **{**kw, "keep_fits": False})  # resumes: nothing retrained
    assert not again.attrs
    assert len(pd.read_csv(tmp_path / "results.csv")) == 2
    assert again["mcc"].tolist() == pytest.approx(res["mcc"].tolist())
    with pytest.raises(ValueError, match="unknown method"):
        synthetic.run_benchmark("numerical", methods=["vae"])
    # figures
    summary = synthetic.summarize(res)
    f = run.fit("personax", 0)
    b = run.benchmark
    with pytest.raises(KeyError, match="keep_fits=True"):
        run.fit("beta_vae")
    with pytest.warns(DeprecationWarning, match="benchmark_run"):  # old path kept for one release
        old = synthetic.run_benchmark("numerical", **kw)
    assert set(old.attrs) == {"fits", "benchmark"} and old.attrs["benchmark"].name == "numerical"
    for fig in (crl_plots.training_curves(f.history), crl_plots.results_bars(summary, synthetic.PAPER_REPORTED),
                crl_plots.graph_comparison(f.adjacency, b.dag, list(range(5))),
                crl_plots.image_samples(synthetic.images(n=4, seed=0), k=4)):
        assert fig.axes
        plt.close(fig)


def test_cli_parses_and_trains(tmp_path, capsys):
    parser = build_parser()
    args = parser.parse_args(["crl", "train", "--benchmark", "numerical", "--seeds", "0", "1", "--out", "x"])
    assert args.seeds == [0, 1] and args.profile == "quick"
    with pytest.raises(SystemExit):
        parser.parse_args(["crl", "train", "--help"])
    out = tmp_path / "run"
    rc = main(["crl", "train", "--benchmark", "numerical", "--seeds", "0", "--profile", "ci", "--n", "200",
               "--methods", "mcl", "--device", "cpu", "--out", str(out)])
    assert rc == 0 and (out / "summary.csv").exists()
    assert main(["crl", "train", "--profile", "ci", "--n", "200", "--methods", "mcl", "--out", str(out)]) == 2
    assert "pass --resume" in capsys.readouterr().err
    assert main(["crl", "train", "--profile", "ci", "--n", "200", "--methods", "mcl", "--seeds", "0",
                 "--out", str(out), "--resume"]) == 0
