"""Benchmark results committed under ``benchmarks/results/``: loading and summarising them.

Each script ``benchmarks/<name>.py`` writes ``benchmarks/results/<name>.csv`` with one row
per measured case plus the machine it ran on (device, CPU count, torch threads, time).
This module reads them for the book's *Performance* page; it never times anything itself
(speed is measured by the scripts, never inside tests).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from personax.utils import repo_root

#: Benchmarks the book describes, with the command that regenerates each CSV.
KNOWN = {
    "level1": "python benchmarks/level1.py",
    "crl": "python benchmarks/crl.py",
    "data_generate": "python benchmarks/data_generate.py",
}


def results_dir(path: str | Path | None = None) -> Path:
    """Folder holding the benchmark CSVs (``benchmarks/results`` of the checkout by default)."""
    if path is not None:
        folder = Path(path)
    else:
        root = repo_root()
        if root is None:
            raise FileNotFoundError(
                "benchmarks/results/ is part of the source checkout, not of the installed package: "
                "pass results_dir=/path/to/benchmarks/results"
            )
        folder = root / "benchmarks" / "results"
    if not folder.is_dir():
        raise FileNotFoundError(f"no benchmark results folder at {folder}: run `make benchmarks` first")
    return folder


def load_results(path: str | Path | None = None) -> dict[str, pd.DataFrame]:
    """Read every ``<name>.csv`` in the results folder.

    Returns
    -------
    dict of str to DataFrame
        Keyed by benchmark name (the CSV stem), sorted by name.
    """
    folder = results_dir(path)
    return {p.stem: pd.read_csv(p) for p in sorted(folder.glob("*.csv"))}


def machine_summary(results: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per benchmark: where and when it ran, and how it is regenerated.

    Columns: ``benchmark``, ``rows``, ``device``, ``cpu_count``, ``torch_threads``,
    ``timestamp_utc``, ``command``.  Missing machine fields are left empty.
    """
    rows = []
    for name, df in results.items():
        def first(col: str, df=df):
            return df[col].dropna().iloc[0] if col in df and df[col].notna().any() else ""
        rows.append({
            "benchmark": name, "rows": len(df), "device": first("device") or first("machine"),
            "cpu_count": first("cpu_count"), "torch_threads": first("torch_threads"),
            "timestamp_utc": first("timestamp_utc"), "command": KNOWN.get(name, f"python benchmarks/{name}.py"),
        })
    return pd.DataFrame(rows)


def level1_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per-test speed and agreement of the Level I battery (fast vs reference backend).

    Columns: ``test``, ``pairs``, ``fast_s``, ``reference_s`` (extrapolated from the
    reference subset), ``speedup``, ``max_abs_p_diff``, ``disagreements`` (decisions at
    α = 0.05 on the pairs both backends ran).
    """
    need = {"test", "n_pairs", "fast_wall_s", "ref_wall_s_extrapolated", "speed_ratio", "max_abs_p_diff",
            "decision_disagreements"}
    missing = need - set(df.columns)
    if missing:
        raise ValueError(f"level1.csv lacks columns {sorted(missing)}: regenerate it with benchmarks/level1.py")
    out = df[list(("test", "n_pairs", "fast_wall_s", "ref_wall_s_extrapolated", "speed_ratio",
                   "max_abs_p_diff", "decision_disagreements"))].copy()
    out.columns = ["test", "pairs", "fast_s", "reference_s", "speedup", "max_abs_p_diff", "disagreements"]
    return out.reset_index(drop=True)
