"""``personax faces ...``: extract embeddings, list and fetch deepface weights, obfuscate.

Subcommands::

    personax faces extract PATH --out emb.parquet [--detector opencv] [--model Dlib]
                                [--attributes emotion,age | available] [--weights-dir DIR]
    personax faces weights [--weights-dir DIR] [--missing]
    personax faces fetch-weights MODEL [--weights-dir DIR] [--url URL ...] [--force]
    personax faces obfuscate IN.parquet --key KEY.npz --out OUT.parquet [--new-key --seed S]

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
    ex.add_argument("--detector", default="opencv", help="deepface detector (default opencv; offline: opencv, dlib, skip)")
    ex.add_argument("--model", default="Dlib", help="deepface embedding model (default Dlib, offline); 'none' to skip")
    ex.add_argument("--attributes", default="", help="comma list of age,gender,emotion,race, or 'available'")
    ex.add_argument("--weights-dir", default=None, help="deepface home or weights folder (default $DEEPFACE_HOME, "
                                                        "else the personax cache)")
    ex.add_argument("--no-align", action="store_true", help="do not align faces on the eyes")
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


def _cmd_extract(args) -> int:
    from personax.faces.extraction import extract

    images = args.path[0] if len(args.path) == 1 else args.path
    attrs: tuple[str, ...] | str = ()
    if args.attributes.strip():
        attrs = "available" if args.attributes.strip() == "available" else tuple(
            a.strip() for a in args.attributes.split(",") if a.strip())
    model = None if args.model.lower() == "none" else args.model
    df = extract(images, detector=args.detector, model=model, attributes=attrs, weights_dir=args.weights_dir,
                 align=not args.no_align)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        col = df.attrs.get("embedding_column")
        if col:
            df[col] = [" ".join(f"{v:.8g}" for v in e) if e is not None else "" for e in df[col]]
        df.to_csv(out, index=False)
    else:
        df.to_parquet(out)
    counts = df["status"].value_counts().to_dict()
    print(f"wrote {len(df)} row(s) to {out}: {counts}")
    if df.attrs.get("attributes_unavailable"):
        print(f"attributes without weights (skipped): {df.attrs['attributes_unavailable']}", file=sys.stderr)
    return 0 if counts.get("error", 0) == 0 else 1


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
    import pandas as pd

    from personax.faces.extraction import embedding_matrix
    from personax.faces.privacy import PrivacyKey, obfuscate, recover

    df = pd.read_parquet(args.input)
    col = args.column or next((c for c in df.columns if str(c).startswith("emb_")), None)
    if col is None:
        raise SystemExit(f"error: no emb_* column in {args.input}; pass --column")
    X = embedding_matrix(df, col)
    key_path = Path(args.key)
    if args.new_key:
        if args.seed is None:
            raise SystemExit("error: --new-key needs --seed (the seed is the secret: use a large random int)")
        key = PrivacyKey.for_data(X, seed=args.seed, mode=args.mode)
        key.save(key_path)
        print(f"new key {key.fingerprint} written to {key_path} (keep it apart from the data)")
    else:
        key = PrivacyKey.load(key_path)
    Z = recover(X, key) if args.recover else obfuscate(X, key)
    out = df.copy()
    out[col] = [None if np.isnan(row).all() else row for row in Z]
    out.attrs["privacy_key_fingerprint"] = key.fingerprint
    out.to_parquet(args.out)
    print(f"wrote {len(out)} row(s) to {args.out} ({'recovered' if args.recover else 'obfuscated'} {col!r})")
    return 0
