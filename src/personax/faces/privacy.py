"""Keyed, invertible obfuscation of embedding matrices (faces or text), as in PersonaX §2.9.

The paper releases embeddings after "an invertible transformation layer" whose form is not
published.  This module implements one such layer, with the key kept apart from the data:

``mode="orthogonal"``
    ``Z = X Q`` with ``Q`` a Haar-random orthogonal matrix.  Exactly distance-, inner-product-,
    norm- and cosine-preserving, so every statistic computed from the Euclidean distance or
    Gram matrix of the rows (distance correlation, HSIC/KCI with a Gaussian kernel on Euclidean
    distances and the median bandwidth, energy statistics, k-NN graphs) and every statistic
    invariant to invertible linear maps (least-squares R² of a target on all columns, CCA) is
    *unchanged* (up to floating-point rounding).  Per-coordinate statistics (one column's
    Pearson or Fisher-z, per-column z-scoring as in causal-learn's KCI) are not.

``mode="orthogonal+monotone"`` (default)
    ``Z = a ⊙ f(X Q) + b`` with, per output dimension ``j``, the strictly increasing
    ``f_j(u) = t_j asinh(u / t_j)`` (near-identity for ``|u| ≪ t_j``, logarithmic beyond) and
    an optional affine map (``a_j > 0``, ``b_j``).  Any invertible map keeps (in)dependence and
    the latent variables a CRL model can identify *in population*, so test decisions and
    CRL metrics agree; finite-sample p-values, cosines and distances change.

Both are invertible given the key (:func:`recover`, float64 round-trip error ~1e-15
relative).  The transform is an obfuscation, **not encryption**: in orthogonal mode the
distance matrix is public, so anyone holding ≥ d matched (raw, released) pairs can solve an
orthogonal Procrustes problem and undo it (see :func:`personax.faces.audit.procrustes_attack`).
The key's secret is its seed: draw it with ``secrets.randbits(63)`` for a real release, store
the key file away from the data.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from personax.utils import make_rng

__all__ = ["PrivacyKey", "obfuscate", "recover", "MODES"]

MODES = ("orthogonal", "orthogonal+monotone")
_FORMAT_VERSION = 1


def _haar_orthogonal(dim: int, rng: np.random.Generator) -> np.ndarray:
    # QR of a Gaussian matrix with the signs of R's diagonal moved into Q gives a
    # Haar-distributed (uniform) orthogonal matrix (Mezzadri 2007).
    g = rng.standard_normal((dim, dim))
    q, r = np.linalg.qr(g)
    q *= np.sign(np.diag(r))[None, :]
    return q


@dataclass(frozen=True, eq=False)
class PrivacyKey:
    """The secret of the obfuscation: rotation and per-dimension map parameters.

    Attributes
    ----------
    dim : int
        Embedding dimension the key applies to.
    seed : int
        Seed the key was generated from (secret: it regenerates the key).
    mode : {"orthogonal", "orthogonal+monotone"}
        See the module docstring.
    rotation : numpy.ndarray, shape (dim, dim)
        Orthogonal matrix ``Q`` (``Z = X Q`` before the elementwise map).
    bend : numpy.ndarray, shape (dim,)
        Widths ``t_j > 0`` of the asinh maps (unused in orthogonal mode).
    scale, shift : numpy.ndarray, shape (dim,)
        Affine ``a_j > 0`` and ``b_j`` (ones and zeros when ``affine=False`` or orthogonal).
    data_scale : float
        Typical magnitude of one embedding coordinate the map was tuned for.
    """

    dim: int
    seed: int
    mode: str
    rotation: np.ndarray
    bend: np.ndarray
    scale: np.ndarray
    shift: np.ndarray
    data_scale: float = 1.0

    @classmethod
    def generate(cls, dim: int, seed: int, mode: str = "orthogonal+monotone", *, data_scale: float = 1.0,
                 affine: bool = True) -> "PrivacyKey":
        """Draw a key.

        Parameters
        ----------
        dim : int
            Embedding dimension (e.g. 128 for Dlib, 1024 ImageBind, 3584 gte-Qwen2).
        seed : int
            Required on purpose (no default): the seed *is* the secret.
        mode : {"orthogonal", "orthogonal+monotone"}
        data_scale : float
            Typical coordinate magnitude (RMS) of the data; sets the bend widths and shifts so
            the monotone map is neither linear nor saturated.  :meth:`for_data` measures it.
        affine : bool
            Add the per-dimension affine map (monotone mode only; orthogonal mode stays
            exactly distance-preserving).
        """
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if not (np.isfinite(data_scale) and data_scale > 0):
            raise ValueError(f"data_scale must be a positive finite number, got {data_scale!r}")
        rng = make_rng(seed)
        q = _haar_orthogonal(int(dim), rng)
        ones, zeros = np.ones(dim), np.zeros(dim)
        if mode == "orthogonal":
            bend, scale, shift = ones.copy(), ones, zeros
        else:
            bend = data_scale * rng.uniform(0.5, 1.5, size=dim)
            scale = np.exp(rng.normal(0.0, 0.5, size=dim)) if affine else ones
            shift = data_scale * rng.normal(0.0, 1.0, size=dim) if affine else zeros
        return cls(int(dim), int(seed), mode, q, bend, scale, shift, float(data_scale))

    @classmethod
    def for_data(cls, X: np.ndarray, seed: int, mode: str = "orthogonal+monotone", *,
                 affine: bool = True) -> "PrivacyKey":
        """Generate a key for ``X`` (n, d), tuning ``data_scale`` to its coordinate RMS.

        The RMS of the rotated coordinates equals that of the raw ones (rotation keeps the
        Frobenius norm), so it is measured on ``X`` directly.
        """
        X = _as_matrix(X, None)
        rms = float(np.sqrt(np.nanmean((X - np.nanmean(X, axis=0)) ** 2)))
        return cls.generate(X.shape[1], seed, mode, data_scale=rms if rms > 0 else 1.0, affine=affine)

    @property
    def fingerprint(self) -> str:
        """Short SHA-256 of the key's parameters (safe to publish; identifies the key)."""
        h = hashlib.sha256()
        for arr in (self.rotation, self.bend, self.scale, self.shift):
            h.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
        h.update(self.mode.encode())
        return h.hexdigest()[:16]

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the key to an ``.npz`` file (keep it apart from the released data).

        The rotation is stored, not just the seed, so keys survive numpy RNG changes.
        """
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace the key (data obfuscated "
                                  "with the old key could then no longer be recovered)")
        meta = {"format_version": _FORMAT_VERSION, "dim": self.dim, "seed": self.seed, "mode": self.mode,
                "data_scale": self.data_scale, "fingerprint": self.fingerprint}
        from personax.utils import atomic_path

        with atomic_path(path) as tmp:  # np.savez appends nothing: the name already ends in .npz
            np.savez(tmp, rotation=self.rotation, bend=self.bend, scale=self.scale, shift=self.shift,
                     meta=np.array(json.dumps(meta)))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "PrivacyKey":
        """Read a key written by :meth:`save`, checking its fingerprint."""
        import zipfile

        from personax.errors import DataError

        try:
            with np.load(Path(path), allow_pickle=False) as f:
                meta = json.loads(str(f["meta"]))
                if meta.get("format_version") != _FORMAT_VERSION:
                    raise DataError(f"{path}: unsupported key format {meta.get('format_version')!r}")
                key = cls(int(meta["dim"]), int(meta["seed"]), str(meta["mode"]), f["rotation"].copy(),
                          f["bend"].copy(), f["scale"].copy(), f["shift"].copy(), float(meta["data_scale"]))
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            raise
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            if isinstance(exc, DataError):
                raise
            raise DataError(f"{path} is not a readable privacy key ({type(exc).__name__}: {exc})",
                            hint="pass the .npz written by `personax faces obfuscate --new-key`") from exc
        if key.fingerprint != meta["fingerprint"]:
            raise DataError(f"{path}: key fingerprint mismatch (file corrupted or edited)")
        return key

    def __repr__(self) -> str:  # never print the parameters
        return f"PrivacyKey(dim={self.dim}, mode={self.mode!r}, fingerprint={self.fingerprint})"


def _as_matrix(X, key: PrivacyKey | None) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    from personax.errors import DataError

    if X.ndim != 2:
        raise DataError(f"expected a 2-D (n, d) embedding matrix, got shape {X.shape}")
    if key is not None and X.shape[1] != key.dim:
        raise DataError(f"embedding dimension {X.shape[1]} does not match the key's dim {key.dim}; "
                         "use the key generated for this modality (PrivacyKey.generate(dim=...))")
    return X


def obfuscate(X: np.ndarray, key: PrivacyKey) -> np.ndarray:
    """Apply the keyed transform to the rows of ``X``.

    Parameters
    ----------
    X : array-like, shape (n, d)
        Embeddings (any float dtype; NaN rows stay NaN rows).
    key : PrivacyKey

    Returns
    -------
    numpy.ndarray, float64, shape (n, d)
    """
    if not isinstance(key, PrivacyKey):
        raise TypeError(f"key must be a PrivacyKey, got {type(key).__name__}")
    U = _as_matrix(X, key) @ key.rotation
    if key.mode == "orthogonal":
        return U
    return key.scale * (key.bend * np.arcsinh(U / key.bend)) + key.shift


def recover(Z: np.ndarray, key: PrivacyKey) -> np.ndarray:
    """Invert :func:`obfuscate` with the key: ``recover(obfuscate(X, key), key) ≈ X``.

    Returns
    -------
    numpy.ndarray, float64, shape (n, d)
    """
    if not isinstance(key, PrivacyKey):
        raise TypeError(f"key must be a PrivacyKey, got {type(key).__name__}")
    Z = _as_matrix(Z, key)
    if key.mode == "orthogonal":
        U = Z
    else:
        U = key.bend * np.sinh(((Z - key.shift) / key.scale) / key.bend)
    # Q is orthogonal, so its inverse is its transpose (exact, no solve needed)
    return U @ key.rotation.T
