"""Level I benchmark: the full CelebPersona-scale battery, fast backend vs reference libraries.

Data: ``personax.data.synthetic.generate("celebpersona", seed=0)`` at the release size
(n = 9,444; embeddings reduced to 16 dims since Level I does not use them), the schema's
Level I attributes × 5 aggregated traits; KCI, RCIT, HSIC on every pair, χ² and G² on the
discrete-attribute pairs.

* Fast side: the whole battery, one test at a time (``cache=False``), wall time per test
  (minimum of ``--repeat`` runs, default 3; the median is reported too).
* Reference side, same data, same process: a documented subset of pairs per test (all
  χ²/G² pairs; 12 RCIT pairs; 3 KCI and 3 HSIC pairs, chosen to cover a continuous,
  a many-level and a binary attribute, because the dense libraries cost seconds and GBs
  per pair at n = 9,444); its per-pair time is extrapolated to the full grid.  HSIC's
  reference is the dense Gamma-HSIC (the authors' formula); hyppo's HSIC is run on the
  same pairs only for a decision cross-check (its own time is reported separately).
* Reported per test: wall time fast / reference (extrapolated), speed ratio per pair,
  peak RSS after each phase (``resource.getrusage``; process-wide, monotone), max p-value
  discrepancy on the reference pairs, decision disagreements at α = 0.05, machine info.

Run ``python benchmarks/level1.py`` (full) or ``--quick`` (n = 1,500, smoke run);
results go to ``benchmarks/results/level1.csv`` (``--out`` to change).  Targets (not
asserted): full fast battery ≤ 30 s on 2 cores, ≤ 4 GB, ≥ 50× per test, identical
decisions.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

ALPHA = 0.05


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def reference_pairs(test: str, pairs: list[tuple[str, str]], quick: bool) -> list[tuple[str, str]]:
    """The documented subset of (trait, attribute) pairs run with the reference backend."""
    if test in ("chi2", "g2"):
        return pairs
    if test == "rcit":
        k = 5 if quick else 12
        idx = np.unique(np.linspace(0, len(pairs) - 1, k).round().astype(int))
        return [pairs[i] for i in idx]
    wanted = [("openness", "latitude"), ("conscientiousness", "birth_year"), ("neuroticism", "gender")]
    chosen = [p for p in wanted if p in pairs]
    return chosen[:2] if quick else chosen


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="n = 1,500 and fewer reference pairs (smoke run)")
    ap.add_argument("--n", type=int, default=None, help="rows (default 9,444; 1,500 with --quick)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-hyppo", action="store_true", help="skip the hyppo HSIC decision cross-check")
    ap.add_argument("--repeat", type=int, default=3,
                    help="fast-side repetitions per test; the minimum is reported (default 3)")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "level1.csv"))
    args = ap.parse_args(argv)

    import torch

    from personax.data.synthetic import generate
    from personax.independence import battery, get_spec, test as run_test
    from personax.independence.grid import _numeric
    from personax.utils import resolve_device

    n = args.n or (1500 if args.quick else None)
    t0 = time.perf_counter()
    ds = generate("celebpersona", n=n, seed=args.seed, face_dim=16, text_dim=16)
    t_gen = time.perf_counter() - t0
    schema = ds.schema
    traits, attributes = list(schema.traits), list(schema.attributes)
    tests = ["kci", "rcit", "hsic", "chi2", "g2"]
    device = resolve_device(args.device)
    print(f"data: {len(ds.frame)} rows, {len(attributes)} attributes x {len(traits)} traits "
          f"(generated in {t_gen:.1f} s); device {device}, torch threads {torch.get_num_threads()}", flush=True)

    # ---------------------------------------------------------------- fast: whole battery
    fast_results, fast_time = {}, {}
    rss0 = peak_rss_mb()
    # warm-up on a few rows (torch/scipy first-call overheads are not part of the battery)
    battery(ds.frame.iloc[:200], dataset="celebpersona", cache=False, progress=False, device=device,
            options={"hsic": {"hyppo": False}})
    fast_median = {}
    for t in tests:
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            fast_results[t] = battery(ds, tests=[t], cache=False, progress=False, device=device, seed=args.seed)
            times.append(time.perf_counter() - start)
        fast_time[t], fast_median[t] = min(times), float(np.median(times))
        print(f"fast {t:5s}: {len(fast_results[t]):3d} pairs in {fast_time[t]:7.2f} s "
              f"(min of {args.repeat}; median {fast_median[t]:.2f} s)", flush=True)
    fast_peak = peak_rss_mb()
    total_fast = sum(fast_time.values())
    print(f"fast battery total: {total_fast:.2f} s, peak RSS {fast_peak:.0f} MB (before: {rss0:.0f} MB)", flush=True)

    # ---------------------------------------------------------------- reference: subset
    cols = {c: _numeric(ds.frame[c]) for c in dict.fromkeys(traits + attributes)}
    rows = []
    for t in tests:
        fr = fast_results[t]
        pairs = list(zip(fr["trait"], fr["attribute"]))
        sub = reference_pairs(t, pairs, args.quick)
        fast_p = dict(zip(pairs, fr["pvalue"]))
        opts = {"hyppo": False} if t == "hsic" else {}
        ref_p, hyppo_p, hyppo_time = {}, {}, 0.0
        start = time.perf_counter()
        for tr, a in sub:
            ref_p[(tr, a)] = run_test(t, cols[tr], cols[a], backend="reference", seed=args.seed, **opts).pvalue
        ref_time = time.perf_counter() - start
        if t == "hsic" and not args.no_hyppo:
            from hyppo.independence import Hsic

            from personax.independence.prepare import clean_pair

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for tr, a in sub:
                    xa, ya = clean_pair(cols[tr], cols[a])
                    start = time.perf_counter()
                    hyppo_p[(tr, a)] = float(Hsic().test(xa, ya, workers=1, auto=True, random_state=args.seed)[1])
                    hyppo_time += time.perf_counter() - start
        f = np.array([fast_p[p] for p in sub])
        r = np.array([ref_p[p] for p in sub])
        abs_diff = np.abs(f - r)
        rel_diff = abs_diff / np.maximum(np.abs(r), 1e-300)
        # the libraries' 1 - cdf cannot resolve p < ~1e-16: relative error is measured where r > 1e-12
        rel_ok = r > 1e-12
        fast_per_pair = fast_time[t] / len(pairs)
        ref_per_pair = ref_time / len(sub)
        row = {
            "test": t, "n_rows": len(ds.frame), "n_pairs": len(pairs), "fast_wall_s": round(fast_time[t], 4),
            "fast_wall_s_median": round(fast_median[t], 4),
            "fast_s_per_pair": fast_per_pair, "ref_pairs_run": len(sub), "ref_s_per_pair": ref_per_pair,
            "ref_wall_s_extrapolated": ref_per_pair * len(pairs), "speed_ratio": ref_per_pair / fast_per_pair,
            "max_abs_p_diff": float(abs_diff.max()),
            "max_rel_p_diff": float(rel_diff[rel_ok].max()) if rel_ok.any() else 0.0,
            "decision_disagreements": int(((f < ALPHA) != (r < ALPHA)).sum()),
            "hyppo_decision_disagreements": (int(sum((fast_p[p] < ALPHA) != (hyppo_p[p] < ALPHA) for p in sub))
                                             if hyppo_p else ""),
            "hyppo_s_per_pair": hyppo_time / len(sub) if hyppo_p else "",
            "reference": get_spec(t).reference.__name__.lstrip("_"),
        }
        rows.append(row)
        print(f"ref  {t:5s}: {len(sub):3d} pairs, {ref_per_pair:8.4f} s/pair -> x{row['speed_ratio']:.0f}; "
              f"max |dp| {row['max_abs_p_diff']:.2e}, rel {row['max_rel_p_diff']:.2e}, "
              f"disagreements {row['decision_disagreements']}", flush=True)
    ref_peak = peak_rss_mb()
    total_ref = sum(r["ref_wall_s_extrapolated"] for r in rows)
    rows.append({"test": "all", "n_rows": len(ds.frame), "n_pairs": sum(r["n_pairs"] for r in rows),
                 "fast_wall_s": round(total_fast, 4),
                 "fast_wall_s_median": round(sum(fast_median.values()), 4), "ref_wall_s_extrapolated": total_ref,
                 "speed_ratio": total_ref / total_fast,
                 "max_abs_p_diff": max(r["max_abs_p_diff"] for r in rows),
                 "decision_disagreements": sum(r["decision_disagreements"] for r in rows)})
    out = pd.DataFrame(rows)
    out["fast_peak_rss_mb"] = round(fast_peak, 1)
    out["ref_peak_rss_mb"] = round(ref_peak, 1)
    out["device"] = device
    out["cpu_count"] = os.cpu_count()
    out["affinity_cpus"] = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else ""
    out["torch_threads"] = torch.get_num_threads()
    out["omp_num_threads"] = os.environ.get("OMP_NUM_THREADS", "")
    out["machine"] = f"{platform.machine()} {platform.processor() or platform.platform()}"
    out["python"] = sys.version.split()[0]
    out["torch"] = torch.__version__
    out["quick"] = bool(args.quick)
    out["timestamp_utc"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)
    print(f"\nfast battery {total_fast:.1f} s vs reference (extrapolated) {total_ref:.0f} s "
          f"= x{total_ref / total_fast:.0f}; peak RSS fast {fast_peak:.0f} MB, after reference {ref_peak:.0f} MB; "
          f"-> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
