"""The bad-input suite: what a new user mistypes or feeds in, and what personax must answer.

Every case goes through :func:`bad` (a command line, run in-process through
``personax.cli.main``) or :func:`bad_api` (a Python call), which

* classify the outcome — ``clear`` (non-zero exit / a PersonaXError, no traceback, the
  message names every expected fragment), ``warning`` (accepted by design with a warning
  that names the problem), ``traceback``, ``exit 0`` (a failure that exits 0) or
  ``unclear`` — and
  record it for the table printed at the end of the run (area × outcome);
* then assert: the exit code, ``error:`` on stderr, no traceback, the named fragments
  (file, column, row, value, parameter, allowed values), and that no earlier file was
  altered or removed and nothing but the sanctioned files was written (sha256 before/after
  of every file under the watched folders).
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import os
import shutil
import sys
from collections import Counter, defaultdict
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TRACEBACK = "Traceback (most recent call last)"

#: (area, case id, outcome) of every case run in this session
OUTCOMES: list[tuple[str, str, str]] = []


def snapshot(*roots: Path) -> dict[str, str]:
    """sha256 of every file under ``roots`` (files or folders), keyed by absolute path."""
    out: dict[str, str] = {}
    for root in roots:
        root = Path(root)
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
        for f in files:
            out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def _check_unchanged(before: dict[str, str], after: dict[str, str], created: tuple[str, ...]) -> None:
    changed = [p for p, h in before.items() if after.get(p) != h]
    assert not changed, f"earlier file(s) altered or removed: {changed}"
    new = [p for p in after if p not in before]
    unexpected = [p for p in new if not any(fnmatch.fnmatch(Path(p).name, pat) for pat in created)]
    assert not unexpected, f"unexpected file(s) written: {unexpected} (allowed: {created})"


def classify(code: int | None, err: str, names) -> str:
    if code == 0:
        return "exit 0"
    if TRACEBACK in err:
        return "traceback"
    if all(n in err for n in names):
        return "clear"
    return "unclear"


def invoke(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """``personax.cli.main(argv)`` in-process: (exit code, stdout, stderr); argparse exits included."""
    from personax.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main([str(a) for a in argv])
            except SystemExit as exc:  # argparse usage errors and --help
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if isinstance(exc.code, str):
                    err.write(exc.code)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def bad(request):
    """``bad(argv, code=, names=, watch=(), created=())`` → (stdout, stderr), asserting the contract."""
    area = getattr(request.module, "AREA", request.module.__name__)

    def run(argv, *, code: int, names=(), watch=(), created=(), env=None, expect_error: bool = True):
        before = snapshot(*watch)
        rc, out, err = invoke(list(argv), env=env)
        outcome = classify(rc, err, names)
        if code == 0 and rc == 0 and "warning:" in err:
            outcome = "warning"  # accepted by design, with a warning naming the problem
        OUTCOMES.append((area, request.node.name, outcome))
        assert rc == code, f"exit code {rc}, expected {code}\n--- stderr:\n{err}\n--- stdout:\n{out}"
        assert TRACEBACK not in err, f"traceback for a user mistake:\n{err}"
        if expect_error:
            assert "error:" in err, f"no 'error:' line on stderr:\n{err}"
        for n in names:
            assert n in err, f"stderr does not name {n!r}:\n{err}"
        _check_unchanged(before, snapshot(*watch), tuple(created))
        return out, err

    return run


@pytest.fixture
def bad_api(request):
    """``bad_api(fn, *args, names=(), exc=PersonaXError, watch=(), **kwargs)`` → the exception raised."""
    from personax.errors import PersonaXError

    area = getattr(request.module, "AREA", request.module.__name__)

    def run(fn, *args, names=(), exc=PersonaXError, watch=(), **kwargs):
        before = snapshot(*watch)
        try:
            fn(*args, **kwargs)
        except PersonaXError as e:
            text = str(e)
            OUTCOMES.append((area, request.node.name, "clear" if all(n in text for n in names) else "unclear"))
            assert isinstance(e, exc), f"{type(e).__name__} is not a {exc.__name__}: {e}"
            for n in names:
                assert n in text, f"message does not name {n!r}: {text}"
            _check_unchanged(before, snapshot(*watch), ())
            return e
        except Exception as e:  # noqa: BLE001 - a non-package error is the failure being counted
            OUTCOMES.append((area, request.node.name, "traceback"))
            raise AssertionError(f"{type(e).__name__} instead of a PersonaXError: {e}") from e
        OUTCOMES.append((area, request.node.name, "exit 0"))
        raise AssertionError("no error raised")

    return run


@pytest.fixture
def record(request):
    """``record(code, stderr, names)``: classify and count an outcome obtained another way (a subprocess)."""
    area = getattr(request.module, "AREA", request.module.__name__)

    def add(code, err, names):
        outcome = classify(code, err, names)
        OUTCOMES.append((area, request.node.name, outcome))
        return outcome

    return add


@pytest.fixture
def cli():
    """``cli(argv, env=None)`` → (exit code, stdout, stderr), in-process, no assertions."""
    return invoke


@pytest.fixture
def checksum():
    """``checksum(*paths)``: the sha256 snapshot used by :func:`bad` (for hand-written checks)."""
    return snapshot


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not OUTCOMES:
        return
    table: dict[str, Counter] = defaultdict(Counter)
    for area, _, outcome in OUTCOMES:
        table[area][outcome] += 1
    cols = ("clear", "warning", "traceback", "exit 0", "unclear")
    tr = terminalreporter
    tr.section("bad-input suite: cases and outcomes")
    tr.write_line(f"{'area':28s} {'cases':>5s} " + " ".join(f"{c:>9s}" for c in cols))
    total = Counter()
    for area in sorted(table):
        counts = table[area]
        total.update(counts)
        tr.write_line(f"{area:28s} {sum(counts.values()):5d} " + " ".join(f"{counts[c]:9d}" for c in cols))
    tr.write_line(f"{'total':28s} {sum(total.values()):5d} " + " ".join(f"{total[c]:9d}" for c in cols))
    report = os.environ.get("PERSONAX_BADINPUT_REPORT")
    if report:
        with open(report, "w", encoding="utf-8") as f:
            f.write("area\tcase\toutcome\n")
            for area, case, outcome in OUTCOMES:
                f.write(f"{area}\t{case}\t{outcome}\n")


TINY_NOTEBOOK = """\
# %% [markdown]
# # Tiny notebook

# %% tags=["parameters"]
dataset = "celebpersona"
source = "sample"
n = 20
seed = 0
device = "cpu"
profile = "quick"
scale = 1.0

# %%
import personax.notebook
ctx = personax.notebook.setup("01_tiny", dataset=dataset, source=source, n=n, seed=seed, device=device,
                              profile=profile, scale=scale, checks={"scale": {"kind": "float", "low": 0}})
{body}
"""


def make_book(root: Path, body: str = "print(ctx.n * scale)", executed: bool = True) -> Path:
    """A minimal book checkout (the project's _config.yml, one tiny notebook); with ``executed``
    an earlier good result in book/executed/ and an earlier rendered _build/html."""
    (root / "notebooks").mkdir(parents=True)
    (root / "book").mkdir()
    shutil.copy(REPO / "_config.yml", root / "_config.yml")
    shutil.copytree(REPO / "_static", root / "_static")
    (root / "book" / "intro.md").write_text("# Tiny book\n\nText.\n", encoding="utf-8")
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: book/executed/01_tiny\n",
                                   encoding="utf-8")
    (root / "notebooks" / "01_tiny.py").write_text(TINY_NOTEBOOK.replace("{body}", body), encoding="utf-8")
    if executed:
        import nbformat

        done = root / "book" / "executed"
        done.mkdir(parents=True)
        cell = nbformat.v4.new_markdown_cell("# Tiny notebook\n\nA good earlier result.")
        nb = nbformat.v4.new_notebook(cells=[cell])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, str(done / "01_tiny.ipynb"))
        (done / "01_tiny.provenance.json").write_text('{"runner": {"status": "ok"}}\n')
        html = root / "_build" / "html"
        html.mkdir(parents=True)
        (html / "index.html").write_text("<html>the earlier good book</html>")
    return root


@pytest.fixture
def tiny_book(tmp_path):
    """``tiny_book(body=..., executed=True)`` → a temporary book checkout (see :func:`make_book`)."""
    counter = iter(range(100))

    def build(body: str = "print(ctx.n * scale)", executed: bool = True) -> Path:
        return make_book(tmp_path / f"book{next(counter)}", body, executed)

    return build


@pytest.fixture(scope="session")
def no_gpu():
    """Skip a case that asks for CUDA where a GPU is present (there the request is valid)."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present: device='cuda' is valid here")


@pytest.fixture(scope="session")
def sample_small(tmp_path_factory):
    """A small valid CelebPersona and AthlePersona table (CSV and Parquet) written by the package."""
    from personax.data import load
    from personax.data.io import write_table

    folder = tmp_path_factory.mktemp("good")
    out = {}
    for ds in ("celebpersona", "athlepersona"):
        data = load(ds, n=40)
        out[ds] = data
        write_table(data, folder / f"{ds}.csv")
        write_table(data, folder / f"{ds}.parquet")
    out["folder"] = folder
    return out


__all__ = ["REPO", "invoke", "snapshot", "classify", "sys"]
