"""The identifying estimator (``CRLConfig.estimator="staged"``, the default): training loop.

Two stages, each trained by minibatch Adam with a plateau learning-rate decay and early
stopping on held-out validation rows (the test rows are never seen):

1. **Blocks** (:class:`personax.crl.blocks.BlockModel`): shared code ``s`` and one code
   per modality by alignment + reconstruction.  For each single-measurement modality the
   validation rows decide whether it has an exogenous noise of its own
   (:meth:`BlockModel.eta_needed`).
2. **Components** (:class:`personax.crl.components.ComponentModel`): conditional flows and
   the additive-noise prior, fitted by exact maximum likelihood of the (frozen, train-row
   standardised) stage-1 codes.  One fit per candidate block order (all orders of the
   modalities with ``block_order="auto"``; the views' order with ``"given"``), per
   restart and per L1 weight (``s2_sparsity`` and ``s2_sparsity_alt``); the candidate with
   the lowest **validation negative log-likelihood plus a BIC penalty on its edges** is kept
   (``s2_select``, :func:`personax.crl.candidates.selection_criterion`).  No choice uses
   the planted truth.
3. **Refinement** (``s2_refine="sparse_rotation"``, :mod:`personax.crl.sparse_rotation`):
   inside each block of the chosen candidate, the linear map under which the cross-modal
   dependence is additive and BIC-sparse; the prior is refitted on the mapped and, for a
   fair comparison, the unmapped components (:mod:`personax.crl.refine`), and the lowest
   selection criterion of the three is kept.

Every phase is checkpointed (weights, optimiser, scheduler, shuffling generator, best
state, history), so an interrupted run resumes and reproduces the uninterrupted weights
bit for bit on CPU.
"""

from __future__ import annotations

import copy
import itertools
import os
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from personax.crl.batching import batches, refresh_batchnorm, weighted_terms
from personax.crl.blocks import BlockModel
from personax.crl.candidates import (
    candidate_name,
    candidate_orders,
    causal_weights,
    edge_count,
    ica_init,
    rotate_init,
    selection_criterion,
)
from personax.crl.components import ComponentModel, order_mask


class StagedCRL(nn.Module):
    """The fitted two-stage model: stage-1 encoders, code scaler, stage-2 flows and prior.

    ``encode(xs)`` returns the latents ``[s, z_1, ..., z_M]`` (``(B, n_shared + sum d_m)``);
    before stage 2 exists it returns the stage-1 codes ``[s, c_1, ..., c_M]``.
    """

    def __init__(self, blocks: BlockModel):
        super().__init__()
        self.blocks = blocks
        self.components: ComponentModel | None = None
        self.eta_used: list[bool] = [False] * len(blocks.modalities)
        self.order: list[int] = list(range(len(blocks.modalities)))
        self.candidate_states: dict[str, tuple[list[int], dict]] = {}
        self.register_buffer("code_mean", torch.zeros(0))
        self.register_buffer("code_sd", torch.ones(0))

    # ---------------------------------------------------------------- codes
    def codes(self, xs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Standardised stage-2 inputs: shared code and per-modality codes (with eta where used)."""
        enc = self.blocks.encode(xs)
        parts = [enc["c"][mi] for mi in range(len(self.blocks.modalities))]
        for j, (mi, _) in enumerate(self.blocks.index):
            if self.eta_used[mi]:
                parts[mi] = torch.cat([parts[mi], enc["eta"][j]], 1)
        flat = torch.cat([enc["s"]] + parts, 1)
        if self.code_mean.numel():
            flat = (flat - self.code_mean) / self.code_sd
        k = self.blocks.n_shared
        sizes = [p.shape[1] for p in parts]
        out, start = [], k
        for sz in sizes:
            out.append(flat[:, start:start + sz])
            start += sz
        return flat[:, :k], out

    def slots(self) -> list[int]:
        return [d + (self.blocks.eta_dim if self.eta_used[mi] else 0) for mi, d in enumerate(self.blocks.dims)]

    def causal_flags(self) -> list[bool]:
        flags: list[bool] = []
        for mi, d in enumerate(self.blocks.dims):
            flags += [True] * d + [False] * (self.blocks.eta_dim if self.eta_used[mi] else 0)
        return flags

    def encode(self, xs: Sequence[torch.Tensor]) -> dict:
        s, codes = self.codes(xs)
        if self.components is None:
            z = torch.cat([c[:, :d] for c, d in zip(codes, self.blocks.dims)], 1)
        else:
            comp, _ = self.components.transform(codes, s)
            keep = torch.as_tensor(self.causal_flags(), device=comp.device)
            z = comp[:, keep]
        return {"latent": torch.cat([s, z], 1)}

    def adjacency_matrix(self) -> np.ndarray:
        """Learned adjacency over ``[s, z]`` (row = parent, column = child); zero for ``s`` and before stage 2."""
        k, d = self.blocks.n_shared, sum(self.blocks.dims)
        out = np.zeros((k + d, k + d))
        if self.components is not None:
            out[k:, k:] = causal_weights(self.components, self.causal_flags())
        return out

    def meta(self) -> dict:
        return {"eta_used": list(map(bool, self.eta_used)), "order": list(map(int, self.order)),
                "has_components": self.components is not None}

    def with_candidate(self, name: str, cfg) -> "StagedCRL":
        """A copy whose stage 2 is the candidate fit ``name`` (``record["stages"]["components"]``)."""
        if name not in self.candidate_states:
            raise KeyError(f"no stage-2 candidate {name!r}; known: {sorted(self.candidate_states)}")
        order, state = self.candidate_states[name]
        other = copy.copy(self)
        other._modules = dict(self._modules)
        comp = _components(self, cfg, order)
        comp.load_state_dict(state)
        other._modules["components"] = comp.to(self.code_mean.device).eval()
        other.order = list(order)
        return other

    def rebuild(self, meta: dict, cfg) -> None:
        """Recreate the stage-2 module from saved metadata (before ``load_state_dict``)."""
        self.eta_used = list(meta["eta_used"])
        self.order = list(meta["order"])
        total = self.blocks.n_shared + sum(self.slots())
        self.code_mean = torch.zeros(total)
        self.code_sd = torch.ones(total)
        if meta["has_components"]:
            self.components = _components(self, cfg, self.order)


def _components(model: StagedCRL, cfg, order: Sequence[int]) -> ComponentModel:
    mask = order_mask(model.slots(), model.causal_flags(), order)
    return ComponentModel(model.slots(), model.blocks.n_shared, mask, layers=cfg.s2_layers, hidden=cfg.s2_hidden,
                          n_terms=cfg.s2_terms, edge_hidden=cfg.prior_hidden)


class _Phase:
    """Epoch loop of one phase with plateau LR decay, early stopping and checkpoint state."""

    def __init__(self, name: str, module: nn.Module, lr: float, max_epochs: int, patience: int,
                 lr_patience: int, rel_delta: float, abs_delta: float, seed: int):
        self.name, self.module = name, module
        self.max_epochs, self.patience = max_epochs, patience
        self.rel_delta, self.abs_delta = rel_delta, abs_delta
        self.opt = torch.optim.Adam(module.parameters(), lr=lr)
        self.sched = torch.optim.lr_scheduler.ReduceLROnPlateau(self.opt, factor=0.5, patience=lr_patience,
                                                                threshold=max(rel_delta, 1e-12))
        self.gen = torch.Generator().manual_seed(seed)
        self.epoch, self.best, self.best_epoch, self.bad = 0, float("inf"), 0, 0
        self.best_state: dict | None = None
        self.done = False

    def improved(self, score: float) -> bool:
        margin = max(self.abs_delta, self.rel_delta * abs(self.best)) if np.isfinite(self.best) else 0.0
        return score < self.best - margin

    def state(self) -> dict:
        return {"model": self.module.state_dict(), "opt": self.opt.state_dict(), "sched": self.sched.state_dict(),
                "gen": self.gen.get_state(), "epoch": self.epoch, "best": self.best, "best_epoch": self.best_epoch,
                "bad": self.bad, "best_state": self.best_state, "done": self.done}

    def load(self, st: dict) -> None:
        self.module.load_state_dict(st["model"])
        self.opt.load_state_dict(st["opt"])
        self.sched.load_state_dict(st["sched"])
        self.gen.set_state(st["gen"])
        self.epoch, self.best, self.best_epoch, self.bad = st["epoch"], st["best"], st["best_epoch"], st["bad"]
        self.best_state, self.done = st["best_state"], st["done"]


class StagedTrainer:
    """Runs both stages with checkpoints; used by :func:`personax.crl.train.fit`.

    Parameters
    ----------
    model : StagedCRL
    cfg : CRLConfig
    seed : int
    x_train, x_val : list of tensors
        Standardised measurements (encoder order) of the training and validation rows.
    ckpt_path : Path or None
    run_id : dict
        Identity of the run (a checkpoint of another run is refused).
    progress : callable(total) -> bar or None
    callback : callable(epoch, phase) -> dict or None
        Called after each epoch; its dict joins the history row (monitoring only).
    """

    def __init__(self, model: StagedCRL, cfg, seed: int, x_train: list, x_val: list | None,
                 ckpt_path: Path | None, run_id: dict, callback=None, bar=None):
        self.model, self.cfg, self.seed = model, cfg, seed
        self.x_train, self.x_val = x_train, x_val
        self.ckpt_path, self.run_id = ckpt_path, run_id
        self.callback, self.bar = callback, bar
        self.history: list[dict] = []
        self.seconds = 0.0
        self.done: dict[str, dict] = {}
        self.current: dict | None = None
        self.resumed_from: int | None = None
        self.candidates: list[dict] = []
        self.eta_report: dict = {}

    # ---------------------------------------------------------------- checkpoints
    def _load_checkpoint(self) -> None:
        if self.ckpt_path is None or not self.ckpt_path.exists():
            return
        blob = torch.load(self.ckpt_path, map_location="cpu", weights_only=False)
        if blob.get("run_id") != self.run_id:
            raise ValueError(f"checkpoint {self.ckpt_path} belongs to a different run (config, seed, layout or data "
                             "differ); use another checkpoint_dir or delete it to start afresh")
        self.done, self.current = blob["done"], blob["current"]
        self.history, self.seconds = blob["history"], blob["seconds"]
        self.resumed_from = len(self.history)

    def _save(self) -> None:
        if self.ckpt_path is None:
            return
        self.ckpt_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.ckpt_path.with_name(self.ckpt_path.name + ".tmp")
        torch.save({"run_id": self.run_id, "done": self.done, "current": self.current,
                    "history": self.history, "seconds": self.seconds}, tmp)
        os.replace(tmp, self.ckpt_path)

    # ---------------------------------------------------------------- generic loop
    def _run_phase(self, phase: _Phase, step: Callable, val: Callable, row_extra: dict) -> None:
        if self.current is not None and self.current.get("name") == phase.name:
            phase.load(self.current["phase"])
        cfg = self.cfg
        while not phase.done and phase.epoch < phase.max_epochs:
            t0 = time.perf_counter()
            phase.module.train()
            sums: dict[str, float] = {}
            n_rows = 0
            for idx in batches(self.n_rows_train(phase), self.batch_size(phase), phase.gen):
                out = step(idx)
                phase.opt.zero_grad(set_to_none=True)
                out["loss"].backward()
                if cfg.grad_clip:
                    torch.nn.utils.clip_grad_norm_(phase.module.parameters(), cfg.grad_clip)
                phase.opt.step()
                for k, v in out.items():
                    sums[k] = sums.get(k, 0.0) + float(v.detach()) * len(idx)
                n_rows += len(idx)
            self.seconds += time.perf_counter() - t0
            phase.epoch += 1
            ev = val()
            score = ev["score"]
            if not np.isfinite(score):
                raise FloatingPointError(f"{phase.name}: validation loss became {score} at epoch {phase.epoch} "
                                         f"(seed {self.seed}); lower the learning rate")
            if phase.improved(score):
                phase.best, phase.best_epoch, phase.bad = score, phase.epoch, 0
                phase.best_state = copy.deepcopy(phase.module.state_dict())
            else:
                phase.bad += 1
            phase.sched.step(score)
            if phase.bad >= phase.patience:
                phase.done = True
            row = {"epoch": len(self.history) + 1, "phase": phase.name, "phase_epoch": phase.epoch,
                   **{f"train_{k}": v / max(n_rows, 1) for k, v in sums.items()},
                   **{f"val_{k}": v for k, v in ev.items() if k != "score"},
                   "lr": phase.opt.param_groups[0]["lr"], "seconds": self.seconds, **row_extra}
            self.history.append(row)
            if self.bar is not None:
                self.bar.update(1)
            self.current = {"name": phase.name, "phase": phase.state()}
            if self.ckpt_path is not None and (phase.epoch % cfg.checkpoint_every == 0 or phase.done
                                               or phase.epoch >= phase.max_epochs):
                self._save()
            if self.callback is not None:
                extra = self.callback(len(self.history), phase.name)
                if extra:
                    self.history[-1].update(dict(extra))
        phase.done = True
        if phase.best_state is not None:
            phase.module.load_state_dict(phase.best_state)

    def n_rows_train(self, phase: _Phase) -> int:
        return self.x_train[0].shape[0]

    def batch_size(self, phase: _Phase) -> int:
        return self.cfg.batch_size if phase.name == "blocks" else self.cfg.s2_batch_size

    # ---------------------------------------------------------------- stages
    def run(self) -> None:
        self._load_checkpoint()
        self._stage_blocks()
        self._stage_components()

    def _stage_blocks(self) -> None:
        cfg, blocks = self.cfg, self.model.blocks
        if "blocks" in self.done:
            blocks.load_state_dict(self.done["blocks"]["state"])
        else:
            phase = _Phase("blocks", blocks, cfg.lr, cfg.max_epochs, cfg.patience, cfg.lr_patience, cfg.rel_min_delta,
                           0.0, self.seed)
            xt, xv = self.x_train, self.x_val

            def step(idx):
                return blocks([x[idx] for x in xt], cfg.align_weight, cfg.decorr_weight, cfg.contrast_weight,
                              cfg.contrast_tau)

            def val():
                with torch.no_grad():
                    blocks.eval()
                    out = weighted_terms(lambda part: blocks(part, cfg.align_weight, cfg.decorr_weight,
                                                             cfg.contrast_weight, cfg.contrast_tau),
                                         xv if xv is not None else xt)
                key = "rec" if cfg.select_on == "rec" else "loss"
                return {**out, "score": out[key]}

            self._run_phase(phase, step, val, {})
            refresh_batchnorm(blocks, blocks.encode, self.x_train, cfg.batch_size)
            self.done["blocks"] = {"state": copy.deepcopy(blocks.state_dict()), "best_epoch": phase.best_epoch,
                                   "epochs": phase.epoch, "stopped_early": phase.bad >= phase.patience}
            self.current = None
            self._save()
        blocks.eval()
        # does each single-measurement modality carry its own exogenous noise?
        xs = self.x_val if self.x_val is not None else self.x_train
        self.eta_report = blocks.eta_needed(xs, cfg.eta_ratio, cfg.eta_gap)
        self.model.eta_used = [bool(self.eta_report.get(mi, {}).get("needed", False))
                               for mi in range(len(blocks.modalities))]
        # stage-2 inputs standardised with training-row statistics
        with torch.no_grad():
            self.model.code_mean = torch.zeros(0)
            s, codes = self.model.codes(self.x_train)
            flat = torch.cat([s] + codes, 1)
            self.model.code_mean = flat.mean(0)
            self.model.code_sd = flat.std(0).clamp_min(1e-6)

    def _stage_components(self) -> None:
        cfg = self.cfg
        with torch.no_grad():
            s_tr, c_tr = self.model.codes(self.x_train)
            if self.x_val is not None:
                s_va, c_va = self.model.codes(self.x_val)
            else:
                s_va, c_va = s_tr, c_tr
        n_val = int(s_va.shape[0])
        orders = candidate_orders(len(self.model.blocks.modalities), cfg.block_order)
        starts = list(itertools.product(orders, range(cfg.s2_restarts)))
        best = None
        self.candidates = []
        for wi, weight in enumerate(cfg.s2_weights()):
            # every weight starts from the same initialisation and batches as the first (paired fits)
            for ci, (order, restart) in enumerate(starts):
                name = candidate_name(order, restart, weight if wi else None)
                comp = self._fit_candidate(name, ci, order, restart, weight, s_tr, c_tr, s_va, c_va)
                edges = edge_count(comp, self.model.causal_flags(), cfg.edge_threshold)
                val_nll = self.done[name]["val_nll"]
                crit = selection_criterion(val_nll, edges, n_val, cfg.s2_select)
                self.model.candidate_states[name] = (list(order), copy.deepcopy(comp.state_dict()))
                self.candidates.append({"phase": name, "order": list(order), "restart": restart,
                                        "s2_sparsity": weight, "val_nll": val_nll, "edges": edges,
                                        "criterion": crit, "chosen": False,
                                        "best_epoch": self.done[name]["best_epoch"],
                                        "epochs": self.done[name]["epochs"],
                                        "stopped_early": self.done[name]["stopped_early"]})
                if best is None or crit < best[0]:
                    best = (crit, len(self.candidates) - 1, order, comp)
        _, kept, order, comp = best
        if cfg.s2_refine == "sparse_rotation":
            from personax.crl.refine import refine

            kept, comp = refine(self, kept, order, comp, s_tr, c_tr, s_va, c_va)
        self.candidates[kept]["chosen"] = True
        self.model.order = list(order)
        self.model.components = comp.eval()

    def _fit_candidate(self, name, ci, order, restart, weight, s_tr, c_tr, s_va, c_va) -> ComponentModel:
        """Fit (or reload from the checkpoint ledger) one stage-2 candidate; records it in ``self.done``."""
        cfg = self.cfg
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed * 7919 + 101 * ci + 1)
            comp = _components(self.model, cfg, order)
        if cfg.s2_init == "ica":
            ica_init(comp, s_tr.cpu().numpy(), [c.cpu().numpy() for c in c_tr], seed=self.seed)
        if restart > 0 or cfg.s2_init == "random":
            # later restarts start from a random rotation of each block (seeded per candidate)
            rotate_init(comp, np.random.default_rng(self.seed * 7919 + 101 * ci + 3))
        comp = comp.to(s_tr.device)
        if name in self.done:
            comp.load_state_dict(self.done[name]["state"])
            return comp
        phase = _Phase(name, comp, cfg.s2_lr, cfg.s2_max_epochs, cfg.s2_patience, cfg.lr_patience, 0.0,
                       cfg.s2_min_delta, self.seed * 7919 + 101 * ci + 2)

        def step(idx):
            codes = [c[idx] for c in c_tr]
            nll = comp.nll(codes, s_tr[idx])
            sp = comp.sparsity()
            return {"loss": nll + weight * sp, "ind": nll, "sp": sp}

        def val():
            with torch.no_grad():
                comp.eval()
                nll = float(comp.nll(c_va, s_va))
                sp = float(comp.sparsity())
            return {"loss": nll + weight * sp, "ind": nll, "sp": sp, "score": nll}

        self._run_phase(phase, step, val, {"order": ">".join(map(str, order)), "restart": restart,
                                           "s2_sparsity": weight})
        comp.eval()
        with torch.no_grad():
            val_nll = float(comp.nll(c_va, s_va))
        self.done[name] = {"state": copy.deepcopy(comp.state_dict()), "val_nll": val_nll,
                           "best_epoch": phase.best_epoch, "epochs": phase.epoch,
                           "stopped_early": phase.bad >= phase.patience}
        self.current = None
        self._save()
        return comp
