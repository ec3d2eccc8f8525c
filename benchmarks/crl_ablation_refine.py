"""Ablation: stage 2 with and without the sparse-rotation refinement (``s2_refine``), same fits.

The refinement runs after stage 2 has chosen its candidate, so one run per (benchmark,
seed) yields both estimates: the candidate chosen before the refinement is what
``s2_refine="none"`` returns (``*_none``), and the final fit is what the default returns;
``*_refined`` is the mapped refit, whether kept or not.  Every design
of the family is run (no selection), plus the numerical benchmark.

    python benchmarks/crl_ablation_refine.py --designs 0-19 --seeds 0 --numerical-seeds 0,1,2,3,4

Rows of (benchmark, seed) pairs that the ledger (``--work``) does not hold are kept from
the existing CSV, so seeds can be added run by run.
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import pandas as pd
import torch

from personax.crl.benchmark import benchmark_run

OUT = Path(__file__).parent / "results" / "crl_ablation_refine.csv"


def _ints(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            out += list(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    return out


def _kind(phase: str) -> str:
    """Which fit was kept: the mapped refit, the unmapped refit, or the unrefined candidate."""
    return "rot" if phase.endswith(":rot") else "refit" if phase.endswith(":refit") else "none"


def _order(bench: str) -> tuple:
    """Sort key: the numerical benchmark first, then the designs by number."""
    return (0, 0) if bench == "numerical" else (1, int(bench.split(":")[1])) if ":" in bench else (2, 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", default="0-19")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--numerical-seeds", default="0,1,2,3,4")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--work", default="build/crl_ablation_refine", help="ledger and checkpoints (resumable)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    jobs = [("numerical", _ints(args.numerical_seeds))] + [(f"design:{d}", _ints(args.seeds))
                                                             for d in _ints(args.designs)]
    for bench, seeds in jobs:
        if seeds:
            benchmark_run(bench, methods=("personax",), seeds=seeds, profile=args.profile, out=args.work,
                          references=False)
    res = pd.read_csv(Path(args.work) / "results.csv")
    cand = pd.read_csv(Path(args.work) / "candidates.csv")
    rows = []
    for (bench, seed), g in cand.groupby(["benchmark", "seed"], sort=False):
        base = g[~g["phase"].str.contains(":r")].sort_values("criterion").iloc[0]  # chosen before refining
        rot = g[g["phase"].str.endswith(":rot")]
        final = res[(res["benchmark"] == bench) & (res["seed"] == seed)].iloc[-1]
        rows.append({"benchmark": bench, "seed": seed, "profile": args.profile,
                     "mcc_none": base["mcc"], "shd_none": base["shd"],
                     "mcc_refined": rot["mcc"].iloc[0] if len(rot) else float("nan"),
                     "shd_refined": rot["shd"].iloc[0] if len(rot) else float("nan"),
                     "refinement_kept": bool(len(rot) and rot["chosen"].iloc[0]),
                     "kept": _kind(g.loc[g["chosen"], "phase"].iloc[0]),
                     "mcc": final["mcc"], "mcc_shared": final["mcc_shared"], "mcc_m1": final["mcc_m1"],
                     "mcc_m2": final["mcc_m2"], "shd": final["shd"], "shd_empty": final["shd_empty"],
                     "seconds": final["seconds"], "machine": f"{platform.machine()} CPU, {args.threads} threads",
                     "torch": torch.__version__})
    new = pd.DataFrame(rows)
    if OUT.exists():
        # rows of (benchmark, seed) pairs not in this ledger are kept from the committed file
        old = pd.read_csv(OUT)
        ran = set(zip(new["benchmark"], new["seed"]))
        keep = old[[(b, s) not in ran for b, s in zip(old["benchmark"], old["seed"])]]
        new = pd.concat([keep, new], ignore_index=True)
    new = new.sort_values(["benchmark", "seed"], key=lambda c: c.map(_order) if c.name == "benchmark" else c,
                          kind="stable").reset_index(drop=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    new.to_csv(OUT, index=False)
    print(new.drop(columns=["machine", "torch"]).round(3).to_string())


if __name__ == "__main__":
    main()
