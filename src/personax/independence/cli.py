"""``personax independence …``: run the Level I battery from the command line.

Examples
--------
``personax independence battery --dataset celebpersona --tests kci,chi2 --out results.csv``
``personax independence list``
"""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    """Add the ``independence`` command (subcommands ``battery`` and ``list``)."""
    p = subparsers.add_parser("independence", help="Level I independence tests (KCI, RCIT, HSIC, chi2, G2)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="independence_command", metavar="SUBCOMMAND")

    b = sub.add_parser("battery", help="every trait x attribute x test, BH-adjusted, written as CSV")
    b.add_argument("--dataset", required=True, choices=("celebpersona", "athlepersona"))
    b.add_argument("--source", default="sample",
                   help="'sample' (shipped synthetic sample, default), 'synthetic' (generate at --n), 'hf', or a path")
    b.add_argument("--n", type=int, default=None, help="rows: subsample (sample/hf/path) or generate (synthetic)")
    b.add_argument("--tests", default="kci,rcit,hsic,chi2,g2", help="comma-separated subset of kci,rcit,hsic,chi2,g2")
    b.add_argument("--backend", default="fast", choices=("fast", "reference"))
    b.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (fast backend)")
    b.add_argument("--alpha", type=float, default=0.05)
    b.add_argument("--seed", type=int, default=0, help="RCIT features and subsampling (default 0)")
    b.add_argument("--no-cache", action="store_true", help="recompute instead of reusing cached units")
    b.add_argument("--hsic-raw", action="store_true",
                   help="HSIC on raw units (the authors' parity mode; unit dependent)")
    b.add_argument("--out", required=True, help="output CSV path")
    b.set_defaults(func=_battery)

    lst = sub.add_parser("list", help="list the registered tests")
    lst.set_defaults(func=_list)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def load_dataset(dataset: str, source: str, n: int | None, seed: int):
    """PersonaData from ``source`` ('synthetic' generates n rows with small embeddings)."""
    if source == "synthetic":
        from personax.data.synthetic import generate

        # embeddings are not used by Level I: keep them small (width >= latents is required)
        return generate(dataset, n=n, seed=seed, face_dim=32, text_dim=32)
    from personax.data import load

    ds = load(dataset, source=source)
    if n is not None and n < len(ds):
        ds = ds.subsample(n, seed=seed)
    return ds


def _battery(args) -> int:
    from pathlib import Path

    from personax.independence import battery

    tests = [t.strip() for t in args.tests.split(",") if t.strip()]
    ds = load_dataset(args.dataset, args.source, args.n, args.seed)
    options = {"hsic": {"standardize": False}} if args.hsic_raw and "hsic" in tests else None
    res = battery(ds, tests=tests, alpha=args.alpha, backend=args.backend, device=args.device, seed=args.seed,
                  cache=not args.no_cache, options=options)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    res.to_csv(out, index=False)
    n_dep = int(res["reject"].sum())
    print(f"{len(res)} tests on {ds.info.get('n', len(ds.frame))} rows ({args.dataset}, {ds.info.get('source')}); "
          f"{n_dep} dependent after BH at alpha={args.alpha}; {res.attrs['n_failed']} failed -> {out}")
    return 0


def _list(args) -> int:
    from personax.independence import TESTS

    for spec in TESTS.values():
        print(f"{spec.name:5s} {spec.title:11s} [{spec.data}] {spec.h0}")
    return 0
