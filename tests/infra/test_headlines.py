"""Every chapter's headline box: the sentence is built from the chapter's results (personax.headlines)."""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import pandas as pd
import pytest

from personax import headlines

REPO = Path(__file__).resolve().parents[2]
CHAPTERS = ("01_data", "02_trait_inference", "03_face_features", "04_independence", "04b_level1_beyond",
            "05_crl_synthetic", "06_crl_realworld", "07_performance")


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_chapter_opens_with_a_headline_box_that_it_glues(name):
    nb = jupytext.read(str(REPO / "notebooks" / f"{name}.py"))
    title = nb.cells[0].source
    assert title.startswith("# "), f"{name}: the first cell must be the title"
    assert "personax-headline" in title and "**Reproduces**" in title
    key = re.search(r"\{glue:md\} (\S+)", title).group(1)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert f'glue_markdown("{key}"' in code, f"{name} pastes {key} but never glues it"


def test_data_card_counts_planted_pairs():
    chk = pd.DataFrame({"planted": ["dependent"] * 3 + ["independent"] * 2,
                        "detected": [True, True, False, True, False]})
    text = headlines.data_card({"celebpersona": range(2000)}, {"celebpersona": chk})
    assert "2,000 rows of CelebPersona" in text
    assert "planted dependences found 2/3, false alarms 1/2 (CelebPersona)" in text
    assert "planted" not in headlines.data_card({"celebpersona": range(10)}, {})


def test_traits_headline_reads_consistency_and_usable_replies():
    cons = pd.DataFrame({"Avg.": [0.5, 1.35, 0.9]}, index=["simulated chatgpt", "smollm2", "Avg."])
    text = headlines.traits(cons, {"number formats": (48, 48), "text formats": (0, 24)})
    assert "0.50 (simulated chatgpt), 1.35 (smollm2)" in text and "Avg." not in text.split("Reproduced")[1]
    assert "48/48 replies usable in the number formats; 0/24 replies usable in the text formats" in text
    tidy = pd.DataFrame({"person_id": ["a", "a", "b", "b"], "prompt_id": ["number-l3-inc", "number-l3-inc",
                                                                          "number-l3-inc", "number-l3-inc"],
                         "repeat": [0, 0, 0, 1], "status": ["ok", "ok", "malformed", "ok"]})
    assert headlines.usable_replies(tidy, ["number-l3-inc"]) == {"number formats": (2, 3)}
    assert headlines.usable_replies(tidy.iloc[:0], ["number-l3-inc"]) == {}


def test_faces_level1_and_beyond_headlines():
    reid = pd.DataFrame({"attack": ["released vs raw, no key", "recovered with key vs raw"], "top1": [0.004, 1.0],
                         "chance_top1": [0.001, 0.001]})
    text = headlines.faces(2.2e-15, {"orthogonal": reid, "orthogonal+monotone": reid})
    assert "largest error 2e-15" in text and "0.4 % (orthogonal), 0.4 % (orthogonal+monotone), chance 0.1 %" in text
    statements = {"celebpersona": pd.DataFrame({"consistent": [True, True, False, None]})}
    rec = {"celebpersona": pd.DataFrame({"recall": [0.96], "precision": [0.99]}, index=["kci"])}
    text = headlines.level1(statements, rec)
    assert "2 of the paper's 3 statements hold" in text and "recall 0.96, precision 0.99 (CelebPersona)" in text
    chk = {"athlepersona": pd.DataFrame({"planted": [4], "hits": [3], "recall": [0.75]}, index=["kci"])}
    assert "3 of 4 planted explained-away pairs (AthlePersona, recall 0.75)" in headlines.level1_beyond(chk)
    assert "real data" in headlines.level1_beyond({})


def test_performance_headline_reads_the_battery_row():
    s = pd.DataFrame([{"test": "all", "pairs": 435, "fast_s": 2.1564, "reference_s": 589.9, "speedup": 273.6,
                       "max_abs_p_diff": 9.1e-13, "disagreements": 0}])
    text = headlines.performance(s)
    assert "435 Level I tests in 2.2 s" in text and "590 s" in text and "274× faster" in text
    assert "no committed benchmark" in headlines.performance(None)
