"""The errors of the loaders: data that cannot be reached, columns that cannot be mapped."""

from __future__ import annotations

from pathlib import Path

from personax.errors import DataError, InputOutputError


class DataAccessError(InputOutputError, RuntimeError):
    """The requested data could not be reached (offline, gated, missing, unreadable); the message
    says how to fix it.  An :class:`~personax.errors.InputOutputError` (and a ``RuntimeError``
    as before)."""


def _mapped_text(mapped: dict) -> str:
    if not mapped:
        return "none"
    same = [k for k, v in mapped.items() if str(k).removeprefix("embedding:") == str(v)]
    other = [f"{k}←{v}" for k, v in mapped.items() if k not in same]
    parts = [f"{len(same)} under their canonical names"] if same else []
    return ", ".join(parts + other)


class ColumnMappingError(DataError):
    """A table's columns could not be mapped onto the canonical schema.

    Attributes ``found`` (raw columns), ``mapped`` (role → raw column), ``unmapped``
    (roles still missing).  A :class:`~personax.errors.DataError` (a ``ValueError``).
    """

    def __init__(self, dataset: str, found: list, mapped: dict, unmapped: list, extra: str = ""):
        self.found, self.mapped, self.unmapped = list(found), dict(mapped), list(unmapped)
        shown = ", ".join(map(str, self.found[:60])) + (" …" if len(self.found) > 60 else "")
        msg = (f"cannot map the columns of this {dataset} table onto the canonical schema.\n"
               f"  columns found ({len(self.found)}): {shown}\n"
               f"  mapped: {_mapped_text(self.mapped)}\n"
               f"  expected but unmapped: {', '.join(self.unmapped)}"
               + (f"\n{extra.rstrip()}" if extra else ""))
        super().__init__(msg, hint="rename the columns to the canonical names "
                                   "(personax.data.schema.SCHEMAS[dataset].table()), add them to "
                                   "personax.data.schema.ALIASES, or map them: column_map={raw_name: canonical_name} "
                                   "in Python, --column-map FILE.yaml (lines 'raw_name: canonical_name') on the CLI")


def check_not_empty(path: Path) -> None:
    """Raise :class:`DataAccessError` for a file of 0 bytes (written incompletely)."""
    if path.is_file() and path.stat().st_size == 0:
        raise DataAccessError(f"{path} is empty (0 bytes)",
                              hint="the file was not written completely: copy, download or export it again")
