"""Chapter 06's tables and sentences are read from the run's results (personax.crl.realworld_report)."""

from __future__ import annotations

import dataclasses
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from personax.crl import realworld_report as report  # noqa: E402
from personax.crl.published import published_edges  # noqa: E402
from personax.data.synthetic import generate  # noqa: E402
from personax.plots import graph as graph_plots  # noqa: E402
from personax.plots.layout import MIN_FONT_PT, min_font_pt  # noqa: E402


@pytest.fixture(scope="module")
def ds():
    return generate("athlepersona", n=400, seed=0, face_dim=24, text_dim=24)


@pytest.fixture(scope="module")
def results(ds):
    from personax.crl.realworld import run_level2

    return {"athlepersona": run_level2(ds, profile="ci", device="cpu", seed=0)}


@pytest.fixture(scope="module")
def real_results(ds, results):
    r = results["athlepersona"]
    return {"athlepersona": dataclasses.replace(r, recovery=None, oracle=None)}


def test_run_table_reads_settings_and_timings(results):
    tab = report.run_table(results)
    r = results["athlepersona"]
    assert list(tab.columns) == ["athlepersona"]
    assert tab.loc["PC rows", "athlepersona"] == 400
    assert tab.loc["runs for stability", "athlepersona"] == r.settings["n_stability_runs"] == 3
    assert {f"{k} (s)" for k in r.settings["timings"]} <= set(tab.index)
    assert 0 < tab.loc["CPU time (s)", "athlepersona"] == round(r.settings["cpu_seconds"], 1)
    assert r.graph.params["cpu_seconds"] > 0
    s = report.sentence_run(results)
    assert f"{r.graph.params['n_tests']} FISHERZ tests on 400 rows" in s


def test_training_summary_one_kept_candidate(results):
    tab = report.training_summary(results)
    assert tab["phase"].iloc[0] == "blocks"
    comp = tab[tab["phase"] != "blocks"]
    assert len(comp) >= 1 and comp["kept"].sum() == 1
    kept = comp[comp["kept"]].iloc[0]
    # the kept candidate is the record's chosen one: the lowest criterion (held-out NLL + BIC edge penalty)
    rec = {c["phase"]: c for c in results["athlepersona"].fit.fits[0].record["stages"]["components"]}
    assert rec[kept["phase"]]["chosen"] and rec[kept["phase"]]["criterion"] == min(c["criterion"] for c in rec.values())
    assert (tab["best_epoch"] <= tab["epochs"]).all()
    s = report.sentence_training(results)
    assert f"stage 1 ran {tab['epochs'].iloc[0]} epochs" in s and kept["phase"] in s


def test_headline_and_recovery_sentences_carry_this_runs_numbers(results):
    r = results["athlepersona"]
    h = report.headline(results)
    assert f"{len(published_edges('athlepersona'))} (AthlePersona)" in h
    assert f"{len(r.stable)} (AthlePersona) stable edges" in h
    assert f"CPDAG SHD {r.oracle.scores.shd_cpdag}" in h
    rec = report.sentence_recovery(results)
    assert f"SHD {r.oracle.scores.shd_cpdag} ({r.oracle.scores.n_est} edges" in rec
    assert f"SHD {r.recovery.graph.shd_cpdag} ({r.recovery.graph.n_est} edges)" in rec
    mcc = r.recovery.blocks.set_index("block")["mcc"]
    assert f"shared {mcc['shared']:.2f}" in rec
    text = report.conclusions(results, profile="ci", device="cpu")
    assert text.startswith("Profile `ci`, device `cpu`, α = 0.05.")
    assert f"{len(r.stable)} stable edges" in text and f"oracle PC on the planted latents: SHD " \
        f"{r.oracle.scores.shd_cpdag}" in text


def test_graph_stability_evidence_and_published_sentences(results, ds):
    r = results["athlepersona"]
    g = report.sentence_graphs(results, {"athlepersona": ds.truth.dag})
    assert f"the planted graph {int(ds.truth.dag.to_numpy().sum())}" in g
    assert f"ours keeps {len(r.stable)} of the {len(r.stability)} edges seen in 3 PC runs" in g
    st = report.sentence_stability(results)
    always = int((r.stability["freq_any"] >= 1 - 1e-9).sum())
    assert f"{always} edges appear in all 3 runs" in st
    ev = report.sentence_evidence(results)
    n_ev = int((r.labels["n_dependent"] > 0).sum())
    assert f"{n_ev} of {len(r.labels)} latents depend" in ev
    pub = report.sentence_published(results)
    counts = [int(x) for x in re.findall(r"(\d+) / \d+", pub)]
    assert sum(counts) == len(published_edges("athlepersona"))
    assert report.cross_modal(published_edges("athlepersona")) == 2


def test_recovery_tables_and_real_data(results, real_results):
    blocks, graphs = report.recovery_tables(results)
    assert set(blocks.index.get_level_values("block")) == {"shared", "face", "text"}
    # the perfect-test floor (d-separation in the world graph), the oracle, the main run, the stable graph
    assert len(graphs) == 4 and list(graphs.index.get_level_values("graph"))[0] == "perfect test (d-separation)"
    assert graphs.index.get_level_values("latents")[1] == "planted (oracle)"
    floor = results["athlepersona"].oracle.floor
    assert graphs["shd_cpdag"].iloc[0] == floor.shd_cpdag == 6  # the world's confounded pairs (benchmarks/pc.csv)
    assert "perfect CI test" in report.sentence_recovery(results)
    assert report.recovery_tables(real_results) == []
    assert report.sentence_recovery(real_results).startswith("Real data")
    h = report.headline(real_results)
    assert "planted" not in h and "stable edges" in h
    assert "recovery on the synthetic sample" not in report.conclusions(real_results, profile="ci", device="cpu")


def test_glue_outside_a_kernel_is_a_no_op():
    from personax.headlines import glue_markdown

    assert glue_markdown("k", "text") is None
    with pytest.raises(ValueError, match="key"):
        glue_markdown("", "text")


def test_chapter_figures_are_readable_at_the_book_width(results, ds):
    r = results["athlepersona"]
    figs = [graph_plots.training_by_phase({"athlepersona": r.fit.fits[0].history}),
            graph_plots.evidence_heatmap(r.description, r.graph.nodes, [*ds.schema.traits, *ds.schema.attributes]),
            graph_plots.draw_three_graphs("athlepersona", r.stable, r.graph.nodes, **report.three_graph_options(r, ds))]
    for fig in figs:
        assert fig.get_size_inches()[0] <= 6.7 + 1e-9
        assert min_font_pt(fig) >= MIN_FONT_PT
        plt.close(fig)
    with pytest.raises(ValueError, match="phase"):
        graph_plots.training_by_phase({"x": r.fit.fits[0].history.drop(columns=["phase"])})


def test_load_data_uses_the_profile_rows():
    data = report.load_data(["athlepersona"], profile="ci")
    assert len(data["athlepersona"]) == 500
    tab = report.data_table(data)
    assert tab.loc["athlepersona", "text measurements"] == 3 and bool(tab.loc["athlepersona", "synthetic"])
    with pytest.raises(ValueError, match="profile"):
        report.load_data(["athlepersona"], profile="fast")
