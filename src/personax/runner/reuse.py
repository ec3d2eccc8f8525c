"""Skipping notebooks whose inputs did not change (``personax run/book --reuse``).

A good executed notebook is reused only when its **execution key** is unchanged: the
SHA-256 of everything that can change what the notebook computes or prints —

* the notebook's jupytext source and the parameters injected into it;
* every file of the installed ``personax`` package (any code change re-executes every
  notebook: the package is shared, and a finer dependency analysis could miss an import);
* the shipped data (``data/``) and the committed benchmark results (``benchmarks/results/``)
  that chapters read;
* the pinned requirements, the Python version, and the environment variables that steer
  execution (offline flags, ``PERSONAX_*``).

The key is stored in the provenance sidecar (``runner.execution_key``); a failed run, a
missing sidecar or a different key re-executes.  Nothing is ever reused by default.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Mapping

#: Environment variables that change what a notebook does (part of the key).
KEY_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "PERSONAX_OFFLINE", "PERSONAX_CACHE", "PERSONAX_QUIET",
           "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS")


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of one file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _tree_digest(h, folder: Path, suffixes: tuple[str, ...] | None = None) -> None:
    if not folder.is_dir():
        h.update(f"<no {folder.name}>".encode())
        return
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or "__pycache__" in p.parts or (suffixes and p.suffix not in suffixes):
            continue
        h.update(str(p.relative_to(folder)).encode() + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())


def execution_key(source: Path, parameters: Mapping[str, Any], root: Path | None) -> str:
    """SHA-256 (hex) of the notebook's inputs (see the module docstring)."""
    import personax

    h = hashlib.sha256()
    h.update(Path(source).read_bytes())
    h.update(json.dumps(parameters, sort_keys=True, default=str).encode())
    _tree_digest(h, Path(personax.__file__).resolve().parent, (".py", ".json", ".yml", ".yaml", ".csv", ".txt"))
    base = Path(root) if root is not None else Path(source).resolve().parent.parent
    for sub in ("data", os.path.join("benchmarks", "results")):
        _tree_digest(h, base / sub)
    for req in sorted(base.glob("requirements*.txt")):
        h.update(req.read_bytes())
    h.update(sys.version.encode())
    h.update(json.dumps({k: os.environ.get(k) for k in KEY_ENV}, sort_keys=True).encode())
    return h.hexdigest()


def reusable(output: Path, sidecar: Path, key: str) -> bool:
    """True when ``output`` is a good run whose sidecar records this execution key."""
    if not (output.is_file() and sidecar.is_file()):
        return False
    try:
        runner = json.loads(sidecar.read_text()).get("runner", {})
    except (OSError, ValueError):
        return False
    return runner.get("status") == "ok" and runner.get("execution_key") == key
