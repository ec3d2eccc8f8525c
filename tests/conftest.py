"""Test-wide settings: offline hubs, temporary caches, a non-interactive matplotlib backend.

Area-specific fixtures live in ``tests/<area>/conftest.py``.
"""

from __future__ import annotations

import os
import tempfile

# Set before any library import reads them.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("PERSONAX_QUIET", "1")
_tmp = tempfile.mkdtemp(prefix="personax-tests-")
os.environ.setdefault("PERSONAX_CACHE", os.path.join(_tmp, "cache"))
os.environ.setdefault("DEEPFACE_HOME", os.path.join(_tmp, "deepface"))
# `make test` points PERSONAX_TIMINGS at build/timings.tsv for its own stages; the runner tests'
# tiny books must not add lines there (the tests that check the timings set their own file)
os.environ.pop("PERSONAX_TIMINGS", None)

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # here, never via MPLBACKEND (that would strip figures from notebooks)
