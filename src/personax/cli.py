"""The ``personax`` command line: one entry point, subcommands registered per module.

Each area module ``personax.<area>.cli`` exposes ``register(subparsers)`` which adds
its subcommand(s) and sets ``func`` on the parser; imports of heavy libraries happen
inside the handlers, so ``personax --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# area modules that contribute subcommands, in help order
_AREAS = (
    "personax.data.cli",
    "personax.traits.cli",
    "personax.faces.cli",
    "personax.independence.cli",
    "personax.crl.cli",
    "personax.runner_cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="personax",
        description="PersonaX companion: data, trait inference, faces, independence tests, CRL, and the book.",
    )
    from personax import __version__

    parser.add_argument("--version", action="version", version=f"personax {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _AREAS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # Only tolerate the area module itself being absent (a partial checkout);
            # a broken import inside an existing module must surface.
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    result = args.func(args)
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
