"""``personax crl ...``: train and score the CRL model and its baselines on the synthetic benchmarks.

::

    personax crl train --benchmark numerical --seeds 0 1 2 --profile quick --out runs/crl
    personax crl train --benchmark images --profile paper --device cuda --out runs/crl --resume

Writes ``<out>/results.csv`` (one row per method and seed, appended as each finishes),
``<out>/summary.csv`` (mean ± sd over seeds), run records and checkpoints; ``--resume``
skips finished rows and continues interrupted trainings from their checkpoints.
"""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    """Add the ``crl`` command group to the ``personax`` CLI."""
    p = subparsers.add_parser("crl", help="Level II CRL: train and score on synthetic benchmarks",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="crl_command", metavar="SUBCOMMAND")
    t = sub.add_parser("train", help="train our model and the baselines on a benchmark, several seeds")
    t.add_argument("--benchmark", choices=["numerical", "images"], default="numerical")
    t.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="model seeds (default 0 1 2)")
    t.add_argument("--profile", choices=["ci", "quick", "paper"], default="quick")
    t.add_argument("--methods", nargs="+", default=["personax", "beta_vae", "mcl", "mmcrl"],
                   choices=["personax", "beta_vae", "mcl", "mmcrl"])
    t.add_argument("--n", type=int, default=None, help="rows (default set by the profile)")
    t.add_argument("--data-seed", type=int, default=0, help="seed of the benchmark data and split")
    t.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    t.add_argument("--image-base", choices=["random", "fixed"], default="random",
                   help="images benchmark: random base digit per row (default) or one fixed digit")
    t.add_argument("--image-sources", nargs=2, default=["digits", "digits"], metavar=("SRC1", "SRC2"),
                   help="images benchmark: 'digits' or local MNIST / Fashion-MNIST paths")
    t.add_argument("--out", required=True, help="output folder (created)")
    t.add_argument("--resume", action="store_true", help="skip finished runs, resume from checkpoints")
    t.set_defaults(func=_train)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _train(args) -> int:
    from pathlib import Path

    from personax.crl.synthetic import run_benchmark, summarize

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not args.resume and (out / "results.csv").exists():
        raise SystemExit(f"{out / 'results.csv'} exists: pass --resume to continue it or choose another --out")
    res = run_benchmark(args.benchmark, methods=args.methods, seeds=args.seeds, profile=args.profile, n=args.n,
                        device=args.device, out=out, resume=args.resume, data_seed=args.data_seed,
                        image_sources=tuple(args.image_sources), image_base=args.image_base)
    summary = summarize(res)
    summary.to_csv(out / "summary.csv")
    cols = [c for c in ("seeds", "r2", "mcc", "mcc_spearman", "shd") if c in summary]
    print(summary[cols].to_string())
    print(f"wrote {out / 'results.csv'} and {out / 'summary.csv'}")
    return 0
