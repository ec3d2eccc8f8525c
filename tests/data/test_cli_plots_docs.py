"""``personax data …`` commands, the data-card figures, and the data card staying in sync."""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from personax.cli import main
from personax.data import load
from personax.data.synthetic import check_planted_truth, world_card
from personax.plots import data as dplots

REPO = Path(__file__).resolve().parents[2]


def test_data_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["data", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for sub in ("generate", "validate", "info", "card"):
        assert sub in out
    with pytest.raises(SystemExit):
        main(["data", "generate", "--help"])
    assert "--sample" in capsys.readouterr().out


def test_generate_then_validate_roundtrip(tmp_path, capsys):
    rc = main(["data", "generate", "--dataset", "athlepersona", "--n", "40", "--seed", "2", "--face-dim", "16",
               "--text-dim", "16", "--out", str(tmp_path)])
    assert rc == 0
    path = tmp_path / "athlepersona.parquet"
    assert path.exists() and (tmp_path / "athlepersona_truth.json").exists()
    ds = load("athlepersona", source=str(path))
    assert len(ds) == 40 and ds.embeddings["face_1"].shape == (40, 16)
    assert ds.truth is not None and ds.info["synthetic"] and ds.info["seed"] == 2   # truth travels with the file
    assert main(["data", "validate", str(path), "--dataset", "athlepersona"]) == 0
    assert "OK:" in capsys.readouterr().out


def test_validate_reports_bad_table(tmp_path, capsys):
    import pandas as pd

    pd.DataFrame({"foo": [1, 2], "bar": [3, 4]}).to_csv(tmp_path / "bad.csv", index=False)
    assert main(["data", "validate", str(tmp_path / "bad.csv"), "--dataset", "celebpersona"]) == 1
    err = capsys.readouterr().err
    assert "INVALID" in err and "columns found (2): foo, bar" in err and "expected but unmapped" in err


def test_invalid_arguments_exit_with_usage(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["data", "generate", "--n", "0"])
    assert exc.value.code == 2 and "positive integer" in capsys.readouterr().err


def test_info_summarises_the_sample(capsys):
    assert main(["data", "info", "--dataset", "celebpersona"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out[0]["n"] == 2000 and out[0]["planted_truth"]["latent_edges"] == 23
    assert out[0]["embeddings"]["face_3"] == [2000, 64]


def test_data_card_figures_and_tables():
    ds = load("celebpersona", n=400)
    for fig in (dplots.plot_attribute_distributions(ds), dplots.plot_missingness(ds), dplots.plot_llm_scores(ds),
                dplots.plot_latent_dag(ds.truth)):
        assert fig.axes and any(ax.has_data() or ax.collections or ax.patches for ax in fig.axes)
        plt.close(fig)
    check = check_planted_truth(ds)
    fig = dplots.plot_planted_pairs(ds, check)
    plt.close(fig)
    m = dplots.planted_matrix(ds.truth, ds.schema.attributes)
    assert m.shape == (5, 19) and m.to_numpy().sum() == len(ds.truth.dependent_pairs)
    summary = dplots.planted_summary(check)
    assert set(summary["planted"]) == {"dependent", "independent"}
    counts = dplots.llm_score_counts(ds)
    assert np.allclose(counts.groupby(["llm", "trait"])["fraction"].sum(), 1.0)
    miss = dplots.missingness_table(ds)
    assert (miss["fraction"] > 0).all() and "height_cm" in set(miss["column"])
    sizes = dplots.sizes_table([ds, load("athlepersona", n=100)])
    assert list(sizes["face_measurements"]) == [3, 1]


def test_readme_world_card_is_in_sync():
    text = (REPO / "data" / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- world-card:start -->\n", 1)[1].split("<!-- world-card:end -->", 1)[0]
    expected = world_card("celebpersona") + world_card("athlepersona")
    assert block == expected, "data/README.md is stale: regenerate the world-card block with `personax data card`"
