"""The run record of a CRL fit: config, seed, provenance, sizes, timings, metrics.

One record shape for both estimators and the baselines (``CRLFit.record``).
"""

from __future__ import annotations

import hashlib
import platform
import time
from typing import Sequence

import numpy as np

from personax.provenance import git_info, package_versions

__all__ = ["git_commit", "versions", "fingerprint", "run_record"]


def git_commit() -> str | None:
    """Commit of the checkout (None outside git); the provenance module does the asking."""
    return git_info()["commit"]


def versions() -> dict:
    """Python and the numerical stack's versions for the run record."""
    return {"python": platform.python_version(),
            **package_versions(("torch", "numpy", "pandas", "scipy", "scikit-learn"))}


def fingerprint(flat: Sequence[np.ndarray]) -> str:
    """A short hash of the data's shapes and first rows: a checkpoint of other data is refused."""
    h = hashlib.sha1()
    for a in flat:
        h.update(str(a.shape).encode())
        h.update(np.ascontiguousarray(a[: min(len(a), 64)]).tobytes())
    return h.hexdigest()[:16]


def run_record(cfg, seed, profile, dev, modalities, dims, n_shared, layout, v, n, split, model, *, epochs_run,
                best_epoch, stopped_early, resumed_from, train_seconds, t_start, metrics, fingerprint) -> dict:
    """The run record shared by both estimators (config, provenance, sizes, timings, metrics)."""
    return {
        "model": f"personax.crl (multimodal multi-measurement CRL, estimator={cfg.estimator!r})",
        "config": cfg.to_dict(), "seed": seed, "profile": profile, "device": dev,
        "git_commit": git_commit(), "versions": versions(),
        "layout": {"modalities": list(modalities), "latent_dims": dict(zip(modalities, dims)),
                   "n_shared": int(n_shared), "names": layout.names},
        "measurements": {m: len(v[m]) for m in modalities},
        "n_rows": int(n), "split_sizes": {k: int(len(s)) for k, s in split.items()},
        "epochs_run": int(epochs_run), "best_epoch": int(best_epoch), "stopped_early": bool(stopped_early),
        "resumed_from_epoch": resumed_from,
        "timings": {"train_seconds": float(train_seconds), "total_seconds": float(time.perf_counter() - t_start)},
        "metrics": metrics,
        "n_parameters": int(sum(p.numel() for p in model.parameters())),
        "data_fingerprint": fingerprint,
    }
