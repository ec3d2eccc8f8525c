"""The one error path of the ``personax`` command line, end to end (a few real subprocesses)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

AREA = "cli (end to end)"


def _subcommands(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise AssertionError("no subcommands")


def test_unknown_command(bad):
    bad(["trainz"], code=2, names=["invalid choice: 'trainz'"], expect_error=True)


def test_listing_without_imports_matches_the_registered_commands():
    """``personax --help`` lists the commands from a table; it must agree with the area modules."""
    from personax.cli import _COMMANDS, build_parser

    full = _subcommands(build_parser())
    lazy = _subcommands(build_parser(""))
    assert list(full.choices) == list(lazy.choices) == list(_COMMANDS)
    helps_full = {a.dest: a.help for a in full._choices_actions}
    helps_lazy = {a.dest: a.help for a in lazy._choices_actions}
    assert helps_full == helps_lazy


def test_debug_flag_is_accepted_anywhere(cli, tmp_path):
    (tmp_path / "e.csv").write_bytes(b"")
    for argv in (["--debug", "data", "validate", str(tmp_path / "e.csv"), "--dataset", "athlepersona"],
                 ["data", "validate", str(tmp_path / "e.csv"), "--dataset", "athlepersona", "--debug"]):
        code, _, err = cli(argv)
        assert code == 1 and "Traceback (most recent call last)" in err and "error: INVALID" in err


def test_warnings_are_one_line_each(cli, tmp_path, sample_small):
    import pandas as pd

    t = pd.read_csv(sample_small["folder"] / "athlepersona.csv")
    t.loc[0, ["chatgpt_openness", "gemini_openness", "llama_openness", "openness"]] = [2, 2, 2, 3.0]
    t.to_csv(tmp_path / "a.csv", index=False)
    code, out, err = cli(["data", "validate", str(tmp_path / "a.csv"), "--dataset", "athlepersona"])
    assert code == 0 and out.startswith("OK:")
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("warning: athlepersona in") and ".py:" not in err


def _personax(*argv, cwd=None):
    exe = os.path.join(os.path.dirname(sys.executable), "personax")
    cmd = [exe, *map(str, argv)] if os.path.exists(exe) else [sys.executable, "-m", "personax.cli", *map(str, argv)]
    env = {k: v for k, v in os.environ.items() if k != "PERSONAX_DEBUG"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


CASES = {
    "data": (["data", "validate", "{tmp}/empty.csv", "--dataset", "athlepersona"], 1, ["empty.csv", "empty (0 bytes)"]),
    "run": (["run", "04_independence", "--out", "{tmp}/executed", "-p", "dataset", "foo"], 2,
            ["dataset='foo'", "nothing was executed"]),
    "faces": (["faces", "extract", "{tmp}/gone.jpg", "--out", "{tmp}/executed/emb.parquet"], 1,
              ["gone.jpg", "no such file or folder"]),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_console_script_end_to_end(kind, tmp_path, checksum, record):
    """The installed ``personax`` script: exit code, the message on stderr, nothing on stdout, no traceback."""
    argv, code, names = CASES[kind]
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "executed").mkdir()
    (tmp_path / "executed" / "04_independence.ipynb").write_text("{}")
    (tmp_path / "executed" / "emb.parquet").write_bytes(b"earlier")
    before = checksum(tmp_path)
    proc = _personax(*[a.replace("{tmp}", str(tmp_path)) for a in argv])
    record(proc.returncode, proc.stderr, names)
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    assert all(n in proc.stderr for n in names), proc.stderr
    assert proc.stdout == ""
    assert checksum(tmp_path) == before
