"""Ablation: stage 1 with and without the contrastive (InfoNCE) term, same designs, seeds and split.

The rows *without* the term are the committed ``benchmarks/results/crl.csv`` of commit
358cddc (alignment-only stage 1, ``contrast_weight`` did not exist: equivalent to 0); the
rows *with* it are the current ``crl.csv`` (``contrast_weight=1``, the default).  Nothing
else in the estimator or the benchmark changed between the two, so each pair differs only
by the term.  Writes ``benchmarks/results/crl_ablation_contrast.csv``: one row per
(benchmark, seed) with both runs' overall / per-block MCC, block R² and SHD.

Usage::

    git show 358cddc:benchmarks/results/crl.csv > /tmp/crl_before.csv
    python benchmarks/crl_ablation_contrast.py /tmp/crl_before.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
COLS = ["mcc", "mcc_shared", "mcc_m1", "mcc_m2", "r2", "r2_block_m1", "r2_block_m2", "shd", "shd_empty"]


def pair(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Join the ``personax`` rows of two benchmark tables on (benchmark, seed)."""
    key = ["benchmark", "seed"]
    b = before[before["method"] == "personax"][key + COLS]
    a = after[after["method"] == "personax"][key + COLS]
    out = b.merge(a, on=key, suffixes=("_contrast0", "_contrast1"))
    out["shd_empty"] = out.pop("shd_empty_contrast1")
    out = out.drop(columns=["shd_empty_contrast0"])
    out["delta_mcc"] = out["mcc_contrast1"] - out["mcc_contrast0"]
    return out.sort_values(key, kind="stable").reset_index(drop=True)


def main(argv=None) -> pd.DataFrame:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("before", help="crl.csv of the alignment-only stage 1 (commit 358cddc)")
    p.add_argument("--after", default=str(HERE / "results" / "crl.csv"))
    p.add_argument("--out", default=str(HERE / "results" / "crl_ablation_contrast.csv"))
    args = p.parse_args(argv)
    res = pair(pd.read_csv(args.before), pd.read_csv(args.after))
    res.to_csv(args.out, index=False)
    fam = res[res["benchmark"].str.match(r"design:\d$|design:1\d$")]
    print(f"{len(res)} paired fits; design family (conditions met): mean MCC "
          f"{fam['mcc_contrast0'].mean():.3f} -> {fam['mcc_contrast1'].mean():.3f}; "
          f"m1 block R² {fam['r2_block_m1_contrast0'].mean():.3f} -> {fam['r2_block_m1_contrast1'].mean():.3f}")
    print(f"wrote {args.out}")
    return res


if __name__ == "__main__":
    main()
