"""A randomized family of synthetic CRL designs, and the twin that shows what cannot be identified.

:func:`random_design` draws one design with the paper's structure — shared latents ``S``,
two modality blocks ``Z1``, ``Z2``, ``K_m`` measurements per modality
``x_m^(k) = g_mk(s, z_m, eta_mk) + noise`` — and randomizes everything else:

============================  =====================================================
latent DAG                    4–8 latents (``S1`` + 3–7 modality latents, 1–4 per
                              block), random cross-modal edges in a random block
                              order
mechanisms                    additive, per edge one of :data:`MECHANISMS`
                              (tanh, sin, softplus, square, leaky, bump), random
                              sign and weight ``strength * U(0.6, 1.4)``
noise law                     Gaussian, Laplace or uniform (per design)
latent correlation strength   ``strength`` in {0.5, 1, 1.5}
mixing                        leaky-ReLU MLP, depth 2–4, width 8–20, slope
                              0.2–0.5, orthogonal or conditioned weights (condition
                              number 10 per layer)
measurements                  1–3 per modality (at least one modality with 2+);
                              measurement noise ``eta`` of 0 or
                              1 dimension; a single-measurement modality has its
                              own exogenous noise or not
rows                          ``n`` (default 4,000)
============================  =====================================================

``satisfy=True`` rejects draws until every condition of
:mod:`personax.crl.identifiability` holds; ``satisfy=False`` then breaks exactly one of
them on purpose (``violation=`` names which), so the failure can be shown honestly.
Each design records its settings and its :class:`~personax.crl.identifiability.ConditionReport`
in ``bench.info`` and, where the estimator can at best recover a latent *as its
exogenous noise*, the canonical target in ``bench.info["canonical"]``.

:func:`twin` makes the point of condition C2 concrete: for a design with an edge inside a
block it returns a second ground truth (the child replaced by its noise, the edge
removed) that generates **the same observations** — no estimator can score high against
both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from personax.crl import identifiability
from personax.crl.synthetic import Benchmark, orthogonal, sample_noise
from personax.utils import make_rng

#: Mechanism families for one edge (inputs are standardised latents).
MECHANISMS = {
    "tanh": lambda x: np.tanh(1.5 * x),
    "sin": lambda x: np.sin(1.5 * x),
    "softplus": lambda x: np.logaddexp(0.0, 2.0 * x) / 2.0 - 0.5,
    "square": lambda x: 0.5 * (x ** 2 - 1.0),
    "leaky": lambda x: np.where(x > 0, x, 0.2 * x),
    "bump": lambda x: np.exp(-(x ** 2)) - 0.6,
}

NOISE_LAWS = ("gaussian", "laplace", "uniform")

#: Kinds of deliberate violation (``random_design(..., satisfy=False, violation=...)``).
VIOLATIONS = ("within_block", "shared_edge", "two_silent", "single_noise_silent", "mixed_directions")


def _conditioned(rng: np.random.Generator, rows: int, cols: int, max_cond: float) -> np.ndarray:
    """Random matrix (Haar singular vectors) with log-uniform singular values of condition number ``max_cond``."""
    k = min(rows, cols)
    u = orthogonal(rng, rows, k)
    v = orthogonal(rng, cols, k)
    sv = np.exp(rng.uniform(-0.5, 0.5, k) * np.log(max_cond))
    sv[np.argmin(sv)], sv[np.argmax(sv)] = max_cond ** -0.5, max_cond ** 0.5
    return (u * sv) @ v.T


def mixing(in_dim: int, out_dim: int, rng: np.random.Generator, depth: int = 3, slope: float = 0.2,
           weights: str = "orthogonal", max_cond: float = 10.0):
    """A fixed random injective leaky-ReLU MLP ``R^in -> R^out`` (``out_dim >= in_dim``).

    ``weights="orthogonal"``: orthonormal first layer, square orthogonal later layers;
    ``"conditioned"``: random singular vectors with log-uniform singular values spanning a
    condition number of ``max_cond`` (nonlinear-ICA benchmarks bound the conditioning: an
    ill-conditioned layer makes the map injective only on paper once observation noise is
    added).  Leaky
    ReLU is bijective, so the map is injective either way; its local condition number is at
    most ``(max_cond / slope) ** depth``.
    """
    if out_dim < in_dim:
        raise ValueError(f"out_dim={out_dim} < in_dim={in_dim}: the mixing would not be invertible")
    if weights == "orthogonal":
        Ws = [orthogonal(rng, out_dim, in_dim)] + [orthogonal(rng, out_dim, out_dim) for _ in range(depth - 1)]
    elif weights == "conditioned":
        Ws = [_conditioned(rng, out_dim, in_dim, max_cond)] + [_conditioned(rng, out_dim, out_dim, max_cond)
                                                               for _ in range(depth - 1)]
    else:
        raise ValueError(f"weights={weights!r}: use 'orthogonal' or 'conditioned'")

    def g(h: np.ndarray) -> np.ndarray:
        x = h @ Ws[0].T
        for W in Ws[1:]:
            x = np.where(x > 0, x, slope * x) @ W.T
        return x

    return g


def _names(dims: tuple[int, int]) -> dict[str, list[str]]:
    return {"shared": ["S1"], "m1": [f"Z1_{i + 1}" for i in range(dims[0])],
            "m2": [f"Z2_{i + 1}" for i in range(dims[1])]}


def _cross_edges(rng, first: list[str], second: list[str], p: float) -> list[tuple[str, str]]:
    a = rng.random((len(first), len(second))) < p
    return [(first[i], second[j]) for i in range(len(first)) for j in range(len(second)) if a[i, j]]


def _report(edges, blocks, meas, own) -> identifiability.ConditionReport:
    names = [v for b in blocks.values() for v in b]
    dag = pd.DataFrame(0, index=names, columns=names)
    for p, c in edges:
        dag.loc[p, c] = 1
    return identifiability.check(dag, blocks, meas, own)


def _draw_structure(rng, satisfy: bool | None, violation: str | None, both_single: bool = False):
    """Sizes, measurements, noise heads and edges meeting (or breaking) the conditions."""
    for _ in range(10_000):
        total = int(rng.integers(3, 8))
        d1 = int(rng.integers(max(1, total - 4), min(4, total - 1) + 1))
        dims = (d1, total - d1)
        if not (1 <= dims[1] <= 4):
            continue
        meas = {"m1": int(rng.integers(1, 4)), "m2": int(rng.integers(1, 4))}
        if not both_single and max(meas.values()) < 2:
            continue
        eta = {m: int(rng.integers(0, 2)) for m in meas}
        own = {m: bool(eta[m]) for m in meas if meas[m] == 1}
        blocks = _names(dims)
        order = ["m1", "m2"] if rng.random() < 0.5 else ["m2", "m1"]
        edges = _cross_edges(rng, blocks[order[0]], blocks[order[1]], float(rng.uniform(0.3, 0.7)))
        if not edges:
            continue
        kind = None
        if satisfy is False and not _report(edges, blocks, meas, own).satisfied:
            continue  # break a design that satisfies everything, so exactly one condition fails
        if satisfy is False:
            kind = violation or VIOLATIONS[int(rng.integers(len(VIOLATIONS)))]
            edges, meas, eta, own, ok = _break(rng, kind, edges, blocks, meas, eta, own, order)
            if not ok:
                continue
        rep = _report(edges, blocks, meas, own)
        if satisfy is True and not rep.satisfied:
            continue
        if satisfy is False and rep.satisfied:
            continue
        return dims, meas, eta, own, blocks, order, edges, kind, rep
    raise RuntimeError("could not draw a design meeting the request; relax the constraints")


def _break(rng, kind, edges, blocks, meas, eta, own, order):
    edges = list(edges)
    if kind == "within_block":
        m = "m1" if len(blocks["m1"]) > 1 else "m2"
        if len(blocks[m]) < 2:
            return edges, meas, eta, own, False
        p, c = rng.choice(blocks[m], 2, replace=False)
        # the child keeps no cross-modal role: a silent within-block child, as in the paper's DAG
        edges = [(a, b) for a, b in edges if a != c and b != c] + [(str(p), str(c))]
    elif kind == "shared_edge":
        m = str(rng.choice(["m1", "m2"]))
        edges.append(("S1", str(rng.choice(blocks[m]))))
    elif kind == "two_silent":
        m = "m1" if len(blocks["m1"]) >= 2 else "m2"
        if len(blocks[m]) < 2:
            return edges, meas, eta, own, False
        quiet = set(rng.choice(blocks[m], 2, replace=False).tolist())
        edges = [(a, b) for a, b in edges if a not in quiet and b not in quiet]
        if not edges:
            return edges, meas, eta, own, False
    elif kind == "single_noise_silent":
        m = str(rng.choice(["m1", "m2"]))
        meas = {**meas, m: 1}
        eta = {**eta, m: 1}
        own = {k: bool(eta[k]) for k in meas if meas[k] == 1}
        q = str(rng.choice(blocks[m]))
        edges = [(a, b) for a, b in edges if a != q and b != q]
        if not edges:
            return edges, meas, eta, own, False
    elif kind == "mixed_directions":
        a, b = str(rng.choice(blocks[order[1]])), str(rng.choice(blocks[order[0]]))
        if (b, a) in edges:
            return edges, meas, eta, own, False
        edges.append((a, b))
    else:
        raise ValueError(f"violation={kind!r}: use one of {VIOLATIONS}")
    return edges, meas, eta, own, True


def _topological(names: list[str], edges: list[tuple[str, str]]) -> list[str]:
    parents = {v: {p for p, c in edges if c == v} for v in names}
    out, left = [], list(names)
    while left:
        ready = [v for v in left if parents[v] <= set(out)]
        if not ready:
            raise ValueError(f"the drawn graph has a cycle among {left}")
        out += ready
        left = [v for v in left if v not in ready]
    return out


def random_design(seed: int = 0, *, satisfy: bool | None = True, violation: str | None = None, n: int = 4000,
                  obs_noise: float = 0.01, both_single: bool = False) -> Benchmark:
    """Draw one design of the family (see the module docstring).

    Parameters
    ----------
    seed : int
        Seed of everything in the design (structure, mechanisms, noises, mixings).
    satisfy : bool or None
        ``True``: all identifiability conditions hold; ``False``: exactly one kind of
        violation (``violation``, or a random one); ``None``: whatever is drawn.
    violation : str, optional
        One of :data:`VIOLATIONS` (with ``satisfy=False``).
    n : int
        Rows.
    obs_noise : float
        Standard deviation of additive observation noise on every measurement.
    both_single : bool
        Allow designs where *both* modalities have a single measurement.  Off by default:
        there the shared block rests on the alignment of just two views, and the stage-1
        alignment measured on such designs stalls at a partial shared code (held-out
        alignment MSE about 0.19, shared R² about 0.91); the benchmark reports them
        separately as a known limitation.  PersonaX's layouts always have a modality with
        three measurements.

    Returns
    -------
    Benchmark
        ``name="design"``, ``latent_dims={"m1": d1, "m2": d2}``, ``n_shared=1``; ``info``
        holds ``design`` (all settings), ``conditions`` (the report as a dict), and
        ``canonical`` (a latents frame, or ``None``) — the best target an estimator can
        reach where a latent is identified only as its noise.

    Examples
    --------
    >>> b = random_design(3, n=200)
    >>> b.info["conditions"]["satisfied"], sorted(b.views), b.latents.shape[0]
    (True, ['m1', 'm2'], 200)
    """
    if n < 20:
        raise ValueError(f"n={n} is too small for a design; use n >= 20")
    rng = make_rng(seed)
    dims, meas, eta, own, blocks, order, edges, kind, rep = _draw_structure(rng, satisfy, violation, both_single)
    law = NOISE_LAWS[int(rng.integers(len(NOISE_LAWS)))]
    strength = float(rng.choice([0.5, 1.0, 1.5]))
    mech = {e: (str(rng.choice(list(MECHANISMS))), float(rng.choice([-1, 1]) * rng.uniform(0.6, 1.4) * strength))
            for e in edges}
    names = [v for b in blocks.values() for v in b]
    z = pd.DataFrame(index=range(n), columns=names, dtype=float)
    eps = pd.DataFrame(index=range(n), columns=names, dtype=float)
    for v in _topological(names, edges):
        e = sample_noise(rng, n, law)
        val = e.copy()
        for (p, c), (fam, w) in mech.items():
            if c == v:
                val = val + w * MECHANISMS[fam](z[p].to_numpy())
        z[v] = (val - val.mean()) / val.std()
        eps[v] = (e - e.mean()) / e.std()
    depth = int(rng.integers(2, 5))
    slope = float(rng.uniform(0.2, 0.5))
    weights = "orthogonal" if rng.random() < 0.5 else "conditioned"
    views: dict[str, list[np.ndarray]] = {}
    s = z[blocks["shared"]].to_numpy()
    widths = {}
    for m in ("m1", "m2"):
        zm = z[blocks[m]].to_numpy()
        views[m] = []
        for _ in range(meas[m]):
            parts = [s, zm] + ([sample_noise(rng, n, law)[:, None]] if eta[m] else [])
            h = np.concatenate(parts, axis=1)
            width = int(rng.integers(max(8, h.shape[1] + 2), 21))
            widths.setdefault(m, []).append(width)
            g = mixing(h.shape[1], width, rng, depth, slope, weights)
            views[m].append((g(h) + obs_noise * rng.standard_normal((n, width))).astype(np.float32))
    dag = pd.DataFrame(0, index=names, columns=names)
    for p, c in edges:
        dag.loc[p, c] = 1
    canonical = None
    if any(st == "as its noise" for st in rep.status.values()):
        canonical = z.copy()
        for v, st in rep.status.items():
            if st == "as its noise":
                canonical[v] = eps[v]
    design = {"seed": seed, "n": n, "both_single": both_single, "dims": list(dims), "measurements": meas,
              "eta_dim": eta,
              "own_noise": own, "block_order": order, "edges": [list(e) for e in edges],
              "mechanisms": {f"{p}->{c}": [f, w] for (p, c), (f, w) in mech.items()}, "noise": law,
              "strength": strength, "mixing": {"depth": depth, "slope": slope, "weights": weights, "widths": widths},
              "obs_noise": obs_noise, "violation": kind}
    info = {"design": design, "conditions": rep.to_dict(), "canonical": canonical, "noise": eps}
    return Benchmark("design", views, z, dag, {"m1": dims[0], "m2": dims[1]}, 1, info)


def design_family(count: int = 20, *, satisfy: bool | None = True, n: int = 4000, start: int = 0) -> list[Benchmark]:
    """``count`` designs with seeds ``start, start + 1, ...`` (see :func:`random_design`)."""
    return [random_design(start + i, satisfy=satisfy, n=n) for i in range(count)]


def twin(bench: Benchmark) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A second ground truth for the same observations (condition C2 made concrete).

    For every edge ``p -> c`` inside a modality block whose child ``c`` has no
    cross-modal neighbour, the twin replaces ``c`` by its exogenous noise (the residual
    of ``c`` on its in-block parents, exactly as generated) and drops the edge.  The
    mechanism moves into the mixing function, which stays injective, so the twin
    generates exactly ``bench.views``.

    Returns
    -------
    (latents, dag) : DataFrames
        The twin's latents (same columns) and DAG.
    """
    noise = bench.info.get("noise")
    if noise is None:
        raise ValueError("this benchmark does not record its latent noises; use synthetic.numerical() or "
                         "random_design()")
    blocks = bench.blocks
    rep = identifiability.check(bench.dag, blocks, {m: len(bench.views[m]) for m in bench.latent_dims})
    z = bench.latents.copy()
    dag = bench.dag.copy()
    where = {v: m for m, vs in blocks.items() if m != "shared" for v in vs}
    for v, st in rep.status.items():
        if st == "as its noise":
            z[v] = noise[v]
            for p in dag.index:
                if dag.loc[p, v] and where.get(p) == where.get(v):
                    dag.loc[p, v] = 0
    return z, dag
