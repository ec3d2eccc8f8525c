"""``personax faces ...``: extract embeddings, list and fetch deepface weights, obfuscate.

Subcommands::

    personax faces extract PATH --out emb.parquet [--detector opencv] [--model Dlib]
                                [--attributes emotion,age | available] [--weights-dir DIR]
                                [--allow-failures]
    personax faces weights [--weights-dir DIR] [--missing]
    personax faces fetch-weights MODEL [--weights-dir DIR] [--url URL ...] [--force]
    personax faces obfuscate IN.parquet --key KEY.npz --out OUT.parquet [--new-key --seed S]

``extract`` prints a per-status summary (stdout) and the first failed images with their
reasons (stderr).  When any image failed (``no_face``, ``unreadable``, ``error``) it exits 1
and leaves ``--out`` untouched: every row, with its status and message, goes to
``<out stem>.failed<suffix>`` beside it.  ``--allow-failures`` writes ``--out`` anyway
(failed rows marked in ``status``) and exits 0.  A missing input path is an error before
any work.

Heavy imports (deepface, torch) happen inside the handlers so ``personax --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path


def register(subparsers) -> None:
    """Add the ``faces`` command and its subcommands to the top-level parser."""
    faces = subparsers.add_parser("faces", help="face embeddings/attributes (deepface) and the privacy transform",
                                  description="Face detection, embeddings and attributes via deepface "
                                              "(offline where the weights are local), and the privacy transform.")
    faces.set_defaults(func=lambda args: (faces.print_help(), 2)[1])
    sub = faces.add_subparsers(dest="faces_command", metavar="SUBCOMMAND")

    ex = sub.add_parser("extract", help="detect, embed and describe the faces in images (one row per image)")
    ex.add_argument("path", nargs="+", help="image file(s) or a folder of images")
    ex.add_argument("--out", required=True, help="output .parquet (or .csv: embeddings as space-separated text)")
    ex.add_argument("--detector", default="opencv",
                    help="deepface detector (default opencv; offline: opencv, dlib, skip)")
    ex.add_argument("--model", default="Dlib", help="deepface embedding model (default Dlib, offline); 'none' to skip")
    ex.add_argument("--attributes", default="", help="comma list of age,gender,emotion,race, or 'available'")
    ex.add_argument("--weights-dir", default=None, help="deepface home or weights folder (default $DEEPFACE_HOME, "
                                                        "else the personax cache)")
    ex.add_argument("--no-align", action="store_true", help="do not align faces on the eyes")
    ex.add_argument("--allow-failures", action="store_true",
                    help="write --out and exit 0 even when some images failed (no face, unreadable, error); "
                         "without it such a run exits 1 and writes OUT.failed.parquet instead")
    ex.set_defaults(func=_cmd_extract)

    ws = sub.add_parser("weights", help="list the weight files each model needs and whether they are present")
    ws.add_argument("--weights-dir", default=None)
    ws.add_argument("--missing", action="store_true", help="only list missing files")
    ws.set_defaults(func=_cmd_weights)

    fw = sub.add_parser("fetch-weights", help="download a model's weight files (needs a network)")
    fw.add_argument("model", help="model name, e.g. ArcFace, Facenet512, Emotion, Age, ssd, yunet")
    fw.add_argument("--weights-dir", default=None)
    fw.add_argument("--url", action="append", default=None,
                    help="override the source URL (one per weight file, in registry order)")
    fw.add_argument("--force", action="store_true", help="download even if present")
    fw.add_argument("--timeout", type=float, default=60.0)
    fw.set_defaults(func=_cmd_fetch)

    ob = sub.add_parser("obfuscate", help="apply the keyed privacy transform to an embedding column")
    ob.add_argument("input", help=".parquet written by `personax faces extract`")
    ob.add_argument("--key", required=True, help="key file (.npz); kept apart from the data")
    ob.add_argument("--out", required=True, help="output .parquet")
    ob.add_argument("--column", default=None, help="embedding column (default: the single emb_* column)")
    ob.add_argument("--new-key", action="store_true", help="generate the key (refuses to overwrite)")
    ob.add_argument("--seed", type=int, default=None, help="seed of a new key (required with --new-key)")
    ob.add_argument("--mode", default="orthogonal+monotone", choices=["orthogonal", "orthogonal+monotone"])
    ob.add_argument("--recover", action="store_true", help="invert instead (needs the key)")
    ob.set_defaults(func=_cmd_obfuscate)


#: failed images listed on stderr (all of them are in the output's status/message columns)
_SHOW_FAILURES = 10


def _failed_path(out: Path) -> Path:
    from personax.batch_output import failed_path

    return failed_path(out)


def _write_frame(df, out: Path) -> None:
    from personax.utils import atomic_path

    df = df.copy()
    with atomic_path(out) as tmp:
        if out.suffix == ".csv":
            col = df.attrs.get("embedding_column")
            if col:
                df[col] = [" ".join(f"{v:.8g}" for v in e) if e is not None else "" for e in df[col]]
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp)


def _cmd_extract(args) -> int:
    import warnings

    from personax.batch_output import finish_batch
    from personax.errors import InputOutputError, UsageError
    from personax.faces.extraction import FAILED_STATUSES, STATUSES, extract, list_images

    out = Path(args.out)
    if out.suffix not in (".parquet", ".csv"):
        raise UsageError(f"--out {args.out}: the output must end in .parquet or .csv")
    if out.is_dir():
        raise UsageError(f"--out {args.out} is a folder; pass a file name ending in .parquet or .csv")
    paths = [Path(p) for p in args.path]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise InputOutputError(f"no such file or folder: {', '.join(missing)}",
                               hint="check the path(s); nothing was processed and nothing was written")
    empty = [str(p) for p in paths if p.is_dir() and not list_images(p)]
    if empty:
        raise InputOutputError(f"folder(s) without any (non-hidden) file: {', '.join(empty)}",
                               hint="pass image files or a folder that holds them")
    if any(p.resolve() == out.resolve() for p in paths):
        raise UsageError(f"--out {args.out} is also an input; choose another output file")
    images = args.path[0] if len(args.path) == 1 else args.path
    attrs: tuple[str, ...] | str = ()
    if args.attributes.strip():
        attrs = "available" if args.attributes.strip() == "available" else tuple(
            a.strip() for a in args.attributes.split(",") if a.strip())
    model = None if args.model.lower() == "none" else args.model
    with warnings.catch_warnings():
        # the summary below reports failed images; extract's own warning would repeat it
        warnings.filterwarnings("ignore", message=r".*image\(s\) failed with an error", category=RuntimeWarning)
        df = extract(images, detector=args.detector, model=model, attributes=attrs, weights_dir=args.weights_dir,
                     align=not args.no_align)
    counts = df["status"].value_counts().to_dict()
    summary = ", ".join(f"{s} {counts[s]}" for s in STATUSES if counts.get(s))
    failed = df[df["status"].isin(FAILED_STATUSES)]
    listing = "\n".join(f"  {r.source}: {r.status}: {r.message}" for r in failed.head(_SHOW_FAILURES).itertuples())
    if len(failed) > _SHOW_FAILURES:
        listing += f"\n  … and {len(failed) - _SHOW_FAILURES} more (see the status and message columns)"
    if df.attrs.get("attributes_unavailable"):
        print(f"warning: attributes without weights (skipped): {df.attrs['attributes_unavailable']}", file=sys.stderr)
    return finish_batch(df, out, _write_frame, n_failed=len(failed), n_total=len(df), unit="image(s)",
                        listing=listing, allow_failures=args.allow_failures,
                        where="every row, with its status and message", kept_as=", marked in the status column",
                        hint="fix or remove the failing images, or pass --allow-failures to write --out "
                             "with them marked in the status column",
                        failed_summary=f"{len(df)} image(s): {summary}",
                        done_summary=[f"wrote {len(df)} row(s) to {out}: {counts}", f"{len(df)} image(s): {summary}"])


def _cmd_weights(args) -> int:
    from personax.faces.weights import weights_folder, weights_status

    status = weights_status(args.weights_dir)
    if args.missing:
        status = status[~status.present]
    print(f"weights folder: {weights_folder(args.weights_dir)}")
    print(status.to_string(index=False))
    return 0


def _cmd_fetch(args) -> int:
    from personax.faces.weights import fetch_weights

    try:
        paths = fetch_weights(args.model, args.weights_dir, urls=args.url, force=args.force, timeout=args.timeout)
    except ConnectionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for p in paths:
        print(p)
    return 0


def _cmd_obfuscate(args) -> int:
    import numpy as np

    from personax.data.io import read_table
    from personax.errors import DataError, UsageError
    from personax.faces.extraction import embedding_matrix
    from personax.faces.privacy import PrivacyKey, obfuscate, recover
    from personax.utils import atomic_path

    key_path = Path(args.key)
    if args.new_key and args.seed is None:
        raise UsageError("--new-key needs --seed (the seed is the secret: use a large random int)")
    if not args.new_key and not key_path.is_file():
        raise UsageError(f"key file {args.key} does not exist",
                         hint="pass the key written with --new-key, or create one with --new-key --seed S")
    key = None if args.new_key else PrivacyKey.load(key_path)  # a damaged key fails before any work
    src = Path(args.input)
    if not src.is_file():
        raise UsageError(f"input {args.input} does not exist" + (" (it is a folder)" if src.is_dir() else ""),
                         hint="pass the .parquet written by `personax faces extract`")
    if src.suffix.lower() != ".parquet":
        raise UsageError(f"input {args.input}: expected a .parquet written by `personax faces extract`")
    df = read_table(src)
    col = args.column or next((c for c in df.columns if str(c).startswith("emb_")), None)
    if col is None:
        raise DataError(f"no emb_* column in {args.input} (columns: {', '.join(map(str, df.columns))})",
                        hint="pass --column NAME")
    if col not in df.columns:
        raise DataError(f"{args.input} has no column {col!r}; columns: {', '.join(map(str, df.columns))}")
    try:
        X = embedding_matrix(df, col)
    except (KeyError, ValueError) as exc:
        raise DataError(f"{args.input}, column {col!r}: {exc}") from exc
    if args.new_key:
        key = PrivacyKey.for_data(X, seed=args.seed, mode=args.mode)
        key.save(key_path)
        print(f"new key {key.fingerprint} written to {key_path} (keep it apart from the data)")
    Z = recover(X, key) if args.recover else obfuscate(X, key)
    out = df.copy()
    out[col] = [None if np.isnan(row).all() else row for row in Z]
    out.attrs["privacy_key_fingerprint"] = key.fingerprint
    with atomic_path(args.out) as tmp:
        out.to_parquet(tmp)
    print(f"wrote {len(out)} row(s) to {args.out} ({'recovered' if args.recover else 'obfuscated'} {col!r})")
    return 0
