"""One table of profile budgets (``personax.profiles``): its shape, its readers, and no budgets elsewhere.

The grep test scans ``src/personax`` and ``notebooks/*.py`` for the three shapes a budget
written in place takes — a mapping keyed by a profile name (``{"ci": 400, ...}``), a
``by_profile(ci=<literal>, ...)`` call, a branch on the profile's value
(``profile == "paper"``) — and for a hand-written list of the profile names.  A file still
holding such budgets is listed in :data:`PENDING` with the reason; an entry that no longer
matches fails, so the list only shrinks.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from personax import profiles

REPO = Path(__file__).resolve().parents[2]

#: Budget literals that remain outside profiles.py: ``path -> why`` (move them, then delete the entry).
PENDING: dict[str, str] = {}

_NAME = r"""["'](?:ci|quick|paper)["']"""
PATTERNS = {
    "mapping keyed by a profile": re.compile(r"(?:^|[{,])\s*" + _NAME + r"\s*:"),
    "by_profile with literal values": re.compile(r"""by_profile\(\s*(?:ci|quick|paper)\s*=\s*[-\d\[{("'TFN]"""),
    "branch on the profile's value": re.compile(r"profile\s*[!=]=\s*" + _NAME),
    "hand-written profile names": re.compile(r"""[(\[]\s*["']ci["']\s*,\s*["']quick["']\s*,\s*["']paper["']"""),
}


def budget_literals(path: Path) -> list[str]:
    """``"line N: <kind>: <text>"`` for every budget literal in ``path``."""
    hits = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        for kind, pattern in PATTERNS.items():
            if pattern.search(line):
                hits.append(f"line {i}: {kind}: {line.strip()}")
    return hits


def scanned_files() -> list[Path]:
    files = sorted((REPO / "src" / "personax").rglob("*.py")) + sorted((REPO / "notebooks").glob("*.py"))
    return [f for f in files if f != REPO / "src" / "personax" / "profiles.py"]


def test_the_scanner_finds_each_shape(tmp_path):
    f = tmp_path / "nb.py"
    f.write_text('SIZES = {"ci": 300, "quick": 1000, "paper": None}[profile]\n'
                 "N = ctx.by_profile(ci=2, quick=5, paper=20)\n"
                 'EXTRA = profile == "paper"\n'
                 'p.add_argument("--profile", choices=["ci", "quick", "paper"])\n'
                 'N = ctx.budget("independence.battery", "n_perm")\n'
                 '    profile : {"ci", "quick", "paper"}\n')
    kinds = [h.split(": ")[1] for h in budget_literals(f)]
    assert kinds == list(PATTERNS)


def test_no_budget_literals_outside_profiles():
    found = {str(f.relative_to(REPO)): budget_literals(f) for f in scanned_files()}
    found = {k: v for k, v in found.items() if v}
    unexpected = {k: v for k, v in found.items() if k not in PENDING}
    assert not unexpected, ("profile budgets written outside src/personax/profiles.py; add them to "
                            f"personax.profiles.BUDGETS and read them with budget()/ctx.budget(): {unexpected}")
    stale = sorted(set(PENDING) - set(found))
    assert not stale, f"no budget literals left in {stale}: delete their PENDING entries in this test"


def test_every_area_has_every_profile():
    for area, table in profiles.BUDGETS.items():
        assert tuple(table) == profiles.PROFILE_NAMES, area
        keys = {p: set(v) for p, v in table.items()}
        # the same settings at every profile, except additions at the larger ones (crl.train's s2_restarts)
        assert keys["ci"] <= keys["quick"] <= keys["paper"], area


def test_chapter_05_reads_its_budgets_from_the_table():
    from personax.crl import report

    for p in profiles.PROFILE_NAMES:
        assert report.live_plan(p) == profiles.BUDGETS["crl.synthetic_chapter"][p]
    assert report.live_plan("quick", seeds=[3], n=900)["seeds"] == [3]
    assert report.live_plan("quick", n=900)["n_images"] == 900
    with pytest.raises(ValueError, match="use one of"):
        report.live_plan("full")


def test_budget_accessor_names_what_is_missing():
    assert profiles.budget("independence.battery", "n", profile="ci") == 400
    assert profiles.budget("independence.battery", "n", profile="quick") is None
    with pytest.raises(ValueError, match="profile='full' is invalid: allowed 'ci', 'quick', 'paper'"):
        profiles.budget("independence.battery", "n", profile="full")
    with pytest.raises(KeyError, match="no budget area 'independance'"):
        profiles.budget("independance", profile="ci")
    with pytest.raises(KeyError, match="no setting 'nperm'.*n_perm"):
        profiles.budget("independence.battery", "nperm", profile="ci")


def test_readers_share_the_one_table():
    import personax.crl
    from personax import notebook, runner, runner_cli
    from personax.crl import realworld, train
    from personax.traits.chapter import chapter_settings

    assert personax.crl.PROFILES is train.PROFILES is profiles.BUDGETS["crl.train"]
    assert realworld.PROFILE_SETTINGS is profiles.BUDGETS["crl.realworld"]
    assert notebook.PROFILES == runner.PROFILES == runner_cli._PROFILES == profiles.PROFILE_NAMES
    assert chapter_settings("ci")["n_boot"] == profiles.budget("traits.chapter", "n_boot", profile="ci")
    ctx = notebook.setup("04_independence", dataset="celebpersona", source="sample", n=None, seed=0, device="cpu",
                         profile="ci", show=False)
    assert ctx.budget("independence.battery", "n_perm") == 2
    assert ctx.budget("independence.beyond")["power_grid"] == (0, 3, 6)
