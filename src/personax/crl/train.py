"""Training of the CRL model: splits, minibatch Adam, early stopping, checkpoints, run records.

``fit(views, latent_dims, n_shared, seed, ...)`` is the public entry point (re-exported
as ``personax.crl.fit``).  Protocol:

* rows are split once into train / validation / test with ``config.split_seed``
  (the same rows for every model seed);
* inputs are standardised per feature (vectors) or per pixel (images) with
  training-split statistics;
* minibatch Adam on the training rows, shuffled by a seeded ``torch.Generator``; the
  model is initialised inside ``torch.random.fork_rng`` with ``manual_seed(seed)``, so
  no global random state leaks in or out and CPU runs are bit-for-bit reproducible;
* after every epoch the loss is evaluated on the validation rows; the best validation
  epoch is kept (early stopping with ``patience``).  The test rows are never used for
  any choice: they exist for the evaluation metrics (official-code defect 9);
* with ``checkpoint_dir`` the full training state (weights, optimiser, shuffling RNG,
  best state, history) is written every ``checkpoint_every`` epochs; calling ``fit``
  again with the same folder resumes and gives the same weights as an uninterrupted run;
* the result :class:`CRLFit` carries the encoder (``encode``), the learned adjacency,
  the per-epoch history and a run record (config, seed, git commit, versions, timings,
  device, metrics).
"""

from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from personax import profiles as _profiles
from personax.crl.batching import batches, refresh_batchnorm, weighted_terms
from personax.crl.inputs import Scaler, as_views, flat_views, make_split, view_shapes
from personax.crl.model import CRLConfig, CRLModel, LatentLayout
from personax.crl.run_record import fingerprint, run_record
from personax.utils import progress, resolve_device

#: Training-budget presets.  ``ci``: seconds (tests, CI notebooks); ``quick``: the book's
#: default on a 2-core CPU; ``paper``: the full protocol (GPU advised).  The same dict object
#: as ``personax.profiles.BUDGETS["crl.train"]`` (the one table of profile budgets).
PROFILES: dict[str, dict] = _profiles.BUDGETS["crl.train"]

_CKPT = "checkpoint.pt"


def _build_model(shapes, layout: LatentLayout, cfg: CRLConfig, meta: dict | None = None) -> torch.nn.Module:
    """An untrained network of the configured estimator (for loading saved fits)."""
    if cfg.estimator == "joint":
        return CRLModel(shapes, layout, cfg)
    from personax.crl.blocks import BlockModel
    from personax.crl.staged import StagedCRL

    model = StagedCRL(BlockModel(shapes, layout.dims, layout.n_shared, cfg.eta_dim, cfg.hidden, cfg.conv_channels))
    if meta is not None:
        model.rebuild(meta, cfg)
    return model


# ----------------------------------------------------------------------------- result
@dataclass
class CRLFit:
    """A trained CRL model and everything needed to use and report it.

    Attributes
    ----------
    model : CRLModel
        The trained network (best validation epoch), in eval mode, on ``device``.
    layout : LatentLayout
        Latent names and blocks (``layout.names``: ``S1.., Z1_1.., Z2_1..``).
    config : CRLConfig
    seed : int
    device : str
    history : pandas.DataFrame
        One row per epoch: ``epoch``, ``train_loss``, ``train_rec``, ``train_ind``,
        ``train_sp``, ``train_cons``, ``val_loss``, ``val_rec``, ``val_ind``, ``val_sp``,
        ``val_cons`` (``*_dag`` with ``order="learned"``), ``lr``, ``seconds`` (cumulative
        training time), plus whatever a ``callback`` returned.
    record : dict
        Run record: config, seed, git commit, versions, device, timings, split sizes,
        best epoch and final losses.
    split : dict of numpy arrays
        ``train`` / ``val`` / ``test`` row indices.
    """

    model: CRLModel
    layout: LatentLayout
    config: CRLConfig
    seed: int
    device: str
    history: pd.DataFrame
    record: dict
    split: dict
    _scaler: Scaler = field(repr=False, default=None)
    _shapes: dict = field(repr=False, default=None)

    @property
    def names(self) -> list[str]:
        return self.layout.names

    def encode(self, views: Mapping[str, object], batch_size: int = 2048) -> pd.DataFrame:
        """Latents ``[S.., Z1_.., Z2_..]`` for every row of ``views`` (same structure as in training).

        Returns
        -------
        pandas.DataFrame
            One row per input row (index 0..n-1), columns ``layout.names``.
        """
        v = as_views(views)
        if list(v) != list(self.layout.modalities) or view_shapes(v) != self._shapes:
            raise ValueError(f"views have modalities/shapes {view_shapes(v)} but the model was trained on "
                             f"{self._shapes}; pass the same modalities, measurements and widths")
        flat = flat_views(self._scaler(v), self.layout.modalities)
        n = flat[0].shape[0]
        self.model.eval()
        outs = []
        with torch.no_grad():
            for start in range(0, n, batch_size):
                xs = [torch.as_tensor(a[start:start + batch_size], device=self.device) for a in flat]
                outs.append(self.model.encode(xs)["latent"].cpu().numpy())
        return pd.DataFrame(np.concatenate(outs).astype(np.float64), columns=self.layout.names)

    @property
    def adjacency(self) -> pd.DataFrame:
        """Learned weighted adjacency (``adjacency.loc[parent, child]``, masked, signed)."""
        if hasattr(self.model, "adjacency_matrix"):
            W = self.model.adjacency_matrix()
        else:
            W = self.model.prior.weights().detach().cpu().numpy().astype(np.float64)
        return pd.DataFrame(W, index=self.layout.names, columns=self.layout.names)

    @property
    def candidates(self) -> pd.DataFrame:
        """Stage-2 candidate fits, one row each; empty for ``joint``.

        Columns: ``phase`` (name), ``order``, ``restart``, ``s2_sparsity`` (its L1 weight),
        ``val_nll`` (held-out NLL per row), ``edges`` (graph edges above ``edge_threshold``),
        ``criterion`` (the selection score, :func:`personax.crl.candidates.selection_criterion`),
        ``chosen`` (the candidate the fit kept), ``best_epoch``, ``epochs``, ``stopped_early``.
        """
        return pd.DataFrame(self.record.get("stages", {}).get("components", []))

    def with_candidate(self, phase: str) -> "CRLFit":
        """The same fit with stage 2 replaced by another candidate (``candidates["phase"]``), e.g. to show
        how the held-out NLL that selects among them relates to scores that need the truth."""
        if not hasattr(self.model, "with_candidate"):
            raise ValueError("only the staged estimator has stage-2 candidates")
        model = self.model.with_candidate(phase, self.config)
        return CRLFit(model, self.layout, self.config, self.seed, self.device, self.history, self.record,
                      self.split, self._scaler, self._shapes)

    def graph(self, threshold: float | None = None) -> pd.DataFrame:
        """0/1 adjacency: ``|A[parent, child]| > threshold`` (default ``config.edge_threshold``)."""
        t = self.config.edge_threshold if threshold is None else float(threshold)
        return (self.adjacency.abs() > t).astype(int)

    def save(self, path: str | os.PathLike) -> Path:
        """Write model weights, config, layout, scaler, history and record to one file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = self.model.meta() if hasattr(self.model, "meta") else None
        torch.save({"state": self.model.state_dict(), "config": self.config.to_dict(), "meta": meta,
                    "layout": (self.layout.modalities, self.layout.dims, self.layout.n_shared),
                    "shapes": self._shapes, "scaler": self._scaler.stats, "seed": self.seed,
                    "history": self.history.to_dict("list"), "record": self.record,
                    "split": self.split}, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "auto") -> "CRLFit":
        """Load a fit written by :meth:`save`."""
        blob = torch.load(Path(path), map_location="cpu", weights_only=False)
        cfg = CRLConfig(**blob["config"])
        layout = LatentLayout(*blob["layout"])
        dev = resolve_device(device)
        model = _build_model(blob["shapes"], layout, cfg, blob.get("meta"))
        model.load_state_dict(blob["state"])
        model.to(dev).eval()
        scaler = Scaler({}, np.array([]), False)
        scaler.stats = blob["scaler"]
        return cls(model, layout, cfg, blob["seed"], dev, pd.DataFrame(blob["history"]), blob["record"],
                   blob["split"], scaler, blob["shapes"])


def _resolve_config(config: CRLConfig | Mapping | None, profile: str | None) -> CRLConfig:
    if profile is not None and profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}: use one of {sorted(PROFILES)}")
    if isinstance(config, CRLConfig):
        return config  # an explicit config object is used exactly as given
    if config is not None and not isinstance(config, Mapping):
        raise TypeError(f"config must be a CRLConfig, a dict of its fields or None, got {type(config).__name__}")
    # profile budget first, then the caller's dict overrides it
    changes = dict(PROFILES[profile]) if profile is not None else {}
    changes.update(dict(config or {}))
    return CRLConfig().replace(**changes)


def _evaluate(model: CRLModel, xs: list[torch.Tensor], batch_size: int) -> dict:
    """Row-weighted mean of every loss term over ``xs`` in evaluation mode (the joint objective)."""
    model.eval()
    n = xs[0].shape[0]
    return weighted_terms(model, xs, n if not batch_size else max(batch_size, 256))


@torch.no_grad()
def _refresh_batchnorm(model: CRLModel, xs: list[torch.Tensor], batch_size: int) -> None:
    """Recompute BatchNorm running statistics as exact averages over the training rows (joint objective)."""
    refresh_batchnorm(model, model.encode, xs, batch_size)  # leaves the model in eval mode


# ----------------------------------------------------------------------------- fit
def fit(views: Mapping[str, object], latent_dims: Mapping[str, int], n_shared: int = 3, seed: int = 0,
        device: str = "auto", profile: str | None = "quick", config: CRLConfig | Mapping | None = None,
        checkpoint_dir: str | os.PathLike | None = None, val_fraction: float = 0.1,
        test_fraction: float = 0.1, callback: Callable[[int, "CRLFit"], Mapping | None] | None = None,
        progress_bar: bool | None = None, threads: int | None = 1) -> CRLFit:
    """Fit the multimodal multi-measurement CRL model.

    Parameters
    ----------
    views : dict modality -> list of arrays
        Row-aligned measurements, ``(n, d)`` vectors or ``(n, C, H, W)`` images, e.g.
        ``{"face": [X1, X2, X3], "text": [X_chatgpt, X_gemini, X_llama]}``.  The order of
        the modalities defines the blocks: first = ``Z1``, second = ``Z2``, ...
    latent_dims : dict modality -> int
        Latent dimension of each modality (same keys as ``views``).
    n_shared : int
        Number of shared latents ``S``.
    seed : int
        Seed of initialisation and minibatch order (the split uses ``config.split_seed``).
    device : str
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
    profile : {"ci", "quick", "paper"} or None
        Training budget preset (``max_epochs``, ``patience``; see :data:`PROFILES`).
    config : CRLConfig, dict or None
        Model/training settings (see :class:`personax.crl.model.CRLConfig`).  A dict is
        applied on top of the profile; a ``CRLConfig`` object is used exactly as given
        (the profile is then ignored).
    checkpoint_dir : path or None
        Folder for checkpoints; an existing checkpoint of the same run is resumed.
    val_fraction, test_fraction : float
        Fractions of rows held out for early stopping and for evaluation.
    callback : callable(epoch, fit) -> dict or None, optional
        Called after every epoch with a provisional :class:`CRLFit` (current weights); a
        returned dict is added to that epoch's history row (monitoring only — it never
        influences training or model selection).  An exception raised by the callback
        stops training (the last checkpoint stays on disk for resuming).
    progress_bar : bool or None
        Show a progress bar (default: unless :func:`personax.utils.quiet`).
    threads : int or None
        torch CPU threads during the fit, restored afterwards (default 1: the networks are
        small, and on a busy 2-core machine two threads were about 10x slower than one);
        ``None`` keeps torch's current setting.

    Returns
    -------
    CRLFit
    """
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1):
        raise ValueError(f"threads must be a positive int or None, got {threads!r}")
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        return _fit(views, latent_dims, n_shared, seed, device, profile, config, checkpoint_dir, val_fraction,
                    test_fraction, callback, progress_bar)
    finally:
        torch.set_num_threads(before)


def _fit(views, latent_dims, n_shared, seed, device, profile, config, checkpoint_dir, val_fraction, test_fraction,
         callback, progress_bar) -> CRLFit:
    t_start = time.perf_counter()
    v = as_views(views)
    modalities = tuple(v)
    if set(latent_dims) != set(modalities):
        raise ValueError(f"latent_dims keys {sorted(latent_dims)} must match views keys {list(modalities)}")
    dims = tuple(int(latent_dims[m]) for m in modalities)
    if any(d < 1 for d in dims) or int(n_shared) < 0:
        raise ValueError(f"latent_dims must be >= 1 and n_shared >= 0, got {dict(latent_dims)}, {n_shared}")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    seed = int(seed)
    cfg = _resolve_config(config, profile)
    dev = resolve_device(device)
    layout = LatentLayout(modalities, dims, int(n_shared))
    n = next(iter(v.values()))[0].shape[0]
    split = make_split(n, val_fraction, test_fraction, cfg.split_seed)
    scaler = Scaler(v, split["train"], cfg.standardize)
    flat = flat_views(scaler(v), modalities)
    shapes = view_shapes(v)
    x_train = [torch.as_tensor(a[split["train"]], device=dev) for a in flat]
    x_val = [torch.as_tensor(a[split["val"]], device=dev) for a in flat] if len(split["val"]) else None

    run_id = {"config": cfg.to_dict(), "seed": seed, "layout": [list(modalities), list(dims), int(n_shared)],
              "data": fingerprint(flat), "split": [len(split[k]) for k in ("train", "val", "test")]}
    ckpt_path = Path(checkpoint_dir) / _CKPT if checkpoint_dir is not None else None
    args = (modalities, dims, int(n_shared), seed, cfg, dev, layout, v, n, split, scaler, flat, shapes, x_train,
            x_val, run_id, ckpt_path, callback, progress_bar, profile, t_start)
    if cfg.estimator == "joint":
        return _fit_joint(*args)
    return _fit_staged(*args)


def _load_joint_checkpoint(ckpt_path: Path, dev: str, run_id: dict, model, opt, gen) -> dict:
    """Restore weights, optimiser and shuffling RNG from a checkpoint of *this* run; return the blob."""
    blob = torch.load(ckpt_path, map_location=dev, weights_only=False)
    if blob["run_id"] != run_id:
        raise ValueError(f"checkpoint {ckpt_path} belongs to a different run (config, seed, layout or data "
                         "differ); use another checkpoint_dir or delete it to start afresh")
    model.load_state_dict(blob["model"])
    opt.load_state_dict(blob["opt"])
    gen.set_state(blob["gen"])
    return blob


def _joint_epoch(model, opt, x_train: list[torch.Tensor], cfg: CRLConfig, gen: torch.Generator, dev: str) -> dict:
    """One epoch of minibatch Adam on the joint objective; row-weighted sums of every loss term."""
    model.train()
    sums: dict[str, float] = {}
    for idx in batches(x_train[0].shape[0], cfg.batch_size, gen):
        xb = [x[idx.to(dev)] for x in x_train]
        out = model(xb)
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        for k, val in out.items():
            sums[k] = sums.get(k, 0.0) + float(val.detach()) * len(idx)
    return sums


def _fit_joint(modalities, dims, n_shared, seed, cfg, dev, layout, v, n, split, scaler, flat, shapes,
               x_train, x_val, run_id, ckpt_path, callback, progress_bar, profile, t_start) -> CRLFit:
    """Train the paper's single generative objective (``estimator="joint"``, :mod:`personax.crl.model`)."""
    with torch.random.fork_rng(devices=[] if dev == "cpu" else None):
        torch.manual_seed(seed)
        model = CRLModel(shapes, layout, cfg).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(seed)

    history: list[dict] = []
    start_epoch, best_val, best_epoch, bad, best_state, train_seconds = 0, float("inf"), -1, 0, None, 0.0
    resumed_from = None
    if ckpt_path is not None and ckpt_path.exists():
        blob = _load_joint_checkpoint(ckpt_path, dev, run_id, model, opt, gen)
        start_epoch, best_val, best_epoch, bad = blob["epoch"], blob["best_val"], blob["best_epoch"], blob["bad"]
        best_state, history, train_seconds = blob["best_state"], blob["history"], blob["seconds"]
        resumed_from = start_epoch

    def snapshot() -> CRLFit:
        return CRLFit(model, layout, cfg, seed, dev, pd.DataFrame(history), {}, split, scaler, shapes)

    def save_ckpt(epoch: int) -> None:
        ckpt_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"run_id": run_id, "model": model.state_dict(), "opt": opt.state_dict(),
                    "gen": gen.get_state(), "epoch": epoch, "best_val": best_val, "best_epoch": best_epoch,
                    "bad": bad, "best_state": best_state, "history": history, "seconds": train_seconds}, tmp)
        os.replace(tmp, ckpt_path)

    stopped_early = False
    if bad >= cfg.patience:
        stopped_early = True
    epochs = range(start_epoch, cfg.max_epochs)
    bar = progress(epochs, desc=f"CRL seed {seed}", total=cfg.max_epochs - start_epoch,
                   disable=None if progress_bar is None else not progress_bar)
    n_train = x_train[0].shape[0]
    for epoch in bar:
        if stopped_early:
            break
        t0 = time.perf_counter()
        sums = _joint_epoch(model, opt, x_train, cfg, gen, dev)
        row = {"epoch": epoch + 1}
        row.update({f"train_{k}": val / n_train for k, val in sums.items()})
        train_seconds += time.perf_counter() - t0
        if x_val is not None:
            ev = _evaluate(model, x_val, cfg.batch_size)
            row.update({f"val_{k}": val for k, val in ev.items()})
            score = ev[cfg.select_on]
        else:
            score = row[f"train_{cfg.select_on}"]
        if not np.isfinite(score):
            raise FloatingPointError(f"loss became {score} at epoch {epoch + 1} (seed {seed}); lower config.lr "
                                     f"(now {cfg.lr}) or the loss weights")
        if score < best_val - cfg.min_delta:
            best_val, best_epoch, bad = score, epoch + 1, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad += 1
        row["lr"] = cfg.lr
        row["seconds"] = train_seconds
        history.append(row)
        if bad >= cfg.patience:
            stopped_early = True
        if ckpt_path is not None and ((epoch + 1) % cfg.checkpoint_every == 0 or stopped_early):
            save_ckpt(epoch + 1)
        if callback is not None:
            extra = callback(epoch + 1, snapshot())
            if extra:
                history[-1].update(dict(extra))
        if stopped_early:
            break

    if best_state is not None:
        model.load_state_dict(best_state)
    _refresh_batchnorm(model, x_train, cfg.batch_size)
    final_val = _evaluate(model, x_val, cfg.batch_size) if x_val is not None else {}
    hist = pd.DataFrame(history)
    record = run_record(cfg, seed, profile, dev, modalities, dims, n_shared, layout, v, n, split, model,
                         epochs_run=len(history), best_epoch=int(best_epoch), stopped_early=bool(stopped_early),
                         resumed_from=resumed_from, train_seconds=train_seconds, t_start=t_start,
                         metrics={f"val_{k}_best": float(val) for k, val in final_val.items()},
                         fingerprint=run_id["data"])
    return CRLFit(model, layout, cfg, seed, dev, hist, record, split, scaler, shapes)


def _fit_staged(modalities, dims, n_shared, seed, cfg, dev, layout, v, n, split, scaler, flat, shapes,
                x_train, x_val, run_id, ckpt_path, callback, progress_bar, profile, t_start) -> CRLFit:
    """Train the identifying two-stage estimator (``estimator="staged"``, :mod:`personax.crl.staged`)."""
    from personax.crl.blocks import BlockModel
    from personax.crl.candidates import candidate_orders
    from personax.crl.staged import StagedCRL, StagedTrainer

    with torch.random.fork_rng(devices=[] if dev == "cpu" else None):
        torch.manual_seed(seed)
        blocks = BlockModel(shapes, dims, n_shared, cfg.eta_dim, cfg.hidden, cfg.conv_channels).to(dev)
    model = StagedCRL(blocks).to(dev)

    def monitor(epoch: int, phase: str):
        if callback is None:
            return None
        snap = CRLFit(model, layout, cfg, seed, dev, pd.DataFrame(trainer.history), {}, split, scaler, shapes)
        return callback(epoch, snap)

    n_candidates = len(candidate_orders(len(modalities), cfg.block_order)) * cfg.s2_restarts * len(cfg.s2_weights())
    bar = progress(range(cfg.max_epochs + n_candidates * cfg.s2_max_epochs), desc=f"CRL seed {seed}",
                   disable=None if progress_bar is None else not progress_bar)
    trainer = StagedTrainer(model, cfg, seed, x_train, x_val, ckpt_path, run_id,
                            callback=monitor if callback is not None else None,
                            bar=bar if hasattr(bar, "update") else None)
    try:
        trainer.run()
    finally:
        if hasattr(bar, "close"):
            bar.close()
    model.eval()
    hist = pd.DataFrame(trainer.history)
    blocks_info = trainer.done["blocks"]
    chosen = next((c for c in trainer.candidates if c["chosen"]), {})
    stopped = bool(blocks_info["stopped_early"]) and all(c["stopped_early"] for c in trainer.candidates)
    record = run_record(cfg, seed, profile, dev, modalities, dims, n_shared, layout, v, n, split, model,
                         epochs_run=len(hist), best_epoch=int(blocks_info["best_epoch"]), stopped_early=stopped,
                         resumed_from=trainer.resumed_from, train_seconds=trainer.seconds, t_start=t_start,
                         metrics={"val_nll_best": float(chosen.get("val_nll", float("nan")))},
                         fingerprint=run_id["data"])
    record["stages"] = {
        "blocks": {"epochs": int(blocks_info["epochs"]), "best_epoch": int(blocks_info["best_epoch"]),
                   "stopped_early": bool(blocks_info["stopped_early"])},
        "eta": {modalities[mi]: r for mi, r in trainer.eta_report.items()},
        "components": trainer.candidates,
        "block_order": [modalities[i] for i in model.order],
    }
    return CRLFit(model, layout, cfg, seed, dev, hist, record, split, scaler, shapes)



def fit_seeds(views: Mapping[str, object], latent_dims: Mapping[str, int], seeds: Sequence[int] = (0, 1, 2),
              checkpoint_dir: str | os.PathLike | None = None, **kwargs) -> list[CRLFit]:
    """Fit one model per seed (same data and split); checkpoints go to ``checkpoint_dir/seed_<s>``.

    Returns
    -------
    list of CRLFit, in the order of ``seeds``.
    """
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be a non-empty list of distinct ints, got {seeds}")
    out = []
    for s in seeds:
        ck = Path(checkpoint_dir) / f"seed_{s}" if checkpoint_dir is not None else None
        out.append(fit(views, latent_dims, seed=s, checkpoint_dir=ck, **kwargs))
    return out
