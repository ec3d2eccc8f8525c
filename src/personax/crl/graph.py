"""Causal graph over latents: PC with the project's CI tests, background knowledge, scores, stability.

This module is the graph step of Level II on PersonaX (paper §4.5): run the PC algorithm
(causal-learn's ``pc``, stable skeleton, ``uc_rule=0``, ``uc_priority=2``) over the latents a
CRL model learned — or over the planted latents of the synthetic sample, the *oracle* —
with a conditional-independence test of :mod:`personax.independence` and background
knowledge that forbids every edge from a modality latent (``Z1_*``, ``Z2_*``) into a shared
latent (``S*``); measure how often each edge comes back over training seeds and resamples;
and score a graph against a known DAG (:func:`~personax.crl.metrics.cpdag_shd`,
:func:`~personax.crl.metrics.compare_graphs`, re-exported here).

Observed covariates (``pc_graph(covariates=...)``, :mod:`personax.crl.graph_covariates`)
join PC as nodes that no latent may cause: latents with a common attribute parent are then
no longer joined by an edge, which PC over the latents alone cannot avoid.

The CI test is plugged into causal-learn through its registration hook by
:class:`personax.crl.graph_cit.ProjectCIT` (a test *spec*, one batched computation per PC
depth level; see that module).  By default PC runs on every row and without a depth limit.

Graph conventions
-----------------
* causal-learn's endpoint matrix is kept as is in ``LatentGraph.endpoints``: i → j is
  ``G[i, j] = -1, G[j, i] = 1``; i — j is ``-1, -1``; i ↔ j is ``1, 1``.
* Adjacency tables (DEVELOPING.md): row = parent, column = child; ``A.loc[a, b] == 1``
  means a → b; an undirected or bidirected edge sets both ``A[a, b]`` and ``A[b, a]``.
* SHD of a PC output is the **CPDAG SHD** (:func:`~personax.crl.metrics.cpdag_shd`): against the true DAG's
  Markov equivalence class, refined by the background knowledge PC was given.
"""

from __future__ import annotations

import contextlib
import re
import time
import warnings
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from personax.crl.cpdag import square_adjacency
from personax.crl.graph_cit import CI_TESTS, CIT_NAME, ProjectCIT
from personax.errors import DataError, ParameterError
from personax.utils import make_rng

__all__ = [
    "BLOCKS",
    "CI_TESTS",
    "PC_KCI_OPTIONS",
    "LatentGraph",
    "ProjectCIT",
    "latent_block",
    "shared_background",
    "pc_graph",
    "graph_edges_from_adjacency",
    "edges_to_adjacency",
    "dag_to_cpdag",
    "cpdag_shd",
    "compare_graphs",
    "align_latents",
    "edge_stability",
    "edge_frequencies",
    "stable_edges",
    "pc_data",
    "cpu_threads",
]

#: Latent block names, in drawing order.
BLOCKS = ("shared", "face", "text")
#: Options of the project's KCI inside PC when none are given: the factors of x and y are
#: capped at 300 columns, the factor of the conditioning set (computed once per set and shared
#: by its tests) at 1,200.  Measured against causal-learn in ``benchmarks/results/pc.csv``:
#: at 500 rows (caps ≥ n/2, so exact) every p-value within 2e-7 relative and the same graph;
#: on the 2,000 CelebPersona rows 24 sampled PC triples gave identical decisions at α = 0.05
#: but p-values up to 0.98 relative apart (the caps are an approximation there; 22 sampled
#: AthlePersona triples at 1,500 rows: 3.5e-3).  ``options={}`` gives the uncapped computation.
PC_KCI_OPTIONS = {"max_rank": 300, "max_rank_given": 1200}

_BLOCK_PATTERNS = {
    "shared": re.compile(r"^S\d+$"),
    "face": re.compile(r"^Z1_\d+$"),
    "text": re.compile(r"^Z2_\d+$"),
}


def latent_block(name: str) -> str:
    """Block of a latent from its name: ``S3`` → shared, ``Z1_4`` → face, ``Z2_1`` → text.

    Raises
    ------
    ValueError
        When the name follows none of the conventions of DEVELOPING.md.
    """
    for block, pattern in _BLOCK_PATTERNS.items():
        if pattern.match(str(name)):
            return block
    raise ValueError(
        f"latent name {name!r} follows none of the conventions S<k> (shared), Z1_<i> (face/image "
        "block), Z2_<i> (text block); rename the columns of the latent table accordingly"
    )


def _blocks_of(names: Iterable[str]) -> dict[str, str]:
    return {n: latent_block(n) for n in names}


def shared_background(names: Sequence[str]):
    """causal-learn ``BackgroundKnowledge`` forbidding every edge Z → S (paper §4.5).

    Parameters
    ----------
    names : sequence of str
        Node names as passed to PC (``node_names``); blocks are read from the names.

    Returns
    -------
    causallearn.utils.PCUtils.BackgroundKnowledge.BackgroundKnowledge
        With a forbidden rule (Z, S) for every modality latent Z and shared latent S.
        causal-learn compares ``GraphNode`` objects by name, so fresh nodes built here
        match the nodes of the PC graph.
    """
    from causallearn.graph.GraphNode import GraphNode
    from causallearn.utils.PCUtils.BackgroundKnowledge import BackgroundKnowledge

    blocks = _blocks_of(names)
    bk = BackgroundKnowledge()
    shared = [n for n, b in blocks.items() if b == "shared"]
    others = [n for n, b in blocks.items() if b != "shared"]
    for z in others:
        for s in shared:
            bk.add_forbidden_by_node(GraphNode(z), GraphNode(s))
    return bk


@dataclass
class LatentGraph:
    """Result of :func:`pc_graph`.

    Attributes
    ----------
    nodes : list of str
        Latent names in PC's node order.
    edges : DataFrame
        Columns ``source``, ``target`` (str), ``type`` ∈ {"directed", "undirected",
        "bidirected"}, ``source_block``, ``target_block``; for a directed edge source →
        target; for the other types source precedes target in ``nodes``.
    adjacency : DataFrame
        0/1, index = parent, columns = child; undirected/bidirected edges set both cells.
    tests : DataFrame
        One row per executed CI test: ``x``, ``y`` (node names; x is the test's first
        argument, causal-learn's smaller index), ``cond`` (tuple of names), ``pvalue``,
        ``seconds`` (a batch's time shared equally by its tests), ``level`` (size of the
        conditioning set), ``batched``.
    params : dict
        alpha, test, backend, options, n_rows, n_total, seed, background, max_depth,
        n_tests, n_batches, seconds (wall), tests_per_second, device, threads, cpu_seconds
        (CPU time of this process during PC).
    endpoints : ndarray (d, d)
        causal-learn's endpoint matrix (``G[i, j] = -1, G[j, i] = 1`` for i → j), over the latents.
    covariate_edges : DataFrame or None
        With ``pc_graph(covariates=...)``: the edges that touch a covariate (columns as
        ``edges``; covariates have block ``""``); ``None`` without covariates.
    """

    nodes: list[str]
    edges: pd.DataFrame
    adjacency: pd.DataFrame
    tests: pd.DataFrame
    params: dict = field(default_factory=dict)
    endpoints: np.ndarray | None = None
    covariate_edges: pd.DataFrame | None = None

    def to_dict(self) -> dict:
        """Plain-dict form: nodes, edges (records), adjacency (nested lists), params."""
        return {"nodes": list(self.nodes), "edges": self.edges.to_dict("records"),
                "adjacency": self.adjacency.to_numpy().tolist(), "params": dict(self.params)}


def _edges_from_causallearn(G: np.ndarray, nodes: Sequence[str]) -> pd.DataFrame:
    """Tidy edge table from causal-learn's endpoint matrix.

    causal-learn encodes i → j as G[i, j] = -1, G[j, i] = 1; i — j as -1/-1; i ↔ j as 1/1.
    """
    rows = []
    d = len(nodes)
    for i in range(d):
        for j in range(i + 1, d):
            a, b = G[i, j], G[j, i]
            if a == 0 and b == 0:
                continue
            if a == -1 and b == 1:
                rows.append((nodes[i], nodes[j], "directed"))
            elif a == 1 and b == -1:
                rows.append((nodes[j], nodes[i], "directed"))
            elif a == -1 and b == -1:
                rows.append((nodes[i], nodes[j], "undirected"))
            elif a == 1 and b == 1:
                rows.append((nodes[i], nodes[j], "bidirected"))
            else:
                raise RuntimeError(f"unexpected causal-learn endpoints G[{i},{j}]={a}, G[{j},{i}]={b}")
    return _edge_frame(rows)


def _edge_frame(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["source", "target", "type"])
    df["source_block"] = [latent_block(s) if _is_latent(s) else "" for s in df["source"]]
    df["target_block"] = [latent_block(t) if _is_latent(t) else "" for t in df["target"]]
    return df


def _is_latent(name: str) -> bool:
    return any(p.match(str(name)) for p in _BLOCK_PATTERNS.values())


def edges_to_adjacency(edges: pd.DataFrame, nodes: Sequence[str]) -> pd.DataFrame:
    """0/1 adjacency (row = parent, column = child) from an edge table.

    Directed edges set ``A[source, target]``; undirected and bidirected edges set both cells.
    """
    nodes = list(nodes)
    A = pd.DataFrame(0, index=nodes, columns=nodes, dtype=int)
    for s, t, kind in edges[["source", "target", "type"]].itertuples(index=False):
        if s not in A.index or t not in A.index:
            raise ValueError(f"edge {s}–{t} names a node outside {nodes}")
        A.loc[s, t] = 1
        if kind != "directed":
            A.loc[t, s] = 1
    return A


def graph_edges_from_adjacency(adjacency: pd.DataFrame) -> pd.DataFrame:
    """Edge table from a 0/1 adjacency: a mutual pair is one undirected edge.

    Returns
    -------
    DataFrame
        Columns as :attr:`LatentGraph.edges`.
    """
    A = square_adjacency(adjacency, "adjacency")
    nodes = list(A.index)
    rows = []
    for i, j in combinations(range(len(nodes)), 2):
        a, b = A.iat[i, j] != 0, A.iat[j, i] != 0
        if a and b:
            rows.append((nodes[i], nodes[j], "undirected"))
        elif a:
            rows.append((nodes[i], nodes[j], "directed"))
        elif b:
            rows.append((nodes[j], nodes[i], "directed"))
    return _edge_frame(rows)


def _validate_latents(latents: pd.DataFrame, what: str = "latents") -> pd.DataFrame:
    if not isinstance(latents, pd.DataFrame):
        raise ParameterError(f"{what} must be a pandas DataFrame with latent columns (S1.., Z1_1.., Z2_1..), "
                             f"got {type(latents).__name__}")
    cols = [c for c in latents.columns if _is_latent(c)]
    if len(cols) < 2:
        raise DataError(f"{what} needs at least two latent columns named S<k>, Z1_<i> or Z2_<i>; "
                        f"got columns {list(latents.columns)[:10]}", hint="rename the latent columns")
    X = latents[cols].to_numpy(dtype=float)
    if not np.isfinite(X).all():
        bad = {c: int((~np.isfinite(X[:, j])).sum()) for j, c in enumerate(cols) if not np.isfinite(X[:, j]).all()}
        raise DataError(f"{what} has NaN/inf values (column: rows) {bad}",
                        hint="drop or impute those rows before running PC (PC needs complete rows)")
    sd = X.std(axis=0)
    if (sd == 0).any():
        raise DataError(f"{what}: constant latent(s) {[c for c, s in zip(cols, sd) if s == 0]} carry no information",
                        hint="remove them before running PC (a constant variable cannot be tested)")
    return latents[cols]


@contextlib.contextmanager
def cpu_threads(n: int | None = 1):
    """Limit torch's and the BLAS libraries' CPU threads to ``n`` inside the block (restored after).

    On a busy machine several threads per process oversubscribe the cores: measured on the
    2-core VM under load, PC with RCIT on the AthlePersona sample's planted latents (1,500
    rows, 583 tests) took 16.9 s with torch's default two threads and 2.3 s with one, with
    the same graph (on the same machine when quiet: 1.9 s and 2.1 s).  ``n=None`` changes
    nothing.
    """
    if n is None:
        yield
        return
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(f"threads={n!r} must be a positive integer or None", hint="e.g. threads=1")
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        with threadpool_limits(limits=int(n)):
            yield
    finally:
        torch.set_num_threads(before)


def pc_data(latents_df: pd.DataFrame, rows: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
    """The matrix PC runs on: the latent columns (validated), optionally some rows, standardised.

    Returns ``(X, nodes)``; columns are centred and divided by their standard deviation
    (ddof = 0).  ``benchmarks/pc.py`` feeds causal-learn's own PC exactly this matrix.
    """
    lat = _validate_latents(latents_df)
    X = lat.to_numpy(dtype=float)
    if rows is not None:
        X = X[np.asarray(rows, dtype=int)]
    sd = X.std(axis=0)
    if (sd == 0).any():
        raise DataError(f"latent(s) {[c for c, v in zip(lat.columns, sd) if v == 0]} are constant on the selected "
                        "rows", hint="use more rows (rows=/max_n) or drop those latents")
    return (X - X.mean(axis=0)) / sd, list(lat.columns)


def pc_graph(latents_df: pd.DataFrame, alpha: float = 0.05, test: str = "kci", *,
             background: str | None = "shared", seed: int = 0, max_n: int | None = None,
             max_depth: int | None = None, rows: np.ndarray | None = None,
             options: Mapping[str, Any] | None = None, backend: str = "fast", device: str = "cpu",
             batch: bool = True, unconditional: str | None = None, threads: int | None = None,
             covariates: pd.DataFrame | None = None) -> LatentGraph:
    """PC over latents with a CI test of :mod:`personax.independence` and the paper's background knowledge.

    Parameters
    ----------
    latents_df : DataFrame
        One column per latent, named ``S<k>`` / ``Z1_<i>`` / ``Z2_<i>``; other columns are
        ignored.  Complete rows only (NaN is an error); columns are standardised.
    alpha : float
        Significance level of every CI test, in (0, 1).  The paper used 0.05 (CelebPersona,
        RCIT); the authors' AthlePersona script used 0.5.
    test : {"kci", "rcit", "fisherz"} or TestSpec
        Conditional-independence test (:data:`personax.independence.CONDITIONAL_TESTS`).
    background : {"shared", None}
        ``"shared"`` forbids every edge from a Z latent into an S latent; ``None`` runs
        plain PC.
    seed : int
        Seeds the optional row subsample and every stochastic CI test.
    max_n : int or None
        Rows used (a seeded subsample when the table is larger); ``None`` (default) uses
        every row.
    max_depth : int or None
        Largest conditioning-set size (causal-learn ``max_k``); ``None`` = no limit.
    rows : array of int, optional
        Explicit row positions to use (e.g. a resample); overrides ``max_n``.
    options : mapping, optional
        Options of the CI test (see :func:`personax.independence.test`); ``None`` uses
        :data:`PC_KCI_OPTIONS` for KCI (rank caps, documented error) and the defaults
        otherwise; ``{}`` is the uncapped KCI (exact to ~1e-6, much slower on many rows).
    backend : {"fast", "reference"}
        The project's batched implementation, or causal-learn's own classes (slow; for
        comparisons).
    device : str
        torch device of the fast KCI (``"cpu"``, ``"cuda"``; ``"auto"`` resolved here).
    batch : bool
        Compute each depth level in one batch (see :mod:`personax.crl.graph_cit`).
    unconditional : None
        Removed (every test now goes through the spec); passing it is an error.
    threads : int or None
        CPU threads of the CI tests during PC (:func:`cpu_threads`); ``None`` (default)
        keeps torch's current setting.  On a quiet 2-core machine two threads ran PC-KCI on
        the AthlePersona sample's latents in 12.9 s against 22.8 s with one (PC-RCIT: 1.9 s
        and 2.1 s); on a loaded machine one thread was several times faster, so pass
        ``threads=1`` where the cores are shared.
    covariates : DataFrame, optional
        Observed variables that may cause latents but are not caused by them (e.g. the
        biographical attributes), row-aligned with ``latents_df``: added as PC nodes with
        "no latent → covariate" background knowledge, so that latents with a common
        attribute parent are no longer joined (:mod:`personax.crl.graph_covariates`).
        Categories are coded 0 … k − 1; rows with a missing covariate are dropped
        (``params["n_rows"]`` counts the rows used).  The returned graph is over the
        latents; the edges that touch a covariate are in ``covariate_edges``.

    Returns
    -------
    LatentGraph
        Edge table, 0/1 adjacency, causal-learn's endpoint matrix, the log of CI tests
        and the run parameters.

    Raises
    ------
    DataError
        NaN/inf values, a constant latent, fewer than 20 rows.
    ParameterError
        A bad alpha / test / background / backend, or (from the CI test) a conditioning set
        larger than the rows support — lower ``max_depth``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> s1 = rng.normal(size=300); z = np.tanh(s1) + 0.5 * rng.normal(size=300)
    >>> g = pc_graph(pd.DataFrame({"S1": s1, "Z1_1": z, "Z2_1": rng.normal(size=300)}), test="kci")
    >>> g.edges[["source", "target", "type"]].values.tolist()
    [['S1', 'Z1_1', 'directed']]
    """
    from causallearn.search.ConstraintBased.PC import pc

    from personax.independence.registry import get_spec
    from personax.utils import resolve_device

    if unconditional is not None:
        raise ParameterError("pc_graph(unconditional=...) was removed: every test, conditional or not, now runs "
                             "through the test spec", hint="drop the argument (backend='reference' runs causal-learn's "
                             "own tests throughout)")
    if not (isinstance(alpha, (float, int)) and 0 < float(alpha) < 1):
        raise ParameterError(f"alpha must be in (0, 1), got {alpha!r}", hint="e.g. alpha=0.05")
    try:
        spec = get_spec(test, conditional=True)
    except ValueError as exc:
        raise ParameterError(f"test={test!r} is not supported: {exc}", hint=f"use one of {CI_TESTS}") from exc
    if background not in ("shared", None):
        raise ParameterError(f"background={background!r} is not known", hint="use 'shared' (forbid Z → S) or None")
    if max_depth is not None and (not isinstance(max_depth, (int, np.integer)) or max_depth < 0):
        raise ParameterError(f"max_depth={max_depth!r} must be None or an integer >= 0")
    lat = _validate_latents(latents_df)
    n_total = len(lat)
    if rows is None and max_n is not None and n_total > max_n:
        rows = np.sort(make_rng(seed).choice(n_total, size=int(max_n), replace=False))
    X, nodes = pc_data(lat, rows)
    from personax.crl.graph_covariates import covariate_background, covariate_matrix, split_graph

    cov_names: list[str] = []
    if covariates is not None:
        C, cov_names = covariate_matrix(covariates, n_total, rows)
        X = np.column_stack([X, C])[np.isfinite(C).all(1)]
        flat = np.ptp(X, axis=0) == 0  # identical values (a standardised constant is not exactly 0 sd)
        if flat.any():
            raise DataError(f"{[c for c, f in zip(nodes + cov_names, flat) if f]} are constant on the rows with "
                            "every covariate", hint="drop those columns or the covariates with missing values")
        X = (X - X.mean(0)) / X.std(0)
    if X.shape[0] < 20:
        raise DataError(f"PC needs at least 20 rows of latents, got {X.shape[0]}", hint="pass more rows")
    names = nodes + cov_names
    bk = covariate_background(nodes, cov_names, background)
    dev = resolve_device(device)
    if options is None:
        options = dict(PC_KCI_OPTIONS) if spec.name == "kci" else {}
    log: list[dict] = []
    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings(), cpu_threads(threads if str(dev).startswith("cpu") else None):
        warnings.simplefilter("ignore", category=RuntimeWarning)
        cg = pc(X, alpha=float(alpha), indep_test=CIT_NAME, stable=True, uc_rule=0, uc_priority=2,
                background_knowledge=bk, show_progress=False, node_names=names, max_k=max_depth,
                test=spec, seed=int(seed), alpha_level=float(alpha) if batch else None, options=options,
                backend=backend, device=dev, log=log)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    endpoints = np.asarray(cg.G.graph).astype(int)
    tests = pd.DataFrame(log, columns=["x", "y", "cond", "pvalue", "seconds", "level", "batched"])
    if len(tests):
        tests["x"] = [names[i] for i in tests["x"]]
        tests["y"] = [names[i] for i in tests["y"]]
        tests["cond"] = [tuple(names[i] for i in c) for c in tests["cond"]]
    params = {"alpha": float(alpha), "test": spec.name, "backend": backend, "options": dict(options or {}),
              "n_rows": int(X.shape[0]), "n_total": int(n_total), "seed": int(seed), "background": background,
              "max_depth": max_depth, "n_tests": int(len(tests)), "n_batches": int(cg.test.n_batches),
              "seconds": seconds, "tests_per_second": len(tests) / seconds if seconds > 0 else float("nan"),
              "device": dev, "threads": threads, "cpu_seconds": cpu_seconds, "covariates": cov_names}
    g = split_graph(endpoints, nodes, cov_names, tests, params)
    if background is not None:
        _assert_background(g.edges)
    return g


def _assert_background(edges: pd.DataFrame) -> None:
    """Fail loudly if an edge points from a Z latent into a shared latent."""
    bad = edges[(edges["target_block"] == "shared") & (edges["source_block"] != "shared")
                & (edges["type"] != "undirected")]
    bad2 = edges[(edges["source_block"] == "shared") & (edges["target_block"] != "shared")
                 & (edges["type"] == "bidirected")]
    if len(bad) or len(bad2):
        raise RuntimeError(f"PC returned edges into shared latents despite the background knowledge: "
                           f"{pd.concat([bad, bad2]).to_dict('records')}")


# graph scores live in personax.crl.metrics (the CPDAG in personax.crl.cpdag); alignment and
# stability in personax.crl.graph_stability; all re-exported here
from personax.crl.cpdag import dag_to_cpdag  # noqa: E402
from personax.crl.graph_stability import (  # noqa: E402  (import after the definitions it uses)
    align_latents,
    edge_frequencies,
    edge_stability,
    stable_edges,
)
from personax.crl.metrics import compare_graphs, cpdag_shd  # noqa: E402
