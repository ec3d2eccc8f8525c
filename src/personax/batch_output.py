"""How batch commands finish (``DEVELOPING.md``, "Errors, exit codes and writing files"): a run in
which items failed never replaces a good ``--out``; it writes ``<stem>.failed<suffix>`` beside it
and raises :class:`~personax.errors.WorkFailedError`, unless ``--allow-failures``.  Shared by
``personax faces extract`` and ``personax independence battery``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Sequence


def failed_path(out: Path) -> Path:
    """``<out stem>.failed<suffix>`` beside ``out`` (``.csv`` when ``out`` has no suffix).

    Examples
    --------
    >>> failed_path(Path("res/battery.csv")).as_posix(), failed_path(Path("emb")).name
    ('res/battery.failed.csv', 'emb.failed.csv')
    """
    return out.with_name(f"{out.stem}.failed{out.suffix or '.csv'}")


def finish_batch(frame: Any, out: Path, write: Callable[[Any, Path], None], *, n_failed: int, n_total: int,
                 unit: str, listing: str, allow_failures: bool, where: str, kept_as: str, hint: str,
                 failed_summary: str, done_summary: Sequence[str]) -> int:
    """Write ``frame`` to ``out`` (or, when items failed without ``allow_failures``, only to
    :func:`failed_path`), print the summary and return the exit code 0.

    Parameters
    ----------
    frame, out, write
        The table, the ``--out`` path and how to write it (``write(frame, path)``, atomic).
    n_failed, n_total, unit
        Failed and total items and what they are (``"image(s)"``, ``"test(s)"``).
    listing : str
        The first failed items, one per line.
    allow_failures : bool
        ``--allow-failures``: write ``out`` anyway (a warning on stderr lists the failures).
    where : str
        What the ``.failed`` file holds (``"every row, with its status and message"``).
    kept_as : str
        How failed rows appear in ``out`` with ``--allow-failures`` (``" with their reasons"``).
    hint : str
        The fix, for the :class:`~personax.errors.WorkFailedError`.
    failed_summary, done_summary
        Line printed before the error; lines printed after a good write.

    Raises
    ------
    WorkFailedError
        Items failed and ``allow_failures`` is False; ``out`` is untouched.
    """
    from personax.errors import WorkFailedError

    if n_failed and not allow_failures:
        side = failed_path(out)
        write(frame, side)
        print(failed_summary)
        kept = " (the earlier file is unchanged)" if out.exists() else ""
        raise WorkFailedError(f"{n_failed} of {n_total} {unit} failed:\n{listing}\n"
                              f"  {where}: {side}; {out} was not written{kept}", hint=hint)
    write(frame, out)
    failed_path(out).unlink(missing_ok=True)  # a stale failure would contradict this output
    for line in done_summary:
        print(line)
    if n_failed:
        print(f"warning: {n_failed} of {n_total} {unit} failed (kept in {out}{kept_as}; --allow-failures):\n"
              f"{listing}", file=sys.stderr)
    return 0
