"""Modules and functions of ``src/personax`` stay small (issue 14): no module over 500 lines,
no function over 80 lines of code, in every package (``crl/`` included since its split).

Counting rules
--------------
* a module: its physical lines (``wc -l``);
* a function (or method): the lines from its first decorator or ``def`` to its last line,
  without its docstring, blank lines and comment-only lines — what a reviewer reads as code.
  A nested function counts inside its parent and on its own.

Anything over a limit must be split along its seams, or be named in the allow-lists below
with the reason.  The lists only shrink: an entry that is no longer over its limit fails the
test too, so it is removed when its file is fixed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import personax

PACKAGE = Path(personax.__file__).parent
EXCLUDED: tuple[str, ...] = ()  # crl/ included since its split (issue 14, deliverable 5)
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80

#: Modules over the limit, ``path relative to src/personax -> why it is not split yet``.
#: Empty: every module fits (issue 14).  Add an entry only with its reason.
MODULE_ALLOW: dict[str, str] = {}
#: Functions over the limit, ``"path:Qualified.name" -> why``.  Empty, as above.
FUNCTION_ALLOW: dict[str, str] = {}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in EXCLUDED:
            continue
        yield rel.as_posix(), path.read_text(encoding="utf-8")


def code_lines(lines: list[str], node: ast.AST) -> int:
    """Lines of code of a function: no docstring, blank or comment-only lines (see the module docstring)."""
    skip: set[int] = set()
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        skip = set(range(body[0].lineno, body[0].end_lineno + 1))
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return sum(1 for i in range(start, node.end_lineno + 1)
               if i not in skip and lines[i - 1].strip() and not lines[i - 1].strip().startswith("#"))


def _functions(text: str):
    lines = text.splitlines()

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                yield name, code_lines(lines, child)
                yield from walk(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")
            else:
                yield from walk(child, prefix)

    yield from walk(ast.parse(text), "")


def test_code_lines_follow_the_stated_rule():
    text = 'def f(x):\n    """Doc.\n\n    More.\n    """\n    # a comment\n\n    y = x\n    return y\n'
    assert dict(_functions(text)) == {"f": 3}


def test_no_module_over_the_limit():
    sizes = {rel: len(text.splitlines()) for rel, text in _modules()}
    over = {rel: n for rel, n in sizes.items() if n > MAX_MODULE_LINES and rel not in MODULE_ALLOW}
    assert not over, (f"modules over {MAX_MODULE_LINES} lines (split them along their seams, re-exporting the "
                      f"public names from the old path): {over}")
    stale = [rel for rel in MODULE_ALLOW if sizes.get(rel, 0) <= MAX_MODULE_LINES]
    assert not stale, f"allow-listed modules now within {MAX_MODULE_LINES} lines (or gone): remove {stale}"


def test_no_function_over_the_limit():
    sizes = {f"{rel}:{name}": n for rel, text in _modules() for name, n in _functions(text)}
    over = {k: n for k, n in sizes.items() if n > MAX_FUNCTION_LINES and k not in FUNCTION_ALLOW}
    assert not over, f"functions over {MAX_FUNCTION_LINES} lines of code (split them into named steps): {over}"
    stale = [k for k in FUNCTION_ALLOW if sizes.get(k, 0) <= MAX_FUNCTION_LINES]
    assert not stale, f"allow-listed functions now within {MAX_FUNCTION_LINES} lines (or gone): remove {stale}"
