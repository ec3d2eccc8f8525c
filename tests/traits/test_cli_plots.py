"""The `personax traits` CLI and the chapter's figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from personax.cli import main
from personax.traits import FORMAT_IDS, load_example_people, run_inference, status_counts
from personax.traits.agreement import agreement_table, format_consistency
from personax.traits.backends import SimulatedBackend
from personax.traits.ledger import Ledger


def test_cli_prompts_run_and_agreement(tmp_path, capsys):
    assert main(["traits", "prompts"]) == 0
    out = capsys.readouterr().out
    assert all(f in out for f in FORMAT_IDS)
    assert main(["traits", "prompts", "--show", "text-l5-inc", "--league", "NHL"]) == 0
    out = capsys.readouterr().out
    assert "Professional league: NHL" in out and "project prompt" in out
    ledger = tmp_path / "l.jsonl"
    csv = tmp_path / "tidy.csv"
    assert main(["traits", "run", "--ledger", str(ledger), "--prompt", "number-l3-inc,text-l3-inc",
                 "--out", str(csv)]) == 0
    captured = capsys.readouterr()
    assert "NOT a language model" in captured.err and "'sent': 72" in captured.out
    recs = Ledger.read(ledger)
    assert len(recs) == 72 and all(r["simulated"] for r in recs)
    assert len(pd.read_csv(csv)) == 72 * 5
    assert main(["traits", "run", "--ledger", str(ledger), "--prompt", "number-l3-inc"]) == 0
    assert "'skipped': 36, 'sent': 0" in capsys.readouterr().out
    out_csv = tmp_path / "agree.csv"
    assert main(["traits", "agreement", "--ledger", str(ledger), "--prompt", "number-l3-inc", "--n-boot", "50",
                 "--out", str(out_csv)]) == 0
    table = pd.read_csv(out_csv)
    assert set(table["trait"]) == {"openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism"}


def test_answer_mass_plot():
    from personax.plots import traits as tplots

    tidy = pd.DataFrame({"prompt_id": ["a"] * 5 + ["b"] * 5, "mass": np.linspace(0.1, 1.0, 10)})
    fig = tplots.plot_answer_mass(tidy, 0.5)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    assert any(line.get_linestyle() == "--" and line.get_ydata()[0] == 0.5 for line in ax.lines)


def test_figures(tmp_path):
    from personax.plots import traits as tplots

    people = load_example_people()
    backends = {l: SimulatedBackend(l) for l in ("chatgpt", "gemini", "llama")}
    tidy = run_inference(people, backends, list(FORMAT_IDS), tmp_path / "l.jsonl")
    counts = status_counts(tidy)
    statuses = [c for c in counts.columns if c not in ("traits_missing", "replies")]
    fig = tplots.plot_status_counts(counts)
    assert len(fig.axes[0].patches) == len(counts) * len(statuses)  # one bar segment per status and row
    fig = tplots.plot_status_counts(status_counts(tidy, by="group"))
    assert len(fig.axes[0].patches) == len(counts) * 4  # ok, invalid, refused, error
    fig = tplots.plot_score_distributions(tidy, llm="chatgpt")
    assert len(fig.axes) == len(FORMAT_IDS)
    n_bars = sum(len(ax.patches) for ax in fig.axes)
    assert n_bars == 5 * (3 * 4 + 3 * 6)  # 5 traits x (levels + 0), three 3-level and three 5-level formats
    from personax.traits import wide_scores

    table = agreement_table(wide_scores(tidy, "number-l3-inc"), n_boot=30)
    fig = tplots.plot_agreement(table)
    assert len(fig.axes[0].get_legend().get_texts()) == table["measure"].nunique()
    cons = format_consistency(tidy)
    fig = tplots.plot_consistency(cons)
    assert len(fig.axes[0].texts) == np.isfinite(cons.to_numpy()).sum()
    sim = np.eye(3)
    fig = tplots.plot_embedding_similarity(sim, ["a", "b", "c"], trait_distance=np.ones((3, 3)))
    assert len(fig.axes) == 3  # heatmap, colorbar, scatter
    import matplotlib.pyplot as plt

    plt.close("all")


def test_package_reexports_the_data_layer_aggregate():
    import personax.traits as T
    from personax.data.aggregate import median_drop_zeros

    assert T.median_drop_zeros is median_drop_zeros
    assert {"run_inference", "embed", "agreement_table", "median_drop_zeros"} <= set(T.__all__)
    with pytest.raises(AttributeError):
        T.no_such_thing  # noqa: B018


def test_cli_agreement_on_shipped_sample(tmp_path, capsys):
    out_csv = tmp_path / "agree.csv"
    assert main(["traits", "agreement", "--dataset", "athlepersona", "--n-boot", "20", "--out", str(out_csv)]) == 0
    table = pd.read_csv(out_csv)
    assert len(table) == 5 * 8 and table["estimate"].between(-1, 1).all()
    assert "alpha_ordinal" in capsys.readouterr().out
