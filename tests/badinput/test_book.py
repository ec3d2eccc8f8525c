"""``personax book``: bad requests change nothing; a failed render keeps the previous HTML."""

from __future__ import annotations

import pytest

AREA = "personax book"


def test_missing_executed_pages(bad, tiny_book):
    book = tiny_book(executed=False)
    (book / "_build" / "html").mkdir(parents=True)
    (book / "_build" / "html" / "index.html").write_text("<html>earlier</html>")
    bad(["book", "--root", book, "--no-execute"], code=1, names=["book/executed/01_tiny", "no file"],
        watch=[book])


def test_root_that_is_not_a_book(bad, tmp_path):
    bad(["book", "--root", tmp_path, "--no-execute"], code=2, names=["no _toc.yml"], watch=[tmp_path])


def test_override_no_notebook_declares(bad, tiny_book):
    book = tiny_book()
    bad(["book", "--root", book, "-p", "alhpa", "0.1"], code=2, names=["['alhpa']", "'scale'"], watch=[book])


def test_bad_value_stops_every_notebook_before_running(bad, tiny_book):
    book = tiny_book()
    bad(["book", "--root", book, "-p", "scale", "-1"], code=2,
        names=["01_tiny: parameter scale=-1", ">= 0", "nothing was executed"], watch=[book])


def test_overrides_with_no_execute(bad, tiny_book):
    book = tiny_book()
    bad(["book", "--root", book, "--no-execute", "-p", "n", "5"], code=2, names=["--no-execute", "-p n"],
        watch=[book])


def test_unknown_profile(bad, tiny_book):
    book = tiny_book()
    bad(["book", "--root", book, "--profile", "fast"], code=2, names=["--profile", "'fast'"], watch=[book])


def test_failed_notebook_leaves_the_book_alone(bad, tiny_book):
    book = tiny_book(body='raise RuntimeError("planted")')
    bad(["book", "--root", book], code=1,
        names=["01_tiny failed", "book not rendered", "is unchanged"], watch=[book],
        created=["01_tiny.failed.ipynb", "01_tiny.failed.provenance.json"])


@pytest.mark.slow
def test_failed_render_keeps_the_previous_html(bad, tiny_book):
    book = tiny_book()
    # a broken cross-reference is a Sphinx warning, an error under -W
    (book / "book" / "intro.md").write_text("# Tiny book\n\nSee {ref}`no-such-label`.\n")
    bad(["book", "--root", book, "--no-execute"], code=1,
        names=["jupyter-book build failed", "_build/html is unchanged"], watch=[book / "_build", book / "book"])
    assert not list((book / "_build").glob(".staging-*")), "the staging folder is removed"
