"""Causal graph over latents: PC with the project's CI tests, background knowledge, scores, stability.

This module is the graph step of Level II on PersonaX (paper §4.5): run the PC algorithm
(causal-learn's ``pc``, stable skeleton, ``uc_rule=0``, ``uc_priority=2``) over the latents a
CRL model learned — or over the planted latents of the synthetic sample, the *oracle* —
with a conditional-independence test of :mod:`personax.independence` and background
knowledge that forbids every edge from a modality latent (``Z1_*``, ``Z2_*``) into a shared
latent (``S*``); measure how often each edge comes back over training seeds and resamples;
and score a graph against a known DAG (:func:`cpdag_shd`, :func:`compare_graphs`).

The CI test is plugged into causal-learn through its registration hook by
:class:`personax.crl.graph_cit.ProjectCIT` (a test *spec*, one batched computation per PC
depth level; see that module).  By default PC runs on every row and without a depth limit.

Graph conventions
-----------------
* causal-learn's endpoint matrix is kept as is in ``LatentGraph.endpoints``: i → j is
  ``G[i, j] = -1, G[j, i] = 1``; i — j is ``-1, -1``; i ↔ j is ``1, 1``.
* Adjacency tables (DEVELOPING.md): row = parent, column = child; ``A.loc[a, b] == 1``
  means a → b; an undirected or bidirected edge sets both ``A[a, b]`` and ``A[b, a]``.
* SHD of a PC output is the **CPDAG SHD** (:func:`cpdag_shd`): against the true DAG's
  Markov equivalence class, refined by the background knowledge PC was given.
"""

from __future__ import annotations

import re
import time
import warnings
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.stats import rankdata

from personax.crl.graph_cit import CI_TESTS, CIT_NAME, ProjectCIT
from personax.errors import DataError, ParameterError
from personax.utils import make_rng, progress

__all__ = [
    "BLOCKS",
    "CI_TESTS",
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
]

#: Latent block names, in drawing order.
BLOCKS = ("shared", "face", "text")

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
        n_tests, n_batches, seconds, tests_per_second.
    endpoints : ndarray (d, d)
        causal-learn's endpoint matrix (``G[i, j] = -1, G[j, i] = 1`` for i → j).
    """

    nodes: list[str]
    edges: pd.DataFrame
    adjacency: pd.DataFrame
    tests: pd.DataFrame
    params: dict = field(default_factory=dict)
    endpoints: np.ndarray | None = None

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
    A = _square(adjacency, "adjacency")
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


def _square(A: pd.DataFrame, what: str) -> pd.DataFrame:
    if not isinstance(A, pd.DataFrame) or list(A.index) != list(A.columns):
        raise ValueError(f"{what} must be a square DataFrame whose index equals its columns "
                         "(row = parent, column = child)")
    return A


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
             batch: bool = True, unconditional: str | None = None) -> LatentGraph:
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
        Options of the CI test (e.g. ``{"max_rank": 300}`` for KCI; see
        :func:`personax.independence.test`).
    backend : {"fast", "reference"}
        The project's batched implementation, or causal-learn's own classes (slow; for
        comparisons).
    device : str
        torch device of the fast KCI (``"cpu"``, ``"cuda"``; ``"auto"`` resolved here).
    batch : bool
        Compute each depth level in one batch (see :mod:`personax.crl.graph_cit`).
    unconditional : None
        Removed (every test now goes through the spec); passing it is an error.

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
    if X.shape[0] < 20:
        raise DataError(f"PC needs at least 20 rows of latents, got {X.shape[0]}", hint="pass more rows")
    bk = shared_background(nodes) if background == "shared" else None
    dev = resolve_device(device)
    log: list[dict] = []
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        cg = pc(X, alpha=float(alpha), indep_test=CIT_NAME, stable=True, uc_rule=0, uc_priority=2,
                background_knowledge=bk, show_progress=False, node_names=nodes, max_k=max_depth,
                test=spec, seed=int(seed), alpha_level=float(alpha) if batch else None, options=options,
                backend=backend, device=dev, log=log)
    seconds = time.perf_counter() - t0
    endpoints = np.asarray(cg.G.graph).astype(int)
    edges = _edges_from_causallearn(endpoints, nodes)
    if bk is not None:
        _assert_background(edges)
    tests = pd.DataFrame(log, columns=["x", "y", "cond", "pvalue", "seconds", "level", "batched"])
    if len(tests):
        tests["x"] = [nodes[i] for i in tests["x"]]
        tests["y"] = [nodes[i] for i in tests["y"]]
        tests["cond"] = [tuple(nodes[i] for i in c) for c in tests["cond"]]
    params = {"alpha": float(alpha), "test": spec.name, "backend": backend, "options": dict(options or {}),
              "n_rows": int(X.shape[0]), "n_total": int(n_total), "seed": int(seed), "background": background,
              "max_depth": max_depth, "n_tests": int(len(tests)), "n_batches": int(cg.test.n_batches),
              "seconds": seconds, "tests_per_second": len(tests) / seconds if seconds > 0 else float("nan"),
              "device": dev}
    return LatentGraph(nodes=nodes, edges=edges, adjacency=edges_to_adjacency(edges, nodes),
                       tests=tests, params=params, endpoints=endpoints)


def _assert_background(edges: pd.DataFrame) -> None:
    """Fail loudly if an edge points from a Z latent into a shared latent."""
    bad = edges[(edges["target_block"] == "shared") & (edges["source_block"] != "shared")
                & (edges["type"] != "undirected")]
    bad2 = edges[(edges["source_block"] == "shared") & (edges["target_block"] != "shared")
                 & (edges["type"] == "bidirected")]
    if len(bad) or len(bad2):
        raise RuntimeError(f"PC returned edges into shared latents despite the background knowledge: "
                           f"{pd.concat([bad, bad2]).to_dict('records')}")


# --------------------------------------------------------------------------- graph scores

def dag_to_cpdag(dag: pd.DataFrame, background: str | None = None) -> pd.DataFrame:
    """CPDAG (Markov equivalence class) of a DAG, optionally refined by background knowledge.

    Uses causal-learn's ``dag2cpdag``; compelled edges stay one-way, reversible edges
    become mutual (both cells 1).  With ``background="shared"`` the undirected S — Z edges
    are oriented S → Z (the knowledge PC is given) and Meek's rules are re-applied, which
    is the most PC with that knowledge can identify.

    Parameters
    ----------
    dag : DataFrame
        0/1, row = parent, column = child; must be acyclic.
    background : {None, "shared"}
        Background knowledge to add (see :func:`shared_background`).
    """
    from causallearn.graph.Dag import Dag
    from causallearn.graph.GraphClass import CausalGraph
    from causallearn.graph.GraphNode import GraphNode
    from causallearn.utils.DAG2CPDAG import dag2cpdag
    from causallearn.utils.PCUtils import Meek
    from causallearn.utils.PCUtils.BackgroundKnowledgeOrientUtils import orient_by_background_knowledge

    A = _square(dag, "dag")
    names = [str(n) for n in A.index]
    nodes = [GraphNode(n) for n in names]
    if (np.asarray(A) * np.asarray(A).T).any():
        raise ValueError("dag has a mutual pair (a 2-cycle); pass a DAG")
    G = Dag(nodes)
    for i, j in zip(*np.nonzero(A.to_numpy())):
        G.add_directed_edge(nodes[i], nodes[j])
    cp = dag2cpdag(G).graph
    if background == "shared":
        cg = CausalGraph(len(names), names)
        cg.G.graph = np.array(cp, copy=True)
        bk = shared_background(names)
        orient_by_background_knowledge(cg, bk)
        cp = Meek.meek(cg, background_knowledge=bk).G.graph
    elif background is not None:
        raise ValueError(f"background={background!r}: use None or 'shared'")
    out = pd.DataFrame(0, index=list(A.index), columns=list(A.columns), dtype=int)
    d = len(names)
    for i in range(d):
        for j in range(d):
            # causal-learn encodes i → j as graph[i, j] = -1, graph[j, i] = 1.
            if cp[i, j] == -1 and cp[j, i] == 1:
                out.iat[i, j] = 1
            elif cp[i, j] == -1 and cp[j, i] == -1:
                out.iat[i, j] = out.iat[j, i] = 1
    return out


def _pair_marks(A: np.ndarray) -> dict[tuple[int, int], str]:
    marks = {}
    d = A.shape[0]
    for i, j in combinations(range(d), 2):
        a, b = A[i, j] != 0, A[j, i] != 0
        marks[(i, j)] = "both" if a and b else "fwd" if a else "bwd" if b else "none"
    return marks


def compare_graphs(estimated: pd.DataFrame, truth_dag: pd.DataFrame, background: str | None = "shared") -> dict:
    """Score an estimated graph (0/1 adjacency, PC/CPDAG style) against a true DAG.

    Parameters
    ----------
    estimated : DataFrame
        0/1 adjacency over (a subset-free permutation of) the truth's nodes; mutual pairs
        are undirected edges.
    truth_dag : DataFrame
        0/1 true DAG, row = parent, column = child.
    background : {"shared", None}
        Knowledge PC was given; the reference CPDAG is refined with it (:func:`dag_to_cpdag`).

    Returns
    -------
    dict
        ``shd_cpdag``: pairs whose mark (none / a→b / b→a / undirected) differs from the
        true CPDAG's refined by ``background`` (the best PC with that knowledge can identify); ``shd_dag``: same against the
        DAG itself; ``skeleton_precision``, ``skeleton_recall``, ``skeleton_f1``;
        ``arrow_precision`` (share of estimated directed edges that point the true way) and
        ``arrow_recall`` (share of true DAG edges recovered with the true direction); edge
        counts ``n_true``, ``n_est``, ``n_est_directed``.  Precision is NaN when nothing was
        estimated.
    """
    T = _square(truth_dag, "truth_dag")
    E = _square(estimated, "estimated")
    if set(E.index) != set(T.index):
        raise ValueError(f"estimated nodes {sorted(E.index)} differ from truth nodes {sorted(T.index)}; "
                         "match learned latents to the planted ones first (align_latents)")
    E = E.loc[T.index, T.index]
    t, e = T.to_numpy() != 0, E.to_numpy() != 0
    cp = dag_to_cpdag(T, background=background).to_numpy() != 0
    mt, me, mc = _pair_marks(t), _pair_marks(e), _pair_marks(cp)
    skel_t = {k for k, v in mt.items() if v != "none"}
    skel_e = {k for k, v in me.items() if v != "none"}
    tp = len(skel_t & skel_e)
    prec = tp / len(skel_e) if skel_e else float("nan")
    rec = tp / len(skel_t) if skel_t else float("nan")
    f1 = 2 * prec * rec / (prec + rec) if skel_e and skel_t and (prec + rec) > 0 else float("nan")
    est_dir = [k for k, v in me.items() if v in ("fwd", "bwd")]
    arrow_ok = sum(1 for k in est_dir if mt[k] == me[k])
    true_dir_found = sum(1 for k in skel_t if me[k] == mt[k])
    return {
        "shd_cpdag": int(sum(me[k] != mc[k] for k in me)),
        "shd_dag": int(sum(me[k] != mt[k] for k in me)),
        "skeleton_precision": prec,
        "skeleton_recall": rec,
        "skeleton_f1": f1,
        "arrow_precision": arrow_ok / len(est_dir) if est_dir else float("nan"),
        "arrow_recall": true_dir_found / len(skel_t) if skel_t else float("nan"),
        "n_true": len(skel_t),
        "n_est": len(skel_e),
        "n_est_directed": len(est_dir),
    }


# --------------------------------------------------------------------------- alignment, stability

def _rank_corr(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Spearman correlation between every column of ``A`` and every column of ``B``."""
    ra = rankdata(A, axis=0)
    rb = rankdata(B, axis=0)
    ra = (ra - ra.mean(0)) / ra.std(0)
    rb = (rb - rb.mean(0)) / rb.std(0)
    return ra.T @ rb / A.shape[0]


def align_latents(reference: pd.DataFrame, other: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rename the latents of ``other`` to the best-matching latents of ``reference``.

    CRL identifies latents only up to a permutation within each block and an invertible
    component-wise map, so latent ``Z1_3`` of one seed may be ``Z1_7`` of another (or the
    planted ``Z1_5``).  Within each block, columns are matched by the Hungarian algorithm
    on absolute Spearman correlation (rank-based, so monotone maps do not hurt).

    Parameters
    ----------
    reference, other : DataFrame
        Latent tables with the same rows (same order) and the same latent names per block.

    Returns
    -------
    aligned : DataFrame
        ``other`` with columns renamed (and reordered) to the reference names.
    matching : DataFrame
        Columns ``reference``, ``other``, ``block``, ``abs_spearman``.
    """
    ref = _validate_latents(reference, "reference")
    oth = _validate_latents(other, "other")
    if len(ref) != len(oth):
        raise ValueError(f"reference has {len(ref)} rows and other {len(oth)}; align rows first")
    # Two labelled indexes (person ids) must agree; a positional RangeIndex on either side
    # means the caller vouches for the row order.
    labelled = not isinstance(reference.index, pd.RangeIndex) and not isinstance(other.index, pd.RangeIndex)
    if labelled and not reference.index.equals(other.index):
        raise ValueError("reference and other have different row indexes (person ids); "
                         "reindex other to reference.index first")
    rb, ob = _blocks_of(ref.columns), _blocks_of(oth.columns)
    rename, rows = {}, []
    for block in BLOCKS:
        rc = [c for c in ref.columns if rb[c] == block]
        oc = [c for c in oth.columns if ob[c] == block]
        if len(rc) != len(oc):
            raise ValueError(f"block {block!r}: reference has {len(rc)} latents, other {len(oc)}")
        if not rc:
            continue
        C = np.abs(_rank_corr(ref[rc].to_numpy(), oth[oc].to_numpy()))
        r_idx, o_idx = linear_sum_assignment(-C)
        for i, j in zip(r_idx, o_idx):
            rename[oc[j]] = rc[i]
            rows.append((rc[i], oc[j], block, float(C[i, j])))
    aligned = oth.rename(columns=rename)[list(ref.columns)]
    return aligned, pd.DataFrame(rows, columns=["reference", "other", "block", "abs_spearman"])


def edge_stability(latents_by_seed: Sequence[pd.DataFrame] | Mapping[int, pd.DataFrame], n_boot: int = 10,
                   alpha: float = 0.05, seed: int = 0, *, test: str = "kci", max_n: int | None = 500,
                   background: str | None = "shared", align: bool = True, max_depth: int | None = None,
                   unconditional: str = "library", replace: bool = False,
                   return_graphs: bool = False) -> pd.DataFrame | list[LatentGraph]:
    """Frequency of each edge over training seeds × bootstrap resamples.

    For every latent table (one per CRL training seed) PC is run on ``n_boot`` resamples
    (or once on the table itself, subsampled to ``max_n`` rows, when ``n_boot == 0``).
    By default a resample is a half-sample drawn *without* replacement (min(``max_n``,
    n // 2) rows, as in stability selection): kernel CI tests read the duplicated rows of
    an ordinary bootstrap as extra dependence, which inflates edge frequencies.
    ``replace=True`` gives the ordinary bootstrap (min(``max_n``, n) rows).  With
    ``align=True`` every table is first aligned to the first one (:func:`align_latents`),
    because latent indices are arbitrary within a block across seeds.

    Parameters
    ----------
    latents_by_seed : sequence or mapping of DataFrame
        Latent tables (S1.., Z1_1.., Z2_1..), one per seed, same rows.
    n_boot : int
        Bootstrap resamples per table (0 = one run on the table as is).
    alpha, test, background, max_depth, unconditional
        Passed to :func:`pc_graph`.
    seed : int
        Seeds the resampling and the CI tests; the output is a deterministic function of it.
    max_n : int or None
        Cap on rows per resample (``None``: no cap).
    replace : bool
        Ordinary bootstrap instead of half-samples without replacement.
    return_graphs : bool
        Return the list of :class:`LatentGraph` runs instead of the frequency table
        (combine them with others through :func:`edge_frequencies`).

    Returns
    -------
    DataFrame
        One row per unordered pair adjacent in at least one run, oriented in its more
        frequent direction (ties: node order): ``source``, ``target``, ``freq_directed``
        (share of runs with source → target), ``freq_reverse`` (target → source),
        ``freq_undirected`` (undirected or bidirected), ``freq_any`` (any edge), ``n_runs``,
        sorted by ``freq_any`` then ``freq_directed`` descending.
    """
    tables = list(latents_by_seed.values()) if isinstance(latents_by_seed, Mapping) else list(latents_by_seed)
    if not tables:
        raise ValueError("latents_by_seed is empty: pass at least one latent table")
    if n_boot < 0:
        raise ValueError(f"n_boot must be >= 0, got {n_boot}")
    ref = _validate_latents(tables[0])
    nodes = list(ref.columns)
    if align:
        tables = [ref] + [align_latents(ref, t)[0] for t in tables[1:]]
    rng = make_rng(seed)
    runs = []
    for k, tab in enumerate(tables):
        tab = _validate_latents(tab)[nodes]
        n = len(tab)
        cap = n if max_n is None else min(int(max_n), n)
        for b in range(max(n_boot, 1)):
            if n_boot == 0:
                rows = np.sort(rng.choice(n, size=cap, replace=False)) if cap < n else np.arange(n)
            elif replace:
                rows = rng.choice(n, size=cap, replace=True)
            else:
                rows = np.sort(rng.choice(n, size=min(cap, n // 2), replace=False))
            runs.append((k, rows, int(rng.integers(2**31 - 1))))
    graphs = []
    for k, rows, run_seed in progress(runs, desc="edge stability"):
        graphs.append(pc_graph(tables[k], alpha=alpha, test=test, background=background, seed=run_seed,
                               rows=rows, max_depth=max_depth, unconditional=unconditional))
    return graphs if return_graphs else edge_frequencies(graphs, nodes)


def edge_frequencies(graphs: Sequence[LatentGraph | pd.DataFrame], nodes: Sequence[str] | None = None) -> pd.DataFrame:
    """Edge frequencies over a collection of PC results (the table of :func:`edge_stability`).

    Parameters
    ----------
    graphs : sequence of LatentGraph or edge DataFrames
        One entry per run.
    nodes : sequence of str, optional
        Node order for ties and for undirected edges (default: the first graph's nodes).

    Returns
    -------
    DataFrame
        Columns as :func:`edge_stability`.
    """
    if not graphs:
        raise ValueError("graphs is empty")
    if nodes is None:
        g0 = graphs[0]
        nodes = g0.nodes if isinstance(g0, LatentGraph) else sorted(set(g0["source"]) | set(g0["target"]))
    nodes = list(nodes)
    counts: dict[tuple[str, str, str], int] = {}
    for g in graphs:
        edges = g.edges if isinstance(g, LatentGraph) else g
        for s, t, kind in edges[["source", "target", "type"]].itertuples(index=False):
            key = (s, t, "directed") if kind == "directed" else (*sorted((s, t), key=nodes.index), "undirected")
            counts[key] = counts.get(key, 0) + 1
    R = len(graphs)
    pairs: dict[tuple[str, str], dict] = {}
    for (s, t, kind), c in counts.items():
        a, b = sorted((s, t), key=nodes.index)
        rec = pairs.setdefault((a, b), {"ab": 0, "ba": 0, "und": 0})
        if kind == "undirected":
            rec["und"] += c
        elif (s, t) == (a, b):
            rec["ab"] += c
        else:
            rec["ba"] += c
    rows_out = []
    for (a, b), rec in pairs.items():
        src, tgt, fwd, rev = (a, b, rec["ab"], rec["ba"]) if rec["ab"] >= rec["ba"] else (b, a, rec["ba"], rec["ab"])
        rows_out.append({"source": src, "target": tgt, "freq_directed": fwd / R, "freq_reverse": rev / R,
                         "freq_undirected": rec["und"] / R, "freq_any": (fwd + rev + rec["und"]) / R,
                         "n_runs": R})
    out = pd.DataFrame(rows_out, columns=["source", "target", "freq_directed", "freq_reverse",
                                          "freq_undirected", "freq_any", "n_runs"])
    return out.sort_values(["freq_any", "freq_directed", "source", "target"],
                           ascending=[False, False, True, True]).reset_index(drop=True)
