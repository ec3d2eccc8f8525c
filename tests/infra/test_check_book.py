"""scripts/check_book.py: the HTML checks on small hand-written pages (and in Chromium when present)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

HEAD = "<html><head><title>{title}</title>{head}</head><body>{body}</body></html>"


def page(body="", head="", title="A page"):
    return HEAD.format(title=title, head=head, body=body)


NOTEBOOK_CELL = ('<div class="cell docutils container"><div class="cell_output docutils container">'
                 '{inner}</div></div>')
FIGURE = '<img alt="_images/fig.png" src="../_images/fig.png" />'


def test_clean_notebook_page_passes(check_book):
    html = page(NOTEBOOK_CELL.format(inner=FIGURE) + '<a href="https://arxiv.org/abs/2509.11362">paper</a>',
                head='<script src="../_static/mathjax/tex-mml-svg.js"></script>'
                     '<link rel="stylesheet" href="../_static/styles/theme.css" />'
                     '<link rel="canonical" href="https://example.org/page.html" />')
    facts = check_book.parse_page(html)
    assert facts.is_notebook and facts.figures == 1 and facts.title == "A page"
    assert check_book.static_problems(facts) == []


@pytest.mark.parametrize("head, body, expected", [
    ('<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>', "", "<script src="),
    ('<script src="//cdn.example.com/x.js"></script>', "", "<script src=//cdn"),
    ('<link rel="stylesheet" href="http://fonts.googleapis.com/css" />', "", "<link rel=stylesheet"),
    ('<link rel="preconnect" href="https://fonts.gstatic.com" />', "", "<link rel=preconnect"),
    ("", '<img src="https://example.org/a.png" />', "<img src="),
    ("", '<img src="a.png" srcset="a.png 1x, https://example.org/b.png 2x" />', "<img srcset="),
    ("", '<iframe src="https://www.youtube.com/embed/x"></iframe>', "<iframe src="),
    ('<style>@import url("https://fonts.googleapis.com/css2");</style>', "", "<style> @import"),
])
def test_remote_resources_are_flagged(check_book, head, body, expected):
    facts = check_book.parse_page(page(body, head))
    problems = check_book.static_problems(facts)
    assert any(p.startswith("remote resource " + expected) for p in problems), problems


def test_plain_hyperlinks_are_not_resources(check_book):
    facts = check_book.parse_page(page('<a href="https://huggingface.co/Persona-X">data</a>'))
    assert facts.remote_resources == []


def test_notebook_page_without_figure_fails(check_book):
    facts = check_book.parse_page(page(NOTEBOOK_CELL.format(inner="<pre>text only</pre>")))
    assert facts.is_notebook and facts.figures == 0
    assert "notebook page without any figure" in check_book.static_problems(facts)[0]
    assert check_book.static_problems(facts, require_figures=False) == []


def test_figure_outside_an_output_does_not_count(check_book):
    facts = check_book.parse_page(page(FIGURE + NOTEBOOK_CELL.format(inner="<pre>x</pre>")))
    assert facts.figures == 0


def test_traceback_output_fails(check_book):
    inner = ('<div class="output traceback highlight-ipythontb notranslate"><pre>'
             '---------------------------------------------------------------------------\n'
             'ValueError                                Traceback (most recent call last)\n'
             'ValueError: boom</pre></div>' + FIGURE)
    facts = check_book.parse_page(page(NOTEBOOK_CELL.format(inner=inner)))
    problems = check_book.static_problems(facts)
    assert problems == ["error output: ValueError: boom"]


def test_stderr_warning_fails_and_stderr_traceback_is_an_error(check_book):
    warning = '<div class="output stderr highlight-myst-ansi notranslate"><pre>UserWarning: careful</pre></div>'
    facts = check_book.parse_page(page(NOTEBOOK_CELL.format(inner=warning + FIGURE)))
    assert facts.stderr_outputs == ["UserWarning: careful"] and facts.error_outputs == []
    problems = check_book.static_problems(facts)
    assert len(problems) == 1 and "stderr output on the page: 'UserWarning: careful'" in problems[0]
    # pages whose executed notebook is available are checked cell by cell instead
    assert check_book.static_problems(facts, check_stderr=False) == []
    crash = ('<div class="output stderr"><pre>Traceback (most recent call last):\n  File "x"\n'
             'RuntimeError: kernel died</pre></div>')
    facts = check_book.parse_page(page(NOTEBOOK_CELL.format(inner=crash + FIGURE)))
    assert check_book.static_problems(facts) == ["error output: RuntimeError: kernel died"]


def _nb(*outputs, source="x = f()"):
    return {"cells": [{"cell_type": "markdown", "source": "# t"},
                      {"cell_type": "code", "execution_count": 3, "source": source, "outputs": list(outputs)}]}


def test_notebook_noise_names_page_cell_and_fix(check_book):
    rel = "book/executed/02_trait_inference.html"
    tqdm_warning = {"output_type": "stream", "name": "stderr",
                    "text": "/x/tqdm/auto.py:21: TqdmWarning: IProgress not found. Please update\n"
                            "  from .autonotebook import tqdm as notebook_tqdm\n"}
    [problem] = check_book.notebook_output_problems(_nb(tqdm_warning, source="results = {}\nmore"), rel)
    assert problem.startswith("cell 1 (In [3]) `results = {}`: stderr output")
    assert "TqdmWarning: IProgress not found" in problem and "notebooks/02_trait_inference.py" in problem
    bar = {"output_type": "stream", "name": "stderr", "text": "\rLoading weights:  40%|####  | 41/103 [00:00<?, ?it/s]"}
    assert "progress bar" in check_book.notebook_output_problems(_nb(bar), rel)[0]
    stdout_warning = {"output_type": "stream", "name": "stdout",
                      "text": "agreement.py:95: RuntimeWarning: divide by zero\n"}
    assert "warning in the output" in check_book.notebook_output_problems(_nb(stdout_warning), rel)[0]
    widget = {"output_type": "display_data",
              "data": {"application/vnd.jupyter.widget-view+json": {}, "text/plain": "w"}}
    assert "ipywidgets" in check_book.notebook_output_problems(_nb(widget), rel)[0]
    clean = [{"output_type": "stream", "name": "stdout", "text": "n = 400 rows\n"},
             {"output_type": "display_data", "data": {"text/plain": "<Figure>", "image/png": "..."}},
             {"output_type": "error", "ename": "ValueError", "evalue": "x", "traceback": []}]
    assert check_book.notebook_output_problems(_nb(*clean), rel) == []


def test_glyph_without_font_is_reported_outside_math(check_book):
    facts = check_book.parse_page(page("<p>H0: X \u2aeb Y and \u00e9t\u00e9 \u2192 \u03b1</p>"
                                       '<span class="math notranslate nohighlight">\\(X \u2aeb Y\\)</span>'))
    problems = check_book.glyph_problems(facts, "book/executed/04_independence.html")
    assert len(problems) == 1, problems
    assert "U+2AEB DOUBLE UP TACK" in problems[0] and "\\perp" in problems[0]
    assert "notebooks/04_independence.py" in problems[0]
    only_math = check_book.parse_page(page('<span class="math">\\(X \u2aeb Y\\)</span>'))
    assert check_book.glyph_problems(only_math) == []


@pytest.mark.skipif(shutil.which("fc-list") is None, reason="fontconfig (fc-list) not installed")
def test_glyph_check_asks_fontconfig(check_book):
    assert check_book.has_font("a") is True
    assert check_book.has_font("\U000f0000") is False  # a private-use plane: no font carries it


def test_dead_links_and_unknown_documents(check_book, tmp_path):
    html = tmp_path / "html"
    (html / "book").mkdir(parents=True)
    (html / "book" / "references.html").write_text(page("refs"))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "DEVELOPING.md").write_text("x")
    body = ('<p><a href="references.html#top">refs</a> <a href="missing.html">gone</a> '
            '<a href="https://example.org/x.md">web</a> <a href="#here">here</a></p>'
            "<p>see <code>official-code.md</code> §2, <code>DEVELOPING.md</code> and references.md</p>")
    facts = check_book.parse_page(page(body))
    problems = check_book.link_problems(facts, html, "book/intro.html", repo)
    assert len(problems) == 2, problems
    assert "link to 'missing.html'" in problems[0] and "book/intro.md" in problems[0]
    assert "'official-code.md'" in problems[1]


def test_missing_title_and_redirects(check_book):
    assert check_book.static_problems(check_book.parse_page(page(title=""))) == ["no <title>"]
    redirect = check_book.parse_page('<meta http-equiv="Refresh" content="0; url=book/intro.html" />')
    assert redirect.redirect == "book/intro.html" and check_book.static_problems(redirect) == []


def test_math_detection_and_dom_checks(check_book):
    static = check_book.parse_page(page('<span class="math notranslate nohighlight">\\(x^2\\)</span>'))
    assert static.has_math
    assert check_book.dom_problems("", static) == ["page did not load (empty DOM)"]
    raw = page('<span class="math notranslate nohighlight">\\(x^2\\)</span>')
    assert "MathJax did not render" in check_book.dom_problems(raw, static)[0]
    rendered = page('<span class="math"><mjx-container jax="SVG"></mjx-container></span>'
                    '<script src="https://injected.example/x.js"></script>')
    assert check_book.dom_problems(rendered, static) == [
        "remote resource in DOM <script src=https://injected.example/x.js>"]


def test_page_requests_ignore_browser_background_traffic(check_book, tmp_path):
    log = {"constants": {"logEventTypes": {"URL_REQUEST_START_JOB": 7, "OTHER": 1}},
           "events": [
               {"type": 7, "params": {"url": "https://update.googleapis.com/x", "initiator": "not an origin"}},
               {"type": 7, "params": {"url": "https://cdn.example.com/mathjax.js", "initiator": "null"}},
               {"type": 1, "params": {"url": "https://other.example.com/"}},
               {"type": 7, "params": {"url": "file:///tmp/a.html", "initiator": "null"}},
           ]}
    path = tmp_path / "net.json"
    path.write_text(json.dumps(log))
    assert check_book.page_requests(path) == ["https://cdn.example.com/mathjax.js"]
    # Chromium killed at its time budget leaves the JSON unterminated
    path.write_text(json.dumps(log)[:-2] + ",")
    assert check_book.page_requests(path) == ["https://cdn.example.com/mathjax.js"]


def _site(tmp_path: Path, pages: dict[str, str]) -> Path:
    html = tmp_path / "html"
    for rel, text in pages.items():
        target = html / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    (html / "_static").mkdir(exist_ok=True)
    return html


def test_main_static_only_writes_report_and_fails_on_problems(check_book, tmp_path, capsys):
    html = _site(tmp_path, {
        "index.html": '<meta http-equiv="Refresh" content="0; url=intro.html" />',
        "intro.html": page("<p>intro</p>", title="Intro"),
        "nb.html": page(NOTEBOOK_CELL.format(inner="<pre>no figure</pre>"), title="NB"),
        "_static/theme.css": "body { background: url('https://example.org/bg.png'); }",
    })
    out = tmp_path / "report"
    assert check_book.main(["--html", str(html), "--out", str(out), "--no-browser"]) == 1
    report = json.loads((out / "report.json").read_text())
    problems = {p["page"]: p["problems"] for p in report["pages"]}
    assert problems["intro.html"] == [] and problems["index.html"] == []
    assert "notebook page without any figure" in problems["nb.html"][0]
    assert "notebook page without provenance" in problems["nb.html"][1]
    assert "_static/theme.css: remote" in report["global_problems"][0]
    assert (out / "report.md").read_text().startswith("# Book check")
    assert check_book.main(["--html", str(tmp_path / "nothing"), "--out", str(out), "--no-browser"]) == 2


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium not installed (apt-get install -y chromium)")
def test_chromium_renders_vendored_mathjax_offline(check_book, tmp_path):
    html = _site(tmp_path, {
        "intro.html": page('<p>Math: <span class="math notranslate nohighlight">\\(a^2+b^2=c^2\\)</span></p>',
                           head='<script defer src="_static/mathjax/tex-mml-svg.js"></script>', title="Intro"),
        "nomath.html": page("<p>plain</p>", title="Plain",
                            head='<script src="https://cdn.example.invalid/x.js"></script>'),
    })
    shutil.copytree(REPO / "_static" / "mathjax", html / "_static" / "mathjax")
    out = tmp_path / "out"
    results, global_problems = check_book.check_book(html, out, chromium=check_book.find_chromium(), echo=False)
    by_page = {r.page: r for r in results}
    assert by_page["intro.html"].ok and by_page["intro.html"].mathjax is True
    problems = by_page["nomath.html"].problems
    assert any(p.startswith("remote resource <script") for p in problems)
    assert any(p.startswith("page requested https://cdn.example.invalid/x.js") for p in problems), problems
    shots = check_book.take_screenshots(html, out, check_book.find_chromium(), results)
    assert [s.name for s in shots] == ["screenshot_intro.png"] and shots[0].stat().st_size > 1000


def test_notebook_pages_need_provenance_and_the_sample_banner(check_book, tmp_path):
    body = NOTEBOOK_CELL.format(inner=FIGURE)
    html = _site(tmp_path, {"book/nb.html": page(body), "book/real.html": page(body),
                            "book/banner.html": page("<blockquote><p><strong>Synthetic sample — not the released "
                                                     "PersonaX data.</strong></p></blockquote>" + body)})

    def source(name, params, status="ok"):
        target = html / "_sources" / "book" / f"{name}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        record = {"parameters": params, "runner": {"status": status, "error": None if status == "ok" else "boom"}}
        target.write_text(json.dumps({"metadata": {"personax": {"provenance": record}}, "cells": []}))

    facts = check_book.parse_page((html / "book" / "nb.html").read_text())
    assert check_book.provenance_problems(facts, None) == [
        "notebook page without provenance (execute it with `personax run`, not by hand)"]
    source("nb", {"source": "sample", "profile": "ci"})
    record = check_book.page_provenance(html, "book/nb.html")
    assert "does not say so" in check_book.provenance_problems(facts, record)[0]
    source("banner", {"source": "sample"})
    banner = check_book.parse_page((html / "book" / "banner.html").read_text())
    assert banner.sample_banner
    assert check_book.provenance_problems(banner, check_book.page_provenance(html, "book/banner.html")) == []
    source("real", {"source": "hf"}, status="failed")
    real = check_book.parse_page((html / "book" / "real.html").read_text())
    assert check_book.provenance_problems(real, check_book.page_provenance(html, "book/real.html")) == [
        "the notebook run failed: boom"]


@pytest.mark.parametrize("text, found", [
    ("<p><strong>Synthetic sample — not the released PersonaX data.</strong></p>", True),
    ("<blockquote><strong>Synthetic benchmarks.</strong> Every number ...</blockquote>", True),
    ("<p>This uses synthetic data with planted structure.</p>", True),
    ("<p>Results on the released CelebPersona data.</p>", False),
    ("<p>a synthetically generated thing</p>", False),
])
def test_synthetic_notice_detection(check_book, text, found):
    assert check_book.parse_page(page(text)).sample_banner is found


def test_small_figure_labels_fail_and_name_the_cell(check_book):
    nb = _nb({"output_type": "display_data", "data": {"image/png": "...", "text/plain": "<Figure>"}},
             source="iplots.heatmap_panel(results)")
    assert "figures were not measured" in check_book.figure_problems(
        {**nb, "metadata": {"personax": {"provenance": {}}}})[0]
    assert check_book.figure_problems(nb) == [], "not a runner notebook: provenance_problems reports it"
    nb["metadata"] = {"personax": {"provenance": {}, "figures": [
        {"execution_count": 3, "width_in": 18.0, "height_in": 6.1, "min_font_pt": 2.6},
        {"execution_count": 3, "width_in": 6.5, "height_in": 3.0, "min_font_pt": 9.0}]}}
    [problem] = check_book.figure_problems(nb, "book/executed/04_independence.html")
    assert problem.startswith("cell 1 (In [3]) `iplots.heatmap_panel(results)`: a figure 18.0 × 6.1 in")
    assert "2.6 pt" in problem and "≥ 9 pt" in problem


def test_headline_box_is_required_and_must_carry_its_sentence(check_book):
    body = NOTEBOOK_CELL.format(inner=FIGURE)
    box = ('<div class="admonition important personax-headline"><p class="admonition-title">This page in short</p>'
           '<p><strong>Reproduces</strong> paper §3.</p>{glued}</div>')
    record = {"parameters": {"source": "hf"}}
    plain = check_book.parse_page(page(body))
    assert plain.headline is None
    assert "no headline box" in check_book.headline_problems(plain, record)[0]
    assert check_book.headline_problems(plain, None) == []  # not an executed page: provenance_problems says so
    empty = check_book.parse_page(page(box.format(glued="") + body))
    assert "glued sentence is missing" in check_book.headline_problems(empty, record)[0]
    full = check_book.parse_page(page(box.format(glued="<p><strong>Paper:</strong> 1. <strong>Reproduced here:"
                                                       "</strong> <em>2</em>.</p>") + body))
    assert "Reproduced here" in full.headline and check_book.headline_problems(full, record) == []
