"""``personax data …`` subcommands: generate synthetic data (or the shipped sample),
validate a table against the schema, and print dataset info.

Exit codes: 0 valid / done; 1 the data are invalid or unreadable (the message names the
file, column, rows, values and what is allowed); 2 a bad option.  ``--column-map
FILE.yaml`` (lines ``raw_name: canonical_name``) is the CLI form of ``column_map=``;
``--strict`` turns data warnings (an aggregate trait column that disagrees with its LLM
scores) into errors.

Heavy imports (pandas, pyarrow, scipy) happen inside the handlers so ``personax --help``
stays fast.
"""

from __future__ import annotations

import argparse
import json

from personax.cli_types import nonneg_int as _nonneg_int, positive_int as _positive_int
from personax.data.schema import BOTH, DATASETS as _DATASETS, SOURCES


def register(subparsers) -> None:
    """Add ``data generate|validate|info`` to the top-level ``personax`` parser."""
    p = subparsers.add_parser("data", help="generate, validate and describe PersonaX data",
                              description="PersonaX data layer: synthetic world, shipped sample, validation.")
    sub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")

    g = sub.add_parser("generate", help="draw a synthetic dataset (or rewrite the shipped sample)",
                       description="Draw from the synthetic PersonaX world (planted truth included). "
                                   "--sample rewrites data/sample/ and its MANIFEST.json.")
    g.add_argument("--dataset", choices=(*_DATASETS, BOTH), default="both")
    g.add_argument("--n", type=_positive_int, default=None, help="rows (default: the release size)")
    g.add_argument("--seed", type=_nonneg_int, default=0)
    g.add_argument("--face-dim", type=_positive_int, default=1024)
    g.add_argument("--text-dim", type=_positive_int, default=3584)
    g.add_argument("--n-face", type=_positive_int, default=None, help="face measurements (default 3 Celeb / 1 Athle)")
    g.add_argument("--out", default=None, help="output folder (default: ./synthetic, or data/sample with --sample)")
    g.add_argument("--sample", action="store_true",
                   help="rewrite the shipped sample with its fixed parameters (ignores --n/--seed/dims)")
    g.set_defaults(func=_cmd_generate)

    v = sub.add_parser("validate", help="check a Parquet/CSV file or folder against the schema",
                       description="Map the columns (alias table) and validate values; exit 1 with the "
                                   "problems listed if the table does not fit the schema.")
    v.add_argument("path")
    v.add_argument("--dataset", choices=_DATASETS, required=True)
    add_column_map_options(v)
    v.set_defaults(func=_cmd_validate)

    i = sub.add_parser("info", help="sizes, columns, embeddings and provenance of a dataset",
                       description="Load a dataset and print a JSON summary.")
    i.add_argument("--dataset", choices=(*_DATASETS, BOTH), default="both")
    i.add_argument("--source", default="sample", help=" | ".join(SOURCES) + " | PATH")
    i.add_argument("--revision", default=None)
    add_column_map_options(i)
    i.set_defaults(func=_cmd_info)

    c = sub.add_parser("card", help="print the synthetic world's structure (markdown)",
                       description="Latent DAG, structural equations and planted pairs of the synthetic world, "
                                   "as included in data/README.md.")
    c.add_argument("--dataset", choices=(*_DATASETS, BOTH), default="both")
    c.set_defaults(func=_cmd_card)

    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def add_column_map_options(parser: argparse.ArgumentParser, strict: bool = True) -> None:
    """``--column-map FILE.yaml`` (and ``--strict``) for any command that loads a local/HF table."""
    parser.add_argument("--column-map", default=None, metavar="FILE.yaml",
                        help="YAML file mapping raw column names to canonical ones, one 'raw_name: canonical_name' "
                             "per line (the CLI form of column_map=)")
    if strict:
        parser.add_argument("--strict", action="store_true",
                            help="treat data warnings as errors (e.g. an aggregate trait column that disagrees "
                                 "with the median of its LLM scores)")


def column_map_of(args):
    """The column map named by ``--column-map`` (read and checked), or None."""
    if getattr(args, "column_map", None) is None:
        return None
    from personax.data.io import read_column_map

    return read_column_map(args.column_map)


def _datasets(arg: str) -> list[str]:
    return list(_DATASETS) if arg == BOTH else [arg]


def _cmd_generate(args) -> int:
    from pathlib import Path

    from personax.data import io
    from personax.errors import UsageError

    if args.out is not None and Path(args.out).exists() and not Path(args.out).is_dir():
        raise UsageError(f"--out {args.out} is a file; pass a folder (it is created if missing)")
    if args.sample:
        folder = Path(args.out) if args.out else io.sample_dir()
        manifest = io.write_sample(folder, datasets=None if args.dataset == "both" else [args.dataset])
        print(f"wrote the shipped sample to {folder}")
        for name, digest in manifest["files"].items():
            print(f"  {name}  sha256 {digest[:16]}…")
        return 0
    from personax.data.synthetic import generate

    folder = Path(args.out or "synthetic")
    for ds in _datasets(args.dataset):
        data = generate(ds, n=args.n, seed=args.seed, face_dim=args.face_dim, text_dim=args.text_dim,
                        n_face=args.n_face)
        files = io.write_dataset(data, folder)
        print(f"{ds}: {len(data)} rows → {', '.join(str(f) for f in files)}")
    return 0


def _cmd_validate(args) -> int:
    from personax.data import io
    from personax.errors import PersonaXError

    column_map = column_map_of(args)
    try:
        data = io.load(args.dataset, source=args.path, column_map=column_map, strict=args.strict)
    except PersonaXError as exc:
        msg = exc.args[0] if exc.args else ""
        where = "" if str(args.path) in msg else f"{args.path}: "
        exc.args = (f"INVALID: {where}{msg}", *exc.args[1:])
        raise
    print(f"OK: {args.path} is a valid {args.dataset} table ({len(data)} rows, "
          f"embeddings {', '.join(f'{k}:{v.shape[1]}' for k, v in data.embeddings.items())})")
    for note in data.info.get("notes", []):
        print(f"  note: {note}")
    return 0


def summary(data) -> dict:
    """A JSON-serialisable summary of a loaded dataset (used by ``personax data info``)."""
    frame = data.frame
    return {
        "dataset": data.dataset, "n": len(data), "info": {k: v for k, v in data.info.items() if k != "column_map"},
        "columns": len(frame.columns),
        "missing_fraction": {c: round(float(frame[c].isna().mean()), 4)
                             for c in frame.columns if frame[c].isna().any()},
        "embeddings": {k: list(v.shape) for k, v in data.embeddings.items()},
        "planted_truth": None if data.truth is None else {
            "dependent_pairs": len(data.truth.dependent_pairs),
            "independent_pairs": len(data.truth.independent_pairs),
            "latent_edges": int(data.truth.dag.to_numpy().sum())},
    }


def _cmd_card(args) -> int:
    from personax.data.synthetic import world_card

    print("".join(world_card(ds) for ds in _datasets(args.dataset)), end="")
    return 0


def _cmd_info(args) -> int:
    from personax.data import io

    out = []
    column_map = column_map_of(args)
    for ds in _datasets(args.dataset):
        out.append(summary(io.load(ds, source=args.source, revision=args.revision, column_map=column_map,
                                   strict=args.strict)))
    print(json.dumps(out, indent=1, default=str))
    return 0
