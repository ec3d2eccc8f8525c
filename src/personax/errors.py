"""The package's own error hierarchy: one place that says what went wrong and how to fix it.

Every error a user can cause (bad data, a bad parameter, a model or backend that cannot
be used, an unreadable file) is raised as a :class:`PersonaXError` subclass.  The CLI
turns these into one message on stderr (no traceback) and an exit code; anything else
is a bug and keeps its traceback.

=====================  =========  ===========================================
class                  exit code  for
=====================  =========  ===========================================
``UsageError``         2          a bad command-line value or parameter
``ParameterError``     2          a bad Python argument / notebook parameter
``DataError``          1          data that do not meet the schema (names the
                                  file, column, rows and values)
``BackendError``       1          a model/backend/service that cannot be used
``InputOutputError``   1          a file that is missing, empty or truncated
``WorkFailedError``    1          a batch command where items failed
=====================  =========  ===========================================

An unexpected exception (anything else) is a bug: the CLI keeps its traceback, adds
:data:`BUG_REPORT` and exits :data:`EXIT_BUG` (70, ``EX_SOFTWARE`` of sysexits).
:class:`DataWarning` is the category of the package's warnings about data it accepted
(e.g. an aggregate trait column that disagrees with its LLM scores); ``--strict`` turns
them into :class:`DataError`.

Each subclass also derives from the closest built-in (``ValueError``, ``OSError``,
``RuntimeError``) so existing ``except ValueError`` code keeps working.
"""

from __future__ import annotations


class PersonaXError(Exception):
    """Base class.  ``hint`` (optional) says how to fix it; ``exit_code`` is the CLI's."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        msg = super().__str__()
        return f"{msg}\n  fix: {self.hint}" if self.hint else msg


class UsageError(PersonaXError, ValueError):
    """A bad command-line value (exit code 2)."""

    exit_code = 2


class ParameterError(PersonaXError, ValueError):
    """A bad Python argument or notebook parameter (exit code 2)."""

    exit_code = 2


class DataError(PersonaXError, ValueError):
    """Data that do not meet the schema: name the file, column, rows and values."""


class BackendError(PersonaXError, RuntimeError):
    """A model, backend or remote service that cannot be used (missing weights, HTTP 401, ...)."""


class InputOutputError(PersonaXError, OSError):
    """A file that is missing, empty, truncated or unreadable."""


class WorkFailedError(PersonaXError, RuntimeError):
    """A batch command finished but some items failed (see its summary)."""


class DataWarning(UserWarning):
    """Data were accepted but look wrong (names the column, count and example rows)."""


#: Exit codes of the ``personax`` CLI (sysexits-style: 0 success, 1 failed work, 2 usage).
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
#: An unexpected exception: a bug in personax (``EX_SOFTWARE``).
EXIT_BUG = 70
#: Interrupted with Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130

#: Where to report an unexpected exception (printed after its traceback).
BUG_REPORT = ("this is a bug in personax, not a mistake in your input: please report it to the maintainers "
              "of the PersonaX companion (the issue tracker of the repository you got it from), with the "
              "command line, the traceback above and `personax --version`")


__all__ = ["PersonaXError", "UsageError", "ParameterError", "DataError", "BackendError",
           "InputOutputError", "WorkFailedError", "DataWarning", "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE",
           "EXIT_BUG", "EXIT_INTERRUPTED", "BUG_REPORT"]
