"""Bad data: ``personax data validate`` / ``data info`` and ``personax.data.load`` on broken files and values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from personax.errors import DataError, DataWarning, InputOutputError, ParameterError

AREA = "data validate/info, load()"


@pytest.fixture(scope="module")
def broken(tmp_path_factory, sample_small):
    """One folder of broken tables, each derived from a valid 40-row CelebPersona table."""
    folder = tmp_path_factory.mktemp("broken")
    good_csv = sample_small["folder"] / "celebpersona.csv"
    good_parquet = sample_small["folder"] / "celebpersona.parquet"
    table = pd.read_csv(good_csv)

    def variant(name, edit):
        t = table.copy()
        edit(t)
        t.to_csv(folder / name, index=False)

    def set_cell(col, row, value, dtype=object):
        def edit(t):
            t[col] = t[col].astype(dtype)
            t.loc[row, col] = value
        return edit

    (folder / "empty.parquet").write_bytes(b"")
    (folder / "empty.csv").write_bytes(b"")
    (folder / "blank.csv").write_text("\n\n\n")
    raw = good_parquet.read_bytes()
    (folder / "truncated.parquet").write_bytes(raw[: len(raw) // 2])
    (folder / "notparquet.parquet").write_text("person_id,height_cm\nx,170\n")
    table.head(0).to_csv(folder / "header_only.csv", index=False)
    variant("high.csv", set_cell("chatgpt_openness", 3, "high"))
    variant("fraction.csv", set_cell("gemini_extraversion", 4, 2.5, float))
    variant("tall.csv", set_cell("height_cm", 5, "tall"))
    variant("score7.csv", set_cell("llama_neuroticism", 6, 7, "Int64"))
    variant("month13.csv", set_cell("birth_month", 7, 13, "Int64"))
    variant("negative_lat.csv", set_cell("latitude", 8, -123.0, float))
    table.drop(columns=["birth_year"]).to_csv(folder / "no_birth_year.csv", index=False)
    variant("dup_ids.csv", set_cell("person_id", 9, table.loc[10, "person_id"]))
    variant("nan_vector.csv", set_cell("face_2", 11, "[" + ", ".join(["nan"] * 64) + "]"))
    variant("ragged_vector.csv", set_cell("text_gemini", 12, "[" + ", ".join(["0.5"] * 40) + "]"))
    agg = table.copy()
    agg.loc[13, ["chatgpt_openness", "gemini_openness", "llama_openness"]] = [1, 1, 1]
    agg.loc[13, "openness"] = 3.0
    agg.to_csv(folder / "aggregate.csv", index=False)
    shortened = pd.read_parquet(good_parquet)
    shortened["face_1"] = ["[0.1 0.2 0.3 ... 0.7 0.8 0.9]"] * len(shortened)
    shortened.to_csv(folder / "shortened.csv", index=False)
    (folder / "table.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    (folder / "binary.csv").write_bytes(bytes(range(256)) * 8)
    (folder / "ragged.csv").write_text("person_id,height_cm\np1,170\np2,180,extra\n")
    (folder / "nulls.csv").write_bytes(b"person_id,height_cm\n\xff\xfe\x00\x00,170\n")
    (folder / "semicolons.csv").write_text("person_id;height_cm\np1;170\n")
    (folder / "broken.jsonl").write_text('{"person_id": "p1"}\n{"person_id": \n')
    (folder / "table.csv.gz").write_bytes(b"\x1f\x8b\x08\x00 gzip bytes")
    (folder / "no_tables").mkdir()
    (folder / "no_tables" / "readme.txt").write_text("nothing here")
    athle = sample_small["folder"] / "athlepersona.csv"
    a = pd.read_csv(athle)
    a.loc[2, "league"] = "MLB"
    a.to_csv(folder / "mlb.csv", index=False)
    (folder / "map_unknown.yaml").write_text("Height: tallness\n")
    (folder / "map_broken.yaml").write_text("[a, b\n")
    (folder / "map_list.yaml").write_text("- height_cm\n- weight_kg\n")
    (folder / "map_absent.yaml").write_text("Heigth_cm: height_cm\n")
    return folder


def validate(path, dataset="celebpersona", *extra):
    return ["data", "validate", str(path), "--dataset", dataset, *extra]


# ------------------------------------------------------------------ unreadable files

@pytest.mark.parametrize("name, fragment", [
    ("empty.parquet", "empty (0 bytes)"),
    ("empty.csv", "empty (0 bytes)"),
    ("blank.csv", "holds no table"),
    ("truncated.parquet", "truncated, corrupt or not Parquet"),
    ("notparquet.parquet", "truncated, corrupt or not Parquet"),
    ("header_only.csv", "has no rows"),
    ("table.xlsx", "unsupported file type '.xlsx'"),
    ("binary.csv", "cannot parse"),
    ("ragged.csv", "line 3"),
    ("nulls.csv", "not UTF-8 text"),
    ("semicolons.csv", "separated by semicolons"),
    ("broken.jsonl", "cannot parse"),
    ("table.csv.gz", "decompress it first"),
])
def test_unreadable_file_is_named_with_the_reason(bad, broken, name, fragment):
    bad(validate(broken / name), code=1, names=[name, fragment], watch=[broken])


def test_missing_path(bad, broken):
    bad(validate(broken / "nothere.csv"), code=1, names=["nothere.csv", "does not exist"], watch=[broken])


def test_folder_without_tables(bad, broken):
    bad(validate(broken / "no_tables"), code=1, names=["no_tables", "no Parquet/CSV/JSONL table"], watch=[broken])


# ------------------------------------------------------------------ bad cells: column, rows, values, allowed

@pytest.mark.parametrize("name, column, row, value, allowed", [
    ("high.csv", "chatgpt_openness", "rows [3]", "'high'", "integers in [0, 1, 2, 3]"),
    ("fraction.csv", "gemini_extraversion", "rows [4]", "2.5", "integers in [0, 1, 2, 3]"),
    ("tall.csv", "height_cm", "rows [5]", "'tall'", "numbers in [50.0, 260.0]"),
    ("score7.csv", "llama_neuroticism", "rows [6]", "values [7]", "allowed set [0, 1, 2, 3]"),
    ("month13.csv", "birth_month", "rows [7]", "values [13]", "range [1, 12]"),
    ("negative_lat.csv", "latitude", "rows [8]", "-123.0", "range [-90.0, 90.0]"),
    ("dup_ids.csv", "person_id", "duplicated", "C000-", "rows ["),
    ("nan_vector.csv", "face_2", "rows [11]", "NaN/inf", "1 row(s)"),
])
def test_bad_cell_names_column_row_value_and_what_is_allowed(bad, broken, name, column, row, value, allowed):
    bad(validate(broken / name), code=1, names=[name, f"'{column}'", row, value, allowed], watch=[broken])


def test_missing_required_column(bad, broken):
    bad(validate(broken / "no_birth_year.csv"), code=1, names=["birth_year", "unmapped"], watch=[broken])


def test_ragged_embedding_vectors(bad, broken):
    bad(validate(broken / "ragged_vector.csv"), code=1, names=["'text_gemini'", "different lengths", "rows [12]"],
        watch=[broken])


def test_shortened_numpy_text_is_not_silently_misread(bad, broken):
    bad(validate(broken / "shortened.csv"), code=1, names=["'face_1'", "shortened vector text"], watch=[broken])


def test_unknown_league_value(bad, broken):
    bad(validate(broken / "mlb.csv", "athlepersona"), code=1, names=["'league'", "'MLB'", "rows [2]", "NBA"],
        watch=[broken])


def test_table_of_the_other_dataset(bad, sample_small):
    folder = sample_small["folder"]
    bad(validate(folder / "celebpersona.csv", "athlepersona"), code=1,
        names=["league", "looks like a celebpersona table", "--dataset celebpersona"], watch=[folder])


def test_unknown_dataset_choice(bad, broken):
    bad(validate(broken / "high.csv", "celeba"), code=2, names=["--dataset", "'celeba'"], watch=[broken])


# ------------------------------------------------------------------ aggregate vs its LLM scores

def test_contradicting_aggregate_is_a_warning_with_count_and_example(bad, broken):
    out, err = bad(validate(broken / "aggregate.csv"), code=0, names=[], watch=[broken], expect_error=False)
    assert out.startswith("OK:")
    assert "warning:" in err and "'openness': 1 of 40 value(s) disagree" in err and "row 13" in err
    assert "scores [1, 1, 1] give 1.0" in err and "--strict" in err


def test_contradicting_aggregate_is_an_error_under_strict(bad, broken):
    bad(validate(broken / "aggregate.csv", "celebpersona", "--strict"), code=1,
        names=["'openness'", "1 of 40 value(s) disagree", "row 13", "openness=3.0"], watch=[broken])


# ------------------------------------------------------------------ --column-map

@pytest.mark.parametrize("name, fragments", [
    ("map_unknown.yaml", ["'tallness'", "not a canonical celebpersona column"]),
    ("map_broken.yaml", ["map_broken.yaml", "as YAML", "line 2"]),
    ("map_list.yaml", ["map_list.yaml", "must be a mapping"]),
    ("map_absent.yaml", ["'Heigth_cm'", "does not have", "did you mean 'height_cm'"]),
    ("nothere.yaml", ["nothere.yaml", "does not exist"]),
])
def test_bad_column_map(bad, broken, sample_small, name, fragments):
    bad(validate(sample_small["folder"] / "celebpersona.csv", "celebpersona", "--column-map", broken / name),
        code=1, names=fragments, watch=[broken, sample_small["folder"]])


def test_column_map_on_the_sample_is_a_usage_error(bad, broken):
    bad(["data", "info", "--dataset", "celebpersona", "--column-map", broken / "map_unknown.yaml"], code=2,
        names=["column_map", "source='sample'"], watch=[broken])


def test_column_map_maps_real_names(tmp_path, sample_small, capsys):
    from personax.cli import main

    t = pd.read_csv(sample_small["folder"] / "athlepersona.csv").rename(columns={"height_cm": "Size (cm)",
                                                                               "league": "Competition"})
    t.to_csv(tmp_path / "renamed.csv", index=False)
    (tmp_path / "map.yaml").write_text("Size (cm): height_cm\nCompetition: league\n")
    assert main(validate(tmp_path / "renamed.csv", "athlepersona", "--column-map", str(tmp_path / "map.yaml"))) == 0
    assert "OK:" in capsys.readouterr().out


# ------------------------------------------------------------------ data info / generate

def test_info_on_a_missing_source(bad, tmp_path):
    bad(["data", "info", "--dataset", "athlepersona", "--source", tmp_path / "gone"], code=1,
        names=["gone", "does not exist"], watch=[tmp_path])


def test_info_on_a_bad_table_names_the_cell(bad, broken):
    bad(["data", "info", "--dataset", "celebpersona", "--source", broken / "tall.csv"], code=1,
        names=["'height_cm'", "'tall'", "rows [5]"], watch=[broken])


def test_generate_into_a_file(bad, tmp_path):
    target = tmp_path / "taken.txt"
    target.write_text("keep me")
    bad(["data", "generate", "--dataset", "athlepersona", "--n", "30", "--out", target], code=2,
        names=["taken.txt", "is a file"], watch=[tmp_path])


def test_generate_with_a_bad_size(bad, tmp_path):
    bad(["data", "generate", "--n", "-3", "--out", tmp_path], code=2, names=["--n", "positive integer"],
        watch=[tmp_path])


# ------------------------------------------------------------------ load() in Python

def test_load_unknown_dataset(bad_api):
    from personax.data import load

    bad_api(load, "celeba", names=["'celeba'", "celebpersona", "athlepersona"], exc=ParameterError)


@pytest.mark.parametrize("kwargs, fragment", [({"n": 0}, "n must be"), ({"n": "10"}, "'10'"),
                                              ({"seed": -1}, "seed must be"), ({"source": None}, "source must be")])
def test_load_bad_arguments(bad_api, kwargs, fragment):
    from personax.data import load

    bad_api(load, "athlepersona", names=[fragment], exc=ParameterError, **kwargs)


def test_load_truncated_parquet(bad_api, broken):
    from personax.data import load

    e = bad_api(load, "celebpersona", source=broken / "truncated.parquet", names=["truncated.parquet", "truncated"],
                exc=InputOutputError, watch=[broken])
    assert isinstance(e, RuntimeError)  # DataAccessError stays a RuntimeError for old callers


def test_load_text_in_a_score_column_names_the_cell(bad_api, broken):
    from personax.data import ValidationError, load

    e = bad_api(load, "celebpersona", source=broken / "high.csv", names=["'chatgpt_openness'", "'high'", "rows [3]"],
                exc=DataError, watch=[broken])
    assert isinstance(e, ValidationError) and isinstance(e, ValueError)
    assert e.problems[0]["rows"] == [3] and e.problems[0]["values"] == ["high"]


def test_load_bad_column_map_dict(bad_api, sample_small):
    from personax.data import load

    bad_api(load, "celebpersona", source=sample_small["folder"] / "celebpersona.csv",
            column_map={"height_cm": "heigth"}, names=["'heigth'", "did you mean height_cm"], exc=DataError)


def test_median_drop_zeros_names_the_column_of_a_text_score():
    from personax.data.aggregate import median_drop_zeros

    frame = pd.DataFrame({"chatgpt_openness": [1, "high", 2], "gemini_openness": [1, 2, 3]})
    with pytest.raises(DataError, match=r"'chatgpt_openness'.*rows \[1\].*'high'"):
        median_drop_zeros(frame)


# ------------------------------------------------------------------ round trips that must work

def test_csv_of_the_shipped_parquet_reads_back(tmp_path):
    """``pd.read_parquet(sample).to_csv()`` (numpy text of the vectors) loads with its embeddings."""
    from personax.data import load
    from personax.data.io import sample_dir

    frame = pd.read_parquet(sample_dir() / "athlepersona.parquet").head(60)
    frame.to_csv(tmp_path / "athle.csv", index=False)
    back = load("athlepersona", source=tmp_path / "athle.csv")
    ref = load("athlepersona")
    assert len(back) == 60 and sorted(back.embeddings) == sorted(ref.embeddings)
    # numpy printed float16 values with 4 significant digits: equal to that precision
    np.testing.assert_allclose(back.embeddings["text_llama"], ref.embeddings["text_llama"][:60], atol=2e-3)
    pd.testing.assert_series_equal(back.frame["openness"], ref.frame["openness"].iloc[:60].reset_index(drop=True))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_write_table_round_trip_is_exact(tmp_path, suffix):
    from personax.data import load
    from personax.data.io import content_hash, write_table

    data = load("celebpersona", n=30, seed=4)
    back = load("celebpersona", source=write_table(data, tmp_path / f"c{suffix}"))
    for key in data.embeddings:
        np.testing.assert_array_equal(back.embeddings[key], data.embeddings[key])
    pd.testing.assert_frame_equal(back.frame, data.frame, check_dtype=False)
    data.truth = back.truth = None
    assert content_hash(back) == content_hash(data)


def test_faces_extract_csv_vectors_read_as_embeddings():
    """Space-separated vectors (``personax faces extract --out x.csv``) are vectors, five numbers are not."""
    from personax.data.io import _text_vectors

    s = pd.Series(["0.1 0.2 0.3 0.4 0.5 0.6 0.7", None, "1 2 3 4 5 6 7"])
    v = _text_vectors(s, "emb_dlib")
    assert v[0].shape == (7,) and v[1] is None and v[2][6] == 7
    assert _text_vectors(pd.Series(["[1, 2, 3, 2, 1]"]), "packed") is None


def test_data_warning_category():
    assert issubclass(DataWarning, UserWarning)
