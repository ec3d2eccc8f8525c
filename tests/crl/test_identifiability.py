"""The identifiability conditions, and the twin: two ground truths that generate the same data."""

import numpy as np
import pandas as pd

from personax.crl import designs, identifiability, synthetic


def _dag(edges, names=("S1", "Z1_1", "Z1_2", "Z2_1", "Z2_2")):
    d = pd.DataFrame(0, index=list(names), columns=list(names))
    for p, c in edges:
        d.loc[p, c] = 1
    return d


BLOCKS = {"shared": ["S1"], "m1": ["Z1_1", "Z1_2"], "m2": ["Z2_1", "Z2_2"]}


def test_conditions_each_rule():
    ok = _dag([("Z1_1", "Z2_1"), ("Z1_2", "Z2_2")])
    assert identifiability.check(ok, BLOCKS, {"m1": 3, "m2": 1}, {"m2": True}).satisfied
    cases = {
        "C1": [("S1", "Z2_1"), ("Z1_1", "Z2_1"), ("Z1_2", "Z2_2")],
        "C2": [("Z1_1", "Z1_2"), ("Z1_1", "Z2_1"), ("Z1_2", "Z2_2")],
        "C3": [("Z1_1", "Z2_1"), ("Z2_2", "Z1_2")],
        "C4": [("Z1_1", "Z2_1"), ("Z1_2", "Z2_1"), ("Z1_1", "Z2_2"), ("Z1_2", "Z2_2")],
    }
    for cond, edges in cases.items():
        rep = identifiability.check(_dag(edges), BLOCKS, {"m1": 3, "m2": 3})
        assert any(v.startswith(cond + ":") for v in rep.violations), (cond, rep.violations)
    # C5: a silent latent in a single-measurement modality with its own noise
    silent = _dag([("Z1_1", "Z2_1"), ("Z1_2", "Z2_1")])
    rep = identifiability.check(silent, BLOCKS, {"m1": 3, "m2": 1}, {"m2": True})
    assert any(v.startswith("C5:") for v in rep.violations)
    assert rep.status["Z2_2"] == "not identifiable"
    # the same silent latent without the modality's own noise is identified (pinned by independence)
    rep = identifiability.check(_dag([("Z1_1", "Z2_1"), ("Z1_2", "Z2_1"), ("Z1_2", "Z2_2")]), BLOCKS,
                                {"m1": 3, "m2": 1}, {"m2": False})
    assert rep.satisfied
    table = identifiability.check(ok, BLOCKS, {"m1": 3, "m2": 1}).table()
    assert list(table.columns) == ["condition", "statement", "holds", "detail"] and table["holds"].all()


def test_paper_dag_status():
    b = synthetic.numerical(n=200)
    rep = identifiability.check(b.dag, b.blocks, {"m1": 3, "m2": 1}, {"m2": True})
    assert not rep.satisfied
    assert rep.status == {"S1": "identified", "Z1_1": "identified", "Z1_2": "as its noise",
                          "Z2_1": "identified", "Z2_2": "not identifiable"}


def test_twin_has_identical_observations_and_another_truth():
    """The twin's latents generate the benchmark's views exactly: rebuild the views from them."""
    b = synthetic.numerical(n=500, seed=3)
    twin_z, twin_dag = designs.twin(b)
    assert twin_dag.values.sum() == 1 and twin_dag.loc["Z1_1", "Z2_1"] == 1
    # the twin's within-block children are the exogenous noises, independent of their old parents
    assert abs(np.corrcoef(twin_z["Z1_2"], b.latents["Z1_1"])[0, 1]) < 0.15
    # ... and far from the original children: no estimator can score 1 against both truths
    r = abs(np.corrcoef(twin_z["Z1_2"], b.latents["Z1_2"])[0, 1])
    assert 0.6 < r < 0.9
    # the original child is a deterministic function of (twin parent, twin child): the data are the same
    from sklearn.neighbors import KNeighborsRegressor

    X = twin_z[["Z1_1", "Z1_2"]].to_numpy()
    pred = KNeighborsRegressor(5).fit(X[:400], b.latents["Z1_2"][:400]).predict(X[400:])
    assert np.corrcoef(pred, b.latents["Z1_2"][400:])[0, 1] > 0.99
