"""The ``personax`` command line: one entry point, subcommands registered per module, one error path.

Each area module ``personax.<area>.cli`` exposes ``register(subparsers)`` which adds
its subcommand(s) and sets ``func`` on the parser; imports of heavy libraries happen
inside the handlers, so ``personax --help`` stays fast.

Exit codes and messages (sysexits-style; results on stdout, messages on stderr):

======  ==================================================================================
code    meaning
======  ==================================================================================
0       success
1       the work failed: bad data, an unreadable file, a backend that cannot be used, a
        batch where items failed (:class:`~personax.errors.PersonaXError` with exit code 1)
2       a usage error: a bad option value or parameter (argparse, ``UsageError``,
        ``ParameterError``)
70      an unexpected exception: a bug in personax (traceback kept, with where to report it)
130     interrupted (Ctrl-C)
======  ==================================================================================

A :class:`~personax.errors.PersonaXError` is printed as ``error: <message>`` plus its
``fix:`` hint, without a traceback; ``--debug`` (anywhere on the command line) or
``PERSONAX_DEBUG=1`` prints the traceback too.  Warnings are printed as one
``warning: ...`` line each.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import traceback
import warnings
from typing import Iterator, Sequence

from personax.errors import BUG_REPORT, EXIT_BUG, EXIT_FAILED, EXIT_INTERRUPTED, DataWarning, PersonaXError

# area modules that contribute subcommands, in help order, with the top-level commands each
# registers and their one-line help (used to list the commands without importing every
# area: importing personax.independence or personax.crl loads torch, seconds)
_AREAS = (
    "personax.data.cli",
    "personax.traits.cli",
    "personax.faces.cli",
    "personax.independence.cli",
    "personax.crl.cli",
    "personax.runner_cli",
)
_COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("personax.data.cli", "generate, validate and describe PersonaX data"),
    "traits": ("personax.traits.cli", "LLM Big Five inference: prompts, runs, agreement"),
    "faces": ("personax.faces.cli", "face embeddings/attributes (deepface) and the privacy transform"),
    "independence": ("personax.independence.cli", "Level I independence tests (KCI, RCIT, HSIC, chi2, G2)"),
    "crl": ("personax.crl.cli", "Level II CRL: train and score on synthetic benchmarks"),
    "run": ("personax.runner_cli", "execute notebook(s) with papermill into book/executed/"),
    "book": ("personax.runner_cli", "execute every notebook and render the Jupyter Book (_build/html)"),
}

#: OS errors about a path the user named (missing input, unwritable output): reported, not bugs.
_USER_OS_ERRORS = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError, FileExistsError)

_EPILOG = ("Exit codes: 0 success, 1 the work failed (bad data, unreadable file, failed items), 2 usage error "
           "(bad option or parameter), 70 a bug in personax. Errors go to stderr as 'error: ...' with a fix; "
           "--debug (anywhere) or PERSONAX_DEBUG=1 adds the traceback.")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``personax`` parser.

    Parameters
    ----------
    command : str, optional
        Register only the area module of this top-level command (the others are listed
        by name and help, without importing them); ``""``: list every command without
        importing any area; default (None or an unknown name): every area, fully.
    """
    parser = argparse.ArgumentParser(
        prog="personax",
        description="PersonaX companion: data, trait inference, faces, independence tests, CRL, and the book.",
        epilog=_EPILOG,
    )
    from personax import __version__

    parser.add_argument("--version", action="version", version=f"personax {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of every error (also PERSONAX_DEBUG=1; accepted anywhere)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    only = _COMMANDS[command][0] if command in _COMMANDS else ("" if command == "" else None)
    for name in _AREAS:
        if only is not None and name != only:
            for cmd, (module_name, help_text) in _COMMANDS.items():
                if module_name == name:
                    sub.add_parser(cmd, help=help_text)
            continue
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


def _command_of(argv: Sequence[str]) -> str | None:
    """The top-level command of ``argv`` (first token that is not an option); ``""`` when
    there is none (``personax --help``), None when it is not a known command."""
    for token in argv:
        if token == "--":
            return None
        if not token.startswith("-"):
            return token if token in _COMMANDS else None
    return ""


def debug_enabled(argv: Sequence[str] = ()) -> bool:
    """True when ``--debug`` is on the command line or ``PERSONAX_DEBUG`` is set to a true value."""
    env = str(os.environ.get("PERSONAX_DEBUG", "")).strip().lower()
    return env in ("1", "true", "yes", "on") or "--debug" in _before_double_dash(argv)


def _before_double_dash(argv: Sequence[str]) -> list[str]:
    argv = list(argv)
    return argv[:argv.index("--")] if "--" in argv else argv


def _strip_debug(argv: Sequence[str]) -> list[str]:
    """``--debug`` is accepted anywhere (before ``--``): remove it before argparse sees it."""
    argv = list(argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    return [a for a in argv[:cut] if a != "--debug"] + argv[cut:]


def format_error(exc: BaseException) -> str:
    """``error: <message>`` (with the ``fix:`` hint of a PersonaXError) and, when the message
    does not already say it, one ``cause:`` line naming the underlying exception."""
    text = str(exc).strip() or type(exc).__name__
    lines = [f"error: {text}"]
    cause = exc.__cause__
    if cause is not None and not isinstance(cause, PersonaXError):
        detail = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
        if detail and detail not in text:
            if len(detail) > 300:
                detail = detail[:297] + "..."
            lines.append(f"  cause: {type(cause).__name__}: {detail}")
    return "\n".join(lines)


def _format_os_error(exc: OSError) -> str:
    if exc.strerror is None:  # raised with a message of its own
        return f"error: {exc}"
    where = f": {exc.filename!s}" if exc.filename is not None else ""
    if exc.filename2 is not None:
        where += f" -> {exc.filename2!s}"
    return (f"error: {exc.strerror}{where}\n"
            "  fix: check the path (inputs must exist and be readable; outputs need a writable folder)")


@contextlib.contextmanager
def _cli_warnings(debug: bool) -> Iterator[None]:
    """Print warnings as one ``warning: ...`` line each (the default adds file and source lines)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", DataWarning)
        if not debug:
            def show(message, category, filename, lineno, file=None, line=None):
                stream = file or sys.stderr
                label = "" if issubclass(category, (DataWarning, UserWarning)) else f"{category.__name__}: "
                try:
                    print(f"warning: {label}{message}", file=stream)
                except (OSError, ValueError):  # a closed stream must not turn a warning into a crash
                    pass

            warnings.showwarning = show
        yield


def main(argv: list[str] | None = None) -> int:
    """Run the ``personax`` command line; returns the exit code (see the module docstring).

    argparse usage errors raise ``SystemExit(2)`` as usual (``--help`` exits 0).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = debug_enabled(argv)
    argv = _strip_debug(argv)
    parser = build_parser(_command_of(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        with _cli_warnings(debug):
            result = args.func(args)
        return int(result or 0)
    except PersonaXError as exc:
        if debug:
            traceback.print_exc()
        print(format_error(exc), file=sys.stderr)
        return int(getattr(exc, "exit_code", EXIT_FAILED))
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader of stdout went away (e.g. `| head`): nothing more to say
        with contextlib.suppress(Exception):
            sys.stdout = open(os.devnull, "w")
        return EXIT_FAILED
    except _USER_OS_ERRORS as exc:
        if debug:
            traceback.print_exc()
        print(_format_os_error(exc), file=sys.stderr)
        return EXIT_FAILED
    except Exception:  # noqa: BLE001 - anything else is a bug: keep the traceback, say so
        traceback.print_exc()
        print(f"personax: {BUG_REPORT}", file=sys.stderr)
        return EXIT_BUG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
