"""Package functions that keep the chapters thin and the pages readable (issue 13)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from personax.errors import ParameterError  # noqa: E402

MODULES = ["personax.traits.chapter", "personax.backend_check", "personax.plots.layout", "personax.utils",
           "personax.runner", "personax.notebook", "personax.batch_output"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    names = [name]
    if hasattr(module, "__path__"):  # a package split along its seams: its submodules hold the examples
        names += [m.name for m in pkgutil.iter_modules(module.__path__, prefix=f"{name}.")]
    attempted = 0
    for each in names:
        result = doctest.testmod(importlib.import_module(each), optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, (each, result)
        attempted += result.attempted
    assert attempted > 0


def _battery_like(n_attr=15, tests=("kci", "rcit", "hsic", "chi2", "g2")):
    traits = ["openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism"]
    rng = np.random.default_rng(0)
    return pd.DataFrame([{"trait": t, "attribute": f"attribute_{a:02d}", "test": s, "pvalue": rng.uniform()}
                         for s in tests for a in range(n_attr) for t in traits])


def test_heatmap_rows_labels_are_readable_at_book_width_and_the_old_panel_is_not():
    from personax.plots import independence, layout

    results = _battery_like()
    fig = layout.heatmap_rows(results, suptitle="CelebPersona (reproduced)")
    try:
        assert fig.get_size_inches()[0] <= layout.BOOK_WIDTH_IN
        assert layout.min_font_pt(fig) >= layout.MIN_FONT_PT
        assert len([ax for ax in fig.axes if ax.images]) == 5, "one heatmap per test"
    finally:
        plt.close(fig)
    old = independence.heatmap_panel(results)
    try:
        assert layout.min_font_pt(old) < layout.MIN_FONT_PT, "five heatmaps in one row are unreadable at book width"
    finally:
        plt.close(old)


def test_heatmap_rows_rejects_results_without_the_tests():
    from personax.plots import layout

    with pytest.raises(ValueError, match="none of the tests"):
        layout.heatmap_rows(_battery_like(tests=("kci",)), tests=["g2"])
    with pytest.raises(ValueError, match="battery"):
        layout.heatmap_rows(pd.DataFrame({"x": [1]}))


def test_reference_backend_agrees_with_the_fast_one_on_sampled_pairs():
    from personax import backend_check
    from personax.independence import test as run_test

    rng = np.random.default_rng(1)
    n = 150
    frame = pd.DataFrame({"openness": rng.integers(1, 4, n).astype(float)})
    frame["gender"] = (frame["openness"] + rng.integers(0, 3, n) > 3).astype(int)  # planted dependence
    frame["height"] = rng.normal(170, 10, n)                                        # independent
    rows = [{"trait": "openness", "attribute": a, "test": t,
             "pvalue": run_test(t, frame["openness"], frame[a], backend="fast", seed=0, device="cpu").pvalue}
            for t in ("kci", "chi2") for a in (["gender", "height"] if t == "kci" else ["gender"])]
    fast = pd.DataFrame(rows)
    pairs = backend_check.sample_pairs(fast, ["kci", "chi2"], n_pairs=5, seed=0)
    assert len(pairs) == 3
    reference = backend_check.reference_pvalues(frame, pairs, seed=0)
    table = backend_check.backend_agreement(fast, reference, alpha=0.05)
    assert table.loc["kci", "pairs"] == 2 and table.loc["chi2", "pairs"] == 1
    assert (table["max_abs_p_diff"] < 1e-6).all() and table["same_decisions"].all()
    assert fast.loc[fast["attribute"] == "gender", "pvalue"].max() < 0.05, "the planted dependence is found"


def test_backend_check_bad_input_names_the_fix():
    from personax import backend_check

    with pytest.raises(ParameterError, match="n_pairs"):
        backend_check.sample_pairs(_battery_like(), ["kci"], n_pairs=0)
    with pytest.raises(Exception, match="lack column"):
        backend_check.sample_pairs(pd.DataFrame({"trait": []}), ["kci"], n_pairs=1)
    pairs = pd.DataFrame({"trait": ["openness"], "attribute": ["nope"], "test": ["kci"]})
    with pytest.raises(Exception, match="lacks column"):
        backend_check.reference_pvalues(pd.DataFrame({"openness": [1.0]}), pairs)


def test_chapter_settings_ledgers_and_llm():
    from personax.traits import chapter

    assert chapter.chapter_settings("ci")["people"] == ["ex01", "ex09"]
    assert chapter.chapter_settings("quick")["people"] is None
    with pytest.raises(ParameterError, match="profile"):
        chapter.chapter_settings("full")
    paths = chapter.ledger_paths("transformers", "smollm2-135m", 3, "quick")
    assert paths["llm"].name == "02_transformers_smollm2-135m_seed3_quick.jsonl"
    assert paths["simulated"].parent == paths["llm"].parent and paths["llm"].parent.name == "traits"
    with pytest.raises(ParameterError, match="needs model= and base_url="):
        chapter.chapter_llm("openai", model="gpt", base_url="", api_key_env="", device="cpu", seed=0, max_tokens=8)
    with pytest.raises(ParameterError, match="backend="):
        chapter.chapter_llm("magic", model="", base_url="", api_key_env="", device="cpu", seed=0, max_tokens=8)
    none = chapter.chapter_llm("simulated", model="", base_url="", api_key_env="", device="cpu", seed=0,
                               max_tokens=8)
    assert none.backend is None and none.to_dict()["label"] is None


def test_quiet_third_party_drops_only_the_ipywidgets_notice():
    from personax.utils import quiet_third_party

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        quiet_third_party()
        warnings.warn("IProgress not found. Please update jupyter and ipywidgets.", stacklevel=1)
        warnings.warn("Glyph 10987 missing from font(s) DejaVu Sans.", UserWarning, stacklevel=1)
    assert [str(w.message) for w in seen] == ["Glyph 10987 missing from font(s) DejaVu Sans."]


def test_every_chapter_is_on_the_intro_map_and_says_what_it_reproduces():
    from pathlib import Path

    from personax import notebook

    repo = Path(__file__).resolve().parents[2]
    intro = (repo / "book" / "intro.md").read_text(encoding="utf-8")
    chapters = sorted(p.stem for p in (repo / "notebooks").glob("[0-9][0-9]*_*.py"))
    assert chapters
    for name in chapters:
        assert name in notebook.CHAPTERS, (f"add {name} to personax.notebook.CHAPTERS "
                                           "(paper section, what it reproduces)")
        if not name.startswith("04b"):  # 04b joins the map when it is merged
            assert f"<executed/{name}>" in intro, f"book/intro.md's map has no row for {name}"
