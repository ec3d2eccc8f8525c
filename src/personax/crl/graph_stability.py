"""Edge stability of PC over latents: alignment of latents across seeds, resampling, frequencies.

CRL identifies latents only up to a permutation within each block (and an invertible
component-wise map), so latent tables of different training seeds are first aligned to the
first one (:func:`align_latents`, Hungarian matching on |Spearman|); PC is then run on
resamples of each table (:func:`edge_stability`), and every unordered pair gets its
frequency of appearing, in either direction or undirected (:func:`edge_frequencies`,
Meinshausen & Bühlmann's stability selection).  :func:`stable_edges` keeps the edges above
a stated frequency, the graph the book draws.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from personax.crl import metrics
from personax.crl.graph import BLOCKS, LatentGraph, _blocks_of, _edge_frame, _validate_latents, pc_graph
from personax.errors import ParameterError
from personax.utils import make_rng, progress

__all__ = ["align_latents", "edge_stability", "edge_frequencies", "stable_edges"]


def align_latents(reference: pd.DataFrame, other: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rename the latents of ``other`` to the best-matching latents of ``reference``.

    CRL identifies latents only up to a permutation within each block and an invertible
    component-wise map, so latent ``Z1_3`` of one seed may be ``Z1_7`` of another (or the
    planted ``Z1_5``).  Within each block, columns are matched by the Hungarian algorithm
    on absolute Spearman correlation (:func:`personax.crl.metrics.match`, the project's one
    matcher; rank-based, so monotone maps do not hurt).

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
        C = metrics.correlation_matrix(oth[oc], ref[rc], "spearman")  # (other, reference)
        for i, j in enumerate(metrics.match(oth[oc], ref[rc], "spearman")):
            rename[oc[j]] = rc[i]
            rows.append((rc[i], oc[j], block, float(C[j, i])))
    aligned = oth.rename(columns=rename)[list(ref.columns)]
    return aligned, pd.DataFrame(rows, columns=["reference", "other", "block", "abs_spearman"])


def edge_stability(latents_by_seed: Sequence[pd.DataFrame] | Mapping[int, pd.DataFrame], n_boot: int = 10,
                   alpha: float = 0.05, seed: int = 0, *, test: str = "kci", max_n: int | None = None,
                   background: str | None = "shared", align: bool = True, max_depth: int | None = None,
                   options: Mapping | None = None, backend: str = "fast", device: str = "cpu",
                   replace: bool = False, return_graphs: bool = False,
                   covariates: pd.DataFrame | None = None) -> pd.DataFrame | list[LatentGraph]:
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
    alpha, test, background, max_depth, options, backend, device
        Passed to :func:`~personax.crl.graph.pc_graph`.
    seed : int
        Seeds the resampling and the CI tests; the output is a deterministic function of it.
    max_n : int or None
        Cap on rows per resample (``None``, the default: half-samples of all rows).
    replace : bool
        Ordinary bootstrap instead of half-samples without replacement.
    return_graphs : bool
        Return the list of :class:`LatentGraph` runs instead of the frequency table
        (combine them with others through :func:`edge_frequencies`).
    covariates : DataFrame, optional
        Observed covariates row-aligned with the tables, resampled with them
        (``pc_graph(covariates=...)``).

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
        raise ParameterError("latents_by_seed is empty: pass at least one latent table")
    if n_boot < 0:
        raise ParameterError(f"n_boot must be >= 0, got {n_boot}")
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
        for _ in range(max(n_boot, 1)):
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
                               rows=rows, max_depth=max_depth, options=options, backend=backend, device=device,
                               covariates=covariates))
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
        raise ParameterError("graphs is empty: pass at least one PC result")
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


def stable_edges(stability: pd.DataFrame, threshold: float = 0.5) -> pd.DataFrame:
    """The edges of an :func:`edge_frequencies` table that appear in at least ``threshold`` of the runs.

    An edge is drawn directed (source → target, the table's majority direction) when its
    directed frequency is at least its undirected and reverse frequencies, else undirected.

    Parameters
    ----------
    stability : DataFrame
        :func:`edge_stability` / :func:`edge_frequencies` output.
    threshold : float
        Smallest ``freq_any`` kept, in (0, 1].

    Returns
    -------
    DataFrame
        Columns of :attr:`~personax.crl.graph.LatentGraph.edges` plus ``freq`` (= ``freq_any``).

    Examples
    --------
    >>> import pandas as pd
    >>> st = pd.DataFrame({"source": ["S1", "Z1_1"], "target": ["Z1_1", "Z2_1"], "freq_directed": [0.9, 0.2],
    ...                    "freq_reverse": [0.0, 0.1], "freq_undirected": [0.1, 0.1], "freq_any": [1.0, 0.4],
    ...                    "n_runs": [10, 10]})
    >>> stable_edges(st, 0.5)[["source", "target", "type", "freq"]].values.tolist()
    [['S1', 'Z1_1', 'directed', 1.0]]
    """
    if not (0 < float(threshold) <= 1):
        raise ParameterError(f"threshold={threshold!r} must be in (0, 1]", hint="e.g. 0.5")
    keep = stability[stability["freq_any"] >= threshold]
    rows, freq = [], []
    for r in keep.itertuples(index=False):
        directed = r.freq_directed >= max(r.freq_undirected, r.freq_reverse) and r.freq_directed > 0
        rows.append((r.source, r.target, "directed" if directed else "undirected"))
        freq.append(float(r.freq_any))
    out = _edge_frame(rows)
    out["freq"] = freq
    return out
