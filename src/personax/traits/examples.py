"""The shipped fictional example people (``data/examples/people.csv``).

The people are invented for this project (see ``data/examples/README.md``); they exist so
that the trait-inference chapter and CLI can be run end to end without touching real
individuals.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from personax.utils import repo_root


def example_people_path() -> Path:
    """Path of ``data/examples/people.csv`` in the source checkout."""
    root = repo_root()
    if root is None:
        raise FileNotFoundError("the example people ship with the source checkout (data/examples/people.csv); "
                                "run from a clone of the repository or pass your own CSV")
    return root / "data" / "examples" / "people.csv"


def load_example_people(path: str | Path | None = None) -> pd.DataFrame:
    """Load the fictional example people.

    Returns
    -------
    DataFrame
        Columns ``person_id, name, kind, occupation, league, description, fictional``;
        ``description`` is empty (NaN) for AthlePersona-style people, who are given by
        ``league`` only.
    """
    p = Path(path) if path is not None else example_people_path()
    df = pd.read_csv(p, dtype={"person_id": str, "name": str, "league": str, "description": str})
    if "fictional" in df.columns and not df["fictional"].astype(bool).all():
        raise ValueError(f"{p}: every example person must be marked fictional=true")
    return df


__all__ = ["load_example_people", "example_people_path"]
