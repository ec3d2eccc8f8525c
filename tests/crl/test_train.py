"""Training: API shape, determinism, checkpoint resume, input errors, learning beats chance."""

import numpy as np
import pandas as pd
import pytest
import torch

from personax import crl
from personax.crl import metrics, synthetic

CFG = {"max_epochs": 6, "batch_size": 64, "hidden": (32, 16), "shared_hidden": (32,), "checkpoint_every": 1,
       "s2_max_epochs": 4, "s2_hidden": 16}


@pytest.fixture(scope="module")
def bench():
    return synthetic.numerical(n=400, seed=0, obs_dim=6)


def _fit(b, **kw):
    kw.setdefault("config", CFG)
    return crl.fit(b.views, b.latent_dims, n_shared=b.n_shared, seed=kw.pop("seed", 0), device="cpu",
                   profile=None, **kw)


def test_fit_api(bench):
    f = _fit(bench)
    z = f.encode(bench.views)
    assert list(z.columns) == ["S1", "Z1_1", "Z1_2", "Z2_1", "Z2_2"] and len(z) == 400
    assert list(f.adjacency.index) == list(z.columns) == list(f.adjacency.columns)
    assert set(f.split) == {"train", "val", "test"}
    assert sum(len(v) for v in f.split.values()) == 400
    assert not set(f.split["test"]) & (set(f.split["train"]) | set(f.split["val"]))
    assert {"epoch", "train_loss", "val_loss", "train_rec", "val_ind"} <= set(f.history.columns)
    for key in ("config", "seed", "git_commit", "versions", "timings", "metrics", "device"):
        assert key in f.record
    assert f.record["measurements"] == {"m1": 3, "m2": 1}
    assert f.graph().isin([0, 1]).all().all()


def test_same_seed_identical_other_seed_differs(bench):
    a, b, c = _fit(bench), _fit(bench), _fit(bench, seed=1)
    pd.testing.assert_frame_equal(a.encode(bench.views), b.encode(bench.views))
    assert not np.allclose(a.encode(bench.views).values, c.encode(bench.views).values)
    assert np.array_equal(a.split["test"], c.split["test"])  # split fixed across model seeds


def test_no_global_rng_side_effects(bench):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _fit(bench)
    assert torch.equal(torch.rand(3), expected)


def test_resume_after_interruption_gives_identical_weights(bench, tmp_path):
    full = _fit(bench, checkpoint_dir=tmp_path / "a")

    class Interrupt(Exception):
        pass

    def stop_at_3(epoch, fit):
        if epoch == 3:
            raise Interrupt

    with pytest.raises(Interrupt):
        _fit(bench, checkpoint_dir=tmp_path / "b", callback=stop_at_3)
    resumed = _fit(bench, checkpoint_dir=tmp_path / "b")
    assert resumed.record["resumed_from_epoch"] == 3
    for (k, v), (k2, v2) in zip(full.model.state_dict().items(), resumed.model.state_dict().items()):
        assert k == k2 and torch.equal(v, v2), k
    assert len(resumed.history) == len(full.history)
    # a checkpoint from another run is refused
    with pytest.raises(ValueError, match="different run"):
        _fit(bench, checkpoint_dir=tmp_path / "b", seed=5)


def test_save_load_roundtrip(bench, tmp_path):
    f = _fit(bench)
    g = crl.CRLFit.load(f.save(tmp_path / "fit.pt"), device="cpu")
    pd.testing.assert_frame_equal(f.encode(bench.views), g.encode(bench.views))


def test_fit_seeds(bench):
    fits = crl.fit_seeds(bench.views, bench.latent_dims, seeds=[0, 1], n_shared=1, device="cpu",
                         profile=None, config={**CFG, "max_epochs": 2})
    assert [f.seed for f in fits] == [0, 1]


def test_bad_inputs_name_the_problem(bench):
    v = bench.views
    with pytest.raises(ValueError, match="aligned"):
        crl.fit({"m1": [v["m1"][0][:100]], "m2": v["m2"]}, bench.latent_dims)
    bad = v["m1"][0].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        crl.fit({"m1": [bad], "m2": v["m2"]}, bench.latent_dims)
    with pytest.raises(ValueError, match="latent_dims keys"):
        crl.fit(v, {"face": 2, "text": 2})
    with pytest.raises(ValueError, match="profile"):
        crl.fit(v, bench.latent_dims, profile="huge")
    with pytest.raises(ValueError, match="seed"):
        crl.fit(v, bench.latent_dims, seed=None)
    f = _fit(bench, config={**CFG, "max_epochs": 1})
    with pytest.raises(ValueError, match="trained on"):
        f.encode({"m1": v["m1"][:1], "m2": v["m2"]})


@pytest.mark.slow
def test_training_beats_random_encoder():
    # a sanity check of training, not of identification (benchmarks/crl.py scores that on 20
    # designs): a design that meets the conditions and that this small budget (40 epochs,
    # 1,500 rows) learns.  Design 3 was used before; its single-latent modality-2 block is
    # one of the family's hard ones (test MCC 0.86 at the quick profile) and is not learned
    # in 40 epochs (R² of Z2_1 < 0).
    from personax.crl.designs import random_design

    b = random_design(11, n=1500)
    assert b.info["conditions"]["satisfied"]
    cfg = {"max_epochs": 40, "hidden": (64, 32), "s2_max_epochs": 60, "block_order": "given"}
    trained = crl.fit(b.views, b.latent_dims, n_shared=1, seed=0, device="cpu", profile=None, config=cfg)
    assert trained.record["stages"]["blocks"]["stopped_early"] or trained.record["epochs_run"] > 0
    untrained = crl.fit(b.views, b.latent_dims, n_shared=1, seed=0, device="cpu", profile=None,
                        config={**cfg, "max_epochs": 1, "lr": 1e-12})
    te = trained.split["test"]
    truth = b.latents.iloc[te]
    r_tr = metrics.r2(trained.encode(b.views).iloc[te], truth)
    r_un = metrics.r2(untrained.encode(b.views).iloc[te], truth)
    m_tr = metrics.mcc(trained.encode(b.views).iloc[te], truth)
    m_un = metrics.mcc(untrained.encode(b.views).iloc[te], truth)
    assert r_tr.score > 0.9 and r_tr.score > r_un.score + 0.1
    assert m_tr.score > m_un.score


def test_select_on_reconstruction_uses_val_rec(bench):
    f = _fit(bench, config={**CFG, "select_on": "rec"})
    h = f.history
    assert f.record["best_epoch"] == int(h.loc[h["val_rec"].idxmin(), "epoch"])


def test_fit_runs_on_the_thread_count_asked_and_restores_it():
    from personax.crl import synthetic as syn

    b = syn.numerical(n=300, seed=0)
    before = torch.get_num_threads()
    seen = []
    crl.fit(b.views, b.latent_dims, n_shared=1, profile=None, device="cpu",
            config={"max_epochs": 1, "s2_max_epochs": 1, "block_order": "given"},
            callback=lambda e, f: seen.append(torch.get_num_threads()))
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads must be a positive int"):
        crl.fit(b.views, b.latent_dims, n_shared=1, threads=0)
