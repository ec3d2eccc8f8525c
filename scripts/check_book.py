#!/usr/bin/env python3
"""Check the rendered book in headless Chromium: every page loads, offline, without errors.

For every HTML page of ``_build/html`` (run this under ``scripts/offline.sh``):

* static checks on the HTML Sphinx wrote: no ``script``/``link``/``img``/``iframe``/...
  loads a remote (http/https) resource (plain ``<a href>`` hyperlinks are fine); notebook
  pages contain at least one figure in a cell output; no error output (traceback blocks,
  ``output_error``, stderr blocks that carry a traceback or ``...Error:``); CSS under
  ``_static`` imports nothing remote; every notebook page carries the runner's provenance
  record (read from ``_sources``), and pages built on the synthetic sample say so
  ("Synthetic sample ...", "Synthetic benchmarks ..." — see ``SYNTHETIC_NOTICE``);
* clean pages: no stderr, warning, progress-bar or widget output in any cell of the
  executed notebook behind a page (``_sources/<page>.ipynb``; each problem names the page,
  the cell and the fix), no character of the page's text that no installed font draws
  (fontconfig ``fc-list``, plus ``KNOWN_MISSING_GLYPHS`` such as ``⫫``: write it in
  MathJax), no relative link to a file missing from the build, no ``*.md`` document
  named in the text that is neither a page of the book nor a file of the repository, and
  no figure whose smallest label is under 9 pt at the book's width (measured by the
  runner when the figure was displayed; ``--fonts-not-enforced REGEX`` reports without
  failing, for pages being reworked);
* a headline above the fold: every executed notebook page carries, under its title, the
  box ``personax-headline`` (a Jupyter Book admonition) saying what it reproduces and its
  headline result, with the glued sentence present (an unresolved ``{glue:md}`` leaves
  the box without its "Paper" / "Reproduced here" text);
* browser checks (``chromium --headless --dump-dom``): the page loads (non-empty DOM with a
  title, or is a redirect to an existing page), MathJax rendered (``mjx-container``) on
  every page with math, no remote resource appears in the DOM after JavaScript ran, and
  Chromium's network log shows no request initiated by the page;
* above-the-fold screenshots of the intro and of every notebook page, and a report
  (``report.md`` + ``report.json``) in the output folder.

Exit status: 0 when every page passes, 1 otherwise, 2 for usage errors (no pages, no
Chromium without ``--no-browser``).

Usage::

    scripts/offline.sh .venv/bin/python scripts/check_book.py --html _build/html --out build/book_check
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

# Attributes through which a tag *loads* something (as opposed to a hyperlink).
RESOURCE_ATTRS = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "source": ("src", "srcset"),
    "track": ("src",),
    "input": ("src",),
}
# <link rel=...> values that fetch the target.
LOADING_LINK_RELS = {"stylesheet", "icon", "shortcut", "apple-touch-icon", "preload", "prefetch",
                     "modulepreload", "manifest", "dns-prefetch", "preconnect", "mask-icon", "import"}
REMOTE = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
CSS_REMOTE = re.compile(r"(@import\s+(url\()?\s*['\"]?\s*(https?:)?//|url\(\s*['\"]?\s*(https?:)?//)", re.IGNORECASE)
ERROR_TEXT = re.compile(r"Traceback \(most recent call last\)|^\s*\w*(Error|Exception)\b.*:", re.MULTILINE)
FIGURE_SRC = re.compile(r"(\.(png|jpe?g|svg|gif|webp)(\?.*)?$)|^data:image/", re.IGNORECASE)
# How a page says plainly that it shows synthetic data ("Synthetic sample — not the released
# PersonaX data", the banner of personax.notebook.setup; "Synthetic benchmarks", ...).
SYNTHETIC_NOTICE = re.compile(r"\bsynthetic (sample|benchmarks?|data)\b", re.IGNORECASE)
# Documents a page sends readers to by name ("see `official-code.md` §2").
DOC_MENTION = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.md)\b")
# Inline TeX that MathJax typesets (\(...\), $...$ left as text in the static HTML)
_TEX_MATH = re.compile(r"\\\(|\\\[|\$[^$]+\$")
VOID_TAGS = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source", "track", "wbr"}
#: Characters no common font carries (checked even where fontconfig is missing), with the fix.
KNOWN_MISSING_GLYPHS = {
    "\u2aeb": r"MathJax $\perp\!\!\!\perp$ (independence)",
    "\u2aea": r"MathJax $\top\!\!\!\top$",
    "\u2ae8": r"MathJax",
}
# Output text that is noise on a page: warnings, progress bars (tqdm), logging records.
WARNING_TEXT = re.compile(r"\b\w*Warning\b[:(]|^\s*(WARNING|INFO|DEBUG)\b[:\s]", re.MULTILINE)
PROGRESS_TEXT = re.compile(r"\r|\d+%\|[^|]*\||\d+(\.\d+)?\s*(it|s)/(s|it)\]")
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@dataclass
class PageFacts:
    """What one HTML document contains (from the file, or from the DOM after JavaScript)."""

    title: str = ""
    redirect: str | None = None
    is_notebook: bool = False
    figures: int = 0
    has_math: bool = False
    mathjax_rendered: bool = False
    remote_resources: list[str] = field(default_factory=list)
    error_outputs: list[str] = field(default_factory=list)
    stderr_outputs: list[str] = field(default_factory=list)
    sample_banner: bool = False
    size: int = 0
    text_chars: set[str] = field(default_factory=set)
    links: list[str] = field(default_factory=list)
    doc_mentions: list[str] = field(default_factory=list)
    headline: str | None = None  # text of the div.personax-headline box, None when the page has none


class _PageParser(HTMLParser):
    """Collects :class:`PageFacts` in one pass over a document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.facts = PageFacts()
        self._in_title = False
        self._div_stack: list[str] = []  # role of each open div: "output", "error", "stderr", ""
        self._capture: list[str] | None = None
        self._capture_kind = ""
        self._capture_depth = 0
        self._in_style = False
        self._style: list[str] = []
        self._in_script = False
        self._math_depth = 0  # > 0 inside span/div.math: MathJax draws it, no font needed
        self._tag_stack: list[tuple[str, bool]] = []
        self._headline: list[str] | None = None
        self._headline_depth = 0

    # -- helpers
    def _output_depth(self) -> bool:
        return "output" in self._div_stack

    def handle_starttag(self, tag, attrs):
        a = {k.lower(): (v or "") for k, v in attrs}
        classes = set(a.get("class", "").split())
        if tag == "title":
            self._in_title = True
        elif tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            match = re.search(r"url\s*=\s*(.+)$", a.get("content", ""), re.IGNORECASE)
            if match:
                self.facts.redirect = match.group(1).strip().strip("'\"")
        elif tag == "style":
            self._in_style = True
        elif tag == "script":
            self._in_script = True
        if tag in ("span", "div") and tag not in VOID_TAGS:
            is_math = "math" in classes or "mathjax_process" in classes
            self._tag_stack.append((tag, is_math))
            if is_math:
                self._math_depth += 1
        if tag == "mjx-container":
            self.facts.mathjax_rendered = True
        if "math" in classes and tag in ("span", "div"):
            self.facts.has_math = True
        if tag == "div":
            role = ""
            if "cell" in classes and "docutils" in classes:
                self.facts.is_notebook = True
            if "cell_output" in classes:
                role = "output"
                self.facts.is_notebook = True
            if "traceback" in classes or "output_error" in classes or "error" in classes and "output" in classes:
                role = "error"
            elif "stderr" in classes or "output_stderr" in classes:
                role = "stderr"
            self._div_stack.append(role)
            if "personax-headline" in classes and self.facts.headline is None and self._headline is None:
                self._headline, self._headline_depth = [], len(self._div_stack)
            if role in ("error", "stderr") and self._capture is None:
                self._capture, self._capture_kind, self._capture_depth = [], role, len(self._div_stack)
        # remote resources
        for attr in RESOURCE_ATTRS.get(tag, ()):
            value = a.get(attr, "")
            urls = [part.strip().split(" ")[0] for part in value.split(",")] if attr == "srcset" else [value]
            for url in urls:
                if url and REMOTE.match(url):
                    self.facts.remote_resources.append(f"<{tag} {attr}={url}>")
        if tag == "link":
            rels = set(a.get("rel", "").lower().split())
            href = a.get("href", "")
            if rels & LOADING_LINK_RELS and REMOTE.match(href):
                self.facts.remote_resources.append(f"<link rel={a.get('rel')} href={href}>")
        if tag == "img" and self._output_depth() and FIGURE_SRC.search(a.get("src", "")):
            self.facts.figures += 1
        if tag == "a" and a.get("href"):
            self.facts.links.append(a["href"])

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag == "div":  # <div/> is not valid HTML, but never leave the stack unbalanced
            self._close_div()

    def _close_div(self):
        if self._headline is not None and len(self._div_stack) == self._headline_depth:
            self.facts.headline = " ".join("".join(self._headline).split())
            self._headline = None
        if self._capture is not None and len(self._div_stack) == self._capture_depth:
            text = "".join(self._capture).strip()
            (self.facts.error_outputs if self._capture_kind == "error" else self.facts.stderr_outputs).append(text)
            self._capture = None
        if self._div_stack:
            self._div_stack.pop()

    def handle_endtag(self, tag):
        if tag in ("span", "div"):
            # pop the innermost open span/div of this name (tolerates sloppy nesting)
            for i in range(len(self._tag_stack) - 1, -1, -1):
                if self._tag_stack[i][0] == tag:
                    if self._tag_stack[i][1]:
                        self._math_depth -= 1
                    del self._tag_stack[i]
                    break
        if tag == "script":
            self._in_script = False
        if tag == "title":
            self._in_title = False
        elif tag == "style":
            self._in_style = False
            css = "".join(self._style)
            self._style = []
            for match in CSS_REMOTE.finditer(css):
                self.facts.remote_resources.append(f"<style> {match.group(0)}")
        elif tag == "div":
            self._close_div()

    def handle_data(self, data):
        if SYNTHETIC_NOTICE.search(data):
            self.facts.sample_banner = True
        if self._in_title:
            self.facts.title += data
        if self._in_style:
            self._style.append(data)
        if self._capture is not None:
            self._capture.append(data)
        if self._headline is not None:
            self._headline.append(data)
        if not (self._in_style or self._in_script or self._in_title):
            if self._math_depth == 0 and not _TEX_MATH.search(data):
                self.facts.text_chars.update(ch for ch in data if ord(ch) > 0x7F)
            self.facts.doc_mentions += DOC_MENTION.findall(data)


def parse_page(html: str) -> PageFacts:
    """Facts about one HTML document (see :class:`PageFacts`)."""
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    facts = parser.facts
    facts.title = " ".join(facts.title.split())
    facts.size = len(html)
    # stderr blocks that carry a traceback or an exception are errors, others are warnings
    for text in list(facts.stderr_outputs):
        if ERROR_TEXT.search(text):
            facts.error_outputs.append(text)
    return facts


def static_problems(facts: PageFacts, *, require_figures: bool = True, check_stderr: bool = True) -> list[str]:
    """Problems visible in the HTML file itself.

    ``check_stderr``: report stderr blocks (warnings, progress bars) found in the HTML; the
    book check turns it off for pages whose executed notebook is available, because
    :func:`notebook_output_problems` names the cell.
    """
    problems = []
    if facts.redirect is None and not facts.title:
        problems.append("no <title>")
    problems += [f"remote resource {r}" for r in facts.remote_resources]
    problems += [f"error output: {_first_line(t)}" for t in facts.error_outputs]
    if check_stderr:
        problems += [f"stderr output on the page: {_first_line(t)!r} (silence it where the package calls the "
                     "library, see personax.utils.quiet_third_party)"
                     for t in facts.stderr_outputs if not ERROR_TEXT.search(t)]
    if facts.is_notebook and require_figures and facts.figures == 0:
        problems.append("notebook page without any figure (no image output in a cell)")
    return problems


def dom_problems(dom: str, static: PageFacts) -> list[str]:
    """Problems in the DOM Chromium produced after running the page's JavaScript."""
    if not dom.strip():
        return ["page did not load (empty DOM)"]
    facts = parse_page(dom)
    problems = []
    if static.redirect is None and not facts.title:
        problems.append("no <title> after load")
    if static.has_math and not facts.mathjax_rendered:
        problems.append("math on the page but MathJax did not render it (no mjx-container)")
    problems += [f"remote resource in DOM {r}" for r in facts.remote_resources if r not in static.remote_resources]
    return problems


def page_requests(netlog: Path) -> list[str]:
    """http(s) URLs the *page* asked for, from a Chromium ``--log-net-log`` file.

    Chromium's own background services (component updater, time sync) also appear in the
    log; they have no initiating origin (``"not an origin"``) and are ignored, since they
    are browser behaviour, not the book's.
    """
    if not netlog.exists():
        return []
    text = netlog.read_text(encoding="utf-8", errors="replace").rstrip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        # Chromium may leave the trailing "]}" off when killed at the time budget
        try:
            data = json.loads(text.rstrip(",") + "]}")
        except json.JSONDecodeError:
            return [f"unreadable net log {netlog}"]
    names = {v: k for k, v in data.get("constants", {}).get("logEventTypes", {}).items()}
    urls = []
    for event in data.get("events", []):
        params = event.get("params") or {}
        url = params.get("url", "")
        if names.get(event.get("type")) != "URL_REQUEST_START_JOB" or not REMOTE.match(url):
            continue
        if params.get("initiator", "not an origin") == "not an origin":
            continue
        urls.append(url)
    return sorted(set(urls))


def page_provenance(html_dir: Path, rel: str) -> dict | None:
    """Provenance record of the executed notebook behind a page, from the copy in ``_sources``.

    Jupyter Book copies each source to ``_sources/<page>.ipynb``; the runner stored the
    record under ``metadata["personax"]["provenance"]``.  None for pages without one.
    """
    source = html_dir / "_sources" / (rel[: -len(".html")] + ".ipynb")
    if not source.exists():
        return None
    try:
        meta = json.loads(source.read_text(encoding="utf-8")).get("metadata", {})
    except json.JSONDecodeError:
        return None
    record = meta.get("personax", {}).get("provenance")
    return record if isinstance(record, dict) else None


def provenance_problems(facts: PageFacts, record: dict | None) -> list[str]:
    """A notebook page needs a provenance record, and the sample banner when built on the sample."""
    if not facts.is_notebook:
        return []
    if record is None:
        return ["notebook page without provenance (execute it with `personax run`, not by hand)"]
    problems = []
    if record.get("parameters", {}).get("source") == "sample" and not facts.sample_banner:
        problems.append("built on the synthetic sample but the page does not say so "
                        "(no 'Synthetic sample' banner from personax.notebook.setup)")
    if record.get("runner", {}).get("status") not in (None, "ok"):
        problems.append(f"the notebook run failed: {record['runner'].get('error')}")
    return problems


#: What the headline box must say once its glued sentence is pasted (personax.headlines).
HEADLINE_TEXT = re.compile(r"Reproduced here|Beyond the paper", re.IGNORECASE)


def headline_problems(facts: PageFacts, record: dict | None) -> list[str]:
    """An executed notebook page opens with the headline box, and the box carries its sentence."""
    if not facts.is_notebook or record is None:
        return []
    if facts.headline is None:
        return ["no headline box under the title: add the 'personax-headline' admonition to the title cell "
                "(what the page reproduces, paper vs this run; see personax.headlines)"]
    if not HEADLINE_TEXT.search(facts.headline):
        return [f"the headline box has no result ({facts.headline[:120]!r}): the glued sentence is missing — "
                "the notebook must call personax.headlines.glue_markdown with the key its {glue:md} names"]
    return []


# --------------------------------------------------------------------------- clean pages

def page_source(rel: str) -> str:
    """The file a reader's fix goes into: ``book/executed/04_x.html`` → ``notebooks/04_x.py``."""
    stem = rel[: -len(".html")] if rel.endswith(".html") else rel
    if stem.startswith("book/executed/"):
        return f"notebooks/{stem.split('/')[-1]}.py"
    return stem + ".md"


def _cell_label(cell: dict, index: int) -> str:
    count = cell.get("execution_count")
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    first = next((line.strip() for line in source.splitlines() if line.strip()), "")
    return f"cell {index}" + (f" (In [{count}])" if count else "") + (f" `{first[:60]}`" if first else "")


def _output_text(output: dict) -> str:
    if "text" in output:
        text = output["text"]
    else:
        text = output.get("data", {}).get("text/plain", "")
    return "".join(text) if isinstance(text, list) else str(text)


def notebook_output_problems(nb: dict, rel: str = "") -> list[str]:
    """Noise in the outputs of an executed notebook: stderr, warnings, progress bars, widgets.

    Every problem names the cell (index, execution count, first source line) and the fix.
    Errors are left to :func:`static_problems` (tracebacks); this is about pages that ran
    but print what a reader should not see.
    """
    where = page_source(rel) if rel else "the notebook"
    problems = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            text = _output_text(output)
            warned = [line.strip() for line in text.splitlines() if WARNING_TEXT.search(line)]
            first = (warned[0][:200] if warned else _first_line(text.replace("\r", "\n")))
            if kind == "error":
                continue
            if kind == "stream" and output.get("name") == "stderr":
                if ERROR_TEXT.search(text) and not WARNING_TEXT.search(text):
                    continue  # a traceback on stderr: reported as an error output
                what = "progress bar" if PROGRESS_TEXT.search(text) else "stderr output"
                problems.append(f"{_cell_label(cell, index)}: {what} {first!r} — silence it at its source in the "
                                f"package (personax.utils.quiet_third_party / personax.utils.progress), not in {where}")
            elif WARNING_TEXT.search(text) or (kind == "stream" and PROGRESS_TEXT.search(text)):
                what = "progress bar" if PROGRESS_TEXT.search(text) and not WARNING_TEXT.search(text) else "warning"
                problems.append(f"{_cell_label(cell, index)}: {what} in the output {first!r} — fix the cause or "
                                f"silence it in the package; pages show results, not logs ({where})")
            if WIDGET_MIME in output.get("data", {}):
                problems.append(f"{_cell_label(cell, index)}: an ipywidgets output (renders as nothing in the "
                                f"static book); use personax.utils.progress or a static display ({where})")
    return problems


def page_notebook(html_dir: Path, rel: str) -> dict | None:
    """The executed notebook behind a page (Jupyter Book's copy in ``_sources``), or None."""
    source = html_dir / "_sources" / (rel[: -len(".html")] + ".ipynb")
    if not source.exists():
        return None
    try:
        return json.loads(source.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None


#: Smallest label size at the book's width (personax.plots.layout.MIN_FONT_PT; not
#: imported so the check runs without the package).
MIN_FONT_PT = 9.0


def figure_problems(nb: dict, rel: str = "") -> list[str]:
    """Figures whose smallest label is under :data:`MIN_FONT_PT` at the book's width.

    Reads the runner's measurements (``metadata["personax"]["figures"]``, one record per
    displayed figure, from ``personax.plots.layout.audit_displayed_figures``).  A notebook
    page executed without them is reported once, since its figures cannot be checked.
    """
    meta = nb.get("metadata", {}).get("personax", {})
    if "provenance" not in meta:
        return []  # not a runner-executed notebook: provenance_problems says so
    records = meta.get("figures")
    if records is None:
        has_images = any("image/png" in o.get("data", {}) for c in nb.get("cells", []) for o in c.get("outputs", []))
        return (["figures were not measured (execute with `personax run`, which records each figure's label "
                 "sizes)"] if has_images else [])
    cells = {c.get("execution_count"): (i, c) for i, c in enumerate(nb.get("cells", [])) if c.get("cell_type") == "code"}
    problems = []
    for rec in records:
        if rec.get("min_font_pt", MIN_FONT_PT) >= MIN_FONT_PT:
            continue
        index, cell = cells.get(rec.get("execution_count"), (None, {}))
        where = _cell_label(cell, index) if index is not None else f"In [{rec.get('execution_count')}]"
        problems.append(f"{where}: a figure {rec.get('width_in')} × {rec.get('height_in')} in has labels of "
                        f"{rec['min_font_pt']:.1f} pt at the book's width (need ≥ {MIN_FONT_PT:g} pt): draw it at most "
                        f"6.7 in wide with larger fonts, or one panel per row (personax.plots.layout), in the "
                        f"plotting function {page_source(rel) if rel else ''} calls")
    return problems


_GLYPH_CACHE: dict[str, bool] = {}


def has_font(char: str) -> bool | None:
    """Whether an installed font carries ``char`` (fontconfig ``fc-list``); None without fontconfig."""
    if char in KNOWN_MISSING_GLYPHS:
        return False
    if char not in _GLYPH_CACHE:
        fc_list = shutil.which("fc-list")
        if fc_list is None:
            return None
        try:
            proc = subprocess.run([fc_list, f":charset={ord(char):x}", "family"], capture_output=True, text=True,
                                  timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        _GLYPH_CACHE[char] = bool(proc.stdout.strip())
    return _GLYPH_CACHE[char]


def glyph_problems(facts: PageFacts, rel: str = "") -> list[str]:
    """Characters of the page's text that no installed font (or no common font) can draw."""
    import unicodedata

    problems = []
    for char in sorted(facts.text_chars):
        if unicodedata.category(char) in ("Zs", "Cc", "Cf", "Mn"):
            continue  # spaces, controls, joiners, combining marks
        if has_font(char) is False:
            fix = KNOWN_MISSING_GLYPHS.get(char, "MathJax ($...$) or a character the fonts carry")
            name = unicodedata.name(char, "unnamed")
            problems.append(f"glyph {char!r} (U+{ord(char):04X} {name}) has no font: it renders as an empty box; "
                            f"write it as {fix} in {page_source(rel) if rel else 'the source'}")
    return problems


def link_problems(facts: PageFacts, html_dir: Path, rel: str, repo: Path | None) -> list[str]:
    """Links to files that are not in the built book, and ``*.md`` documents that exist nowhere.

    Relative ``<a href>`` targets must exist under ``html_dir``.  A document named in the
    text (``official-code.md``) must be a page of the book or a file of the repository
    (``repo``), else the reader is sent to something they cannot open.
    """
    problems = []
    page = html_dir / rel
    for href in dict.fromkeys(facts.links):
        parsed = urlparse(href)
        if parsed.scheme or href.startswith(("#", "//", "mailto:")) or not parsed.path:
            continue
        target = (page.parent / unquote(parsed.path)).resolve()
        if not target.exists():
            problems.append(f"link to {href!r}, which is not in the built book (fix the link in "
                            f"{page_source(rel)})")
    if repo is not None:
        book_pages = {p.stem for p in html_dir.rglob("*.html")}
        for name in dict.fromkeys(facts.doc_mentions):
            if Path(name).stem in book_pages or (repo / name).exists() or list(repo.glob(f"*/{name}")):
                continue
            problems.append(f"the text sends readers to {name!r}, which is neither a page of the book nor a file "
                            f"of the repository (name what it says instead, in {page_source(rel)})")
    return problems


def find_chromium(explicit: str | None = None) -> str | None:
    """Path of a Chromium/Chrome binary (``--chromium``, ``$CHROMIUM``, then ``PATH``)."""
    for name in (explicit, os.environ.get("CHROMIUM"), *CHROMIUM_NAMES):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def chromium_args(chromium: str, profile_dir: str) -> list[str]:
    """Flags for a quiet, sandbox-free (root in CI), network-shy headless Chromium."""
    return [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-default-apps", "--disable-extensions", "--hide-scrollbars", "--mute-audio",
            f"--user-data-dir={profile_dir}", "--window-size=1280,1000", "--virtual-time-budget=8000"]


def run_chromium(chromium: str, url: str, *, dump_dom: bool = True, screenshot: Path | None = None,
                 netlog: Path | None = None, timeout: float = 60) -> str:
    """Load ``url`` headless; return the DOM (``--dump-dom``) or write a screenshot."""
    with tempfile.TemporaryDirectory(prefix="personax-chromium-") as profile:
        cmd = chromium_args(chromium, profile)
        if netlog is not None:
            cmd.append(f"--log-net-log={netlog}")
        if screenshot is not None:
            cmd += [f"--screenshot={screenshot}", "--window-size=1280,1600"]
        elif dump_dom:
            cmd.append("--dump-dom")
        cmd.append(url)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return ""
        return proc.stdout


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    interesting = [line for line in lines if ERROR_TEXT.search(line)]
    return (interesting or lines or [""])[-1].strip()[:200]


def list_pages(html_dir: Path) -> list[Path]:
    """HTML pages of the build (not the theme's static files or the copied sources)."""
    skip = {"_static", "_sources", "_images", ".doctrees", "_downloads"}
    return sorted(p for p in html_dir.rglob("*.html") if not (set(p.relative_to(html_dir).parts[:-1]) & skip))


@dataclass
class PageResult:
    page: str
    title: str
    notebook: bool
    source: str | None
    profile: str | None
    figures: int
    math: bool
    mathjax: bool | None
    remote: int
    errors: int
    stderr_warnings: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_css(html_dir: Path) -> list[str]:
    """Remote ``@import``/``url()`` in the CSS that ships with the book."""
    problems = []
    for css in sorted((html_dir / "_static").rglob("*.css")) if (html_dir / "_static").exists() else []:
        for match in CSS_REMOTE.finditer(css.read_text(encoding="utf-8", errors="replace")):
            problems.append(f"{css.relative_to(html_dir)}: remote {match.group(0)}")
    return problems


def check_book(html_dir: Path, out_dir: Path, *, chromium: str | None, require_figures: bool = True,
               allow_no_figures: tuple[str, ...] = (), echo: bool = True, repo: Path | None = None,
               fonts_not_enforced: tuple[str, ...] = ()) -> tuple[list[PageResult], list[str]]:
    """Check every page; return per-page results and book-wide problems."""
    pages = list_pages(html_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results: list[PageResult] = []
    global_problems = check_css(html_dir)
    netlog_dir = Path(tempfile.mkdtemp(prefix="personax-netlog-"))
    for index, page in enumerate(pages):
        rel = page.relative_to(html_dir).as_posix()
        facts = parse_page(page.read_text(encoding="utf-8", errors="replace"))
        needs_figures = require_figures and not any(re.search(p, rel) for p in allow_no_figures)
        executed = page_notebook(html_dir, rel)
        problems = static_problems(facts, require_figures=needs_figures, check_stderr=executed is None)
        if executed is not None:
            problems += notebook_output_problems(executed, rel)
            small = figure_problems(executed, rel)
            if any(re.search(p, rel) for p in fonts_not_enforced):
                if small and echo:
                    print(f"[check_book] {rel}: {len(small)} figure(s) with small labels, NOT ENFORCED "
                          f"(--fonts-not-enforced): {'; '.join(small)[:300]}", flush=True)
            else:
                problems += small
        problems += glyph_problems(facts, rel)
        problems += link_problems(facts, html_dir, rel, repo)
        record = page_provenance(html_dir, rel)
        problems += provenance_problems(facts, record)
        problems += headline_problems(facts, record)
        if facts.redirect is not None:
            target = (page.parent / unquote(urlparse(facts.redirect).path)).resolve()
            if not target.exists():
                problems.append(f"redirects to a missing page {facts.redirect}")
        mathjax = None
        if chromium:
            netlog = netlog_dir / f"{index}.json"
            dom = run_chromium(chromium, page.resolve().as_uri(), netlog=netlog)
            problems += dom_problems(dom, facts)
            mathjax = parse_page(dom).mathjax_rendered if dom else False
            problems += [f"page requested {url}" for url in page_requests(netlog)]
        params = (record or {}).get("parameters", {})
        results.append(PageResult(page=rel, title=facts.title, notebook=facts.is_notebook,
                                  source=params.get("source"), profile=params.get("profile"), figures=facts.figures,
                                  math=facts.has_math, mathjax=mathjax, remote=len(facts.remote_resources),
                                  errors=len(facts.error_outputs),
                                  stderr_warnings=len(facts.stderr_outputs) - sum(
                                      1 for t in facts.stderr_outputs if ERROR_TEXT.search(t)),
                                  problems=problems))
        if echo:
            if not problems:
                print(f"[check_book] {rel}: ok", flush=True)
            else:
                print(f"[check_book] {rel} (source {page_source(rel)}): FAIL", flush=True)
                for problem in problems:
                    print(f"[check_book]   - {problem}", flush=True)
    shutil.rmtree(netlog_dir, ignore_errors=True)
    return results, global_problems


def take_screenshots(html_dir: Path, out_dir: Path, chromium: str, results: list[PageResult]) -> list[Path]:
    """Above-the-fold screenshots (1280 × 1600) of the intro and of every notebook page.

    ``screenshot_intro.png`` and ``screenshot_<page>.png`` (e.g.
    ``screenshot_04_independence.png``); the first notebook page is also saved as
    ``screenshot_notebook.png``.  These are what a reviewer looks at.
    """
    shots = []
    intro = next((r for r in results if r.page.endswith("intro.html")), None)
    notebooks = [r for r in results if r.notebook]
    targets = [("intro", intro)] + [(Path(r.page).stem, r) for r in notebooks]
    for label, result in targets:
        if result is None:
            continue
        target = out_dir / f"screenshot_{label}.png"
        run_chromium(chromium, (html_dir / result.page).resolve().as_uri(), dump_dom=False, screenshot=target)
        if target.exists():
            shots.append(target)
            if notebooks and result is notebooks[0]:
                shutil.copyfile(target, out_dir / "screenshot_notebook.png")
                shots.append(out_dir / "screenshot_notebook.png")
    return shots


def write_report(out_dir: Path, results: list[PageResult], global_problems: list[str], shots: list[Path],
                 browser: bool, wall_s: float) -> Path:
    """``report.md`` (human) and ``report.json`` (machine) in ``out_dir``."""
    ok = all(r.ok for r in results) and not global_problems
    lines = [
        "# Book check",
        "",
        f"Result: **{'PASS' if ok else 'FAIL'}** — {len(results)} pages, "
        f"{sum(r.notebook for r in results)} notebook pages, {sum(r.figures for r in results)} figures, "
        f"browser checks {'on' if browser else 'OFF (--no-browser)'}, {wall_s:.1f} s.",
        "",
        "| page | title | notebook (source, profile) | figures | math | MathJax | remote | errors "
        "| stderr (warnings) | problems |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        nb = f"yes ({r.source}, {r.profile})" if r.notebook else ""
        lines.append(f"| {r.page} | {r.title[:50]} | {nb} | {r.figures} | "
                     f"{'yes' if r.math else ''} | {'' if r.mathjax is None else ('yes' if r.mathjax else 'no')} | "
                     f"{r.remote} | {r.errors} | {r.stderr_warnings} | {'; '.join(r.problems) or 'ok'} |")
    if global_problems:
        lines += ["", "Book-wide problems:", ""] + [f"- {p}" for p in global_problems]
    if shots:
        lines += ["", "Screenshots: " + ", ".join(s.name for s in shots)]
    report = out_dir / "report.md"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out_dir / "report.json").write_text(json.dumps({
        "ok": ok, "browser": browser, "wall_s": round(wall_s, 2), "global_problems": global_problems,
        "pages": [asdict(r) | {"ok": r.ok} for r in results], "screenshots": [str(s) for s in shots],
    }, indent=2) + "\n", encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", type=Path, default=Path("_build/html"), help="built book (default _build/html)")
    parser.add_argument("--out", type=Path, default=Path("build/book_check"),
                        help="report and screenshots folder (default build/book_check)")
    parser.add_argument("--chromium", default=None, help="Chromium binary (default: chromium on PATH)")
    parser.add_argument("--no-browser", action="store_true", help="static HTML checks only (weaker; prints a warning)")
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1],
                        help="repository the pages may name files of (default: this checkout)")
    parser.add_argument("--fonts-not-enforced", action="append", default=[], metavar="REGEX",
                        help="pages (path regex) whose figure label sizes are reported but not enforced")
    parser.add_argument("--allow-no-figures", action="append", default=[], metavar="REGEX",
                        help="notebook pages (path regex) allowed to have no figure")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    if not args.html.is_dir() or not list_pages(args.html):
        print(f"[check_book] error: no HTML pages under {args.html}; build the book first (make book)", file=sys.stderr)
        return 2
    chromium = None
    if not args.no_browser:
        chromium = find_chromium(args.chromium)
        if chromium is None:
            print("[check_book] error: no Chromium found (apt-get install -y chromium), or pass --no-browser",
                  file=sys.stderr)
            return 2
    else:
        print("[check_book] WARNING: --no-browser: pages are not loaded, MathJax and requests are not checked",
              file=sys.stderr)
    results, global_problems = check_book(args.html, args.out, chromium=chromium,
                                          allow_no_figures=tuple(args.allow_no_figures), repo=args.repo,
                                          fonts_not_enforced=tuple(args.fonts_not_enforced))
    shots = take_screenshots(args.html, args.out, chromium, results) if chromium else []
    report = write_report(args.out, results, global_problems, shots, chromium is not None, time.perf_counter() - t0)
    for problem in global_problems:
        print(f"[check_book] FAIL: {problem}")
    failed = [r for r in results if not r.ok]
    print(f"[check_book] {len(results) - len(failed)}/{len(results)} pages ok; report: {report}")
    return 1 if failed or global_problems else 0


if __name__ == "__main__":
    sys.exit(main())
