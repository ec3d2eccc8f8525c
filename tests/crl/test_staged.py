"""The two-stage estimator end to end: record, graph support, resume inside stage 2, selection by held-out NLL."""

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
    f = _fit(bench)
    st = f.record["stages"]
    assert {"blocks", "eta", "components", "block_order"} <= set(st)
    assert len(st["components"]) == 2 and sorted(st["block_order"]) == ["m1", "m2"]
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
def test_held_out_nll_tracks_held_out_mcc():
    """Selection uses the validation NLL only; between the block orders it must rank like test-row MCC.

    The candidates that matter are the block orders (a wrong order forces the flows to
    explain a cross-block edge the prior may not draw): their validation NLLs differ by
    about 0.1 nat per row on the numerical benchmark and the lower one is the order of the
    planted graph, with the higher test MCC.  Restarts of the same order differ by about
    0.01 nat, which does not rank them (benchmarks/results/crl_candidates.csv); the test
    therefore checks the orders.
    """
    from personax.crl import synthetic

    b = synthetic.numerical(n=3000, seed=0)
    cfg = {"max_epochs": 80, "s2_max_epochs": 120, "s2_restarts": 1}
    f = crl.fit(b.views, b.latent_dims, n_shared=1, seed=0, device="cpu", profile=None, config=cfg)
    tr, te = f.split["train"], f.split["test"]
    cands = f.candidates
    assert len(cands) == 2
    mccs = []
    for phase in cands["phase"]:
        z = f.with_candidate(phase).encode(b.views)
        mccs.append(metrics.mcc(z.iloc[te], b.latents.iloc[te], fit_on=(z.iloc[tr], b.latents.iloc[tr])).score)
    nll = cands["val_nll"].to_numpy()
    chosen = int(np.argmin(nll))
    assert list(cands["order"].iloc[chosen]) == [0, 1], "the planted graph has its cross-modal edges m1 -> m2"
    assert abs(nll[0] - nll[1]) > 0.02, "the orders are told apart by more than the restart noise"
    assert mccs[chosen] >= max(mccs) - 0.01
    z = f.encode(b.views)
    assert np.isclose(metrics.mcc(z.iloc[te], b.latents.iloc[te], fit_on=(z.iloc[tr], b.latents.iloc[tr])).score,
                      mccs[chosen])
