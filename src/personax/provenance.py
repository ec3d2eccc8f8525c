"""Provenance of a run: parameters, seed, git commit, package versions, device and time.

Every executed notebook of the book records one provenance dictionary:

* :func:`personax.notebook.setup` (first code cell of each notebook) collects it inside
  the kernel, shows a compact table on the page and, when the runner asked for it through
  the ``PERSONAX_PROVENANCE_FILE`` environment variable, writes it to that file;
* :mod:`personax.runner` merges it with what the runner knows (papermill parameters,
  wall time, status) and stores the result as a JSON sidecar next to the executed
  notebook (``book/executed/NN_name.provenance.json``) and in the notebook metadata
  (``metadata["personax"]["provenance"]``).

The dictionary is JSON-serialisable.  Parameters whose *name* looks like a credential
(key, token, secret, password, ...) are dropped and only their names are listed under
``"redacted"``; string values that look like API tokens are dropped the same way.
Secrets belong in environment variables, never in notebook parameters.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import platform
import re
import subprocess
import sys
from importlib import metadata as _metadata
from pathlib import Path
from typing import Any, Mapping

#: Distributions whose versions are recorded (distribution names as pip knows them).
PACKAGES: tuple[str, ...] = (
    "personax", "numpy", "pandas", "scipy", "scikit-learn", "matplotlib", "seaborn",
    "statsmodels", "torch", "causal-learn", "hyppo", "pingouin", "networkx",
    "transformers", "sentence-transformers", "huggingface_hub", "deepface",
    "papermill", "jupytext", "jupyter-book", "nbval",
)

#: Environment variable through which the runner asks the kernel to write provenance.
PROVENANCE_ENV = "PERSONAX_PROVENANCE_FILE"

# Name parts that mark a parameter as a credential.  Matched on the parts of the name
# split at non-alphanumerics and camelCase ("api_key", "hf-token", "dbPassword" match;
# "monkey", "keyword" and "max_new_tokens" do not), plus a few telling substrings.
_SECRET_PARTS = {"key", "apikey", "token", "secret", "password", "passwd", "pwd",
                 "credential", "credentials", "auth", "authorization", "bearer", "cookie"}
_SECRET_SUBSTRINGS = ("secret", "password", "passwd", "apikey", "credential")
# Values shaped like common API tokens (Hugging Face, OpenAI, GitHub, AWS, Google).
_SECRET_VALUE = re.compile(r"^(hf_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_\-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}"
                           r"|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_\-]{30,})$")


def _looks_secret_name(name: str) -> bool:
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(name)).lower()
    parts = {p for p in re.split(r"[^a-z0-9]+", snake) if p}
    return bool(parts & _SECRET_PARTS) or any(s in snake for s in _SECRET_SUBSTRINGS)


def is_secret(name: str, value: Any = None) -> bool:
    """Whether a parameter must be kept out of provenance records.

    Parameters
    ----------
    name : str
        Parameter name; credential-like names (``api_key``, ``hf_token``, ``password``,
        ``client_secret``, ...) are secret whatever their value.
    value : object, optional
        Parameter value; strings shaped like API tokens (``hf_...``, ``sk-...``,
        ``ghp_...``) are secret whatever the name.

    Returns
    -------
    bool
    """
    if _looks_secret_name(name):
        return True
    return isinstance(value, str) and bool(_SECRET_VALUE.match(value.strip()))


def redact(params: Mapping[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
    """Split ``params`` into (kept parameters as JSON values, sorted names of dropped ones).

    Parameters
    ----------
    params : mapping or None
        Parameter names to values.

    Returns
    -------
    kept : dict
        Non-secret parameters, values converted by :func:`jsonable`.
    dropped : list of str
        Names of the parameters that looked like secrets (values are never kept).
    """
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    for name, value in (params or {}).items():
        if is_secret(name, value):
            dropped.append(str(name))
        else:
            kept[str(name)] = jsonable(value)
    return kept, sorted(dropped)


def jsonable(value: Any) -> Any:
    """Convert ``value`` to plain JSON types (numpy scalars, paths, tuples, sets, ...).

    Non-finite floats become strings (``"nan"``, ``"inf"``) because JSON has no such
    numbers; unknown objects become their ``repr``.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v) for v in value), key=repr)
    # numpy scalars and 0-d arrays expose .item(); do not import numpy just to check
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) in ((), None):
        try:
            return jsonable(item())
        except (TypeError, ValueError):
            pass
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return jsonable(tolist())
    return repr(value)


def package_versions(packages: tuple[str, ...] | list[str] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution (``None`` when it is not installed).

    Uses ``importlib.metadata`` so nothing heavy is imported.
    """
    versions: dict[str, str | None] = {}
    for name in packages:
        try:
            versions[name] = _metadata.version(name)
        except _metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_info(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Commit, branch and dirty flag of the git checkout containing ``path``.

    Works without git (no binary, not a checkout, exported tarball): then ``commit`` is
    ``None`` and ``error`` says why.  ``dirty`` is True when tracked files differ from the
    commit (``git status --porcelain --untracked-files=no`` not empty; untracked files
    such as build outputs do not count).
    """
    if path is None:
        from personax.utils import repo_root

        root = repo_root()
        path = root if root is not None else Path.cwd()
    info: dict[str, Any] = {"commit": None, "branch": None, "dirty": None}

    def _git(*args: str) -> str:
        out = subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True,
                             timeout=10, check=True)
        return out.stdout.strip()

    try:
        info["commit"] = _git("rev-parse", "HEAD")
        info["branch"] = _git("rev-parse", "--abbrev-ref", "HEAD")
        info["dirty"] = bool(_git("status", "--porcelain", "--untracked-files=no"))
    except FileNotFoundError:
        info["error"] = "git is not installed"
    except subprocess.CalledProcessError as exc:
        info["error"] = (exc.stderr or "").strip().splitlines()[0] if exc.stderr else f"git exited {exc.returncode}"
    except subprocess.TimeoutExpired:
        info["error"] = "git timed out"
    return info


def device_info(device: str | None = None) -> dict[str, Any]:
    """Requested/resolved device and, on CUDA, the GPU name.

    ``device`` is what the run asked for (``"auto"``, ``"cpu"``, ``"cuda:0"``); it is
    resolved with :func:`personax.utils.resolve_device`.  A request that cannot be
    satisfied is recorded with its error rather than raised (provenance describes; the
    notebook's own validation is what stops a run).
    """
    info: dict[str, Any] = {"requested": device, "resolved": None, "gpu": None}
    try:
        import torch
    except ImportError:  # a minimal install without torch still gets provenance
        info["resolved"] = "cpu"
        info["torch_cuda"] = None
        return info
    info["torch_cuda"] = torch.version.cuda
    info["cuda_available"] = bool(torch.cuda.is_available())
    if device is None:
        return info
    from personax.utils import resolve_device

    try:
        resolved = resolve_device(device)
    except (ValueError, RuntimeError) as exc:
        info["error"] = str(exc)
        return info
    info["resolved"] = resolved
    if resolved.startswith("cuda"):
        index = int(resolved.split(":", 1)[1]) if ":" in resolved else torch.cuda.current_device()
        info["gpu"] = torch.cuda.get_device_name(index)
    return info


def collect(params: Mapping[str, Any] | None = None, *, notebook: str | None = None,
            device: str | None = None, root: str | os.PathLike | None = None) -> dict[str, Any]:
    """Provenance record of a run.

    Parameters
    ----------
    params : mapping, optional
        The run's parameters (e.g. the notebook's parameters cell after overrides).
        Credential-like entries are dropped (see :func:`is_secret`).
    notebook : str, optional
        Notebook name (``"01_data"``).
    device : str, optional
        Requested device; defaults to ``params["device"]`` when present.
    root : path, optional
        Where to look for the git checkout (default: the source checkout of this package,
        else the working directory).

    Returns
    -------
    dict
        JSON-serialisable with keys ``notebook``, ``parameters``, ``redacted``, ``seed``,
        ``git`` (``commit``, ``branch``, ``dirty``[, ``error``]), ``packages``
        (distribution → version or None), ``python``, ``platform``, ``device``
        (``requested``, ``resolved``, ``gpu``, ...), ``time_utc`` (ISO 8601) and
        ``personax_version``.
    """
    kept, dropped = redact(params)
    if device is None and isinstance(kept.get("device"), str):
        device = kept["device"]
    versions = package_versions()
    return {
        "notebook": notebook,
        "parameters": kept,
        "redacted": dropped,
        "seed": kept.get("seed"),
        "git": git_info(root),
        "packages": versions,
        "personax_version": versions.get("personax"),
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "device": device_info(device),
        "time_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def write(record: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write a provenance record as indented JSON (creating parent folders); return the path."""
    import json

    from personax.utils import atomic_path

    path = Path(path)
    text = json.dumps(jsonable(record), indent=2, sort_keys=False) + "\n"
    with atomic_path(path) as tmp:  # write then rename: a crash never leaves half a record
        tmp.write_text(text, encoding="utf-8")
    return path
