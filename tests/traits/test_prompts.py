"""Prompt formats: shipped as data, hashed, rendered correctly."""

from __future__ import annotations

import re

import pytest

from personax.traits.prompts import FORMAT_IDS, formats_table, get_format, list_formats, load_format_file


def test_six_formats_with_distinct_hashes():
    assert list_formats()[:6] == list(FORMAT_IDS)
    hashes = {get_format(f).content_hash for f in FORMAT_IDS}
    assert len(hashes) == 6 and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)
    t = formats_table()
    assert list(t["id"]) == list(FORMAT_IDS) and set(t["label"]) == {"project prompt"}


@pytest.mark.parametrize("fid", FORMAT_IDS)
def test_format_structure(fid):
    f = get_format(fid)
    kind, lv, order = fid.split("-")
    assert f.answer_kind == kind and f.levels == int(lv[1]) and f.order.startswith(order)
    values = [s.value for s in f.scale]
    assert values == (sorted(values) if order == "inc" else sorted(values, reverse=True))
    assert f.allowed_values == tuple(range(0, f.levels + 1))
    msgs = f.render("Maren Olwick", description="FICTIONAL actress.")
    user = msgs[1]["content"]
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert user.startswith("Analyze the Big Five behavior traits of the individual described below")
    assert "Name: Maren Olwick" in user and "Description: FICTIONAL actress." in user
    # the scale is listed in the declared order
    positions = [user.index(f"{s.answer} = " if kind == "number" else f'"{s.answer}"') for s in f.scale]
    assert positions == sorted(positions)
    assert "$" not in user.replace("$z", "")


def test_render_league_and_special_characters():
    f = get_format("number-l3-inc")
    user = f.render("A", league="NBA")[1]["content"]
    assert "Professional league: NBA" in user and "Description" not in user
    user = f.render("A", description="likes {braces} and $dollars")[1]["content"]
    assert "likes {braces} and $dollars" in user


def test_render_errors_name_the_fix():
    f = get_format("number-l3-inc")
    with pytest.raises(ValueError, match="exactly one of description"):
        f.render("A")
    with pytest.raises(ValueError, match="exactly one of description"):
        f.render("A", description="x", league="NBA")
    with pytest.raises(ValueError, match="name"):
        f.render("  ", description="x")
    with pytest.raises(KeyError, match="available"):
        get_format("number-l4-inc")


def test_case_insensitive_lookup_and_text_answers():
    assert get_format("Number-L3-Inc") is get_format("number-l3-inc")
    table = get_format("text-l5-inc").answer_to_value()
    assert table["very high"] == 5 and table["moderate"] == 3 and table["insufficient information"] == 0


def test_user_format_file_hash_changes_with_content(tmp_path):
    import importlib.resources as res

    src = (res.files("personax.traits.prompts") / "number_l3_inc.yaml").read_text()
    p = tmp_path / "mine.yaml"
    p.write_text(src.replace("id: number-l3-inc", "id: my-format"))
    mine = load_format_file(str(p))
    p.write_text(src.replace("id: number-l3-inc", "id: my-format").replace("do not guess", "never guess"))
    changed = load_format_file(str(p))
    assert mine.id == "my-format" and mine.content_hash != changed.content_hash
    p.write_text(src.replace("$subject", "SUBJECT"))
    with pytest.raises(ValueError, match=r"\$subject"):
        load_format_file(str(p))
