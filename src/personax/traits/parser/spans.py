"""Reasoning blocks and JSON values located in free text (strict JSON, then Python literals)."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from typing import Any

from personax.traits.parser.result import _CLOSE_THINK_RE, _OPEN_THINK_RE, _THINK_RE


# ----------------------------------------------------------------------------------------
# reasoning blocks
# ----------------------------------------------------------------------------------------
def strip_thinking(text: str) -> tuple[str, bool]:
    """Remove ``<think>…</think>`` (also ``thinking``/``reasoning``) blocks.

    Returns the remaining text and whether an *unclosed* block swallowed the rest (a
    reply cut off while still reasoning), in which case the remainder is dropped.  A
    closing tag without an opening one (some servers strip the opening tag) keeps only
    the text after it.

    >>> strip_thinking("<think>maybe 1</think> {}")
    ('{}', False)
    """
    out = _THINK_RE.sub("\n", text)
    if _CLOSE_THINK_RE.search(out) and not _OPEN_THINK_RE.search(out):
        out = _CLOSE_THINK_RE.split(out)[-1]
    m = _OPEN_THINK_RE.search(out)
    if m:
        return out[: m.start()].strip(), True
    return out.strip(), False


# ----------------------------------------------------------------------------------------
# locating JSON values in free text
# ----------------------------------------------------------------------------------------
@dataclass
class _Span:
    start: int
    end: int
    value: Any = None
    ok: bool = False
    error: str = ""


class _Pairs(list):
    """A JSON object kept as its list of (key, value) pairs, so repeated keys stay visible."""


def _pairs_hook(pairs):
    return _Pairs(pairs)


def _loads(text: str) -> Any:
    """Strict JSON first; then the same with trailing commas removed; then a Python literal."""
    try:
        return json.loads(text, object_pairs_hook=_pairs_hook)
    except json.JSONDecodeError as exc:
        first = exc
    no_trailing = re.sub(r",(\s*[}\]])", r"\1", text)
    if no_trailing != text:
        try:
            return json.loads(no_trailing, object_pairs_hook=_pairs_hook)
        except json.JSONDecodeError:
            pass
    if "'" in text:
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except (SyntaxError, ValueError):
            tree = None
        if tree is not None:
            try:
                return _literal_pairs(tree.body)
            except ValueError:
                pass
    raise ValueError(f"invalid JSON ({first.msg} at char {first.pos})")


def _literal_pairs(node) -> Any:
    """ast.literal_eval that keeps dict key order and repeats (as _Pairs)."""
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise ValueError("dict unpacking")
        return _Pairs((_literal_pairs(k), _literal_pairs(v)) for k, v in zip(node.keys, node.values))
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal_pairs(e) for e in node.elts]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) \
            and isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float)):
        v = node.operand.value
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool, type(None))):
        return node.value
    raise ValueError("not a literal")


def _json_spans(text: str) -> tuple[list[_Span], list[_Span]]:
    """Top-level ``{...}``/``[...]`` spans: (parsed ones, unparseable ``{`` ones).

    Scans outside JSON strings; a span that fails to parse is reported and scanned
    inside for smaller parseable objects.  An object still open at the end of the text
    (truncated reply) is reported as unparseable.
    """
    parsed: list[_Span] = []
    broken: list[_Span] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch not in "{[":
            i += 1
            continue
        end = _match(text, i)
        if end is None:  # never closed: truncated
            if ch == "{":
                broken.append(_Span(i, n, error="unterminated object (reply cut off?)"))
            i += 1
            continue
        chunk = text[i:end + 1]
        try:
            value = _loads(chunk)
        except ValueError as exc:
            if ch == "{":
                broken.append(_Span(i, end + 1, error=str(exc)))
            i += 1
            continue
        parsed.append(_Span(i, end + 1, value, True))
        i = end + 1
    # a broken span that only encloses parsed ones and adds nothing trait-like is still broken
    return parsed, broken


def _match(text: str, start: int) -> int | None:
    """Index of the bracket closing the one at ``start`` (strings respected), or None."""
    stack: list[str] = []
    in_str: str | None = None
    esc = False
    pairs = {"{": "}", "[": "]"}
    for i in range(start, len(text)):
        ch = text[i]
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == in_str:
                in_str = None
            elif ch == "\n" and in_str == "'":
                in_str = None  # an apostrophe in prose, not a Python string
            continue
        if ch == '"' or (ch == "'" and stack and text[i - 1] in "{[,: \t\n"):
            in_str = ch
        elif ch in pairs:
            stack.append(pairs[ch])
        elif ch in "}]":
            if not stack or stack[-1] != ch:
                return None
            stack.pop()
            if not stack:
                return i
    return None
