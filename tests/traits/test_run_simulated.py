"""Runner + simulated backend: determinism, labelling, reshaping, consistency table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from personax.data.schema import TRAITS
from personax.traits import FORMAT_IDS, load_example_people, run_inference, status_counts, wide_scores
from personax.traits.agreement import PAPER_PAIRS, format_consistency, format_stability
from personax.traits.backends import SimulatedBackend
from personax.traits.ledger import Ledger


def _backends(seed=0):
    return {l: SimulatedBackend(l, seed=seed) for l in ("chatgpt", "gemini", "llama")}


def test_examples_are_fictional_and_complete():
    people = load_example_people()
    assert len(people) >= 10 and people["fictional"].all()
    assert people["description"].notna().sum() >= 6 and people["league"].notna().sum() >= 3


def test_simulated_run_is_labelled_deterministic_and_resumable(tmp_path):
    people = load_example_people()
    a = run_inference(people, _backends(), "number-l3-inc", tmp_path / "a.jsonl")
    b = run_inference(people, _backends(), "number-l3-inc", tmp_path / "b.jsonl")
    cols = ["person_id", "llm", "trait", "score"]
    pd.testing.assert_frame_equal(a[cols].reset_index(drop=True), b[cols].reset_index(drop=True))
    assert a["simulated"].all() and set(a["status"]) == {"ok"}
    recs = Ledger.read(tmp_path / "a.jsonl")
    assert all(r["simulated"] and "SIMULATED" in r["raw_text"] for r in recs)
    assert a.attrs["run"]["sent"] == len(people) * 3
    again = run_inference(people, _backends(), "number-l3-inc", tmp_path / "a.jsonl")
    assert again.attrs["run"] == {"requested": len(people) * 3, "skipped": len(people) * 3, "sent": 0,
                                  "retried": 0, "truncated_bytes": 0}
    summary = again.attrs["summary"]
    assert summary.groups == {"ok": len(people) * 3, "invalid": 0, "refused": 0, "error": 0}
    assert summary.to_dict()["error_rate"] == 0.0 and summary.failures == []
    summary.check()  # a complete run does not fail
    # a different world seed gives different simulated people
    c = run_inference(people, _backends(seed=1), "number-l3-inc", tmp_path / "c.jsonl")
    assert not np.array_equal(a["score"].to_numpy(), c["score"].to_numpy())


def test_wide_scores_match_data_layer_schema(tmp_path):
    people = load_example_people()
    tidy = run_inference(people, _backends(), ["number-l3-inc", "text-l3-inc"], tmp_path / "l.jsonl")
    with pytest.raises(ValueError, match="prompt_id"):
        wide_scores(tidy)
    wide = wide_scores(tidy, "number-l3-inc")
    assert list(wide.columns) == [f"{l}_{t}" for l in ("chatgpt", "gemini", "llama") for t in TRAITS]
    assert all(str(d) == "Int64" for d in wide.dtypes)
    assert wide.min().min() >= 0 and wide.max().max() <= 3
    from personax.data.aggregate import aggregate_frame

    agg = aggregate_frame(wide)
    assert agg.shape == (len(people), 5)
    counts = status_counts(tidy)
    assert (counts["ok"] == len(people)).all() and (counts["replies"] == len(people)).all()


def test_text_formats_round_trip_to_the_same_numbers(tmp_path):
    # verbal answers written by the backend come back through the parser as numbers on the scale
    people = load_example_people()
    tidy = run_inference(people, _backends(), ["text-l3-inc", "text-l5-inc"], tmp_path / "l.jsonl")
    for fid, top in (("text-l3-inc", 3), ("text-l5-inc", 5)):
        s = tidy.loc[tidy.prompt_id == fid, "score"]
        assert s.notna().all() and s.between(0, top).all()
    assert tidy.loc[tidy.prompt_id == "text-l5-inc", "score"].isin([1, 5]).any()


def test_consistency_table_layout_and_values(tmp_path):
    people = load_example_people()
    tidy = run_inference(people, _backends(), list(FORMAT_IDS), tmp_path / "l.jsonl", repeats=2)
    table = format_consistency(tidy)
    assert list(table.index) == ["chatgpt", "gemini", "llama", "Avg."]
    assert len(table.columns) == len(PAPER_PAIRS) + 1 and table.columns[-1] == "Avg."
    assert table.columns[0] == "⟨N-L5-Inc, T-L5-Inc⟩"
    assert (table.to_numpy() >= 0).all() and np.isfinite(table.to_numpy()).all()
    # recompute one cell by hand
    t = tidy[tidy.llm == "gemini"]
    a = t[t.prompt_id == "number-l3-inc"].set_index(["person_id", "trait", "repeat"])["score"]
    b = t[t.prompt_id == "number-l3-dec"].set_index(["person_id", "trait", "repeat"])["score"]
    both = pd.concat([a, b], axis=1, keys=["a", "b"]).dropna()
    both = both[(both.a != 0) & (both.b != 0)]
    assert math.isclose(table.loc["gemini", "⟨N-L3-Inc, N-L3-Dec⟩"], (both.a - both.b).abs().mean())
    assert table.attrs["n_cells"].loc["gemini", "⟨N-L3-Inc, N-L3-Dec⟩"] == len(both)
    # the 5-point pairs disagree more than the 3-point ones (wider scale), as in the paper
    assert table.loc["Avg.", table.columns[:3]].mean() > table.loc["Avg.", table.columns[3:6]].mean()
    stab = format_stability(tidy)
    assert set(stab.columns) == {"llm", "prompt_id", "mean_sd", "n_cells"} and (stab["mean_sd"] >= 0).all()


def test_runner_rejects_bad_people():
    with pytest.raises(ValueError, match="person_id"):
        run_inference(pd.DataFrame({"name": ["a"], "description": ["b"]}), _backends(), "number-l3-inc", "x")
    with pytest.raises(ValueError, match="description"):
        run_inference(pd.DataFrame({"person_id": ["1"], "name": ["a"]}), _backends(), "number-l3-inc", "x")
    with pytest.raises(ValueError, match="duplicate"):
        run_inference(pd.DataFrame({"person_id": ["1", "1"], "name": ["a", "b"], "description": ["c", "d"]}),
                      _backends(), "number-l3-inc", "x")


def test_simulated_model_id_tracks_the_rater_definition(monkeypatch):
    from personax.data import synthetic

    before = SimulatedBackend("gemini").model_id
    assert before.startswith("simulated-gemini@") and before != SimulatedBackend("llama").model_id
    changed = dict(synthetic.RATERS)
    changed["gemini"] = synthetic.Rater("gemini", 0.5, (0.0,) * 5, 1.0, (0.1,) * 5)
    monkeypatch.setattr(synthetic, "RATERS", changed)
    assert SimulatedBackend("gemini").model_id != before  # a changed world never reuses old ledger lines
    with pytest.raises(ValueError, match="available"):
        SimulatedBackend("gpt-5")
