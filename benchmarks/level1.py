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

**Conditional battery** (``--given gender,occupation``): every trait × attribute pair
(attributes in Z skipped) tested X ⫫ Y | Z with KCI, RCIT, χ², G² (fast: the exact
stratified path).  Reference side: causal-learn's ``CIT(chisq|gsq)`` on all χ²/G² pairs and
``RCIT`` on 12 pairs at full n; causal-learn's conditional ``KCI_CInd`` builds and
eigen-decomposes n×n matrices (O(n³) time, several GB at n = 9,444), so it is timed on
row subsamples (``--kci-ref-sizes``, default 1,000/2,000/4,000 rows, 2 pairs) against the
fast test on the *same* subsample (agreement), and its full-n time is **extrapolated**
with the power law fitted to those sizes (exponent reported in ``ref_scaling_exponent``).
These rows carry ``given`` and are merged into the CSV (rows of other ``given`` values,
including the unconditional ones, are kept).

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
    ap.add_argument("--given", default=None,
                    help="comma-separated conditioning set (e.g. gender,occupation): the conditional battery")
    ap.add_argument("--kci-ref-sizes", default="1000,2000,4000",
                    help="row subsamples on which causal-learn's conditional KCI is timed (--given only)")
    args = ap.parse_args(argv)
    if args.given:
        return conditional(args)

    import torch

    from personax.data.synthetic import generate
    from personax.independence import battery, get_spec, test as run_test
    from personax.independence.grid import _numeric
    from personax.utils import resolve_device, write_csv

    n = args.n or (1500 if args.quick else None)
    t0 = time.perf_counter()
    ds = generate("celebpersona", n=n, seed=args.seed, face_dim=16, text_dim=16)
    t_gen = time.perf_counter() - t0
    schema = ds.schema
    traits, attributes = list(schema.traits), list(schema.attributes)
    tests = ["kci", "rcit", "hsic_gamma", "chi2", "g2"]
    device = resolve_device(args.device)
    print(f"data: {len(ds.frame)} rows, {len(attributes)} attributes x {len(traits)} traits "
          f"(generated in {t_gen:.1f} s); device {device}, torch threads {torch.get_num_threads()}", flush=True)

    # ---------------------------------------------------------------- fast: whole battery
    fast_results, fast_time = {}, {}
    rss0 = peak_rss_mb()
    # warm-up on a few rows (torch/scipy first-call overheads are not part of the battery)
    battery(ds.frame.iloc[:200], dataset="celebpersona", cache=False, progress=False, device=device,
            options={"hsic_gamma": {"hyppo": False}})
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
        opts = {"hyppo": False} if t == "hsic_gamma" else {}
        ref_p, hyppo_p, hyppo_time = {}, {}, 0.0
        start = time.perf_counter()
        for tr, a in sub:
            ref_p[(tr, a)] = run_test(t, cols[tr], cols[a], backend="reference", seed=args.seed, **opts).pvalue
        ref_time = time.perf_counter() - start
        if t == "hsic_gamma" and not args.no_hyppo:
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
    out = machine_columns(out, device, args.quick, load=False)
    path = write_csv(out, args.out)
    print(f"\nfast battery {total_fast:.1f} s vs reference (extrapolated) {total_ref:.0f} s "
          f"= x{total_ref / total_fast:.0f}; peak RSS fast {fast_peak:.0f} MB, after reference {ref_peak:.0f} MB; "
          f"-> {path}")
    return 0


def machine_columns(out: pd.DataFrame, device: str, quick: bool, *, load: bool = True) -> pd.DataFrame:
    """The machine's columns beside the timings (``load``: the 1-minute load average too)."""
    import torch

    out["device"] = device
    out["cpu_count"] = os.cpu_count()
    out["affinity_cpus"] = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else ""
    out["torch_threads"] = torch.get_num_threads()
    out["omp_num_threads"] = os.environ.get("OMP_NUM_THREADS", "")
    out["machine"] = f"{platform.machine()} {platform.processor() or platform.platform()}"
    out["python"] = sys.version.split()[0]
    out["torch"] = torch.__version__
    out["quick"] = bool(quick)
    if load:
        out["load_avg_1min"] = round(os.getloadavg()[0], 2)
    out["timestamp_utc"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def conditional(args) -> int:
    """The conditional battery given ``args.given`` (see the module docstring)."""
    from personax.data.synthetic import generate
    from personax.independence import battery
    from personax.independence.given import test_given
    from personax.independence.grid import _numeric
    from personax.utils import atomic_path, resolve_device

    given = [g.strip() for g in args.given.split(",") if g.strip()]
    label = "+".join(given)
    n = args.n or (1500 if args.quick else None)
    ds = generate("celebpersona", n=n, seed=args.seed, face_dim=16, text_dim=16)
    device = resolve_device(args.device)
    tests = ["kci", "rcit", "chi2", "g2"]
    print(f"data: {len(ds.frame)} rows; given {label}; device {device}", flush=True)
    battery(ds.frame.iloc[:300], dataset="celebpersona", given=given, cache=False, progress=False, device=device)
    fast_results, fast_time, fast_median = {}, {}, {}
    for t in tests:
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            fast_results[t] = battery(ds, tests=[t], given=given, cache=False, progress=False, device=device,
                                      seed=args.seed)
            times.append(time.perf_counter() - start)
        fast_time[t], fast_median[t] = min(times), float(np.median(times))
        print(f"fast {t:5s} | {label}: {len(fast_results[t]):3d} pairs in {fast_time[t]:6.2f} s "
              f"(min of {args.repeat}; median {fast_median[t]:.2f} s)", flush=True)
    fast_peak = peak_rss_mb()
    cols = {c: _numeric(ds.frame[c]) for c in ds.frame.columns if c in set(ds.schema.traits) | set(ds.schema.attributes)}
    z = np.column_stack([cols[g] for g in given])
    rng = np.random.default_rng(args.seed)
    rows = []
    for t in tests:
        fr = fast_results[t]
        pairs = list(zip(fr["trait"], fr["attribute"]))
        fast_p = dict(zip(pairs, fr["pvalue"]))
        row = {"test": f"{t}|{label}", "given": label, "n_rows": len(ds.frame), "n_pairs": len(pairs),
               "fast_wall_s": round(fast_time[t], 4), "fast_wall_s_median": round(fast_median[t], 4),
               "fast_s_per_pair": fast_time[t] / len(pairs)}
        f, r = [], []
        if t != "kci":
            sub = pairs if t in ("chi2", "g2") else reference_pairs("rcit", pairs, args.quick)
            start = time.perf_counter()
            for tr, a in sub:
                r.append(test_given(t, cols[tr], cols[a], z, backend="reference", seed=args.seed).pvalue)
                f.append(fast_p[(tr, a)])
            ref_per_pair = (time.perf_counter() - start) / len(sub)
            row.update({"ref_pairs_run": len(sub), "ref_n_rows": len(ds.frame), "ref_s_per_pair": ref_per_pair,
                        "ref_wall_s_extrapolated": ref_per_pair * len(pairs), "ref_scaling_exponent": ""})
        else:
            sizes = [int(s) for s in args.kci_ref_sizes.split(",")]
            if args.quick:
                sizes = [s for s in sizes if s <= 1000] or sizes[:1]
            wanted = [("openness", "height_cm"), ("neuroticism", "Big_Nose")]
            per_size = []
            for size in sizes:
                idx = rng.choice(len(ds.frame), size=min(size, len(ds.frame)), replace=False)
                spent = 0.0
                for tr, a in wanted:
                    fp = test_given("kci", cols[tr][idx], cols[a][idx], z[idx]).pvalue
                    start = time.perf_counter()
                    rp = test_given("kci", cols[tr][idx], cols[a][idx], z[idx], backend="reference").pvalue
                    spent += time.perf_counter() - start
                    f.append(fp)
                    r.append(rp)
                per_size.append(spent / len(wanted))
                print(f"ref  kci   | {label}: n={size}: {per_size[-1]:.2f} s/pair", flush=True)
            slope, intercept = np.polyfit(np.log(sizes), np.log(per_size), 1) if len(sizes) > 1 else (3.0, None)
            if intercept is None:
                intercept = np.log(per_size[0]) - 3.0 * np.log(sizes[0])
            ref_per_pair = float(np.exp(intercept + slope * np.log(len(ds.frame))))
            row.update({"ref_pairs_run": len(wanted) * len(sizes), "ref_n_rows": ",".join(map(str, sizes)),
                        "ref_s_per_pair": ref_per_pair, "ref_wall_s_extrapolated": ref_per_pair * len(pairs),
                        "ref_scaling_exponent": round(float(slope), 3)})
        f, r = np.array(f), np.array(r)
        abs_diff = np.abs(f - r)
        rel_ok = r > 1e-12
        row.update({"speed_ratio": row["ref_s_per_pair"] / row["fast_s_per_pair"],
                    "max_abs_p_diff": float(abs_diff.max()),
                    "max_rel_p_diff": float((abs_diff[rel_ok] / r[rel_ok]).max()) if rel_ok.any() else 0.0,
                    "decision_disagreements": int(((f < ALPHA) != (r < ALPHA)).sum()),
                    "reference": {"kci": "causal-learn KCI_CInd (row subsamples, extrapolated)",
                                  "rcit": "causal-learn RCIT", "chi2": "causal-learn CIT chisq",
                                  "g2": "causal-learn CIT gsq"}[t]})
        rows.append(row)
        print(f"ref  {t:5s} | {label}: {row['ref_pairs_run']} runs, {row['ref_s_per_pair']:.3f} s/pair "
              f"-> x{row['speed_ratio']:.0f}; max |dp| {row['max_abs_p_diff']:.2e} rel {row['max_rel_p_diff']:.2e}, "
              f"disagreements {row['decision_disagreements']}", flush=True)
    total_fast = sum(fast_time.values())
    total_ref = sum(r["ref_wall_s_extrapolated"] for r in rows)
    rows.append({"test": f"all|{label}", "given": label, "n_rows": len(ds.frame),
                 "n_pairs": sum(r["n_pairs"] for r in rows), "fast_wall_s": round(total_fast, 4),
                 "fast_wall_s_median": round(sum(fast_median.values()), 4), "ref_wall_s_extrapolated": total_ref,
                 "speed_ratio": total_ref / total_fast, "max_abs_p_diff": max(r["max_abs_p_diff"] for r in rows),
                 "decision_disagreements": sum(r["decision_disagreements"] for r in rows)})
    new = pd.DataFrame(rows)
    new["fast_peak_rss_mb"] = round(fast_peak, 1)
    new["ref_peak_rss_mb"] = round(peak_rss_mb(), 1)
    new = machine_columns(new, device, args.quick)
    path = Path(args.out)
    if path.exists():
        old = pd.read_csv(path, keep_default_na=False)
        if "given" not in old.columns:
            old.insert(1, "given", "")
        old = old[old["given"].astype(str) != label]
        new = pd.concat([old, new], ignore_index=True)
    cols_order = list(dict.fromkeys([c for c in new.columns if c != "timestamp_utc"] + ["timestamp_utc"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        new[cols_order].to_csv(tmp, index=False)
    print(f"\nconditional battery given {label}: fast {total_fast:.1f} s vs reference (extrapolated) "
          f"{total_ref:.0f} s = x{total_ref / total_fast:.0f} -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
