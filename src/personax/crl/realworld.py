"""Level II on PersonaX in one call: fit, PC graph, stability, interpretation, recovery.

:func:`run_level2` applies the project's CRL trainer to a :class:`personax.data.PersonaData`
(paper §4.5) and runs every step the book chapter ``06_crl_realworld`` shows;
:func:`run_level2_all` runs it for several datasets, one process per dataset on a CPU
machine.  The steps live in their own modules, re-exported here:

* :mod:`personax.crl.persona_fit` — :func:`persona_views`, :func:`fit_persona`;
* :mod:`personax.crl.graph` — PC over the latents; :mod:`personax.crl.graph_stability`;
* :mod:`personax.crl.interpret` — :func:`describe_latents`, :func:`suggest_labels`;
* :mod:`personax.crl.recovery` — :func:`evaluate_recovery`, :func:`match_to_truth`
  (synthetic sample only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from personax.crl.interpret import describe_latents, suggest_labels
from personax.crl.metrics import GraphScores, compare_graphs
from personax.crl.persona_fit import PersonaFit, fit_persona, persona_views
from personax.crl.recovery import Recovery, evaluate_recovery, match_to_truth
from personax.profiles import BUDGETS as _BUDGETS

__all__ = [
    "OracleGraph",
    "PersonaFit",
    "persona_views",
    "fit_persona",
    "describe_latents",
    "suggest_labels",
    "evaluate_recovery",
    "match_to_truth",
    "Recovery",
    "PROFILE_SETTINGS",
    "Level2Result",
    "run_level2",
    "run_level2_all",
]


#: Budget presets of :func:`run_level2` (rows, training profile, PC test and stability sizes):
#: the same dict object as ``personax.profiles.BUDGETS["crl.realworld"]``, which documents
#: each setting (the one table of profile budgets).
PROFILE_SETTINGS: dict[str, dict] = _BUDGETS["crl.realworld"]


@dataclass
class OracleGraph:
    """PC on the planted latents of a synthetic sample (the graph step with perfect latents).

    Attributes
    ----------
    graph : personax.crl.graph.LatentGraph
        PC with the run's test, α and rows on ``ds.truth.latents``.
    scores : GraphScores
        :func:`~personax.crl.metrics.compare_graphs` against the planted DAG (``shd_cpdag``
        is the CPDAG SHD, refined by the background knowledge).
    floor : GraphScores or None
        The same scores for PC with a *perfect* CI test (d-separation in the sample's world
        graph, :func:`~personax.crl.graph_covariates.dseparation_graph`) on the same nodes:
        what no test can beat on these nodes; ``None`` where the world graph is unknown.
    """

    graph: Any
    scores: GraphScores
    floor: GraphScores | None = None

    def to_dict(self) -> dict:
        return {"graph": self.graph.to_dict(), "scores": self.scores.to_dict(),
                "floor": None if self.floor is None else self.floor.to_dict()}


@dataclass
class Level2Result:
    """Everything :func:`run_level2` computed for one dataset.

    Attributes
    ----------
    dataset : str
    fit : PersonaFit
    graph : personax.crl.graph.LatentGraph
        PC over the first seed's latents (every row of ``pc_rows``, depth unlimited).
    stability : DataFrame
        Edge frequencies over the main PC run plus seeds × ``n_boot`` half-sample resamples
        (:func:`~personax.crl.graph.edge_stability`).
    stable : DataFrame
        The edges with frequency ≥ ``settings["freq_threshold"]``
        (:func:`~personax.crl.graph.stable_edges`): the graph the chapter draws.
    description : DataFrame
        :func:`describe_latents` of the first seed.
    labels : DataFrame
        :func:`suggest_labels` of ``description``.
    recovery : Recovery or None
        :func:`evaluate_recovery` (synthetic data only); its ``graph`` scores the main PC
        run and ``graph_stable`` the stable graph, both against the planted DAG after
        renaming learned latents to their matched planted ones.
    oracle : OracleGraph or None
        On synthetic data: PC with the same test, α and rows on the *planted* latents and
        its scores against the planted DAG — the graph step's own error, beside the error
        that comes from the learned latents.
    settings : dict
        The resolved settings (profile preset + overrides), ``timings`` (wall seconds per
        step), ``cpu_seconds`` (CPU time of the process that ran the pipeline; on a shared
        machine the wall times include waiting for a core) and, when :func:`run_level2_all`
        ran the oracle in another process, ``cpu_seconds_oracle``.
    """

    dataset: str
    fit: PersonaFit
    graph: Any
    stability: pd.DataFrame
    description: pd.DataFrame
    labels: pd.DataFrame
    recovery: Recovery | None
    oracle: OracleGraph | None
    settings: dict
    stable: pd.DataFrame = field(default_factory=pd.DataFrame)


def run_level2(ds, *, profile: str = "quick", seeds: Sequence[int] | None = None, alpha: float = 0.05,
               ci_test: str | None = None, seed: int = 0, device: str = "auto", n_boot: int | None = None,
               checkpoint_dir=None, describe_test: str = "kci", pc_rows: str = "all",
               pc_options: dict | None = None, freq_threshold: float | None = None,
               oracle: "OracleGraph | bool" = True, pc_covariates: str | None = None) -> Level2Result:
    """Fit, graph, stability, interpretation and (on synthetic data) recovery for one dataset.

    Parameters
    ----------
    ds : PersonaData
        Already subsampled if wanted (``load(..., n=...)``).
    profile : {"ci", "quick", "paper"}
        Budget preset (:data:`PROFILE_SETTINGS`).
    seeds : sequence of int, optional
        CRL training seeds (default from the profile).
    alpha : float
        PC significance level.
    ci_test : {"rcit", "kci", "fisherz"} or None
        PC's CI test; ``None`` takes the profile's (``ci``: Fisher-z, a smoke test;
        ``quick`` / ``paper``: RCIT, the paper's test for CelebPersona, O(n·100²) per test).
        ``"kci"`` runs the project's conditional KCI (causal-learn's definition; about 2.5
        minutes per PC run at 2,000 rows on two cores, see ``benchmarks/results/pc.csv``).
    seed : int
        Seeds PC subsamples, resamples, tests and the interpretation split.
    device : str
    n_boot : int, optional
        Resamples per seed for edge stability (default from the profile).
    checkpoint_dir : path, optional
        CRL checkpoints (resume after interruption).
    describe_test : str
        Level I test for :func:`describe_latents`.
    pc_rows : {"all", "heldout"}
        Rows PC and the stability resamples use: every person (default; the trained
        encoder is a fixed map, and more rows give the tests power) or only the validation
        + test rows (the authors ran PC on validation rows only).  The oracle uses the same rows.
    pc_options : dict, optional
        Options of the CI test (e.g. ``{"max_rank": 300}`` for KCI).
    freq_threshold : float, optional
        Frequency above which an edge enters the stable graph (default from the profile).
    oracle : bool or OracleGraph
        On synthetic data: ``True`` runs the oracle PC here, ``False`` skips it, an
        :class:`OracleGraph` from :func:`oracle_graph` (same settings, same rows) is used as
        given — :func:`run_level2_all` computes it in another process, beside the fit.
    pc_covariates : {None, "biographical"}
        ``"biographical"`` adds the dataset's biographical attributes
        (:data:`~personax.crl.graph_covariates.BIOGRAPHICAL_COVARIATES`) as PC nodes, in
        every PC run and in the oracle: latents that share an attribute parent are then no
        longer joined (``pc_graph(covariates=...)``); ``None`` (default) is the paper's PC
        over the latents alone.

    Returns
    -------
    Level2Result
    """
    import time

    from personax.crl.graph import edge_frequencies, edge_stability, pc_graph, stable_edges

    st = _settings(profile, seeds=seeds, n_boot=n_boot, ci_test=ci_test, pc_options=pc_options,
                   freq_threshold=freq_threshold, pc_rows=pc_rows, alpha=alpha, seed=seed,
                   pc_covariates=pc_covariates)
    ci_test = st["ci_test"]
    pc_kw = _pc_kwargs(st, device)
    if isinstance(oracle, OracleGraph) and pc_rows != "all":
        raise ValueError("a precomputed oracle is PC on every row; with pc_rows='heldout' let run_level2 compute it")
    timings = {}
    cpu0 = time.process_time()
    t = time.perf_counter()
    pf = fit_persona(ds, seeds=st["seeds"], profile=st["train_profile"], device=device,
                     checkpoint_dir=checkpoint_dir, config=st["train_config"])
    timings["fit"] = time.perf_counter() - t
    split = pf.split
    # the interpretation's R² is scored on rows no training step saw (validation + test)
    held = np.sort(np.concatenate([split["val"], split["test"]])) if split else np.arange(len(ds.frame))
    pc_idx = held if pc_rows == "heldout" else np.arange(len(ds.frame))
    t = time.perf_counter()
    lat_pc = [lat.iloc[pc_idx] for lat in pf.latents]
    pc_kw["covariates"] = _covariates(ds, st, pc_idx)
    graph = pc_graph(lat_pc[0], seed=seed, **pc_kw)
    timings["pc"] = time.perf_counter() - t
    t = time.perf_counter()
    # the main run counts as one stability run; half-sample resamples add seeds × n_boot more
    runs = [graph]
    if st["n_boot"] > 0 or len(lat_pc) > 1:
        runs += edge_stability(lat_pc, n_boot=st["n_boot"], seed=seed + 1, return_graphs=True, **pc_kw)
    stability = edge_frequencies(runs, graph.nodes)
    stable = stable_edges(stability, st["freq_threshold"])
    st["n_stability_runs"] = len(runs)
    timings["stability"] = time.perf_counter() - t
    t = time.perf_counter()
    schema = ds.schema
    description = describe_latents(pf.latents[0], ds.frame, schema.traits, schema.attributes,
                                   discrete=schema.discrete, test=describe_test,
                                   train_rows=split.get("train"), test_rows=held if split else None,
                                   seed=seed, max_n=st["describe_max_n"])
    labels = suggest_labels(description)
    timings["describe"] = time.perf_counter() - t
    recovery = None
    if ds.truth is not None:
        t = time.perf_counter()
        recovery = evaluate_recovery(pf.latents[0], ds.truth, graph_adjacency=graph.adjacency,
                                     fit_rows=split.get("train"), eval_rows=split.get("test"), seed=seed,
                                     stable_edges=stable)
        timings["recovery"] = time.perf_counter() - t
        if isinstance(oracle, OracleGraph):
            if oracle.graph.params["n_rows"] != len(pc_idx):
                raise ValueError(f"the oracle given ran on {oracle.graph.params['n_rows']} rows, PC here on "
                                 f"{len(pc_idx)}: compute it with oracle_graph on the same data")
            timings["oracle_pc"] = float(oracle.graph.params["seconds"])
        elif oracle:
            oracle = _oracle(ds, pc_idx, st, pc_kw)
            timings["oracle_pc"] = float(oracle.graph.params["seconds"])
        else:
            oracle = None
    else:
        oracle = None
    st["timings"] = timings
    # CPU seconds of this process (one thread): on a shared machine the wall times above
    # include waiting for a core, this does not
    st["cpu_seconds"] = time.process_time() - cpu0
    return Level2Result(dataset=pf.dataset, fit=pf, graph=graph, stability=stability, description=description,
                        labels=labels, recovery=recovery, oracle=oracle, settings=st, stable=stable)


def _settings(profile: str, *, seeds, n_boot, ci_test, pc_options, freq_threshold, pc_rows, alpha, seed,
              pc_covariates=None) -> dict:
    """The profile preset of :data:`PROFILE_SETTINGS` with the caller's overrides."""
    if profile not in PROFILE_SETTINGS:
        raise ValueError(f"profile={profile!r}: use one of {sorted(PROFILE_SETTINGS)}")
    st = dict(PROFILE_SETTINGS[profile])
    if seeds is not None:
        st["seeds"] = tuple(int(s) for s in seeds)
    if n_boot is not None:
        st["n_boot"] = int(n_boot)
    if ci_test is not None:
        st["ci_test"] = ci_test
    if pc_options is not None:
        st["pc_options"] = dict(pc_options)
    if freq_threshold is not None:
        st["freq_threshold"] = float(freq_threshold)
    if pc_rows not in ("all", "heldout"):
        raise ValueError(f"pc_rows={pc_rows!r}: use 'all' or 'heldout'")
    if pc_covariates not in (None, "biographical"):
        raise ValueError(f"pc_covariates={pc_covariates!r}: use None or 'biographical'")
    st.update(alpha=float(alpha), seed=int(seed), pc_rows=pc_rows, pc_covariates=pc_covariates)
    return st


def _covariates(ds, st: dict, rows: np.ndarray):
    """The covariate table PC gets on ``rows`` (None without ``pc_covariates``)."""
    if st.get("pc_covariates") is None:
        return None
    from personax.crl.graph_covariates import biographical_covariates

    return biographical_covariates(ds).iloc[rows].reset_index(drop=True)


def _pc_kwargs(st: dict, device: str) -> dict:
    return {"alpha": st["alpha"], "test": st["ci_test"], "max_depth": st["max_depth"], "options": st["pc_options"],
            "device": device}


def _oracle(ds, rows: np.ndarray, st: dict, pc_kw: dict) -> OracleGraph:
    from personax.crl.graph import pc_graph

    og = pc_graph(ds.truth.latents.iloc[rows], seed=st["seed"], **{**pc_kw, "covariates": _covariates(ds, st, rows)})
    dag = ds.truth.dag.loc[og.nodes, og.nodes]
    return OracleGraph(graph=og, scores=compare_graphs(og.adjacency, dag), floor=_floor(ds, og, dag))


def _floor(ds, og, dag) -> GraphScores | None:
    """Scores of d-separation PC on the oracle's nodes, for the shipped synthetic worlds."""
    from personax.crl.graph_covariates import dseparation_graph
    from personax.data.synthetic.world import latent_dag, world_graph

    try:
        world = world_graph(ds.dataset)
    except (KeyError, ValueError):
        return None
    if not np.array_equal(latent_dag(ds.dataset).loc[og.nodes, og.nodes].to_numpy(), dag.to_numpy()):
        return None  # the planted truth is not this world's
    return compare_graphs(dseparation_graph(world, og.nodes, og.params.get("covariates") or []).adjacency, dag)


def oracle_graph(ds, *, profile: str = "quick", alpha: float = 0.05, ci_test: str | None = None, seed: int = 0,
                 device: str = "auto", pc_options: dict | None = None,
                 pc_covariates: str | None = None) -> OracleGraph:
    """PC on the planted latents of a synthetic sample, every row, with :func:`run_level2`'s settings.

    The same test, α, options, depth and seed as ``run_level2(ds, profile=..., ...)`` with
    ``pc_rows="all"``, so the result equals the oracle that call computes; it does not
    depend on the CRL fit, so it can run beside it (:func:`run_level2_all`).

    Raises
    ------
    ValueError
        ``ds`` has no planted truth (real data).
    """
    if ds.truth is None:
        raise ValueError("this dataset has no planted truth (real data): there is no oracle to run; "
                         "use the synthetic sample (source='sample')")
    st = _settings(profile, seeds=None, n_boot=None, ci_test=ci_test, pc_options=pc_options, freq_threshold=None,
                   pc_rows="all", alpha=alpha, seed=seed, pc_covariates=pc_covariates)
    return _oracle(ds, np.arange(len(ds.frame)), st, _pc_kwargs(st, device))


def _level2_worker(task: str, ds, kwargs: dict):
    """One task of :func:`run_level2_all` in a worker process (libraries kept quiet, as in the notebook)."""
    from personax.crl.graph import cpu_threads
    from personax.utils import quiet_third_party

    quiet_third_party()
    # one thread per worker process: the workers share the cores (pc_graph keeps torch's setting)
    with cpu_threads(1):
        if task == "oracle":
            keep = ("profile", "alpha", "ci_test", "seed", "device", "pc_options", "pc_covariates")
            return oracle_graph(ds, **{k: v for k, v in kwargs.items() if k in keep})
        return run_level2(ds, **kwargs)


def run_level2_all(data: Mapping[str, Any], *, n_jobs: int | None = None, **kwargs) -> dict[str, Level2Result]:
    """:func:`run_level2` for every dataset of ``data``, in parallel processes on a CPU machine.

    The work is split into independent tasks — per dataset the pipeline of
    :func:`run_level2` (fit, PC, stability, interpretation, recovery) and, on synthetic
    data, the oracle PC on the planted latents (:func:`oracle_graph`, which does not need
    the fit) — and handed to ``n_jobs`` worker processes, longest first.  Every task is
    seeded on its own and runs on one CPU thread (``crl.fit(threads=1)``,
    :func:`~personax.crl.graph.cpu_threads`), so the results equal those of
    ``run_level2`` one dataset after the other (``n_jobs=1``); on two cores the chapter
    takes about the time of its longest task instead of the sum.

    Parameters
    ----------
    data : mapping
        ``{dataset: PersonaData}``.
    n_jobs : int or None
        Worker processes; ``None`` = up to the CPU count (at most one per task) on a CPU
        device, and 1 on a GPU (one device, one process).  ``1`` runs everything in this
        process.
    **kwargs
        Passed to :func:`run_level2` (``profile``, ``seeds``, ``alpha``, ``device`` ...).

    Returns
    -------
    dict
        ``{dataset: Level2Result}`` in the order of ``data``.
    """
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    from personax.errors import ParameterError
    from personax.utils import resolve_device

    if not data:
        raise ParameterError("data is empty: pass {dataset: PersonaData}", hint="e.g. {'athlepersona': load(...)}")
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1):
        raise ParameterError(f"n_jobs={n_jobs!r} must be a positive integer or None", hint="e.g. n_jobs=2")
    if "oracle" in kwargs:
        raise ParameterError("run_level2_all schedules the oracle itself", hint="drop the oracle= argument")
    on_cpu = resolve_device(kwargs.get("device", "auto")).startswith("cpu")
    split_oracle = kwargs.get("pc_rows", "all") == "all"
    tasks = [("level2", d) for d in data]
    if split_oracle:
        tasks += [("oracle", d) for d, ds in data.items() if ds.truth is not None]
    if n_jobs is None:
        n_jobs = min(len(tasks), os.cpu_count() or 1) if on_cpu else 1
    if n_jobs == 1:
        return {d: run_level2(ds, **kwargs) for d, ds in data.items()}
    # longest first: the pipelines (largest dataset first), then the oracles
    tasks.sort(key=lambda t: (t[0] != "level2", -len(data[t[1]].frame)))
    # spawn, not fork: the parent holds torch's and BLAS's thread pools, which a fork would copy in a broken state
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=int(n_jobs), mp_context=ctx) as pool:
        run_kw = {**kwargs, "oracle": False} if split_oracle else dict(kwargs)
        futures = {t: pool.submit(_level2_worker, t[0], data[t[1]], run_kw) for t in tasks}
        done = {t: f.result() for t, f in futures.items()}
    out = {}
    for d in data:
        r = done[("level2", d)]
        if ("oracle", d) in done:
            r.oracle = done[("oracle", d)]
            r.settings["timings"]["oracle_pc"] = float(r.oracle.graph.params["seconds"])
            r.settings["cpu_seconds_oracle"] = float(r.oracle.graph.params["cpu_seconds"])
        out[d] = r
    return out
