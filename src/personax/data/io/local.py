"""Reading local files and folders (Parquet, CSV/TSV, JSON lines), e.g. a downloaded HF snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from personax.data.dataset import PersonaData
from personax.data.io.errors import ColumnMappingError, DataAccessError, check_not_empty
from personax.data.io.mapping import map_columns
from personax.data.io.sample import _read_truth
from personax.data.schema import DATASETS, get_schema
from personax.data.validate import ValidationError, validate
from personax.errors import DataError, ParameterError

_TABLE_SUFFIXES = (".parquet", ".csv", ".jsonl", ".json", ".tsv")


def _table_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _TABLE_SUFFIXES
                   and not p.name.startswith(".") and ".cache" not in p.parts
                   and not p.name.endswith("_truth.json") and p.name != "MANIFEST.json"
                   and not p.name.endswith("_truth_latents.parquet"))
    # a repository may hold the same table in several formats: use the first format present
    for suffixes in ((".parquet",), (".csv", ".tsv"), (".jsonl", ".json")):
        chosen = [f for f in files if f.suffix.lower() in suffixes]
        if chosen:
            return chosen
    return files


def _check_separator(frame: pd.DataFrame, path: Path, suf: str) -> pd.DataFrame:
    """A one-column CSV whose header holds ';' (or tabs, '|') was written with another separator."""
    if frame.shape[1] == 1:
        for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "'|'")):
            if sep in str(frame.columns[0]) and sep != ("\t" if suf == ".tsv" else ","):
                raise DataError(
                    f"{path} has a single column {str(frame.columns[0])[:60]!r}…: its fields are separated by "
                    f"{name}, not by {'tabs' if suf == '.tsv' else 'commas'}",
                    hint="export it again as comma-separated CSV (or name a tab-separated file .tsv)")
    return frame


def read_table(path: Path) -> pd.DataFrame:
    """Read one table (Parquet, CSV/TSV, JSON lines) as is, without mapping or validation.

    Empty, truncated, undecodable or malformed files raise a clear
    :class:`~personax.data.io.DataAccessError` / :class:`~personax.errors.DataError`.
    """
    import pyarrow as pa

    suf = path.suffix.lower()
    if suf not in _TABLE_SUFFIXES:
        packed = suf in (".gz", ".bz2", ".xz", ".zip", ".zst", ".7z", ".tar")
        raise DataAccessError(f"unsupported file type {path.suffix or '(no suffix)'!r} of {path}",
                              hint=("decompress it first; " if packed else "")
                              + "use Parquet (.parquet), CSV/TSV (.csv, .tsv) or JSON lines (.jsonl, .json)")
    check_not_empty(path)
    kind = {".parquet": "Parquet", ".csv": "CSV", ".tsv": "TSV", ".jsonl": "JSON lines", ".json": "JSON"}[suf]
    try:
        if suf == ".parquet":
            frame = pd.read_parquet(path)
        elif suf in (".csv", ".tsv"):
            frame = pd.read_csv(path, sep="\t" if suf == ".tsv" else ",")
        else:
            frame = pd.read_json(path, lines=suf == ".jsonl")
    except PermissionError as exc:
        raise DataAccessError(f"cannot read {path}: permission denied",
                              hint="make the file readable (chmod) or copy it somewhere readable") from exc
    except (pa.ArrowException, OSError) as exc:
        raise DataAccessError(f"cannot read {path} as {kind} ({path.stat().st_size} bytes): the file is truncated, "
                              f"corrupt or not {kind} ({type(exc).__name__}: {exc})",
                              hint="copy, download or export the file again") from exc
    except pd.errors.EmptyDataError as exc:
        raise DataAccessError(f"{path} holds no table: no header line and no rows (blank lines only)",
                              hint="export the table again with its header line") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text (undecodable byte at offset {exc.start}): is it really a "
                        f"{kind} file?", hint="export it as UTF-8 CSV, or as Parquet") from exc
    except pd.errors.ParserError as exc:
        raise DataError(f"cannot parse {path} as {kind}: {str(exc).strip()}",
                        hint="every line needs the same number of fields as the header; quote fields holding "
                             "the separator") from exc
    except ValueError as exc:  # malformed JSON
        raise DataError(f"cannot parse {path} as {kind}: {exc}",
                        hint="JSON lines: one JSON object per line") from exc
    return _check_separator(frame, path, suf) if suf in (".csv", ".tsv") else frame


def load_local(path, dataset: str, column_map: dict | None = None, *, strict: bool = False) -> PersonaData:
    """Load a local Parquet/CSV/JSONL file or a folder of them (e.g. a HF snapshot).

    Several files in a folder (splits, shards) are concatenated in sorted path order; only
    one format is read (Parquet, else CSV/TSV, else JSON lines) so a table released in two
    formats is not loaded twice; files whose names mention the other dataset are skipped.
    ``strict`` as in :func:`personax.data.validate.validate`.

    Examples
    --------
    >>> import pathlib
    >>> import tempfile
    >>> from personax.data.io import load, write_table
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_table(load("celebpersona", n=8), folder / "celebpersona.parquet")
    >>> load_local(folder, "celebpersona").frame.shape[0]
    8
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise DataAccessError(f"{path} does not exist",
                              hint="pass an existing Parquet/CSV file or folder, or source='sample' / source='hf'")
    files = _table_files(path)
    other = [d for d in DATASETS if d != dataset][0]
    files = [f for f in files if other not in f.name.lower()] or files
    if not files:
        raise DataAccessError(f"no Parquet/CSV/JSONL table found under {path}",
                              hint="the folder must hold .parquet, .csv, .tsv, .jsonl or .json files")
    frames = [read_table(f) for f in files]
    raw = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    where = str(files[0]) if len(files) == 1 else f"{path} ({len(files)} files)"
    if len(raw) == 0:
        raise DataError(f"{where} has no rows (columns: {', '.join(map(str, list(raw.columns)[:20]))}"
                        f"{' …' if len(raw.columns) > 20 else ''})",
                        hint="the table was exported without its rows; export it again")
    try:
        frame, embeddings, report = map_columns(raw, dataset, column_map, source=where)
    except ColumnMappingError as exc:
        try:
            map_columns(raw, other)
        except ValidationError:
            pass  # the columns fit the other dataset (only some values do not)
        except (DataError, ParameterError):
            raise exc from None
        raise ColumnMappingError(dataset, exc.found, exc.mapped, exc.unmapped,
                                 extra=f"  {where} looks like a {other} table: pass dataset={other!r} "
                                       f"(--dataset {other})") from None
    validate(frame, dataset, embeddings, strict=strict, source=where)
    info = {"dataset": dataset, "source": str(path), "path": str(path), "files": [str(f) for f in files],
            "n": len(frame), "synthetic": False, **report}
    truth = None
    if len(files) == 1 and files[0].suffix == ".parquet":
        # a file written by write_dataset / `personax data generate` keeps its planted truth
        truth = _read_truth(files[0].parent, files[0].stem, dataset, len(frame))
        if truth is not None:
            meta = json.loads((files[0].parent / f"{files[0].stem}_truth.json").read_text())
            info.update(synthetic=True, truth_file=str(files[0].parent / f"{files[0].stem}_truth.json"),
                        **{k: meta["info"][k] for k in ("seed", "generator_version") if k in meta.get("info", {})})
    return PersonaData(frame=frame, embeddings=embeddings, schema=get_schema(dataset), info=info, truth=truth)


_read_table = read_table  # the earlier private name (crl/cli.py imports it)
