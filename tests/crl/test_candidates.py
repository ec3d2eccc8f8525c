"""Stage-2 candidates: names, the truth-free selection rule and its configuration."""

import numpy as np
import pytest

from personax.crl.candidates import candidate_name, selection_criterion
from personax.crl.config import CRLConfig


def test_candidate_names_keep_the_first_weights_names():
    assert candidate_name((0, 1), 0) == "components:0>1:0"
    assert candidate_name((1, 0), 2, 0.1) == "components:1>0:2:sp0.1"


def test_bic_rule_penalises_edges_by_log_n_over_2n_and_nll_rule_does_not():
    n = 400
    pen = np.log(n) / (2 * n)
    assert selection_criterion(7.0, 0, n) == 7.0
    assert np.isclose(selection_criterion(7.0, 4, n), 7.0 + 4 * pen)
    # a denser candidate must buy each extra edge with more than the penalty in held-out NLL
    dense, sparse = selection_criterion(7.00, 5, n), selection_criterion(7.00 + 2.5 * pen, 2, n)
    assert sparse < dense
    assert selection_criterion(7.0, 4, n, "nll") == 7.0
    with pytest.raises(ValueError, match="'bic' or 'nll'"):
        selection_criterion(7.0, 4, n, "aic")


def test_config_weights_and_validation():
    cfg = CRLConfig()
    assert cfg.s2_select == "bic" and cfg.s2_weights() == (0.02,)
    assert CRLConfig(s2_sparsity_alt=(0.1,)).s2_weights() == (0.02, 0.1)
    assert CRLConfig(s2_sparsity=0.1, s2_sparsity_alt=(0.1,)).s2_weights() == (0.1,), "a weight is fitted once"
    assert CRLConfig(s2_sparsity_alt=0.3).s2_sparsity_alt == (0.3,), "a scalar is one alternative weight"
    assert CRLConfig(s2_sparsity_alt=[0.05, 0.2]).to_dict()["s2_sparsity_alt"] == [0.05, 0.2]
    with pytest.raises(ValueError, match="s2_select"):
        CRLConfig(s2_select="truth")
    with pytest.raises(ValueError, match="s2_sparsity_alt"):
        CRLConfig(s2_sparsity_alt=(-0.1,))


def test_rule_replay_and_comparison_on_a_known_table():
    import pandas as pd

    from personax.crl import selection_rules as sr

    # fit "a": the dense default-weight candidate has the lowest NLL, the sparse 0.1 one the best scores
    rows = [("a", 0.02, 5.000, 6, 0.80, 4), ("a", 0.1, 5.004, 2, 0.95, 0),
            ("b", 0.02, 3.000, 1, 0.99, 0), ("b", 0.1, 3.050, 0, 0.90, 1)]
    c = pd.DataFrame([{"benchmark": b, "seed": 0, "phase": f"p{w}", "s2_sparsity": w, "val_nll": v, "edges": e,
                       "n_val": 400, "mcc": m, "shd": d, "shd_empty": 1} for b, w, v, e, m, d in rows])
    assert sr.replay(c, (0.02,), 0.0)["mcc"].tolist() == [0.80, 0.99]
    assert sr.replay(c, None, 1.0)["mcc"].tolist() == [0.95, 0.99], "BIC trades 4 edges for 0.004 nats"
    tab = sr.compare_rules(c).set_index("rule")
    assert tab.loc["BIC, both weights", "mcc_mean"] == pytest.approx(0.97)
    assert tab.loc["NLL, default weight (earlier rule)", "fits_shd_not_below_empty"] == 1
    assert "+0.075 mean MCC" in sr.sentence_rules(tab.reset_index(), "BIC, both weights")
    # a fit without a candidate at every weight is left out of every rule
    partial = pd.concat([c, c.iloc[[0]].assign(benchmark="c")])
    assert (sr.compare_rules(partial)["fits"] == 2).all()


def test_committed_selection_keeps_the_better_candidate_where_they_differ():
    """Across the committed benchmark fits, the truth-free choice tracks test MCC.

    ``benchmarks/results/crl_candidates.csv`` holds every stage-2 candidate of every
    ``personax`` fit of ``benchmarks/crl.py`` with its selection score and its test MCC.
    Where a fit's candidates differ in MCC by more than 0.03 (a wrong block order or a
    rotated block, not noise), the kept candidate must be the better one in at least 90 %
    of the fits, and never more than 0.1 below the best.
    """
    from pathlib import Path

    import pandas as pd

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "crl_candidates.csv"
    if not path.exists():
        pytest.skip("no committed candidate table (not a source checkout)")
    c = pd.read_csv(path)
    assert {"criterion", "chosen", "mcc"} <= set(c.columns)
    rows = []
    for _, d in c.groupby(["benchmark", "seed"]):
        assert d["chosen"].sum() == 1 and d.loc[d["chosen"], "criterion"].item() == d["criterion"].min()
        if d["mcc"].max() - d["mcc"].min() > 0.03:
            rows.append(d["mcc"].max() - d.loc[d["chosen"], "mcc"].item())
    loss = np.asarray(rows)
    assert len(loss) >= 20, "the table should hold enough fits whose candidates differ"
    assert (loss < 1e-9).mean() >= 0.9 and loss.max() < 0.1
