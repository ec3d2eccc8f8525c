"""Where deepface's model weights live, which files each model needs, and how to get them.

deepface (0.0.103) downloads weights at run time into ``$DEEPFACE_HOME/.deepface/weights``
(default home: the user's ``~``).  On an offline machine that download fails late and
noisily, and by default it writes into the user's home.  This module makes the weights
folder explicit and checks the files *before* deepface is asked to build a model:

* :func:`resolve_home` picks the deepface home: the ``weights_dir`` argument, else
  ``$DEEPFACE_HOME``, else the project cache (``personax.utils.cache_dir("deepface")``),
  never ``~`` by accident.
* :data:`REGISTRY` maps every supported model (embedding models, attribute models,
  detectors) to the weight files deepface's own code asks for, with the URLs deepface
  downloads them from (checked against the installed deepface source in the tests).
* :func:`require` fails at once with :class:`MissingWeightsError` naming the file, the
  folder to put it in and the ``personax faces fetch-weights MODEL`` command.
* :func:`link_dlib_weights` makes the Dlib embedding and detector work offline by
  linking the two dlib files shipped in the ``face-recognition-models`` wheel.
* :func:`fetch_weights` downloads (and decompresses) a model's files for users with a
  network; :func:`weights_status` lists what is present or missing.

Only deepface's **pytorch** backend engine is supported (it is the one deepface picks
with the pinned requirements: torch present, no tensorflow); :func:`deepface_env` enforces
it, because the weight file names differ between engines.

The weight-file table lives in :mod:`personax.faces.weight_files` (re-exported here).
"""

from __future__ import annotations

import bz2
import contextlib
import importlib.util
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path
from typing import Iterator, Sequence

import pandas as pd

from personax.errors import BackendError, InputOutputError, ParameterError
from personax.faces.weight_files import (  # noqa: F401  (re-exported: the old import path)
    _DEM,
    _DET,
    _DLIB_RECOGNITION,
    _DLIB_SHAPE5,
    _FR,
    _HAAR,
    ATTRIBUTE_MODELS,
    BACKEND_ENGINE,
    REGISTRY,
    UNSUPPORTED_DETECTORS,
    ModelWeights,
    WeightFile,
    _gh_hf,
    _models,
    _torch_file,
)
from personax.utils import atomic_path, cache_dir, saved_environ

__all__ = [
    "WeightFile",
    "ModelWeights",
    "REGISTRY",
    "MissingWeightsError",
    "resolve_home",
    "weights_folder",
    "deepface_env",
    "lookup",
    "missing_files",
    "require",
    "link_dlib_weights",
    "weights_status",
    "fetch_weights",
]


class MissingWeightsError(BackendError, FileNotFoundError):
    """A model's weight file is not in the weights folder (raised before any download).

    A :class:`personax.errors.BackendError` (exit code 1 on the CLI) and, as before, a
    ``FileNotFoundError``.
    """


class WeightsFolderError(InputOutputError, NotADirectoryError):
    """``weights_dir`` names a file instead of a folder."""


def resolve_home(weights_dir: str | os.PathLike | None = None) -> Path:
    """Return the deepface home folder (the one that holds ``.deepface/weights``).

    Parameters
    ----------
    weights_dir : path-like, optional
        Either a deepface home (weights in ``<weights_dir>/.deepface/weights``) or the
        weights folder itself (a path ending in ``.deepface/weights``).  When omitted:
        ``$DEEPFACE_HOME`` if set, else ``personax.utils.cache_dir("deepface")`` — never
        the user's home folder by accident.

    Returns
    -------
    pathlib.Path
        The absolute deepface home; its ``.deepface/weights`` folder is created.
    """
    if weights_dir is not None:
        path = Path(weights_dir).expanduser().resolve()
        if path.name == "weights" and path.parent.name == ".deepface":
            path = path.parent.parent
    elif os.environ.get("DEEPFACE_HOME"):
        path = Path(os.environ["DEEPFACE_HOME"]).expanduser().resolve()
    else:
        path = cache_dir("deepface").resolve()
    if path.exists() and not path.is_dir():
        raise WeightsFolderError(f"weights_dir {str(path)!r} is a file; pass a folder (the deepface home)")
    (path / ".deepface" / "weights").mkdir(parents=True, exist_ok=True)
    return path


def weights_folder(weights_dir: str | os.PathLike | None = None) -> Path:
    """The folder deepface reads weight files from: ``resolve_home(weights_dir)/.deepface/weights``."""
    return resolve_home(weights_dir) / ".deepface" / "weights"


@contextlib.contextmanager
def deepface_env(weights_dir: str | os.PathLike | None = None) -> Iterator[Path]:
    """Point deepface at the resolved home for the duration of the block.

    deepface reads ``$DEEPFACE_HOME`` on every weight lookup (and creates the folder on
    import), so the variable is set *before* deepface is imported and restored after.
    The backend engine is pinned to pytorch (``DEEPFACE_BACKEND_ENGINE``) because the
    registry lists the pytorch file names; a conflicting user setting is an error.

    Yields
    ------
    pathlib.Path
        The deepface home in use.
    """
    home = resolve_home(weights_dir)
    engine = os.environ.get("DEEPFACE_BACKEND_ENGINE")
    if engine and engine.strip().lower() != BACKEND_ENGINE:
        raise ParameterError(
            f"DEEPFACE_BACKEND_ENGINE={engine!r} is set, but personax.faces supports deepface's "
            f"{BACKEND_ENGINE!r} engine only (its weight file names are the ones checked here). "
            "Unset the variable or set it to 'pytorch'.")
    with saved_environ("DEEPFACE_HOME", "DEEPFACE_BACKEND_ENGINE"):
        os.environ["DEEPFACE_HOME"] = str(home)
        os.environ["DEEPFACE_BACKEND_ENGINE"] = BACKEND_ENGINE
        yield home


def lookup(name: str, task: str | None = None) -> ModelWeights:
    """Registry entry for ``name`` (case-insensitive), with a helpful error if unknown.

    Parameters
    ----------
    name : str
        Model, attribute action (``"emotion"``) or detector name.
    task : {"embedding", "attribute", "detector"}, optional
        Restrict the lookup to one task.
    """
    if not isinstance(name, str):
        raise ParameterError(f"model name must be a string, got {name!r}")
    key = ATTRIBUTE_MODELS.get(name.lower(), name)
    matches = [m for m in REGISTRY.values() if m.name.lower() == key.lower() and (task is None or m.task == task)]
    if matches:
        return matches[0]
    if task in (None, "detector") and name.lower() in UNSUPPORTED_DETECTORS:
        raise ParameterError(f"detector {name!r} is not supported here: {UNSUPPORTED_DETECTORS[name.lower()]}. "
                         f"Use one of {sorted(m.name for m in _models if m.task == 'detector')}.")
    choices = sorted(m.name for m in _models if task is None or m.task == task)
    what = f"{task} model" if task else "model"
    raise ParameterError(f"unknown {what} {name!r}; choose one of {choices}")


def _system_file(spec: ModelWeights, file: WeightFile) -> Path | None:
    # Haar cascades ship inside opencv 4.x (cv2/data); deepface looks there first.
    for rel in spec.system_paths:
        if rel.startswith("cv2/"):
            found = importlib.util.find_spec("cv2")
            if found is None or not found.submodule_search_locations:
                continue
            for loc in found.submodule_search_locations:
                candidate = Path(loc) / rel.split("/", 1)[1] / file.name
                if candidate.is_file():
                    return candidate
    return None


def _bundled_folder(package: str) -> Path | None:
    # Locate the package's files WITHOUT importing it: face_recognition_models' __init__
    # imports pkg_resources, which setuptools >= 81 no longer provides.
    spec = importlib.util.find_spec(package.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        folder = Path(loc) / "models"
        if folder.is_dir():
            return folder
    return None


def link_dlib_weights(weights_dir: str | os.PathLike | None = None) -> list[Path]:
    """Link the dlib weight files shipped in ``face-recognition-models`` into the weights folder.

    Makes the ``Dlib`` embedding and the ``dlib`` detector work offline.  Existing files are
    left alone.  Falls back to copying when the file system refuses symbolic links.

    Returns
    -------
    list of pathlib.Path
        The files now present in the weights folder (linked or already there).

    Raises
    ------
    MissingWeightsError
        If ``face-recognition-models`` is not installed.
    """
    folder = weights_folder(weights_dir)
    source = _bundled_folder("face_recognition_models")
    present = []
    for file in (_DLIB_RECOGNITION, _DLIB_SHAPE5):
        target = folder / file.name
        if target.is_file():
            present.append(target)
            continue
        if source is None or not (source / file.name).is_file():
            raise MissingWeightsError(
                f"cannot link {file.name}: the 'face-recognition-models' package (which ships it) is not "
                f"installed. Install it (`pip install face-recognition-models==0.3.0`) or run "
                f"`personax faces fetch-weights Dlib --weights-dir {resolve_home(weights_dir)}`.")
        if target.is_symlink():  # a dangling link from a moved environment
            target.unlink()
        try:
            target.symlink_to(source / file.name)
        except OSError:
            shutil.copyfile(source / file.name, target)
        present.append(target)
    return present


def missing_files(name: str, weights_dir: str | os.PathLike | None = None, task: str | None = None) -> list[Path]:
    """Paths (in the weights folder) of ``name``'s files that are absent; empty if all present."""
    spec = lookup(name, task)
    folder = weights_folder(weights_dir)
    return [folder / f.name for f in spec.files
            if not (folder / f.name).is_file() and _system_file(spec, f) is None]


def require(name: str, weights_dir: str | os.PathLike | None = None, task: str | None = None) -> ModelWeights:
    """Check that ``name``'s weights are present, linking bundled dlib files first.

    Raises
    ------
    MissingWeightsError
        Naming each missing file, the folder to put it in and the fetch command, before
        deepface gets a chance to start a download.
    ModuleNotFoundError
        If a Python package the model needs is absent.
    """
    spec = lookup(name, task)
    for package in spec.needs:
        if importlib.util.find_spec(package) is None:
            raise ModuleNotFoundError(f"model {spec.name!r} needs the Python package {package!r}; "
                                      f"install it (see requirements.txt)", name=package)
    if spec.bundled and missing_files(name, weights_dir, task):
        link_dlib_weights(weights_dir)
    missing = missing_files(name, weights_dir, task)
    if missing:
        folder = missing[0].parent
        files = ", ".join(p.name for p in missing)
        raise MissingWeightsError(
            f"{spec.task} model {spec.name!r} needs weight file(s) {files} in {folder} (not found, and "
            f"personax never downloads during extraction). With a network run "
            f"`personax faces fetch-weights {spec.name} --weights-dir {folder.parent.parent}`, or copy the "
            f"file(s) there by hand (sources: {', '.join(u for f in spec.files for u in f.urls[:1])}).")
    return spec


def weights_status(weights_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """One row per (model, file) saying whether it is present.

    Returns
    -------
    pandas.DataFrame
        Columns: ``model`` (str), ``task`` (str), ``file`` (str), ``present`` (bool),
        ``location`` (str: where it was found, or where it must go), ``offline_source``
        (str: the pip package that ships it, or ``""``).
    """
    folder = weights_folder(weights_dir)
    rows = []
    for spec in REGISTRY.values():
        for f in spec.files:
            system = _system_file(spec, f)
            local = folder / f.name
            present = local.is_file() or system is not None
            rows.append({"model": spec.name, "task": spec.task, "file": f.name, "present": present,
                         "location": str(system if (system and not local.is_file()) else local),
                         "offline_source": spec.bundled or ("opencv" if spec.system_paths else "")})
    return pd.DataFrame(rows, columns=["model", "task", "file", "present", "location", "offline_source"])


def _download(url: str, target: Path, timeout: float) -> None:
    # Download into a temporary file next to the target, so that an interrupted transfer
    # never leaves a truncated file that a later run would mistake for the weights.
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (user-requested URL)
        status = getattr(response, "status", 200)
        if status and status >= 400:
            raise OSError(f"{url} answered HTTP {status}")
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".part") as tmp:
            shutil.copyfileobj(response, tmp)
            tmp_path = Path(tmp.name)
    os.replace(tmp_path, target)


def fetch_weights(name: str, weights_dir: str | os.PathLike | None = None, *,
                  urls: Sequence[str] | None = None, force: bool = False, timeout: float = 60.0) -> list[Path]:
    """Download a model's weight files into the weights folder (needs a network).

    Parameters
    ----------
    name : str
        Registry name (``"ArcFace"``, ``"Emotion"``/``"emotion"``, ``"ssd"``, ...).
    weights_dir : path-like, optional
        Deepface home or weights folder (see :func:`resolve_home`).
    urls : sequence of str, optional
        Override the source URL of each file (same order as the registry's files); useful
        for a mirror, a ``file://`` path or a local server.
    force : bool
        Download even if the file is present.
    timeout : float
        Seconds per connection attempt.

    Returns
    -------
    list of pathlib.Path
        The weight files now in the weights folder.

    Raises
    ------
    ConnectionError
        When every source of a file fails (offline machine); the message lists the
        sources tried and where to put a manually downloaded file.
    """
    spec = lookup(name)
    folder = weights_folder(weights_dir)
    if urls is not None and len(urls) != len(spec.files):
        raise ValueError(f"{spec.name} has {len(spec.files)} weight file(s) "
                         f"({[f.name for f in spec.files]}); got {len(urls)} url(s)")
    done = []
    for i, f in enumerate(spec.files):
        target = folder / f.name
        if (target.is_file() or _system_file(spec, f) is not None) and not force:
            done.append(target if target.is_file() else _system_file(spec, f))
            continue
        sources = [urls[i]] if urls is not None else list(f.urls)
        errors = []
        for url in sources:
            download_to = target.with_name(target.name + ".bz2") if f.compress == "bz2" else target
            try:
                _download(url, download_to, timeout)
            except (OSError, ValueError) as exc:  # URLError is an OSError
                errors.append(f"{url}: {exc}")
                continue
            if f.compress == "bz2":
                with bz2.open(download_to, "rb") as src, atomic_path(target) as tmp, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                download_to.unlink()
            break
        else:
            raise ConnectionError(
                f"could not download {f.name} for {spec.name!r} from any source ({'; '.join(errors)}). "
                f"Without a network, download it elsewhere and copy it to {target}"
                + (" (decompress the .bz2 first)" if f.compress else "") + ".")
        done.append(target)
    return done
