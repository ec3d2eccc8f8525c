"""Benchmark: unconditional KCI on a continuous × continuous pair, fast backend vs causal-learn, by size.

The fast backend used to switch strategy at 2,000 distinct values (a grouped path that
is cubic in the number of levels: 2.29 s at n = 2,000 against 0.185 s at n = 2,001, and
12–19× slower than causal-learn there).  It now chooses the exact strategy of least
estimated cost (``personax.independence.kernels.strategy_costs``); this script records one
row per size: n = 500, 2,000, 2,001, 9,444 (the CelebPersona release), x ~ N(0, 1),
y = 0.15·sin(x) + ε — a continuous × continuous pair with n distinct values each (weak dependence,
so that the p-values stay above the library’s 1e-16 floor and can be compared).

Per size: the fast backend's wall time and CPU time (minimum over ``--repeat`` runs after a
warm-up), causal-learn ``KCI_UInd().compute_pvalue`` likewise (fewer repeats at 9,444,
where it takes seconds and ~3 GB), the ratio, the strategy chosen, the p-values and their
relative difference, peak RSS of the process, torch threads and the machine's load average
(the machine may be shared: the load is recorded with every row).

Usage: ``python benchmarks/kci_unconditional.py`` → ``benchmarks/results/kci_unconditional.csv``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd


def timed(fn, repeat: int):
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return out, min(walls), min(cpus)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="500,2000,2001,9444")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "kci_unconditional.csv"))
    args = ap.parse_args(argv)

    import torch
    from causallearn.utils.KCI.KCI import KCI_UInd

    from personax.independence import test
    from personax.utils import write_csv

    rows = []
    rng = np.random.default_rng(0)
    test("kci", rng.normal(size=60), rng.normal(size=60))  # warm-up (imports, first torch calls)
    for n in [int(v) for v in args.sizes.split(",")]:
        x = rng.normal(size=n)
        y = 0.15 * np.sin(x) + rng.normal(size=n)
        rep_ref = max(1, args.repeat if n <= 2500 else 2)
        fast, fw, fc = timed(lambda: test("kci", x, y, device="cpu"), args.repeat)
        ref, rw, rc = timed(lambda: KCI_UInd().compute_pvalue(x[:, None].copy(), y[:, None].copy()), rep_ref)
        p_ref = float(ref[0])
        rows.append({
            "n": n, "pair": "continuous x continuous", "fast_strategy": fast.details["strategy"],
            "fast_wall_s": fw, "fast_cpu_s": fc, "causallearn_wall_s": rw, "causallearn_cpu_s": rc,
            "speed_ratio_wall": rw / fw, "fast_not_slower": bool(fw <= rw),
            "pvalue_fast": fast.pvalue, "pvalue_causallearn": p_ref,
            "rel_p_diff": abs(fast.pvalue - p_ref) / p_ref if p_ref > 1e-12 else float("nan"),
            "repeats_fast": args.repeat, "repeats_causallearn": rep_ref,
        })
        print(f"n={n:5d} {fast.details['strategy']:22s} fast {fw:.4f} s  causal-learn {rw:.4f} s  "
              f"x{rw / fw:.1f}  p {fast.pvalue:.4g} / {p_ref:.4g}", flush=True)
    out = pd.DataFrame(rows)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["torch_threads"] = torch.get_num_threads()
    out["cpu_count"] = os.cpu_count()
    out["load_average_1min"] = os.getloadavg()[0]
    out["machine"] = f"{platform.machine()} {platform.processor() or platform.platform()}"
    out["python"] = sys.version.split()[0]
    out["torch"] = torch.__version__
    out["timestamp_utc"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"-> {write_csv(out, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
