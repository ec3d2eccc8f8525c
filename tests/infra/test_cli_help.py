"""``personax --help`` and the --help of every (sub)command exit 0."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from personax.cli import build_parser, main


def _commands(parser: argparse.ArgumentParser, prefix=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield prefix + (name,)
                yield from _commands(sub, prefix + (name,))


COMMANDS = sorted(set(_commands(build_parser())))


def test_console_script_help():
    proc = subprocess.run([sys.executable, "-m", "personax.cli", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "usage: personax" in proc.stdout
    for command in ("run", "book"):
        assert command in proc.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_subcommand_help_exits_zero(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    assert "usage: personax " + " ".join(command) in capsys.readouterr().out


def test_run_needs_a_notebook_or_all(capsys):
    assert main(["run"]) == 2
    assert "give either a NOTEBOOK or --all" in capsys.readouterr().err
