"""Graph recovery scores: the one graph scorer of the project (part of :mod:`personax.crl.metrics`).

:func:`graph_scores` returns every score as one :class:`GraphScores` record: the **DAG SHD**
(:func:`dag_shd`), the **CPDAG SHD** for PC outputs (:func:`cpdag_shd`: against the true
DAG's Markov equivalence class refined by background knowledge, :mod:`personax.crl.cpdag`),
skeleton and arrow precision / recall.  :func:`compare_graphs` is its form for two named
tables.  Import them from :mod:`personax.crl.metrics`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from personax.utils import DictStyleAccess

__all__ = ["GraphScores", "graph_scores", "dag_shd", "cpdag_shd", "compare_graphs", "shd"]


@dataclass
class GraphScores(DictStyleAccess):
    """Recovery of a graph against a true DAG: the one record of every graph score.

    A pair of nodes carries one *mark*: no edge, a → b, b → a, or both (a mutual pair in
    the 0/1 adjacency: PC's undirected edge).  The SHDs count pairs whose mark differs.

    Attributes
    ----------
    shd_dag : int
        **DAG SHD**: pairs whose mark differs from the true DAG's (a missing, extra or
        reversed edge counts once).  Also readable as ``shd``.
    shd_cpdag : int or None
        **CPDAG SHD**: the same against the true DAG's CPDAG refined by the background
        knowledge (the most PC can identify); ``None`` unless computed (``cpdag=True``).
    skeleton_shd : int
        Missing + extra edges ignoring direction.
    precision, recall : float
        Directed-entry precision and recall of the 0/1 adjacency (NaN when undefined).
    skeleton_precision, skeleton_recall, skeleton_f1 : float
        Of the undirected skeleton.
    arrow_precision : float
        Share of estimated one-way edges that point the true way.
    arrow_recall : float
        Share of true edges recovered with the true direction.
    n_true, n_learned : int
        Edges of the true DAG and entries of the learned adjacency (a mutual pair is 2).
    n_est, n_est_directed : int
        Learned skeleton edges, and how many of them are one-way.
    threshold : float
        |weight| above which a learned entry is an edge.
    """

    shd_dag: int
    skeleton_shd: int
    precision: float
    recall: float
    n_true: int
    n_learned: int
    threshold: float
    skeleton_precision: float = float("nan")
    skeleton_recall: float = float("nan")
    skeleton_f1: float = float("nan")
    arrow_precision: float = float("nan")
    arrow_recall: float = float("nan")
    n_est: int = 0
    n_est_directed: int = 0
    shd_cpdag: int | None = None

    @property
    def shd(self) -> int:
        """The DAG SHD (:attr:`shd_dag`)."""
        return self.shd_dag

    def to_dict(self) -> dict:
        return {**asdict(self), "shd": self.shd_dag}


def _binary(adj, threshold: float) -> np.ndarray:
    a = np.asarray(adj.values if isinstance(adj, pd.DataFrame) else adj, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"adjacency must be square, got shape {a.shape}")
    b = (np.abs(a) > threshold).astype(int)
    np.fill_diagonal(b, 0)
    return b


def dag_shd(adj_hat, adj_true, threshold: float = 0.0) -> int:
    """**DAG SHD** between two adjacency matrices (row = parent, column = child).

    Examples
    --------
    >>> import numpy as np
    >>> true = np.array([[0, 1], [0, 0]])
    >>> dag_shd(true, true), dag_shd(true.T, true)
    (0, 1)
    """
    return graph_scores(adj_hat, adj_true, threshold).shd_dag


def shd(adj_hat, adj_true, threshold: float = 0.0) -> int:
    """Deprecated alias of :func:`dag_shd` (the name did not say *which* SHD)."""
    import warnings

    warnings.warn("personax.crl.metrics.shd is deprecated and will be removed in the next release: use dag_shd "
                  "(or cpdag_shd for a PC output)", DeprecationWarning, stacklevel=2)
    return dag_shd(adj_hat, adj_true, threshold)


def _named_alignment(adj_hat, adj_true):
    """Reorder a learned adjacency to the truth's node order when both are labelled alike."""
    if isinstance(adj_hat, pd.DataFrame) and isinstance(adj_true, pd.DataFrame) \
            and set(map(str, adj_hat.index)) == set(map(str, adj_true.index)) \
            and list(adj_true.index) == list(adj_true.columns) and list(adj_hat.index) == list(adj_hat.columns):
        return adj_hat.loc[list(adj_true.index), list(adj_true.index)]
    return adj_hat


def graph_scores(adj_hat, adj_true, threshold: float = 0.0, perm: Sequence[int] | None = None, *,
                 cpdag: bool = False, background: str | None = "shared") -> GraphScores:
    """Every graph score of ``adj_hat`` against the true DAG ``adj_true`` (:class:`GraphScores`).

    Parameters
    ----------
    adj_hat : array or DataFrame (D_hat, D_hat)
        Learned (weighted) adjacency, ``adj_hat[parent, child]``; a mutual pair is an
        undirected edge.  Two DataFrames over the same node names are aligned by name
        (unless ``perm`` is given).
    adj_true : array or DataFrame (D, D)
        True 0/1 DAG, same convention.
    threshold : float
        |weight| above which a learned entry counts as an edge.
    perm : sequence of int, optional
        ``perm[j]`` = learned latent matched to true latent ``j`` (from :func:`personax.crl.metrics.match`);
        the learned graph is re-indexed to the true latents before comparison.
    cpdag : bool
        Also compute the CPDAG SHD (needs causal-learn and node names on ``adj_true``).
    background : {"shared", None}
        Knowledge PC was given, refining the reference CPDAG (:func:`personax.crl.cpdag.dag_to_cpdag`).

    Examples
    --------
    >>> import numpy as np
    >>> true = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    >>> s = graph_scores(true.T, true)
    >>> s.shd_dag, s.skeleton_shd, s.arrow_precision
    (2, 0, 0.0)
    """
    from personax.crl.cpdag import pair_marks

    # a perm says how the learned positions match the truth: names are then not used to reorder
    h = _binary(_named_alignment(adj_hat, adj_true) if perm is None else adj_hat, threshold)
    t = _binary(adj_true, 0.5)
    if perm is not None:
        perm = np.asarray(perm, dtype=int)
        h = h[np.ix_(perm, perm)]
    if h.shape != t.shape:
        raise ValueError(f"learned graph {h.shape} and true graph {t.shape} differ in size: pass perm")
    mt, me = pair_marks(t), pair_marks(h)
    skel_t = {k for k, v in mt.items() if v != "none"}
    skel_e = {k for k, v in me.items() if v != "none"}
    tp_skel = len(skel_t & skel_e)
    sprec = tp_skel / len(skel_e) if skel_e else float("nan")
    srec = tp_skel / len(skel_t) if skel_t else float("nan")
    f1 = 2 * sprec * srec / (sprec + srec) if skel_e and skel_t and (sprec + srec) > 0 else float("nan")
    est_dir = [k for k, v in me.items() if v in ("fwd", "bwd")]
    tp = int(((h == 1) & (t == 1)).sum())
    nh, nt = int(h.sum()), int(t.sum())
    shd_cp = None
    if cpdag:
        from personax.crl.cpdag import dag_to_cpdag

        if not isinstance(adj_true, pd.DataFrame):
            raise ValueError("cpdag=True needs adj_true as a DataFrame with node names (S<k>, Z1_<i>, Z2_<i>)")
        mc = pair_marks(dag_to_cpdag(adj_true, background=background).to_numpy() != 0)
        shd_cp = int(sum(me[k] != mc[k] for k in me))
    return GraphScores(
        shd_dag=int(sum(me[k] != mt[k] for k in me)), skeleton_shd=len(skel_t ^ skel_e),
        precision=tp / nh if nh else float("nan"), recall=tp / nt if nt else float("nan"),
        n_true=nt, n_learned=nh, threshold=float(threshold),
        skeleton_precision=sprec, skeleton_recall=srec, skeleton_f1=f1,
        arrow_precision=sum(1 for k in est_dir if mt[k] == me[k]) / len(est_dir) if est_dir else float("nan"),
        arrow_recall=sum(1 for k in skel_t if me[k] == mt[k]) / len(skel_t) if skel_t else float("nan"),
        n_est=len(skel_e), n_est_directed=len(est_dir), shd_cpdag=shd_cp)


def compare_graphs(estimated: pd.DataFrame, truth_dag: pd.DataFrame, background: str | None = "shared") -> GraphScores:
    """Every score of a PC output (0/1 adjacency over the truth's node names) against a true DAG.

    :func:`graph_scores` with ``cpdag=True`` on two named tables: ``shd_cpdag`` is the SHD
    this project reports for PC (against the true CPDAG refined by ``background``),
    ``shd_dag`` the same count against the DAG itself.

    Examples
    --------
    >>> import pandas as pd
    >>> dag = pd.DataFrame([[0, 1], [0, 0]], index=["S1", "Z1_1"], columns=["S1", "Z1_1"])
    >>> s = compare_graphs(dag, dag)
    >>> s.shd_cpdag, s.shd_dag, s.skeleton_f1
    (0, 0, 1.0)
    """
    from personax.crl.cpdag import check_same_nodes

    check_same_nodes(estimated, truth_dag)
    return graph_scores(estimated, truth_dag, cpdag=True, background=background)


def cpdag_shd(estimated: pd.DataFrame, truth_dag: pd.DataFrame, background: str | None = "shared") -> int:
    """**CPDAG SHD** of a PC output against the true DAG's CPDAG refined by ``background``.

    PC identifies a DAG only up to its Markov equivalence class, which the background
    knowledge may refine; so the reference is the true DAG's CPDAG refined by the same
    knowledge.  A missing or extra edge counts 1, a wrongly oriented or wrongly
    (un)directed edge counts 1.  (The DAG SHD is :func:`dag_shd`.)

    Examples
    --------
    >>> import pandas as pd
    >>> dag = pd.DataFrame([[0, 1], [0, 0]], index=["S1", "Z1_1"], columns=["S1", "Z1_1"])
    >>> cpdag_shd(dag, dag), cpdag_shd(dag.T, dag)
    (0, 1)
    """
    return compare_graphs(estimated, truth_dag, background).shd_cpdag
