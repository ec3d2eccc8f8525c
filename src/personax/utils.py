"""Small shared helpers: device selection, seeded RNGs, progress bars, cache folder.

Everything random in the package takes an explicit ``seed`` (int) or ``rng``
(``numpy.random.Generator``); there is no module-level random state.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Iterable, TypeVar

import numpy as np

T = TypeVar("T")

DEFAULT_SEED = 0


def make_rng(seed: int | np.random.Generator | None = DEFAULT_SEED) -> np.random.Generator:
    """Return a ``numpy.random.Generator``; pass one through unchanged.

    ``None`` is rejected on purpose: unseeded randomness is never the default here.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        raise ValueError("seed=None is not allowed: pass an int (default 0) so results are reproducible")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    return np.random.default_rng(int(seed))


def resolve_device(device: str = "auto") -> str:
    """Map ``"auto" | "cpu" | "cuda" | "cuda:N"`` to a torch device string.

    ``"auto"`` picks CUDA when torch sees a GPU, else CPU.  Asking for CUDA on a
    machine without it raises a clear error instead of silently running on CPU.
    """
    import torch

    if not isinstance(device, str):
        raise ValueError(f"device must be a string such as 'auto', 'cpu', 'cuda' or 'cuda:0', got {device!r}")
    dev = device.strip().lower()
    if dev == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if dev == "cpu":
        return "cpu"
    if dev == "cuda" or dev.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"device={device!r} was requested but torch sees no CUDA GPU "
                f"(torch {torch.__version__}; the pinned wheel is CPU-only). "
                "Use device='auto' or 'cpu', or install a CUDA build of torch on a GPU machine."
            )
        return dev
    raise ValueError(f"unknown device {device!r}: use 'auto', 'cpu', 'cuda' or 'cuda:N'")


def quiet() -> bool:
    """True when progress bars should be silent (CI, tests, or PERSONAX_QUIET=1)."""
    return bool(os.environ.get("PERSONAX_QUIET") or os.environ.get("CI") or os.environ.get("PYTEST_CURRENT_TEST"))


def progress(iterable: Iterable[T], *, desc: str | None = None, total: int | None = None,
             disable: bool | None = None) -> Iterable[T]:
    """Wrap ``iterable`` in a tqdm progress bar, silent under :func:`quiet`.

    The notebook widget bar needs ipywidgets, which the pinned environment does not
    carry; ``tqdm.auto`` would then print a TqdmWarning into every executed page, so the
    plain text bar is used unless ipywidgets is importable.
    """
    import importlib.util

    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm

    return tqdm(iterable, desc=desc, total=total, disable=quiet() if disable is None else disable,
                leave=False)


#: Environment that turns off third-party progress bars (tqdm >= 4.66 reads ``TQDM_*``
#: defaults; huggingface_hub its own switch).  The runner sets it for every notebook kernel.
QUIET_ENV: dict[str, str] = {"TQDM_DISABLE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
                             "TRANSFORMERS_VERBOSITY": "error"}


def quiet_third_party() -> None:
    """Keep libraries' console noise off the book's pages; called by ``personax.notebook.setup``.

    ``tqdm.auto`` (imported by causal-learn, sentence-transformers, ...) warns
    ``TqdmWarning: IProgress not found`` into the executed page when ipywidgets is absent
    and then falls back to the plain bar anyway, so that one warning carries no
    information here and is ignored.  Progress bars themselves are turned off through
    :data:`QUIET_ENV`, which the runner puts into the kernel's environment.  Real warnings
    (a missing glyph, a failed fit) are left alone: the book check fails on them.

    Examples
    --------
    >>> import warnings
    >>> quiet_third_party()
    >>> with warnings.catch_warnings(record=True) as seen:
    ...     warnings.simplefilter("default")
    ...     quiet_third_party()
    ...     warnings.warn("IProgress not found. Please update jupyter and ipywidgets.")
    >>> seen
    []
    """
    import warnings

    warnings.filterwarnings("ignore", message="IProgress not found", category=Warning)


def cache_dir(*parts: str) -> Path:
    """Project cache folder (``$PERSONAX_CACHE`` or ``~/.cache/personax``), created on demand."""
    root = Path(os.environ.get("PERSONAX_CACHE") or Path.home() / ".cache" / "personax")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def repo_root() -> Path | None:
    """The checkout root when running from a source tree (has ``_toc.yml``), else ``None``."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "_toc.yml").exists() and (parent / "src" / "personax").exists():
            return parent
    return None


class saved_environ:
    """Context manager restoring the named environment variables on exit (set or unset).

    The body may set or delete them freely; afterwards each is back to its value before
    (or absent again).  Used where a library reads its configuration from the environment.
    """

    def __init__(self, *keys: str):
        self._keys = keys
        self._saved: dict[str, str | None] = {}

    def __enter__(self) -> "saved_environ":
        self._saved = {k: os.environ.get(k) for k in self._keys}
        return self

    def __exit__(self, *exc) -> None:
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class atomic_path:
    """Context manager yielding a temporary path beside ``target``; renamed onto it on success.

    A failure inside the block removes the temporary file and leaves ``target`` (a good
    earlier result) untouched.  Use for every file the package writes::

        with atomic_path("out/results.parquet") as tmp:
            frame.to_parquet(tmp)
    """

    def __init__(self, target: str | os.PathLike, suffix: str | None = None):
        self.target = Path(target)
        sfx = self.target.suffix if suffix is None else suffix
        self.tmp = self.target.with_name(f".{self.target.name}.tmp-{os.getpid()}{sfx}")

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None and self.tmp.exists():
            os.replace(self.tmp, self.target)
        else:
            self.tmp.unlink(missing_ok=True)
        return False


def write_csv(frame, path: str | os.PathLike) -> Path:
    """Write a DataFrame as CSV (no index) through :class:`atomic_path`; return the path.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_csv(pd.DataFrame({"a": [1, 2]}), Path(d) / "sub" / "t.csv")
    ...     p.read_text().splitlines()
    ['a', '1', '2']
    """
    target = Path(path)
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False)
    return target


def renamed_columns(frame, renamed: dict[str, str], *, where: str):
    """``frame`` that still answers to deprecated column names, with a ``DeprecationWarning``.

    For one release after a result column is renamed (``pval`` → ``pvalue``): reading the
    old name (``res["pval"]`` or ``res.pval``) warns and returns the new column.  The frame
    holds only the new columns; every operation (and pickling) returns a plain ``DataFrame``.

    Parameters
    ----------
    frame : pandas.DataFrame
    renamed : dict
        ``{old name: new name}``.
    where : str
        The function that returns the frame, named in the warning.

    Examples
    --------
    >>> import warnings
    >>> import pandas as pd
    >>> res = renamed_columns(pd.DataFrame({"pvalue": [0.5]}), {"pval": "pvalue"}, where="icc")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     float(res["pval"].iloc[0]), caught[0].category.__name__
    (0.5, 'DeprecationWarning')
    """
    out = _renamed_frame_class()(frame)
    out._personax_renamed = dict(renamed)
    out._personax_where = where
    return out


@functools.lru_cache(maxsize=None)
def _renamed_frame_class():
    """One DataFrame subclass for every :func:`renamed_columns` frame (so two frames compare equal)."""
    import pandas as pd

    class RenamedColumnsFrame(pd.DataFrame):
        _metadata = ["_personax_renamed", "_personax_where"]

        @property
        def _constructor(self):
            return pd.DataFrame

        def _personax_new(self, key):
            renamed = self.__dict__.get("_personax_renamed") or {}
            if isinstance(key, str) and key in renamed and key not in self.columns:
                import warnings

                warnings.warn(f"column {key!r} of {self._personax_where}() is deprecated and will be removed in the "
                              f"next release: use {renamed[key]!r}", DeprecationWarning, stacklevel=3)
                return renamed[key]
            return key

        def __getitem__(self, key):
            return super().__getitem__(self._personax_new(key))

        def __getattr__(self, name):
            if name in (self.__dict__.get("_personax_renamed") or {}):
                return self[self._personax_new(name)]
            return super().__getattr__(name)

        def __reduce__(self):  # pickles (caches, workers) as a plain DataFrame
            return pd.DataFrame(self).__reduce__()

    return RenamedColumnsFrame


class DictStyleAccess:
    """Mixin for typed result records that used to be plain dicts.

    For one release, ``record["name"]`` still answers (with a ``DeprecationWarning``) and
    returns ``record.name``; new code reads the attribute.  The record's ``to_dict()`` is
    the dict form.

    Examples
    --------
    >>> import warnings
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Scores(DictStyleAccess):
    ...     shd: int
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     Scores(3)["shd"], caught[0].category.__name__
    (3, 'DeprecationWarning')
    """

    def __getitem__(self, key: str):
        import dataclasses
        import warnings

        names = [f.name for f in dataclasses.fields(self)]
        if key not in names:
            raise KeyError(f"{type(self).__name__} has no field {key!r}; fields: {names}")
        warnings.warn(f"{type(self).__name__}[{key!r}] is deprecated and will be removed in the next release: "
                      f"read the attribute .{key}", DeprecationWarning, stacklevel=2)
        return getattr(self, key)
