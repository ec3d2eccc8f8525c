"""The two-stage estimator end to end: record, graph support, resume inside stage 2, selection on held-out rows."""

import numpy as np
import pandas as pd
import pytest
import torch

from personax import crl
from personax.crl import designs, metrics

CFG = {"max_epochs": 8, "batch_size": 64, "hidden": (32, 16), "checkpoint_every": 1, "s2_max_epochs": 6,
       "s2_hidden": 16}


@pytest.fixture(scope="module")
def bench():
    return designs.random_design(3, n=500)


def _fit(b, **kw):
    kw.setdefault("config", CFG)
    return crl.fit(b.views, b.latent_dims, n_shared=1, seed=kw.pop("seed", 0), device="cpu", profile=None, **kw)


def test_record_and_graph_support(bench):
    f = _fit(bench, config={**CFG, "s2_sparsity_alt": (0.1,)})
    st = f.record["stages"]
    assert {"blocks", "eta", "components", "block_order"} <= set(st)
    # two block orders x two L1 weights (s2_sparsity, s2_sparsity_alt) + the refit and the sparse-rotation
    # refinement of the best of them; exactly one kept: the lowest criterion
    cands = f.candidates
    assert len(cands) == 6 and cands["phase"].str.endswith(":rot").sum() == 1
    assert sorted(st["block_order"]) == ["m1", "m2"]
    assert sorted(cands["s2_sparsity"].unique()) == [0.02, 0.1] and cands["chosen"].sum() == 1
    assert cands.loc[cands["chosen"], "criterion"].item() == cands["criterion"].min()
    assert list(cands.loc[cands["chosen"], "order"].item()) == [f.layout.modalities.index(m) for m in st["block_order"]]
    n_val = len(f.split["val"])
    assert np.allclose(cands["criterion"], cands["val_nll"] + cands["edges"] * np.log(n_val) / (2 * n_val))
    assert f.graph().to_numpy().sum() == cands.loc[cands["chosen"], "edges"].item()
    A = f.adjacency
    blocks = f.layout.blocks
    assert (A.loc[blocks["shared"]] == 0).all().all() and (A[blocks["shared"]] == 0).all().all()
    for b in ("m1", "m2"):
        assert (A.loc[blocks[b], blocks[b]] == 0).all().all(), "no edge inside a block"
    first, second = st["block_order"]
    assert (A.loc[blocks[second], blocks[first]] == 0).all().all(), "edges follow the chosen block order"
    assert set(f.history["phase"]) >= {"blocks"} and f.history["phase"].str.startswith("components").any()


def test_resume_inside_stage_two_is_bit_exact(bench, tmp_path):
    full = _fit(bench, checkpoint_dir=tmp_path / "a")
    n_blocks = int((full.history["phase"] == "blocks").sum())

    class Stop(Exception):
        pass

    def stop(epoch, fit):
        if epoch == n_blocks + 3:
            raise Stop

    with pytest.raises(Stop):
        _fit(bench, checkpoint_dir=tmp_path / "b", callback=stop)
    resumed = _fit(bench, checkpoint_dir=tmp_path / "b")
    assert resumed.record["resumed_from_epoch"] == n_blocks + 3
    for (k, v), (k2, v2) in zip(full.model.state_dict().items(), resumed.model.state_dict().items()):
        assert k == k2 and torch.equal(v, v2), k
    pd.testing.assert_frame_equal(full.encode(bench.views), resumed.encode(bench.views))


@pytest.mark.slow
def test_selection_criterion_tracks_held_out_mcc():
    """Selection uses held-out rows only; between the block orders it must rank like test-row MCC.

    The candidates that matter are the block orders (a wrong order forces the flows to
    explain a cross-block edge the prior may not draw): their validation NLLs differ by
    about 0.1 nat per row on the numerical benchmark and the lower one is the order of the
    planted graph, with the higher test MCC.  The criterion (held-out NLL + BIC edge
    penalty, ``s2_select="bic"``) moves by log(n_val)/(2 n_val) ≈ 0.01 nat per edge, so
    it keeps that ranking.  Restarts of the same order differ by about 0.01 nat, which
    does not rank them (benchmarks/results/crl_candidates.csv); the test therefore checks
    the orders.
    """
    from personax.crl import synthetic

    b = synthetic.numerical(n=3000, seed=0)
    cfg = {"max_epochs": 80, "s2_max_epochs": 120, "s2_restarts": 1}
    f = crl.fit(b.views, b.latent_dims, n_shared=1, seed=0, device="cpu", profile=None, config=cfg)
    tr, te = f.split["train"], f.split["test"]
    cands = f.candidates
    assert len(cands) == 4 and f.config.s2_select == "bic"  # two block orders + refit and refinement
    mccs = []
    for phase in cands["phase"]:
        z = f.with_candidate(phase).encode(b.views)
        mccs.append(metrics.mcc(z.iloc[te], b.latents.iloc[te], fit_on=(z.iloc[tr], b.latents.iloc[tr])).score)
    crit = cands["criterion"].to_numpy()
    chosen = int(np.argmin(crit))
    assert bool(cands["chosen"].iloc[chosen]) and cands["chosen"].sum() == 1
    assert list(cands["order"].iloc[chosen]) == [0, 1], "the planted graph has its cross-modal edges m1 -> m2"
    assert abs(crit[0] - crit[1]) > 0.02, "the orders are told apart by more than the restart noise"
    assert mccs[chosen] >= max(mccs) - 0.01
    z = f.encode(b.views)
    assert np.isclose(metrics.mcc(z.iloc[te], b.latents.iloc[te], fit_on=(z.iloc[tr], b.latents.iloc[tr])).score,
                      mccs[chosen])
