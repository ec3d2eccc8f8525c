"""The shipped synthetic sample and the package's own table format (Parquet + truth sidecar).

:func:`write_dataset` / :func:`read_dataset` store a :class:`~personax.data.PersonaData`
(scalar columns, embedding array columns, the planted truth); :func:`write_sample` writes
``data/sample/`` (``personax data generate --sample``) and :func:`load_sample` reads it,
regenerating it in memory when the files are missing.  :func:`to_table` /
:func:`write_table` give one flat table (Parquet/CSV) of a dataset.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from personax.data.dataset import PersonaData, PlantedTruth
from personax.data.io.errors import DataAccessError, check_not_empty
from personax.data.io.mapping import _coerce_dtypes
from personax.data.schema import get_schema
from personax.data.validate import validate
from personax.errors import DataError, ParameterError
from personax.utils import atomic_path

#: Parameters of the shipped sample (data/sample/); ``personax data generate --sample``.
SAMPLE_PARAMS: dict[str, dict] = {
    "celebpersona": {"n": 2000, "seed": 0, "face_dim": 64, "text_dim": 96, "n_face": 3},
    "athlepersona": {"n": 1500, "seed": 0, "face_dim": 64, "text_dim": 96, "n_face": 1},
}
SAMPLE_DIRNAME = Path("data") / "sample"



def sample_dir() -> Path:
    """Folder of the shipped sample (``$PERSONAX_SAMPLE_DIR`` or ``<repo>/data/sample``)."""
    env = os.environ.get("PERSONAX_SAMPLE_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "src" / "personax").is_dir() and (parent / "data").is_dir():
            return parent / SAMPLE_DIRNAME
    return Path.cwd() / SAMPLE_DIRNAME


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def content_hash(data: PersonaData) -> str:
    """Deterministic SHA-256 of a dataset's content, independent of the Parquet writer's bytes
    and of pandas' in-memory dtypes: column names; numeric columns as float64 (NA → NaN);
    text columns as UTF-8 (NA → ``<NA>``); embeddings and truth latents as float32; the DAG."""
    h = hashlib.sha256()
    for c in data.frame.columns:
        s = data.frame[c]
        h.update(str(c).encode() + b"\x00")
        if pd.api.types.is_numeric_dtype(s.dtype):
            h.update(s.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan).tobytes())
        else:
            h.update("\x1f".join("<NA>" if pd.isna(v) else str(v) for v in s).encode())
    for k in sorted(data.embeddings):
        h.update(k.encode())
        h.update(np.ascontiguousarray(data.embeddings[k], dtype=np.float32).tobytes())
    if data.truth is not None:
        h.update(",".join(data.truth.latents.columns).encode())
        h.update(np.ascontiguousarray(data.truth.latents.to_numpy(), dtype=np.float32).tobytes())
        h.update(np.ascontiguousarray(data.truth.dag.to_numpy(), dtype=np.int64).tobytes())
    return h.hexdigest()


def _embeddings_to_arrow(embeddings: dict, precision: str = "float32"):
    import pyarrow as pa

    dtype = {"float32": np.float32, "float16": np.float16}[precision]
    cols = {}
    for key, arr in embeddings.items():
        a = np.ascontiguousarray(arr, dtype=dtype)
        cols[key] = pa.FixedSizeListArray.from_arrays(pa.array(a.ravel()), a.shape[1])
    return cols


def _array_column_to_numpy(col) -> np.ndarray:
    """A pyarrow (fixed-size) list column → float32 (n, d); raises on ragged rows or nulls."""
    import pyarrow as pa

    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if col.null_count:
        raise DataError(f"{col.null_count} row(s) have no embedding")
    if pa.types.is_fixed_size_list(col.type):
        d = col.type.list_size
        return col.flatten().to_numpy(zero_copy_only=False).astype(np.float32).reshape(len(col), d)
    lengths = np.diff(col.offsets.to_numpy())
    if lengths.size and not (lengths == lengths[0]).all():
        raise DataError(f"embedding rows have different lengths {sorted(set(lengths.tolist()))[:5]}")
    d = int(lengths[0]) if lengths.size else 0
    return col.flatten().to_numpy(zero_copy_only=False).astype(np.float32).reshape(len(col), d)


# ----------------------------------------------------------------------------------------
# sample: write / read
# ----------------------------------------------------------------------------------------


def write_dataset(data: PersonaData, folder: Path, stem: str | None = None,
                  precision: str = "float32") -> list[Path]:
    """Write a dataset as Parquet (+ planted truth) into ``folder``.

    Files: ``<stem>.parquet`` (canonical columns + embedding columns as fixed-size lists of
    ``precision`` floats — the shipped sample uses float16 to stay small; readers always
    return float32), and for synthetic data ``<stem>_truth_latents.parquet`` (latents and the
    raters' continuous trait values, prefixed ``trait_value_``) and ``<stem>_truth.json``
    (blocks, latent DAG edges, planted pairs, equations).  Writing is deterministic for a
    given pyarrow version (no timestamps, fixed compression).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = stem or data.dataset
    table = pa.Table.from_pandas(data.frame, preserve_index=False)
    for key, arr in _embeddings_to_arrow(data.embeddings, precision).items():
        table = table.append_column(key, arr)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           b"personax": json.dumps(data.info, sort_keys=True).encode()})
    paths = [folder / f"{stem}.parquet"]
    with atomic_path(paths[0]) as tmp:
        pq.write_table(table, tmp, compression="zstd", compression_level=9, use_dictionary=True)
    if data.truth is not None:
        t = data.truth
        lat = t.latents.copy()
        if t.trait_values is not None:
            for c in t.trait_values.columns:
                lat[f"trait_value_{c}"] = t.trait_values[c].to_numpy()
        paths.append(folder / f"{stem}_truth_latents.parquet")
        with atomic_path(paths[-1]) as tmp:
            pq.write_table(pa.Table.from_pandas(lat.astype("float32"), preserve_index=False), tmp,
                           compression="zstd", compression_level=9)
        meta = {"blocks": t.blocks, "dag_edges": [list(e) for e in t.edges()],
                "dependent_pairs": [list(p) for p in t.dependent_pairs],
                "independent_pairs": [list(p) for p in t.independent_pairs],
                "equations": t.equations, "info": data.info}
        paths.append(folder / f"{stem}_truth.json")
        with atomic_path(paths[-1]) as tmp:
            tmp.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    return paths


def to_table(data: PersonaData) -> pd.DataFrame:
    """One table of a dataset: the canonical columns plus one column per embedding measurement.

    Embedding cells are float32 arrays (the layout of the Parquet files the package writes,
    and what :func:`load` reads back from any local file).

    Examples
    --------
    >>> from personax.data import load
    >>> table = to_table(load("athlepersona", n=5))
    >>> table.shape[0], table["text_llama"].iloc[0].shape
    (5, (96,))
    """
    table = data.frame.copy()
    for key, arr in data.embeddings.items():
        table[key] = pd.Series(list(np.asarray(arr, dtype=np.float32)), index=table.index, dtype=object)
    return table


def write_table(data: PersonaData, path: str | os.PathLike) -> Path:
    """Write a dataset as one ``.parquet`` or ``.csv`` table that :func:`load` reads back.

    CSV cells of embedding columns hold ``[v1, v2, ...]`` with 9 significant digits (float32
    round-trips exactly).  The file is written to a temporary name and renamed on success.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from personax.data import load
    >>> ds = load("athlepersona", n=10)
    >>> path = write_table(ds, pathlib.Path(tempfile.mkdtemp()) / "athle.csv")
    >>> back = load("athlepersona", source=path)
    >>> bool((back.embeddings["face_1"] == ds.embeddings["face_1"]).all())
    True
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise ParameterError(f"write_table writes .parquet or .csv files, got {path.name!r}")
    table = to_table(data)
    with atomic_path(path) as tmp:
        if suffix == ".parquet":
            table.to_parquet(tmp, index=False)
        else:
            for key in data.embeddings:
                text = np.char.mod("%.9g", np.asarray(data.embeddings[key], dtype=np.float64))
                table[key] = ["[" + ", ".join(row) + "]" for row in text]
            table.to_csv(tmp, index=False)
    return path


def _read_truth(folder: Path, stem: str, dataset: str, n: int) -> PlantedTruth | None:
    jpath = folder / f"{stem}_truth.json"
    lpath = folder / f"{stem}_truth_latents.parquet"
    if not jpath.exists() or not lpath.exists():
        return None
    from personax.data.synthetic import world_graph

    meta = json.loads(jpath.read_text())
    lat = pd.read_parquet(lpath).astype("float64")
    if len(lat) != n:
        raise DataAccessError(f"{lpath} has {len(lat)} rows but the data have {n}: regenerate the sample with "
                              "`personax data generate --sample`")
    tv_cols = [c for c in lat.columns if c.startswith("trait_value_")]
    trait_values = lat[tv_cols].rename(columns=lambda c: c[len("trait_value_"):]) if tv_cols else None
    latents = lat.drop(columns=tv_cols)
    blocks = {b: meta["blocks"][b] for b in ("shared", "face", "text")}  # JSON keys are sorted
    names = [x for b in blocks.values() for x in b]
    dag = pd.DataFrame(0, index=names, columns=names, dtype="int64")
    for p, c in meta["dag_edges"]:
        dag.loc[p, c] = 1
    return PlantedTruth(latents=latents[names], blocks=blocks, dag=dag,
                        dependent_pairs=[tuple(p) for p in meta["dependent_pairs"]],
                        independent_pairs=[tuple(p) for p in meta["independent_pairs"]],
                        graph=world_graph(dataset), trait_values=trait_values, equations=meta["equations"])


def _read_parquet_table(path: Path, pq):
    """``pyarrow.parquet.read_table`` with a clear error for empty, truncated or foreign files."""
    import pyarrow as pa

    check_not_empty(path)
    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataAccessError(f"cannot read {path} as Parquet ({path.stat().st_size} bytes): the file is "
                              f"truncated, corrupt or not Parquet ({type(exc).__name__}: {exc})",
                              hint="copy or download the file again; `personax data generate --sample` "
                                   "rewrites the shipped sample") from exc


def read_dataset(path: Path, dataset: str, *, strict: bool = False) -> PersonaData:
    """Read a file written by :func:`write_dataset` (canonical columns, no alias mapping).

    ``strict`` as in :func:`personax.data.validate.validate`.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    table = _read_parquet_table(path, pq)
    schema = get_schema(dataset)
    emb_keys = [k for spec in schema.embeddings.values() for k in spec.keys if k in table.column_names]
    embeddings = {k: _array_column_to_numpy(table.column(k)) for k in emb_keys}
    frame = table.drop_columns(emb_keys).to_pandas()
    info_raw = (table.schema.metadata or {}).get(b"personax")
    info = json.loads(info_raw) if info_raw else {}
    info.update(dataset=dataset, n=len(frame), path=str(path))
    truth = _read_truth(path.parent, path.stem, dataset, len(frame))
    frame = _coerce_dtypes(frame, dataset)
    validate(frame, dataset, embeddings, strict=strict, source=str(path))
    return PersonaData(frame=frame, embeddings=embeddings, schema=schema, info=info, truth=truth)


def _sample_data(dataset: str) -> PersonaData:
    """The sample as generated, with embeddings rounded to float16 precision: the storage
    precision of data/sample (≈ 3 significant digits, below the 5 % measurement noise),
    so the in-memory and on-disk samples hash the same."""
    from personax.data.synthetic import generate

    p = SAMPLE_PARAMS[dataset]
    data = generate(dataset, n=p["n"], seed=p["seed"], face_dim=p["face_dim"], text_dim=p["text_dim"],
                    n_face=p["n_face"])
    data.embeddings = {k: v.astype(np.float16).astype(np.float32) for k, v in data.embeddings.items()}
    data.info.update(source="sample", embedding_storage="float16")
    return data


def write_sample(folder: Path | None = None, datasets=None) -> dict:
    """(Re)generate the shipped sample and its ``MANIFEST.json``.

    Returns
    -------
    The manifest dict: ``generator_version``, ``datasets`` (per dataset: params, n, dims,
    ``content_sha256``) and ``files`` (relative name → sha256 of the bytes).
    """
    from personax.data.synthetic import GENERATOR_VERSION

    folder = Path(folder) if folder is not None else sample_dir()
    datasets = list(datasets or SAMPLE_PARAMS)
    manifest = {"generator": "personax.data.synthetic", "generator_version": GENERATOR_VERSION,
                "note": "Synthetic sample with planted structure, not the released PersonaX data.",
                "datasets": {}, "files": {}}
    for ds in datasets:
        p = SAMPLE_PARAMS[ds]
        data = _sample_data(ds)
        files = write_dataset(data, folder, precision="float16")
        manifest["datasets"][ds] = {**p, "rows": len(data), "content_sha256": content_hash(data),
                                    "embeddings": {k: list(v.shape) for k, v in data.embeddings.items()}}
        for f in files:
            manifest["files"][f.name] = sha256_file(f)
    import pyarrow

    manifest["pyarrow_version"] = pyarrow.__version__
    with atomic_path(folder / "MANIFEST.json") as tmp:
        tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


def load_sample(dataset: str, *, strict: bool = False) -> PersonaData:
    """The shipped sample; regenerated in memory (same parameters) if the files are absent."""
    folder = sample_dir()
    path = folder / f"{dataset}.parquet"
    if path.exists():
        data = read_dataset(path, dataset, strict=strict)
        data.info.update(source="sample", synthetic=True)
        return data
    data = _sample_data(dataset)
    data.info["note"] = f"{path} not found; sample regenerated in memory (same content)"
    return data
