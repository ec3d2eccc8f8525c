"""``personax crl ...``: train and score the CRL model and its baselines on the synthetic benchmarks.

::

    personax crl train --benchmark numerical --seeds 0 1 2 --profile quick --out runs/crl
    personax crl train --benchmark images --profile paper --device cuda --out runs/crl --resume

Writes ``<out>/results.csv`` (one row per method and seed, appended as each finishes),
``<out>/summary.csv`` (mean ± sd over seeds), run records and checkpoints; ``--resume``
skips finished rows and continues interrupted trainings from their checkpoints.

Every option is checked before any training starts (exit code 2 with the option, the value
and what is allowed): seeds and sizes, the device, the image sources, and ``--out`` (an
existing ``results.csv`` is continued only with ``--resume``, never overwritten).
"""

from __future__ import annotations

import argparse

from personax.cli_types import int_at_least, nonneg_int as _nonneg_int
from personax.profiles import PROFILE_NAMES

#: Smallest benchmark size the generators accept (personax.crl.synthetic: "use n >= 20").
MIN_N = 20

_rows = int_at_least(MIN_N, note="rows of the benchmark")


def register(subparsers) -> None:
    """Add the ``crl`` command group to the ``personax`` CLI."""
    p = subparsers.add_parser("crl", help="Level II CRL: train and score on synthetic benchmarks",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="crl_command", metavar="SUBCOMMAND")
    t = sub.add_parser("train", help="train our model and the baselines on a benchmark, several seeds")
    t.add_argument("--benchmark", choices=["numerical", "images"], default="numerical")
    t.add_argument("--seeds", type=_nonneg_int, nargs="+", default=[0, 1, 2], help="model seeds (default 0 1 2)")
    t.add_argument("--profile", choices=list(PROFILE_NAMES), default="quick")
    t.add_argument("--methods", nargs="+", default=["personax", "beta_vae", "mcl", "mmcrl"],
                   choices=["personax", "beta_vae", "mcl", "mmcrl"])
    t.add_argument("--n", type=_rows, default=None, help=f"rows, at least {MIN_N} (default set by the profile)")
    t.add_argument("--data-seed", type=_nonneg_int, default=0, help="seed of the benchmark data and split")
    t.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    t.add_argument("--image-base", choices=["random", "fixed"], default="random",
                   help="images benchmark: random base digit per row (default) or one fixed digit")
    t.add_argument("--image-sources", nargs=2, default=["digits", "digits"], metavar=("SRC1", "SRC2"),
                   help="images benchmark: 'digits' or local MNIST / Fashion-MNIST paths")
    t.add_argument("--out", required=True, help="output folder (created)")
    t.add_argument("--resume", action="store_true", help="skip finished runs, resume from checkpoints")
    t.set_defaults(func=_train)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _check(args) -> None:
    """Everything that can be checked before training; raises UsageError / DataError."""
    from pathlib import Path

    from personax.errors import DataError, InputOutputError, UsageError
    from personax.utils import resolve_device

    if len(set(args.seeds)) != len(args.seeds):
        raise UsageError(f"--seeds {' '.join(map(str, args.seeds))} repeats a seed; give each seed once")
    if len(set(args.methods)) != len(args.methods):
        raise UsageError(f"--methods {' '.join(args.methods)} repeats a method; give each method once")
    try:
        resolve_device(args.device)
    except (ValueError, RuntimeError) as exc:
        raise UsageError(f"--device {args.device!r}: {exc}") from exc
    if args.benchmark == "images":
        from personax.crl.synthetic import load_images

        for k, src in enumerate(args.image_sources, 1):
            if src == "digits":
                continue
            if not Path(src).expanduser().exists():
                raise UsageError(f"--image-sources: source {k} {src!r} does not exist",
                                 hint="pass 'digits' (offline default) or a local MNIST / Fashion-MNIST file or folder")
            try:
                load_images(src)
            except (OSError, ValueError) as exc:
                raise DataError(f"--image-sources: cannot read images from {src!r}: {exc}",
                                hint="a folder with train-images-idx3-ubyte[.gz], an IDX file, or an .npz with "
                                     "an 'x_train' or 'images' array") from exc
    elif args.image_sources != ["digits", "digits"] or args.image_base != "random":
        raise UsageError("--image-sources / --image-base apply to --benchmark images only")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {args.out} is a file; pass a folder (it is created if missing)")
    ledger = out / "results.csv"
    if ledger.exists() and not args.resume:
        raise UsageError(f"{ledger} exists: pass --resume to continue it or choose another --out "
                         "(finished results are never overwritten)")
    if ledger.exists():
        from personax.data.io import _read_table

        try:
            done = _read_table(ledger)
        except Exception as exc:  # noqa: BLE001 - any unreadable ledger is reported the same way
            raise InputOutputError(f"--resume: cannot read {ledger}: {exc}",
                                   hint="move the damaged file away and start again with a new --out") from exc
        missing = [c for c in ("method", "seed", "n") if c not in done.columns]
        if missing:
            raise DataError(f"--resume: {ledger} has no column(s) {missing}; it was not written by "
                            "`personax crl train`", hint="choose another --out")


def _train(args) -> int:
    from pathlib import Path

    from personax.crl.synthetic import run_benchmark, summarize
    from personax.utils import atomic_path

    _check(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res = run_benchmark(args.benchmark, methods=args.methods, seeds=args.seeds, profile=args.profile, n=args.n,
                        device=args.device, out=out, resume=args.resume, data_seed=args.data_seed,
                        image_sources=tuple(args.image_sources), image_base=args.image_base)
    summary = summarize(res)
    with atomic_path(out / "summary.csv") as tmp:
        summary.to_csv(tmp)
    cols = [c for c in ("seeds", "r2", "mcc", "mcc_spearman", "shd") if c in summary]
    print(summary[cols].to_string())
    print(f"wrote {out / 'results.csv'} and {out / 'summary.csv'}")
    return 0
