"""Argument types shared by the subcommands' parsers (argparse ``type=`` callables).

Each rejects a bad value with an ``argparse.ArgumentTypeError`` that names the value and
what is expected, so every subcommand words the same mistake the same way.
"""

from __future__ import annotations

import argparse
from typing import Callable


def int_at_least(low: int, note: str = "") -> Callable[[str], int]:
    """An argparse type accepting integers ``>= low``; ``note`` is added to the out-of-range message.

    Examples
    --------
    >>> int_at_least(1)("3")
    3
    >>> int_at_least(0)("-1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a non-negative integer, got -1
    """
    what = {0: "a non-negative integer", 1: "a positive integer"}.get(low, f"an integer >= {low}")

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from exc
        if v < low:
            raise argparse.ArgumentTypeError(f"expected {what}{f' ({note})' if note else ''}, got {v}")
        return v

    parse.__name__ = f"int_at_least_{low}"
    return parse


positive_int = int_at_least(1)
nonneg_int = int_at_least(0)
