"""Benchmark runner for the CRL estimators on synthetic data with known truth.

:func:`benchmark_run` trains every method of :data:`METHODS` on a benchmark of
:mod:`personax.crl.synthetic` or :mod:`personax.crl.designs` over several seeds, scores each
fit on held-out rows beside its reference points (:mod:`personax.crl.scoring`), keeps a
resumable ledger, and returns a :class:`BenchmarkRun`; :func:`run_benchmark` returns its
score table; :func:`summarize` aggregates over seeds.  ``benchmarks/crl.py`` drives it for
the committed results.  (These names are also importable from ``personax.crl.synthetic``.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from personax.crl.synthetic import Benchmark, images, numerical

# ----------------------------------------------------------------------------- evaluation
#: Numbers the paper reports for its synthetic experiment (paper §4.4; BetaVAE and MCL
#: are reported only as "low").  Quoted next to our results, never mixed with them.
PAPER_REPORTED = pd.DataFrame(
    [{"method": "PersonaX (paper)", "r2": 0.96, "mcc": 0.92},
     {"method": "MMCRL (paper)", "r2": 0.90, "mcc": 0.85}])

#: Methods evaluated by :func:`run_benchmark`: our estimator (the identifying two-stage
#: default), the paper's single generative objective as a named variant, and the baselines.
METHODS = ("personax", "personax_joint", "beta_vae", "mcl", "mmcrl")

#: Settings of our model in the benchmarks: none — ``crl.fit``'s defaults are the
#: identifying configuration.  (The joint variant uses :data:`personax.crl.model.JOINT_CONFIG`.)
BENCHMARK_CONFIG: dict = {}


def evaluate(z: pd.DataFrame, bench: Benchmark, split: dict, adjacency: pd.DataFrame | None = None,
             threshold: float = 0.1, seed: int = 0, block_r2: bool = True) -> dict:
    """Score learned latents (and graph) against the benchmark's truth on the test rows.

    Thin wrapper of :func:`personax.crl.scoring.score` (matching and regressors fitted on the
    training rows, scores on the test rows): overall / per-block / Spearman / in-sample
    MCC, kernel and linear R², block R² with leakage, SHD, skeleton SHD, edge precision
    and recall, and the empty graph's SHD.
    """
    from personax.crl import scoring

    return scoring.score(z, bench, split, adjacency, threshold, seed, block_r2=block_r2)


def _append_rows(path: Path, rows: list[dict]) -> None:
    """Add rows to a CSV ledger, widening its columns when new ones appear (written atomically)."""
    from personax.utils import atomic_path

    new = pd.DataFrame(rows)
    if path.exists():
        new = pd.concat([pd.read_csv(path), new], ignore_index=True)
    with atomic_path(path) as tmp:
        new.to_csv(tmp, index=False)


def _make_benchmark(benchmark, n, profile, data_seed, image_sources, image_base) -> Benchmark:
    if isinstance(benchmark, Benchmark):
        return benchmark
    name = str(benchmark)
    from personax.profiles import budget

    kind = name.split(":")[0]
    if kind not in ("numerical", "design", "images"):
        raise ValueError(f"unknown benchmark {benchmark!r}: use 'numerical', 'images', 'design' / 'design:<seed>' "
                         "or a Benchmark object")
    if n is None:
        n = budget("crl.benchmark", kind, profile=profile)  # default rows: personax.profiles.BUDGETS
    if kind == "numerical":
        return numerical(n=n, seed=data_seed)
    if kind == "images":
        return images(n=n, seed=data_seed, source1=image_sources[0], source2=image_sources[1], base=image_base)
    from personax.crl.designs import random_design

    seed = int(name.split(":")[1]) if ":" in name else data_seed
    return random_design(seed, n=n)


def _bench_label(bench: Benchmark) -> str:
    if bench.name == "design":
        return f"design:{bench.info['design']['seed']}"
    return bench.name


def _conditions_satisfied(bench: Benchmark) -> bool:
    from personax.crl import identifiability

    if isinstance(bench.info.get("conditions"), dict):
        return bool(bench.info["conditions"]["satisfied"])
    meas = {m: len(bench.views[m]) for m in bench.latent_dims}
    own = {m: bool(bench.info.get("eta_dim", 0)) for m in meas if meas[m] == 1}
    if bench.name == "images":
        own = {m: False for m in own}
    return identifiability.check(bench.dag, bench.blocks, meas, own).satisfied


@dataclass
class BenchmarkRun:
    """What :func:`benchmark_run` returns: the score table, the benchmark and the fitted models.

    Attributes
    ----------
    results : pandas.DataFrame
        One row per (method, seed), the schema of :func:`run_benchmark`.
    benchmark : Benchmark
        The data the methods were fitted on (views, true latents, DAG).
    fits : dict
        ``{(method, seed): fitted object}`` (``CRLFit`` or a baseline fit); empty unless
        ``keep_fits=True``.
    """

    results: pd.DataFrame
    benchmark: Benchmark
    fits: dict = field(default_factory=dict)

    def fit(self, method: str = "personax", seed: int | None = None):
        """The fitted model of ``method`` (first seed unless ``seed`` is given)."""
        keys = [k for k in self.fits if k[0] == method and (seed is None or k[1] == seed)]
        if not keys:
            raise KeyError(f"no fit kept for method={method!r}, seed={seed!r}; kept: {sorted(self.fits)} "
                           "(call benchmark_run(..., keep_fits=True))")
        return self.fits[keys[0]]

    def to_dict(self) -> dict:
        """Plain summary: benchmark label, the result rows as records, and the kept fits' keys."""
        return {"benchmark": _bench_label(self.benchmark), "results": self.results.to_dict("records"),
                "fits": [list(k) for k in self.fits]}


def run_benchmark(benchmark="numerical", methods=METHODS, seeds=(0, 1, 2), profile: str = "quick",
                  n: int | None = None, device: str = "auto", out: str | os.PathLike | None = None,
                  resume: bool = True, data_seed: int = 0, config: dict | None = None,
                  keep_fits: bool = False, image_sources: tuple = ("digits", "digits"),
                  image_base: str = "fixed", block_r2: bool = True, references: bool = True) -> pd.DataFrame:
    """Scores of every method on a benchmark over several seeds (the table of :func:`benchmark_run`).

    Takes the parameters of :func:`benchmark_run` and returns its ``results`` frame, with
    nothing heavy in ``DataFrame.attrs`` (pandas copies ``attrs`` on every operation).
    ``keep_fits=True`` is deprecated here: it still attaches ``attrs["fits"]`` and
    ``attrs["benchmark"]`` for one release, with a ``DeprecationWarning``; use
    ``benchmark_run(..., keep_fits=True)`` and its ``.fits`` / ``.benchmark``.
    """
    run = benchmark_run(benchmark, methods=methods, seeds=seeds, profile=profile, n=n, device=device, out=out,
                        resume=resume, data_seed=data_seed, config=config, keep_fits=keep_fits,
                        image_sources=image_sources, image_base=image_base, block_r2=block_r2,
                        references=references)
    result = run.results
    if keep_fits:
        import warnings

        warnings.warn("run_benchmark(keep_fits=True) stores fitted models in DataFrame.attrs and is deprecated; "
                      "use benchmark_run(..., keep_fits=True).fits and .benchmark", DeprecationWarning, stacklevel=2)
        result.attrs["benchmark"] = run.benchmark
        result.attrs["fits"] = run.fits
    return result


def benchmark_run(benchmark="numerical", methods=METHODS, seeds=(0, 1, 2), profile: str = "quick",
                  n: int | None = None, device: str = "auto", out: str | os.PathLike | None = None,
                  resume: bool = True, data_seed: int = 0, config: dict | None = None,
                  keep_fits: bool = False, image_sources: tuple = ("digits", "digits"),
                  image_base: str = "fixed", block_r2: bool = True, references: bool = True) -> BenchmarkRun:
    """Train and score every method on a benchmark over several seeds, with reference points.

    Parameters
    ----------
    benchmark : {"numerical", "images", "design", "design:<seed>"} or Benchmark
        A named benchmark (``"design"`` draws :func:`personax.crl.designs.random_design`
        with seed ``data_seed``) or a ready :class:`Benchmark`.
    methods : sequence of str
        Subset of :data:`METHODS`.
    seeds : sequence of int
        Model seeds (the data and the split are fixed by ``data_seed``).
    profile : {"ci", "quick", "paper"}
        Training budget; also sets the default ``n`` (numerical / design: ci 1,000, quick
        4,000, paper 10,000; images: 600 / 2,000 / 5,000).
    out : path, optional
        Folder for ``results.csv`` (a ledger: one row per finished (benchmark, method, seed),
        appended as soon as it finishes), checkpoints of our model and run records.  With
        ``resume=True`` finished rows are skipped and interrupted runs resume from their
        checkpoints.
    config : dict, optional
        Overrides of ``crl.fit``'s configuration for our model (none by default).
    keep_fits : bool
        Also keep the fitted objects (``.fits``, ``{(method, seed): fit}``).
    image_sources, image_base
        ``source1`` / ``source2`` and ``base`` of :func:`images`.
    block_r2, references : bool
        Compute the block R² table / the reference points (random rotation, PCA, ICA).

    Returns
    -------
    BenchmarkRun
        ``.results``: one row per (method, seed): ``benchmark``, ``method``, ``seed``, ``n``, ``profile``,
        ``device``, ``conditions_satisfied``, the scores of :func:`evaluate`, the reference
        points ``ref_mcc_rotation``, ``ref_mcc_pca``, ``ref_mcc_ica``, ``epochs``,
        ``seconds`` and ``samples_per_s`` (training rows x epochs / training seconds).
    """
    import json

    from personax.crl import baselines, scoring
    from personax.crl.model import JOINT_CONFIG
    from personax.crl.train import fit as crl_fit, make_split
    from personax.utils import resolve_device

    bad = set(methods) - set(METHODS)
    if bad:
        raise ValueError(f"unknown method(s) {sorted(bad)}: use a subset of {list(METHODS)}")
    dev = resolve_device(device)
    bench = _make_benchmark(benchmark, n, profile, data_seed, image_sources, image_base)
    n = bench.latents.shape[0]
    label = _bench_label(bench)
    ledger = Path(out) / "results.csv" if out is not None else None
    done = pd.read_csv(ledger) if (ledger is not None and resume and ledger.exists()) else pd.DataFrame()
    refs = scoring.reference_points(bench, make_split(n, 0.1, 0.1, 0)) if references else {}
    satisfied = _conditions_satisfied(bench)
    rows, fits = [], {}
    for method in methods:
        for seed in seeds:
            if len(done):
                hit = done[(done["benchmark"] == label) & (done["method"] == method) & (done["seed"] == seed)
                           & (done["n"] == n)]
                if len(hit):
                    rows.append(hit.iloc[-1].to_dict())
                    continue
            ck = Path(out) / "checkpoints" / label.replace(":", "_") / method / f"seed_{seed}" \
                if (out is not None and resume) else None
            if method in ("personax", "personax_joint"):
                cfg = {**(config or {})} if method == "personax" else {**JOINT_CONFIG, **(config or {})}
                f = crl_fit(bench.views, bench.latent_dims, n_shared=bench.n_shared, seed=seed, device=dev,
                            profile=profile, config=cfg, checkpoint_dir=ck)
                adjacency, threshold = f.adjacency, f.config.edge_threshold
            else:
                f = baselines.BASELINES[method](bench.views, bench.latent_dims, n_shared=bench.n_shared,
                                                seed=seed, device=dev, profile=profile)
                adjacency, threshold = None, 0.1
            z = f.encode(bench.views)
            train_s = float(f.history["seconds"].iloc[-1]) if "seconds" in f.history and len(f.history) else np.nan
            epochs = int(f.record.get("epochs_run", len(f.history)))
            row = {"benchmark": label, "method": method, "seed": seed, "n": n, "profile": profile, "device": dev,
                   "conditions_satisfied": satisfied,
                   **evaluate(z, bench, f.split, adjacency, threshold, seed=seed, block_r2=block_r2), **refs,
                   "epochs": epochs,
                   # a run resumed from its checkpoint reports its training time, not the resume's seconds
                   "seconds": (train_s if f.record.get("resumed_from_epoch") else f.record["timings"]["total_seconds"]),
                   "resumed": bool(f.record.get("resumed_from_epoch")),
                   "samples_per_s": len(f.split["train"]) * epochs / train_s if train_s and train_s > 0 else np.nan}
            rows.append(row)
            if method == "personax" and ledger is not None and len(getattr(f, "candidates", [])):
                # every stage-2 candidate with its held-out NLL (what selects) and its test MCC (what
                # the selection cannot see): the evidence that the selection tracks the truth
                crow = []
                for cand in f.candidates.to_dict("records"):
                    fc = f.with_candidate(cand["phase"])
                    ev = evaluate(fc.encode(bench.views), bench, f.split, fc.adjacency, threshold, seed=seed,
                                  block_r2=False)
                    crow.append({"benchmark": label, "method": method, "seed": seed, "phase": cand["phase"],
                                 "s2_sparsity": cand.get("s2_sparsity"), "val_nll": cand["val_nll"],
                                 "n_val": len(f.split["val"]), "edges": cand.get("edges"),
                                 "criterion": cand.get("criterion"), "chosen": bool(cand["chosen"]),
                                 "mcc": ev["mcc"], "shd": ev["shd"], "shd_empty": ev["shd_empty"]})
                _append_rows(Path(out) / "candidates.csv", crow)
            if keep_fits:
                fits[(method, seed)] = f
            if ledger is not None:
                _append_rows(ledger, [row])
                rec = Path(out) / "records" / f"{label.replace(':', '_')}_{method}_seed{seed}.json"
                rec.parent.mkdir(parents=True, exist_ok=True)
                from personax.utils import atomic_path

                with atomic_path(rec) as tmp:
                    tmp.write_text(json.dumps(f.record, indent=1, default=str))
    return BenchmarkRun(pd.DataFrame(rows), bench, fits)


def summarize(results: pd.DataFrame, metrics=("r2", "mcc", "mcc_spearman", "shd")) -> pd.DataFrame:
    """Mean ± sd over seeds per (benchmark, method).

    Returns
    -------
    pandas.DataFrame
        Index ``(benchmark, method)``; for each metric ``<metric>_mean``, ``<metric>_sd``,
        plus ``seeds`` (count) and a display column ``<metric>`` formatted ``"0.93 ± 0.02"``
        (just ``"0.93"`` with a single seed).
    """
    g = results.groupby(["benchmark", "method"], sort=False)
    out = pd.DataFrame({"seeds": g.size()})
    for m in metrics:
        if m not in results:
            continue
        mean, sd = g[m].mean(), g[m].std(ddof=1)
        out[f"{m}_mean"], out[f"{m}_sd"] = mean, sd
        # one seed has no sd: show the value alone rather than a misleading "± 0"
        out[m] = [("n/a" if pd.isna(a) else f"{a:.3f}" if pd.isna(b) else f"{a:.3f} ± {b:.3f}")
                  for a, b in zip(mean, sd)]
    return out
