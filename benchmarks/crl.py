"""Benchmark: CRL training throughput and time to reach MCC 0.9 on the numerical benchmark.

Compares, on the same data and device:

* ``personax`` — our trainer (minibatches of 256, Adam lr 1e-3, early stopping on the
  validation loss, the paper's synthetic loss weights);
* ``authors_recipe`` — the authors' schedule re-implemented with **our model**: full batch,
  Adam lr 2e-6, 3,000 steps, no early stopping, MCC checked every 100 steps (as in the
  official code; ``official-code.md`` §3.3).  Labelled: it is their schedule, not their code.

MCC (Pearson, Hungarian matching) is measured on the held-out test rows after every
epoch (every 100 steps for the authors' recipe) by a monitoring callback that never
influences training; "time to MCC 0.9" is the cumulative *training* time (evaluation
excluded) when it is first reached (NaN if never).  Throughput = training rows × epochs /
training seconds.

Usage (one command, writes one CSV)::

    python benchmarks/crl.py                      # CPU, writes benchmarks/results/crl.csv
    python benchmarks/crl.py --device cuda        # on a GPU machine
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from personax import crl
from personax.crl import metrics, synthetic
from personax.utils import resolve_device


def _run(bench, name: str, config: dict, device: str, seed: int, eval_every: int) -> dict:
    curve = []

    def monitor(epoch, f):
        if epoch % eval_every and epoch != 1:
            return None
        te = f.split["test"]
        m = metrics.mcc(f.encode(bench.views).iloc[te], bench.latents.iloc[te]).score
        curve.append((epoch, m))
        return {"test_mcc": m}

    f = crl.fit(bench.views, bench.latent_dims, n_shared=bench.n_shared, seed=seed, device=device, profile=None,
                config=config, callback=monitor)
    h = f.history
    reached = h[h.get("test_mcc", pd.Series(dtype=float)) >= 0.9] if "test_mcc" in h else h.iloc[0:0]
    te = f.split["test"]
    final = metrics.mcc(f.encode(bench.views).iloc[te], bench.latents.iloc[te]).score
    n_train = len(f.split["train"])
    return {
        "method": name, "epochs": int(len(h)), "steps_per_epoch": 1 if config.get("batch_size") == 0
        else int(np.ceil(n_train / config.get("batch_size", 256))),
        "train_seconds": float(h["seconds"].iloc[-1]),
        "samples_per_s": float(n_train * len(h) / h["seconds"].iloc[-1]),
        "time_to_mcc90_s": float(reached["seconds"].iloc[0]) if len(reached) else float("nan"),
        "epoch_mcc90": int(reached["epoch"].iloc[0]) if len(reached) else -1,
        "best_monitored_mcc": float(h["test_mcc"].max()) if "test_mcc" in h else float("nan"),
        "final_test_mcc": float(final), "best_epoch": f.record["best_epoch"],
    }


def main(argv=None) -> pd.DataFrame:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto")
    p.add_argument("--n", type=int, default=4000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=150, help="epoch budget of our trainer")
    p.add_argument("--authors-steps", type=int, default=3000, help="full-batch steps of the authors' recipe")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "crl.csv"))
    args = p.parse_args(argv)
    device = resolve_device(args.device)
    bench = synthetic.numerical(n=args.n, seed=args.seed)
    weights = crl.paper_synthetic_weights()
    rows = [
        _run(bench, "personax", {**weights, "max_epochs": args.epochs, "patience": 25}, device, args.seed, 1),
        _run(bench, "authors_recipe (our model, full batch, lr 2e-6)",
             {**weights, "batch_size": 0, "lr": 2e-6, "max_epochs": args.authors_steps,
              "patience": args.authors_steps}, device, args.seed, 100),
    ]
    dev_name = torch.cuda.get_device_name(0) if device.startswith("cuda") else (platform.processor() or platform.machine())
    df = pd.DataFrame(rows)
    df.insert(0, "device", f"{device} ({dev_name})")
    df["torch_threads"] = torch.get_num_threads()
    df["cpu_count"] = os.cpu_count()
    df["n"] = args.n
    df["torch"] = torch.__version__
    df["timestamp_utc"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out, index=False)
    print(df.to_string(index=False))
    print(f"wrote {out}")
    return df


if __name__ == "__main__":
    main()
