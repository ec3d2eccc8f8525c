"""The CI-test adapter between causal-learn's PC and the project's tests (``personax.independence``).

causal-learn 0.1.4.8 lets a custom CI test be registered by name
(``causallearn.utils.cit.register_ci_test(name, cls)``); ``pc(data, indep_test=name, **kw)``
then builds ``cls(data, **kw)`` (a ``CIT_Base`` subclass) and calls it as
``cit(x, y, condition_set) -> p``.  :class:`ProjectCIT` is registered as ``"personax"``.

* **A spec, not a name.**  It holds a :class:`personax.independence.TestSpec` (KCI, RCIT or
  Fisher-z) and calls :meth:`TestSpec.run_batch` (fast backend) or the spec's reference
  implementations (``backend="reference"``: causal-learn's own classes, for comparisons).
* **One batch per depth level.**  causal-learn's *stable* skeleton search tests, at depth
  ℓ, every ordered adjacent pair (x, y) against *every* subset S ⊆ adj(x) ∖ {y} of size ℓ,
  with the adjacencies frozen at the start of the level, and removes an edge after the
  level when one of its tests gave p > α.  The set of triples of a level is therefore known
  as soon as the previous level's p-values are: at the first call of a level the adapter
  rebuilds the adjacencies from its own answers (:class:`LevelPlanner`) and computes all
  of the level's triples in one batched call (shared kernel factors per conditioning set),
  then answers causal-learn's calls from its cache.  A call the planner did not foresee is
  computed on its own — correctness never depends on the prediction, only speed.
* **Causal-learn's conventions.**  Like causal-learn's ``CIT``, a triple is keyed with
  x < y (column indices) and the conditioning set sorted; KCI, which is not symmetric in x
  and y, sees the smaller index as x, as in causal-learn's own PC run.
* **Deterministic stochastic tests.**  RCIT's features are drawn from a seed derived from
  the run seed and the conditioning set S (:func:`call_seed`), so a p-value does not depend
  on the order PC asks for it, and the tests of one S share the random features of z (the
  expensive part, computed once per S).  The reference backend runs causal-learn's RCIT under
  the same seed (global NumPy state saved and restored), so both see identical features.
* **Audit.**  Every executed test is logged (x, y, S, p, seconds, level), and a failed test
  raises an error that names the test, never a silent p-value (official-code defect #4).
"""

from __future__ import annotations

import hashlib
import time
from itertools import combinations
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from causallearn.utils.cit import CIT_Base, register_ci_test

from personax.errors import DataError, ParameterError
from personax.independence.registry import CONDITIONAL_TESTS, TestSpec, get_spec, resolve_options
from personax.independence.result import IndependenceTestError

CIT_NAME = "personax"
#: Test names PC accepts (the conditional registry).
CI_TESTS = tuple(CONDITIONAL_TESTS)


def call_seed(seed: int, cond: Sequence[int]) -> int:
    """Seed of a CI call, derived from the run seed and the (sorted) conditioning set."""
    key = ".".join(map(str, sorted(int(c) for c in cond)))
    digest = hashlib.sha256(f"{seed}|S={key}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def cache_key(x: int, y: int, cond: Sequence[int]) -> str:
    """causal-learn's cache key for a single-column triple (``CIT_Base`` format)."""
    a, b = (x, y) if x < y else (y, x)
    s = sorted(set(int(c) for c in cond))
    return f"{a};{b}|{'.'.join(map(str, s))}" if s else f"{a};{b}"


class LevelPlanner:
    """Predicts the triples causal-learn's stable skeleton search asks at one depth level.

    Parameters
    ----------
    p : int
        Number of variables.
    alpha : float
        The level PC uses (an edge is removed when a test gives p > alpha).
    banned : iterable of (int, int)
        Pairs whose edge background knowledge forbids in *both* directions (causal-learn
        removes those after depth 0 without a test).
    """

    def __init__(self, p: int, alpha: float, banned: Iterable[tuple[int, int]] = ()):
        self.p = int(p)
        self.alpha = float(alpha)
        self.banned = {tuple(sorted(b)) for b in banned}

    def adjacency(self, depth: int, answers: Mapping[tuple[int, int, tuple], float]) -> list[set[int]]:
        """Adjacency sets at the start of ``depth``: complete graph minus removed pairs."""
        removed = set()
        for (x, y, s), pv in answers.items():
            if len(s) < depth and pv > self.alpha:
                removed.add((x, y))
        if depth > 0:
            removed |= self.banned
        adj = [set(range(self.p)) - {i} for i in range(self.p)]
        for x, y in removed:
            adj[x].discard(y)
            adj[y].discard(x)
        return adj

    def level(self, depth: int, answers: Mapping[tuple[int, int, tuple], float]) -> list[tuple[int, int, tuple]]:
        """Every (x, y, S) (x < y, S sorted) asked at ``depth``, in causal-learn's order, deduplicated."""
        adj = self.adjacency(depth, answers)
        out: dict[tuple[int, int, tuple], None] = {}
        for x in range(self.p):
            nx = sorted(adj[x])
            for y in nx:
                rest = [v for v in nx if v != y]
                for S in combinations(rest, depth):
                    a, b = (x, y) if x < y else (y, x)
                    out.setdefault((a, b, tuple(sorted(S))), None)
        return list(out)


class ProjectCIT(CIT_Base):
    """causal-learn CI test registered as ``"personax"`` (see the module docstring).

    Parameters
    ----------
    data : ndarray (n, p)
        The data PC runs on (complete, standardised by :func:`personax.crl.graph.pc_graph`).
    test : str or TestSpec
        ``"kci"``, ``"rcit"``, ``"fisherz"`` or a conditional :class:`TestSpec`.
    seed : int
        Run seed (per-call seeds derive from it and the triple).
    alpha_level : float, optional
        PC's level α (``pc``'s own ``alpha`` keyword is taken); needed for the level
        batching (without it every call is computed alone).
    options : mapping, optional
        Options of the test (``personax.independence.test`` keywords, conditional ones
        included), e.g. ``{"max_rank": 200}`` for KCI.
    backend : {"fast", "reference"}
        The project's implementation (batched) or causal-learn's classes (one call at a time).
    device : str
        torch device of the fast KCI.
    banned : iterable of (int, int)
        Pairs forbidden in both directions by background knowledge (planner only).
    log : list, optional
        One dict per executed test is appended: ``x``, ``y``, ``cond``, ``pvalue``,
        ``seconds`` (a batch's time is shared equally by its tests), ``level``, ``batched``.
    """

    def __init__(self, data, test: str | TestSpec = "kci", seed: int = 0, alpha_level: float | None = None,
                 options: Mapping[str, Any] | None = None, backend: str = "fast", device: str = "cpu",
                 banned: Iterable[tuple[int, int]] = (), log: list | None = None, **kwargs):
        super().__init__(data, **kwargs)
        self.spec = get_spec(test, conditional=True)
        if backend not in ("fast", "reference"):
            raise ParameterError(f"backend={backend!r} is not a CI-test backend", hint="use 'fast' or 'reference'")
        self.backend = backend
        self.seed = int(seed)
        self.options = dict(options or {})
        self.min_n, self.merged = resolve_options(self.spec, self.options, conditional=True)
        self.device = device
        self.log = log
        self.planner = LevelPlanner(data.shape[1], alpha_level, banned) if alpha_level is not None else None
        self.answers: dict[tuple[int, int, tuple], float] = {}
        self._planned: set[int] = set()
        self.n_batches = 0
        # the cache key tells causal-learn's cache which method produced a p-value
        self.check_cache_method_consistent(
            f"personax-{self.spec.name}-{backend}",
            hashlib.md5(repr(sorted(self.merged.items())).encode()).hexdigest())
        self.assert_input_data_is_valid()
        self.variables = {j: np.ascontiguousarray(data[:, j:j + 1], dtype=np.float64) for j in range(data.shape[1])}

    # ------------------------------------------------------------------ computing
    def _compute(self, triples: list[tuple[int, int, tuple]], level: int, batched: bool) -> None:
        keys = [cache_key(x, y, s) for x, y, s in triples]
        seeds = [call_seed(self.seed, s) for _, _, s in triples]
        t0 = time.perf_counter()
        if self.backend == "fast":
            res = self.spec.run_batch(self.variables, triples, device=self.device, seed=seeds, errors="return",
                                      **self.options)
        else:
            res = [self._reference(x, y, s, sd) for (x, y, s), sd in zip(triples, seeds)]
        dt = (time.perf_counter() - t0) / max(1, len(triples))
        for (x, y, s), key, r in zip(triples, keys, res):
            if isinstance(r, Exception):
                kind = ParameterError if isinstance(r, ParameterError) else DataError
                raise kind(f"{self.spec.name} CI test failed for x={x}, y={y}, conditioning set={list(s)} "
                           f"(n={self.sample_size}): {r}",
                           hint=getattr(r, "hint", None) or "check the latents (constant or duplicated columns), "
                           "or limit the conditioning-set size with max_depth") from r
            p = float(r.pvalue)
            if not np.isfinite(p):
                raise DataError(f"{self.spec.name} CI test returned a non-finite p-value ({p}) for x={x}, y={y}, "
                                f"conditioning set={list(s)}", hint="check for constant or duplicated latents")
            self.pvalue_cache[key] = p
            self.answers[(x, y, s)] = p
            if self.log is not None:
                self.log.append({"x": x, "y": y, "cond": tuple(s), "pvalue": p, "seconds": dt, "level": level,
                                 "batched": batched})

    def _reference(self, x: int, y: int, s: tuple, seed: int):
        xa, ya = self.variables[x], self.variables[y]
        opts = {k: v for k, v in self.merged.items()
                if (k in self.spec.options or (s and k in self.spec.conditional_options))}
        try:
            if s:
                za = np.hstack([self.variables[v] for v in s])
                return self.spec.conditional_reference(xa, ya, za, seed=seed, device="cpu", **opts)
            return self.spec.reference(xa, ya, seed=seed, device="cpu",
                                       **{k: v for k, v in opts.items() if k in self.spec.options})
        except (IndependenceTestError, ParameterError) as exc:
            return exc

    def __call__(self, X, Y, condition_set=None):
        xs, ys, cond, key = self.get_formatted_XYZ_and_cachekey(X, Y, condition_set)
        if key in self.pvalue_cache:
            return self.pvalue_cache[key]
        triple = (xs[0], ys[0], tuple(cond))
        depth = len(cond)
        if self.planner is not None and self.backend == "fast" and depth not in self._planned:
            self._planned.add(depth)
            todo = [t for t in self.planner.level(depth, self.answers) if cache_key(*t) not in self.pvalue_cache]
            if triple not in todo:
                todo.append(triple)
            self.n_batches += 1
            self._compute(todo, depth, batched=True)
        else:
            self._compute([triple], depth, batched=False)
        return self.pvalue_cache[key]


# causal-learn's registry is keyed by name; re-registering the same class is harmless.
register_ci_test(CIT_NAME, ProjectCIT)

__all__ = ["CIT_NAME", "CI_TESTS", "LevelPlanner", "ProjectCIT", "cache_key", "call_seed"]
