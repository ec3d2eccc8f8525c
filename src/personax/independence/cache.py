"""On-disk cache of battery results, so that a rerun of the book does not recompute.

One JSON file per (test, attribute) unit of a battery, under
``personax.utils.cache_dir("independence")``.  The key is a SHA-256 over everything that
can change the numbers: the package cache version, test, backend, options, seed, the
column names and the exact bytes of the float64 data columns.  The device is not part of
the key (CPU and GPU agree to floating point).  Because units are written as they finish,
an interrupted battery resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

#: bump when the numbers a unit produces change for the same inputs
CACHE_VERSION = "independence-1"


def unit_key(test: str, backend: str, options: dict[str, Any], seed: int, attribute: str,
             attribute_values: np.ndarray, traits: Sequence[str], trait_values: Sequence[np.ndarray]) -> str:
    """Hex digest identifying one (test, attribute, traits) unit with its data and parameters."""
    h = hashlib.sha256()
    meta = {"v": CACHE_VERSION, "test": test, "backend": backend, "seed": int(seed),
            "options": {k: repr(v) for k, v in sorted(options.items())},
            "attribute": attribute, "traits": list(traits)}
    h.update(json.dumps(meta, sort_keys=True).encode())
    for arr in (attribute_values, *trait_values):
        a = np.ascontiguousarray(arr, dtype=np.float64)
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _path(key: str) -> Path:
    from personax.utils import cache_dir

    return cache_dir("independence", key[:2]) / f"{key}.json"


def load(key: str) -> list[dict[str, Any]] | None:
    """Cached rows for ``key``, or ``None`` when absent or unreadable (then recomputed)."""
    path = _path(key)
    if not path.exists():
        return None
    try:
        rows = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None  # a torn write from an interrupted run: recompute this unit
    return rows if isinstance(rows, list) else None


def store(key: str, rows: list[dict[str, Any]]) -> None:
    """Write rows atomically (temp file + rename)."""
    path = _path(key)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(rows, allow_nan=True))
    os.replace(tmp, path)
