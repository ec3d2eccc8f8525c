"""``personax independence …``: run the Level I battery from the command line.

Examples
--------
``personax independence battery --dataset celebpersona --tests kci,chi2 --out results.csv``
``personax independence battery --dataset athlepersona --source my.csv --column-map map.yaml --out r.csv``
``personax independence list``

Exit codes: 0 every test produced a p-value; 1 some tests failed (their pairs and reasons
are listed; the full table goes to ``<out stem>.failed.csv`` and ``--out`` is left
untouched, unless ``--allow-failures``) or the data are invalid; 2 a bad option (unknown
test or column, χ²/G² without a discrete attribute, alpha outside (0, 1), ...), checked
before anything runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from personax.cli_types import nonneg_int as _nonneg_int, positive_int as _positive_int
from personax.data.schema import DATASETS

#: failed tests listed on stderr (all of them are in the table's ``error`` column)
_SHOW_FAILURES = 10


def _alpha(text: str) -> float:
    try:
        v = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}") from exc
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {v}")
    return v


def register(subparsers) -> None:
    """Add the ``independence`` command (subcommands ``battery`` and ``list``)."""
    from personax.data.cli import add_column_map_options

    p = subparsers.add_parser("independence", help="Level I independence tests (KCI, RCIT, HSIC, chi2, G2)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="independence_command", metavar="SUBCOMMAND")

    b = sub.add_parser("battery", help="every trait x attribute x test, BH-adjusted, written as CSV")
    b.add_argument("--dataset", required=True, choices=DATASETS)
    b.add_argument("--source", default="sample",
                   help="'sample' (shipped synthetic sample, default), 'synthetic' (generate at --n), 'hf', or a path")
    add_column_map_options(b)
    b.add_argument("--n", type=_positive_int, default=None,
                   help="rows: subsample (sample/hf/path) or generate (synthetic)")
    b.add_argument("--tests", default=None,
                   help="comma-separated names of registered tests (personax.independence.TESTS: kci, rcit, "
                        "hsic_gamma, chi2, g2, hsic_hyppo and any spec added there; an unknown name is an error "
                        "that lists them; hsic: deprecated alias of hsic_gamma); default kci,rcit,hsic_gamma,chi2,g2, "
                        "or kci,rcit,chi2,g2 with --given")
    b.add_argument("--given", default=None,
                   help="comma-separated conditioning columns Z (e.g. gender,occupation): test trait ⫫ attribute | Z")
    b.add_argument("--traits", default=None, help="comma-separated trait columns (default: the five aggregates)")
    b.add_argument("--attributes", default=None,
                   help="comma-separated attribute columns (default: the dataset's Level I attributes)")
    b.add_argument("--backend", default="fast", choices=("fast", "reference"))
    b.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (fast backend)")
    b.add_argument("--alpha", type=_alpha, default=0.05, help="level of the BH-adjusted decisions, in (0, 1)")
    b.add_argument("--seed", type=_nonneg_int, default=0, help="RCIT features and subsampling (default 0)")
    b.add_argument("--no-cache", action="store_true", help="recompute instead of reusing cached units")
    b.add_argument("--hsic-raw", action="store_true",
                   help="HSIC on raw units (the authors' parity mode; unit dependent)")
    b.add_argument("--allow-failures", action="store_true",
                   help="write --out and exit 0 even when some tests failed (their 'error' column says why)")
    b.add_argument("--out", required=True, help="output CSV path")
    b.set_defaults(func=_battery)

    lst = sub.add_parser("list", help="list the registered tests")
    lst.set_defaults(func=_list)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def load_dataset(dataset: str, source: str, n: int | None, seed: int, column_map=None, strict: bool = False):
    """PersonaData from ``source`` through :func:`personax.data.load` (the one source vocabulary).

    ``source="synthetic"`` generates ``n`` rows with small embeddings: Level I never reads
    them (the generator needs a width of at least the number of latents).
    """
    from personax.data import load

    dims = (32, 32) if source == "synthetic" else None
    return load(dataset, source=source, n=n, seed=seed, column_map=column_map, strict=strict, embedding_dims=dims)


def _names(text: str | None, option: str) -> list[str] | None:
    from personax.errors import UsageError

    if text is None:
        return None
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise UsageError(f"{option} {text!r} names no column", hint=f"pass a comma-separated list, e.g. {option} a,b")
    return names


def _check_columns(kind: str, names: list[str], frame, schema, allowed: list[str]) -> None:
    import difflib

    from personax.errors import UsageError

    unknown = [c for c in names if c not in frame.columns]
    if unknown:
        close = {c: difflib.get_close_matches(c, allowed, n=1) for c in unknown}
        guess = "; ".join(f"{c!r}: did you mean {m[0]!r}?" for c, m in close.items() if m)
        raise UsageError(f"--{kind} names column(s) {unknown} that the {schema.name} table does not have"
                         + (f" ({guess})" if guess else ""),
                         hint=f"choose from {', '.join(allowed)}")


def _check_device(device: str) -> None:
    from personax.errors import UsageError
    from personax.utils import resolve_device

    try:
        resolve_device(device)
    except (ValueError, RuntimeError) as exc:
        raise UsageError(f"--device {device!r}: {exc}") from exc


def _battery(args) -> int:
    from personax.errors import UsageError
    from personax.independence import battery

    given = _names(args.given, "--given")
    tests = _cli_tests(args, given)
    out = Path(args.out)
    if out.is_dir():
        raise UsageError(f"--out {args.out} is a folder; pass a file name such as results.csv")
    if args.backend == "fast":
        _check_device(args.device)
    from personax.data.cli import column_map_of

    ds = load_dataset(args.dataset, args.source, args.n, args.seed, column_map=column_map_of(args),
                      strict=args.strict)
    traits, attributes = _names(args.traits, "--traits"), _names(args.attributes, "--attributes")
    _check_battery_columns(args, ds, tests, traits, attributes, given)
    options = {"hsic_gamma": {"standardize": False}} if args.hsic_raw and "hsic_gamma" in tests else None
    res = battery(ds, traits=traits, attributes=attributes, tests=tests, alpha=args.alpha, backend=args.backend,
                  device=args.device, seed=args.seed, cache=not args.no_cache, options=options, given=given)
    return _write_battery(args, ds, res, tests, out)


def _cli_tests(args, given) -> list[str]:
    """The canonical test names of ``--tests`` (default: every test, or those with a conditional form)."""
    from personax.errors import UsageError
    from personax.independence import TESTS

    if args.tests is None:
        args.tests = "kci,rcit,chi2,g2" if given else "kci,rcit,hsic_gamma,chi2,g2"
    tests = [t.strip().lower() for t in args.tests.split(",") if t.strip()]
    unknown = [t for t in tests if t not in TESTS]
    if unknown or not tests:
        raise UsageError(f"--tests {args.tests!r}: " + (f"unknown test(s) {unknown}" if unknown else "no test named"),
                         hint=f"a comma-separated subset of {','.join(TESTS)}")
    return list(dict.fromkeys(TESTS[t].name for t in tests))   # deprecated alias hsic -> hsic_gamma (warns)


def _check_battery_columns(args, ds, tests: list[str], traits, attributes, given) -> None:
    """Check --traits, --attributes and --given against the table, before any test runs."""
    from personax.errors import UsageError
    from personax.independence import TESTS

    schema = ds.schema
    if traits is not None:
        _check_columns("traits", traits, ds.frame, schema, list(schema.traits))
    if attributes is not None:
        _check_columns("attributes", attributes, ds.frame, schema, list(schema.attributes))
    if given is not None:
        from personax.independence.given import CONDITIONAL_TESTS

        no_form = [t for t in tests if t not in CONDITIONAL_TESTS]
        if no_form:
            raise UsageError(f"--tests {args.tests!r} with --given: {no_form} have no conditional form",
                             hint=f"with --given use a subset of {','.join(CONDITIONAL_TESTS)}")
        missing = [g for g in given if g not in ds.frame.columns]
        if missing:
            raise UsageError(f"--given names column(s) {missing} that the {schema.name} table does not have",
                             hint=f"choose from {', '.join(schema.attributes)}")
    discrete_tests = [t for t in tests if TESTS[t].data == "discrete"]
    used_attributes = attributes if attributes is not None else list(schema.attributes)
    if discrete_tests and not [a for a in used_attributes if a in schema.discrete]:
        raise UsageError(f"--tests asks for {', '.join(discrete_tests)}, which need discrete attributes, but none of "
                         f"{used_attributes} is discrete",
                         hint="add a discrete attribute "
                              f"({', '.join(a for a in schema.attributes if a in schema.discrete)}) "
                              f"or drop {', '.join(discrete_tests)} from --tests")


def _write_battery(args, ds, res, tests: list[str], out: Path) -> int:
    """Write --out (or, when tests failed without --allow-failures, only ``<stem>.failed.csv``) and report."""
    from personax.batch_output import finish_batch
    from personax.errors import WorkFailedError

    empty = [t for t in tests if not (res["test"] == t).any()]
    errors = res["error"].fillna("").astype(str)
    failed = res[errors != ""]
    n_dep = int(res["reject"].fillna(False).astype(bool).sum())
    line = (f"{len(res)} tests on {ds.info.get('n', len(ds.frame))} rows ({args.dataset}, {ds.info.get('source')}); "
            f"{n_dep} dependent after BH at alpha={args.alpha}; {len(failed)} failed")
    per_test = ", ".join(f"{t} {int((res['test'] == t).sum())} "
                         f"({int(((res['test'] == t) & (errors != '')).sum())} failed)" for t in tests)
    if empty:
        raise WorkFailedError(f"test(s) {empty} produced no result at all ({per_test}); nothing was written",
                              hint="chi2/g2 need discrete attributes and traits with at most 20 levels")
    listing = "\n".join(f"  {r.trait} x {r.attribute} [{r.test}]: {r.error}"
                        for r in failed.head(_SHOW_FAILURES).itertuples())
    if len(failed) > _SHOW_FAILURES:
        listing += f"\n  … and {len(failed) - _SHOW_FAILURES} more (see the 'error' column)"
    return finish_batch(res, out, _write_csv, n_failed=len(failed), n_total=len(res), unit="test(s)",
                        listing=listing, allow_failures=args.allow_failures,
                        where="the full table, with the reasons in its 'error' column", kept_as=" with their reasons",
                        hint="fix the data of the failing pairs (e.g. too few complete rows), choose other "
                             "--traits/--attributes, or pass --allow-failures to write --out anyway",
                        failed_summary=f"{line}; per test: {per_test}",
                        done_summary=[f"{line} -> {out}", f"per test: {per_test}"])


def _write_csv(frame, path: Path) -> None:
    from personax.utils import write_csv

    write_csv(frame, path)


def _list(args) -> int:
    from personax.independence import TESTS

    for spec in TESTS.values():
        print(f"{spec.name:5s} {spec.title:11s} [{spec.data}] {spec.h0}")
    return 0
