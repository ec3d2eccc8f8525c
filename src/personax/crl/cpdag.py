"""The Markov equivalence class (CPDAG) of a DAG, and the pair marks that graph scores count.

:func:`dag_to_cpdag` is the reference a PC output is scored against
(:func:`personax.crl.metrics.cpdag_shd`): the true DAG's CPDAG, refined by the background
knowledge PC was given.  causal-learn is imported only when a CPDAG is computed.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

__all__ = ["dag_to_cpdag", "pair_marks", "square_adjacency", "check_same_nodes"]


def square_adjacency(A: pd.DataFrame, what: str) -> pd.DataFrame:
    if not isinstance(A, pd.DataFrame) or list(A.index) != list(A.columns):
        raise ValueError(f"{what} must be a square DataFrame whose index equals its columns "
                         "(row = parent, column = child)")
    return A


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

    from personax.crl.graph import shared_background

    A = square_adjacency(dag, "dag")
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


def pair_marks(A: np.ndarray) -> dict[tuple[int, int], str]:
    """Mark of every unordered pair i < j of a 0/1 adjacency: ``none``, ``fwd``, ``bwd``, ``both``."""
    marks = {}
    d = A.shape[0]
    for i, j in combinations(range(d), 2):
        a, b = A[i, j] != 0, A[j, i] != 0
        marks[(i, j)] = "both" if a and b else "fwd" if a else "bwd" if b else "none"
    return marks


def check_same_nodes(estimated: pd.DataFrame, truth_dag: pd.DataFrame) -> None:
    """Both are square adjacency tables over the same node names (else a ValueError that says why)."""
    T = square_adjacency(truth_dag, "truth_dag")
    E = square_adjacency(estimated, "estimated")
    if set(E.index) != set(T.index):
        raise ValueError(f"estimated nodes {sorted(E.index)} differ from truth nodes {sorted(T.index)}; "
                         "match learned latents to the planted ones first (align_latents)")
