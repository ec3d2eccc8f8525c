"""Reference side of ``benchmarks/pc.py``: causal-learn's own PC with its own KCI, one dataset.

Runs ``causallearn.search.ConstraintBased.PC.pc(X, alpha, "kci", stable=True, uc_rule=0,
uc_priority=2, background_knowledge=<no Z → S>, max_k=<depth>)`` on the planted latents
of the shipped sample (all rows), exactly the data ``personax.crl.graph.pc_graph`` gives
PC (columns standardised), and writes one JSON record: wall time, number of tests, peak
RSS of this process, causal-learn's endpoint matrix and every p-value (causal-learn's
own cache, keys ``"x;y|s1.s2"``).  It takes hours on two cores (≈ 3 s per conditional
test at n = 2,000), so ``benchmarks/pc.py`` reuses the record when its data hash matches
and re-runs it only with ``--rerun-reference``.  causal-learn saves its cache every 30 s
(``cache_path``), so an interrupted run keeps the p-values computed so far.

Usage: ``python benchmarks/pc_reference.py celebpersona [--alpha 0.05] [--max-depth N]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def pc_data(dataset: str) -> tuple[np.ndarray, list[str]]:
    """The planted latents of the shipped sample, standardised as pc_graph does."""
    from personax.data import load

    ds = load(dataset)
    lat = ds.truth.latents
    X = lat.to_numpy(dtype=float)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X, list(lat.columns)


def data_hash(X: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(X).tobytes()).hexdigest()[:16]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", choices=["celebpersona", "athlepersona"])
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--max-depth", type=int, default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    from causallearn.search.ConstraintBased.PC import pc

    from personax.crl.graph import shared_background

    X, nodes = pc_data(args.dataset)
    out = Path(args.out) if args.out else RESULTS / f"pc_reference_{args.dataset}.json"
    cache = RESULTS / "pc_reference_cache" / f"{args.dataset}.json"
    cache.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    cg = pc(X, args.alpha, "kci", stable=True, uc_rule=0, uc_priority=2,
            background_knowledge=shared_background(nodes), show_progress=False, node_names=nodes,
            max_k=args.max_depth, cache_path=str(cache))
    wall = time.perf_counter() - t0
    pvals = {k: float(v) for k, v in cg.test.pvalue_cache.items() if ";" in k}
    rec = {
        "dataset": args.dataset, "n_rows": int(X.shape[0]), "n_latents": int(X.shape[1]), "nodes": nodes,
        "alpha": args.alpha, "max_depth": args.max_depth, "data_hash": data_hash(X),
        "wall_s": wall, "n_tests": len(pvals), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "graph": np.asarray(cg.G.graph).astype(int).tolist(), "pvalues": pvals,
        "causallearn": __import__("causallearn").__version__ if hasattr(__import__("causallearn"), "__version__") else "0.1.4.8",
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS", ""), "cpu_count": os.cpu_count(),
        "machine": f"{platform.machine()} {platform.processor() or platform.platform()}",
        "python": sys.version.split()[0], "timestamp_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "load_average_at_end": os.getloadavg(),
    }
    from personax.utils import atomic_path

    with atomic_path(out) as tmp:
        Path(tmp).write_text(json.dumps(rec, indent=1))
    print(f"{args.dataset}: causal-learn PC-KCI {wall:.0f} s, {len(pvals)} tests -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
