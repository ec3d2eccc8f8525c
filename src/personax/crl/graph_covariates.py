"""Observed covariates in the graph step, and PC with a d-separation oracle.

PC over latents alone assumes the latents are causally sufficient.  In PersonaX they are
not: biographical attributes (gender, occupation, birth year, birthplace, league) cause
several latents at once, so two latents with a common attribute parent stay dependent
given every set of latents and PC joins them by an edge that the latent DAG does not have.
On the shipped sample's planted latents this is where PC's extra edges come from: PC with a
*perfect* CI test (d-separation in the world graph) on the latents alone is CPDAG SHD 9
(CelebPersona) and 6 (AthlePersona) away from the planted latent DAG; with the attribute
parents added as PC nodes it is 0 and 2 (``benchmarks/results/pc.csv``).

* :func:`covariate_matrix` turns a covariate table into PC columns (numbers kept,
  categories coded 0 … k − 1, rows with a missing covariate marked);
* :func:`covariate_background` adds "no latent → covariate" to the background knowledge
  (attributes are fixed before the latents);
* :func:`dseparation_graph` is PC with causal-learn's d-separation test on a known DAG: the
  graph a perfect test would give on the same nodes — the floor of the graph step's error.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from personax.errors import DataError, ParameterError

#: Biographical attributes that precede the face and the text of a person (fixed at or before
#: birth, or a career's league): the covariates this project adds to PC.  A domain choice,
#: not read from any planted graph; every one is a column of the dataset's table.
BIOGRAPHICAL_COVARIATES: dict[str, tuple[str, ...]] = {
    "celebpersona": ("gender", "occupation", "birth_year", "latitude", "longitude"),
    "athlepersona": ("league", "birth_year", "latitude", "longitude"),
}


def biographical_covariates(ds) -> pd.DataFrame:
    """The :data:`BIOGRAPHICAL_COVARIATES` columns of a loaded dataset (``personax.data.load``).

    >>> from personax.data import load
    >>> list(biographical_covariates(load("athlepersona")).columns)
    ['league', 'birth_year', 'latitude', 'longitude']
    """
    name = getattr(ds, "dataset", None)
    if name not in BIOGRAPHICAL_COVARIATES:
        raise ParameterError(f"no biographical covariates are defined for dataset {name!r}",
                             hint=f"pass covariates= yourself; known: {sorted(BIOGRAPHICAL_COVARIATES)}")
    cols = list(BIOGRAPHICAL_COVARIATES[name])
    missing = [c for c in cols if c not in ds.frame.columns]
    if missing:
        raise DataError(f"the {name} table lacks the covariate column(s) {missing}",
                        hint="load the dataset with personax.data.load, which keeps every attribute column")
    return ds.frame[cols].reset_index(drop=True)


def covariate_matrix(covariates: pd.DataFrame, n_rows: int, rows: np.ndarray | None = None,
                     ) -> tuple[np.ndarray, list[str]]:
    """PC columns of a covariate table (NaN where a value is missing).

    Parameters
    ----------
    covariates : DataFrame
        One column per covariate, row-aligned with the latents (same number of rows).
        Numeric and boolean columns are used as numbers; other columns (strings,
        categoricals) are coded 0 … k − 1 in sorted category order.
    n_rows : int
        Rows of the latent table (checked).
    rows : array of int, optional
        Row positions to keep (as ``pc_graph(rows=...)``).

    Returns
    -------
    (X, names) : ndarray (m, k) float, list of str

    Raises
    ------
    ParameterError
        Not a DataFrame, a column named like a latent, or a row count that differs.
    DataError
        A covariate with fewer than two distinct values on the rows.
    """
    from personax.crl.graph import _is_latent

    if not isinstance(covariates, pd.DataFrame):
        raise ParameterError(f"covariates must be a pandas DataFrame, got {type(covariates).__name__}",
                             hint="e.g. covariates=ds.frame[['gender', 'occupation', 'birth_year']]")
    names = [str(c) for c in covariates.columns]
    clash = [c for c in names if _is_latent(c)]
    if clash or len(set(names)) != len(names):
        raise ParameterError(f"covariate columns must be distinct and not named like latents (S<k>, Z1_<i>, Z2_<i>); "
                             f"got {clash or names}", hint="rename those columns")
    if len(covariates) != n_rows:
        raise ParameterError(f"covariates have {len(covariates)} rows, the latents {n_rows}: pass row-aligned tables")
    cols = []
    for c in covariates.columns:
        v = covariates[c]
        if pd.api.types.is_bool_dtype(v) or pd.api.types.is_numeric_dtype(v):
            cols.append(pd.to_numeric(v, errors="coerce").to_numpy(dtype=float, na_value=np.nan))
        else:
            codes = pd.Categorical(v).codes.astype(float)
            codes[codes < 0] = np.nan
            cols.append(codes)
    X = np.column_stack(cols) if cols else np.zeros((n_rows, 0))
    if rows is not None:
        X = X[np.asarray(rows, dtype=int)]
    for j, c in enumerate(names):
        if np.unique(X[np.isfinite(X[:, j]), j]).size < 2:
            raise DataError(f"covariate {c!r} takes fewer than two values on the rows PC uses",
                            hint="drop it from covariates")
    return X, names


def covariate_background(latents: Sequence[str], covariates: Sequence[str], background: str | None = "shared"):
    """PC's background knowledge: no latent → covariate edge, and with ``"shared"`` no Z → S edge.

    Returns None when nothing is forbidden (no covariates and ``background=None``).
    """
    from causallearn.graph.GraphNode import GraphNode
    from causallearn.utils.PCUtils.BackgroundKnowledge import BackgroundKnowledge

    from personax.crl.graph import shared_background

    if not covariates and background is None:
        return None
    bk = shared_background(list(latents)) if background == "shared" else BackgroundKnowledge()
    for v in latents:
        for c in covariates:
            bk.add_forbidden_by_node(GraphNode(str(v)), GraphNode(str(c)))
    return bk


def dseparation_graph(dag, latents: Sequence[str], covariates: Sequence[str] = (), *,
                      background: str | None = "shared"):
    """PC with a d-separation oracle: the graph a perfect CI test gives on these nodes.

    Parameters
    ----------
    dag : networkx.DiGraph
        The full causal DAG (it may hold more nodes than PC sees: those are marginalised,
        so a common cause outside the nodes shows up as an edge, as it would for any test).
    latents : sequence of str
        Latent nodes (``S<k>``, ``Z1_<i>``, ``Z2_<i>``), in PC's node order.
    covariates : sequence of str
        Observed covariates added as PC nodes (background: no latent → covariate).
    background : {"shared", None}
        As :func:`personax.crl.graph.pc_graph`.

    Returns
    -------
    LatentGraph
        Over the latents (as :func:`~personax.crl.graph.pc_graph`); ``covariate_edges``
        holds the edges that touch a covariate; ``params["test"] == "d_separation"``.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph([("age", "S1"), ("age", "Z1_1"), ("S1", "Z2_1")])
    >>> sorted(map(tuple, dseparation_graph(g, ["S1", "Z1_1", "Z2_1"]).edges[["source", "target"]].values))
    [('S1', 'Z1_1'), ('S1', 'Z2_1')]
    >>> dseparation_graph(g, ["S1", "Z1_1", "Z2_1"], ["age"]).edges[["source", "target"]].values.tolist()
    [['S1', 'Z2_1']]
    """
    import networkx as nx
    from causallearn.search.ConstraintBased.PC import pc

    nodes = [str(v) for v in latents] + [str(c) for c in covariates]
    missing = [v for v in nodes if v not in dag]
    if missing:
        raise ParameterError(f"nodes {missing} are not in the DAG", hint="pass node names of the DAG")
    G = nx.relabel_nodes(dag, {v: i for i, v in enumerate(nodes)})
    bk = covariate_background(latents, covariates, background)
    placeholder = np.zeros((2 * len(nodes), len(nodes)))  # d-separation reads the DAG, not data
    cg = pc(placeholder, 0.5, "d_separation", true_dag=G, stable=True, uc_rule=0, uc_priority=2,
            background_knowledge=bk, show_progress=False, node_names=nodes)
    return split_graph(np.asarray(cg.G.graph).astype(int), list(latents), list(covariates), pd.DataFrame(),
                       {"test": "d_separation", "background": background, "covariates": list(covariates)})


def split_graph(endpoints: np.ndarray, latents: list[str], covariates: list[str], tests: pd.DataFrame,
                params: dict):
    """A LatentGraph over the latents from PC's endpoint matrix over latents + covariates.

    ``covariate_edges`` holds the edges that touch a covariate (None without covariates).
    """
    from personax.crl.graph import LatentGraph, _edges_from_causallearn, edges_to_adjacency

    d = len(latents)
    every = _edges_from_causallearn(endpoints, latents + covariates)
    lat = set(latents)
    inside = every["source"].isin(lat) & every["target"].isin(lat)
    inner = every[inside].reset_index(drop=True)
    cov = every[~inside].reset_index(drop=True)
    bad = cov[(cov["type"] == "directed") & cov["source"].isin(lat)]
    if len(bad):
        raise RuntimeError(f"PC returned latent → covariate edges despite the background knowledge: "
                           f"{bad.to_dict('records')}")
    return LatentGraph(nodes=list(latents), edges=inner, adjacency=edges_to_adjacency(inner, latents), tests=tests,
                       params=params, endpoints=endpoints[:d, :d], covariate_edges=cov if covariates else None)


__all__ = ["BIOGRAPHICAL_COVARIATES", "biographical_covariates", "covariate_background", "covariate_matrix",
           "dseparation_graph", "split_graph"]
