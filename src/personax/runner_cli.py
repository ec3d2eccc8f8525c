"""``personax run`` and ``personax book``: execute notebooks with papermill, render the book.

Examples
--------
``personax run 01_data -p dataset athlepersona -p n 500``
    execute one notebook from ``notebooks/01_data.py`` into ``book/executed/01_data.ipynb``
``personax run --all --profile ci``
    execute every notebook at the ``ci`` profile
``personax book --profile quick``
    execute every notebook, then ``jupyter-book build . -W -n --keep-going``

Values after ``-p NAME`` are YAML scalars (``500`` → int, ``null`` → None).  A single
notebook rejects parameters it does not declare; ``--all`` and ``book`` give each
notebook only the parameters it declares (see :mod:`personax.runner`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from personax.cli_types import int_at_least
from personax.profiles import PROFILE_NAMES as _PROFILES


def _add_param_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[],
                        help="override a parameter of the notebook(s); VALUE is parsed as YAML "
                             "(e.g. -p n 500 -p source hf -p n null). Repeatable.")
    parser.add_argument("--profile", choices=_PROFILES, default=None,
                        help="execution profile: ci (seconds), quick (default of the notebooks), "
                             "paper (full, GPU advised)")
    parser.add_argument("--timeout", type=int, default=None, metavar="SECONDS",
                        help="per-cell time limit (default 1800 s; 0 for none)")
    parser.add_argument("--root", type=Path, default=None,
                        help="book checkout holding _toc.yml and notebooks/ (default: this source checkout, "
                             "else the current directory)")
    parser.add_argument("--jobs", type=int_at_least(1), default=1, metavar="N",
                        help="with --all / book: execute up to N notebooks at once, each in its own process "
                             "(default 1; the Makefile's `make book` uses 2 on the 2-core machine)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep an earlier good result of a notebook whose inputs are unchanged (its source, "
                             "parameters, the personax package, data/, benchmarks/results/, requirements, "
                             "environment); any change re-executes it. Default: execute every notebook")


def register(subparsers) -> None:
    """Add the ``run`` and ``book`` subcommands to the ``personax`` parser."""
    run = subparsers.add_parser(
        "run", help="execute notebook(s) with papermill into book/executed/",
        description="Execute a notebook from its jupytext source notebooks/NN_name.py with papermill "
                    "(kernel python3) into book/executed/ (never onto notebooks/*.ipynb), recording provenance "
                    "in NN_name.provenance.json and the notebook metadata.",
        epilog="A single notebook rejects -p parameters its parameters cell does not declare (usually a typo); "
               "with --all each notebook gets only the overrides it declares, and an override no notebook "
               "declares is an error. Examples: personax run 01_data -p dataset athlepersona -p n 500; "
               "personax run --all --profile ci",
    )
    run.add_argument("notebook", nargs="?", help="notebook name (01_data, 01) or path to a .py/.ipynb notebook")
    run.add_argument("--all", action="store_true", help="execute every notebooks/NN_*.py in order")
    run.add_argument("--out", type=Path, default=None, help="output folder (default book/executed)")
    run.add_argument("--stop-on-error", action="store_true", help="with --all: stop at the first failing notebook")
    _add_param_options(run)
    run.set_defaults(func=_cmd_run)

    book = subparsers.add_parser(
        "book", help="execute every notebook and render the Jupyter Book (_build/html)",
        description="Execute every notebook (papermill, default profile quick) into book/executed/, then "
                    "render the book with `jupyter-book build . -W -n --keep-going`. Exits non-zero if any "
                    "notebook or the build fails.",
    )
    book.add_argument("--no-execute", action="store_true",
                      help="render the notebooks already in book/executed/ without re-running them")
    _add_param_options(book)
    book.set_defaults(func=_cmd_book)


def _timeout(args) -> int | None:
    from personax.runner import DEFAULT_CELL_TIMEOUT

    if args.timeout is None:
        return DEFAULT_CELL_TIMEOUT
    return None if args.timeout <= 0 else args.timeout


def _root(args) -> Path | None:
    from personax.runner import RunnerUsageError

    if args.root is None:
        return None
    root = args.root.expanduser().resolve()
    if not (root / "_toc.yml").is_file():
        raise RunnerUsageError(f"--root {args.root} is not a book checkout: no _toc.yml in {root}",
                               hint="pass the folder that holds _toc.yml and notebooks/")
    return root


def _report(results) -> int:
    """One ``error:`` block per failed notebook on stderr; the exit code of the batch."""
    failed = [r for r in results if not r.ok]
    for r in failed:
        kept = (f"\n  the previous result {r.previous} is unchanged" if r.previous is not None
                else "\n  no earlier result existed; nothing else was written")
        print(f"error: {r.name} failed: {r.error}\n  executed notebook with the traceback: {r.output}{kept}",
              file=sys.stderr)
    if not failed:
        return 0
    return 2 if all(r.exit_code == 2 for r in failed) else 1


def _cmd_run(args) -> int:
    from personax import runner

    if args.all == bool(args.notebook):
        raise runner.RunnerUsageError("give either a NOTEBOOK or --all",
                                      hint="personax run 01_data, or personax run --all")
    root = _root(args)
    params = runner.parse_overrides(args.parameter)
    if args.profile:
        params["profile"] = args.profile
    if args.all:
        results = runner.run_all(params, out_dir=args.out, root=root, timeout=_timeout(args),
                                 stop_on_error=args.stop_on_error, jobs=args.jobs, reuse=args.reuse)
    else:
        result = runner.run_notebook(args.notebook, params, out_dir=args.out, root=root, timeout=_timeout(args),
                                     reuse=args.reuse)
        print(f"[personax] {result.name}: {result.status} in {result.wall_s:.1f} s -> "
              f"{result.output} (provenance: {result.provenance_path})")
        results = [result]
    return _report(results)


def _cmd_book(args) -> int:
    from personax import runner

    root = _root(args)
    params = runner.parse_overrides(args.parameter)
    profile = args.profile or params.pop("profile", None) or "quick"
    if not args.no_execute:
        t0 = time.perf_counter()
        results = runner.run_all(params, profile=profile, root=root, timeout=_timeout(args), jobs=args.jobs,
                                 reuse=args.reuse)
        status = _report(results)
        reused = sum(r.reused for r in results)
        print(f"[personax] executed {len(results) - reused} notebook(s), reused {reused} (inputs unchanged) in "
              f"{time.perf_counter() - t0:.1f} s")
        if status:
            n_failed = sum(not r.ok for r in results)
            html = (root or runner.project_root()) / "_build" / "html"
            raise runner.RunnerError(
                f"book not rendered: {n_failed} notebook(s) failed (above)"
                + (f"; the previous {html} is unchanged" if html.exists() else ""),
                hint="fix the failing notebook(s), or render the last good executed notebooks with "
                     "personax book --no-execute")
    elif params:
        raise runner.RunnerUsageError(f"-p {' '.join(params)} has no effect with --no-execute (nothing is executed)",
                                      hint="drop -p, or drop --no-execute to execute with the overrides")
    t0 = time.perf_counter()
    index = runner.build_book(root)
    print(f"[personax] book built in {time.perf_counter() - t0:.1f} s")
    print(f"[personax] open {index}  (file://{index})")
    return 0
