"""When the staged estimator identifies the latents: the conditions, checked on a known design.

The generative model (paper §4.1) has shared latents ``s``, modality blocks ``z_m`` and
measurements ``x_m^(k) = g_mk(s, z_m, eta_mk)``.  What the observations can pin down
(the argument behind :mod:`personax.crl.blocks` and :mod:`personax.crl.components`):

* **The shared block** ``s`` is the only information every modality carries, so it is
  identified (as a block) by cross-modal alignment.  Its components are identified only
  when ``n_shared == 1``: two or more independent roots seen by the same measurements are a
  nonlinear-ICA problem without auxiliary information.
* **A modality block** ``(s, z_m)`` is what all measurements of modality ``m`` share, so it
  is identified by multi-measurement alignment when ``K_m >= 2``, and by invertibility
  when ``K_m == 1`` (then together with that modality's own exogenous noise, if it has one).
* **Components** inside a block are pinned by their **cross-modal** relations: the flows of
  stage 2 may re-mix a block freely, and only the true coordinates make the cross-modal
  dependence sparse and the noises independent.
* **An edge between two latents seen by the same measurements** (inside ``s ∪ z_m``, i.e.
  inside a modality block or from a shared latent) is *not* identifiable from
  observational data: replacing the child by its exogenous noise and composing the
  mechanism into the mixing function gives **bit-identical observations** (see
  :func:`personax.crl.synthetic.twin`).  The estimator returns that canonical, edge-free
  representation there.

This module states the conditions as checks on a known design (for synthetic
benchmarks; real data cannot be checked):

=====  ===================================================================================
C1     every shared latent is isolated (no edge into or out of ``s``), and ``n_shared == 1``
       for component-wise claims on ``s``
C2     no edge inside a modality block
C3     all cross-modal edges follow one order of the modality blocks
C4     inside each block the cross-modal neighbour sets of the latents are pairwise
       distinct (so at most one latent of a block has none: the *silent* latent)
C5     a single-measurement modality with its own exogenous noise has no silent latent
       (its noise and a silent latent would be two free coordinates)
C6     every mixing is injective and every latent has its own exogenous noise (the
       generators guarantee it)
=====  ===================================================================================

:func:`check` returns which hold and, per latent, what the estimator can recover.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from typing import Mapping, Sequence

import pandas as pd

#: The conditions, in the order of the table above.
CONDITIONS = {
    "C1": "shared latents are isolated (no edge into or out of S); n_shared == 1 for component-wise S",
    "C2": "no edge inside a modality block",
    "C3": "cross-modal edges follow one order of the modality blocks",
    "C4": "inside each block, the cross-modal neighbour sets of the latents are pairwise distinct",
    "C5": "a single-measurement modality with its own exogenous noise has no silent latent",
    "C6": "injective mixings; every latent has its own exogenous noise",
}


@dataclass
class ConditionReport:
    """Result of :func:`check`.

    Attributes
    ----------
    satisfied : bool
        All conditions hold.
    violations : list of str
        ``"C2: Z1_1 -> Z1_2 inside block m1"``-style lines, empty when satisfied.
    status : dict
        Per latent: ``"identified"`` (component-wise, up to an invertible scalar map),
        ``"as its noise"`` (a within-block child with no cross-modal role: recovered as its
        exogenous noise, i.e. up to mixing with its in-block parents), ``"block only"``
        (identified only together with other latents) or ``"not identifiable"``.
    """

    satisfied: bool
    violations: list = field(default_factory=list)
    status: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def table(self) -> pd.DataFrame:
        """One row per condition: ``condition``, ``statement``, ``holds``, ``detail``."""
        rows = []
        for c, text in CONDITIONS.items():
            hits = [v for v in self.violations if v.startswith(c + ":")]
            rows.append({"condition": c, "statement": text, "holds": not hits,
                         "detail": "; ".join(h.split(": ", 1)[1] for h in hits)})
        return pd.DataFrame(rows)


def check(dag: pd.DataFrame, blocks: Mapping[str, Sequence[str]], measurements: Mapping[str, int],
          own_noise: Mapping[str, bool] | None = None) -> ConditionReport:
    """Check conditions C1–C5 of the module docstring on a known design.

    Parameters
    ----------
    dag : DataFrame
        True latent DAG, 0/1, ``dag.loc[parent, child] == 1``.
    blocks : mapping
        ``{"shared": [...], <modality>: [...], ...}`` latent names per block.
    measurements : mapping modality -> int
        Number of measurements ``K_m``.
    own_noise : mapping modality -> bool, optional
        Whether a single-measurement modality has an exogenous noise of its own.

    Returns
    -------
    ConditionReport

    Examples
    --------
    >>> import pandas as pd
    >>> names = ["S1", "Z1_1", "Z1_2", "Z2_1", "Z2_2"]
    >>> dag = pd.DataFrame(0, index=names, columns=names)
    >>> dag.loc["Z1_1", "Z2_1"] = dag.loc["Z1_2", "Z2_2"] = 1
    >>> blocks = {"shared": ["S1"], "m1": ["Z1_1", "Z1_2"], "m2": ["Z2_1", "Z2_2"]}
    >>> check(dag, blocks, {"m1": 3, "m2": 1}).satisfied
    True
    >>> dag.loc["Z1_1", "Z1_2"] = 1            # an edge inside block m1
    >>> check(dag, blocks, {"m1": 3, "m2": 1}).violations
    ['C2: Z1_1 -> Z1_2 inside block m1']
    """
    own_noise = dict(own_noise or {})
    a = dag.astype(int)
    shared = list(blocks.get("shared", []))
    mods = [m for m in blocks if m != "shared"]
    where = {v: m for m in mods for v in blocks[m]}
    violations: list[str] = []
    status: dict[str, str] = {}
    edges = [(p, c) for p in a.index for c in a.columns if a.loc[p, c]]
    for p, c in edges:
        if p in shared or c in shared:
            violations.append(f"C1: {p} -> {c} touches a shared latent")
    if len(shared) > 1:
        violations.append(f"C1: {len(shared)} shared latents are identified only as a block")
    for p, c in edges:
        if p in where and c in where and where[p] == where[c]:
            violations.append(f"C2: {p} -> {c} inside block {where[p]}")
    cross = [(where[p], where[c]) for p, c in edges if p in where and c in where and where[p] != where[c]]
    if cross and not any(all(order.index(x) < order.index(y) for x, y in cross)
                         for order in itertools.permutations(mods)):
        violations.append("C3: cross-modal edges run in both directions between blocks")

    def nbrs(v):
        out = set()
        for p, c in edges:
            if p == v and c in where and where[c] != where[v]:
                out.add(c)
            if c == v and p in where and where[p] != where[v]:
                out.add(p)
        return frozenset(out)

    def inblock(v):
        return any((p == v or c == v) and p in where and c in where and where[p] == where[c] == where[v]
                   for p, c in edges)

    for m in mods:
        sets = {v: nbrs(v) for v in blocks[m]}
        for x, y in itertools.combinations(blocks[m], 2):
            if sets[x] == sets[y]:
                what = "no cross-modal neighbour" if not sets[x] else f"the same neighbours {sorted(sets[x])}"
                violations.append(f"C4: {x} and {y} in block {m} have {what}")
        silent = [v for v in blocks[m] if not sets[v]]
        if measurements.get(m, 1) == 1 and own_noise.get(m, False) and silent:
            violations.append(f"C5: single-measurement modality {m} has its own noise and silent latent(s) {silent}")
        for v in blocks[m]:
            dup = [w for w in blocks[m] if w != v and sets[w] == sets[v]]
            if sets[v] and not dup:
                status[v] = "identified"
            elif not sets[v] and measurements.get(m, 1) == 1 and own_noise.get(m, False):
                status[v] = "not identifiable"
            elif dup:
                status[v] = "block only"
            elif inblock(v):
                status[v] = "as its noise"
            else:
                status[v] = "identified"
    for v in shared:
        status[v] = "identified" if len(shared) == 1 else "block only"
    return ConditionReport(not violations, violations, status)
