"""Loading: the shipped sample, Hugging Face failing fast offline, local files with other
column names (mapped or rejected), validation errors, and sample regeneration."""

import json
import time

import numpy as np
import pandas as pd
import pytest

from personax.data import ColumnMappingError, DataAccessError, ValidationError, load, validate
from personax.data.io import SAMPLE_PARAMS, content_hash, sample_dir, sha256_file, write_dataset, write_sample
from personax.data.schema import LLMS, TRAITS, llm_score_column
from personax.data.synthetic import generate
from personax.errors import DataWarning

REPO_SAMPLE = sample_dir()


def test_load_sample_default_is_offline_and_synthetic():
    ds = load("celebpersona")
    assert len(ds) == SAMPLE_PARAMS["celebpersona"]["n"]
    assert ds.info["synthetic"] and ds.info["source"] == "sample"
    assert [m.shape for m in ds.measurements("face")] == [(2000, 64)] * 3
    assert [m.shape for m in ds.measurements("text")] == [(2000, 96)] * 3
    assert ds.truth.dag.loc["Z2_5", "Z1_10"] == 1
    athle = load("athlepersona")
    assert len(athle.measurements("face")) == 1 and athle.frame["league"].notna().any()


def test_subsample_is_deterministic_and_aligned():
    a = load("athlepersona", n=100, seed=7)
    b = load("athlepersona", n=100, seed=7)
    c = load("athlepersona", n=100, seed=8)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert not a.frame["person_id"].equals(c.frame["person_id"])
    full = load("athlepersona")
    pos = full.frame.index[full.frame["person_id"].isin(a.frame["person_id"])].to_numpy()
    np.testing.assert_array_equal(full.embeddings["text_gemini"][pos], a.embeddings["text_gemini"])
    pd.testing.assert_frame_equal(full.truth.latents.iloc[pos].reset_index(drop=True), a.truth.latents)
    with pytest.raises(ValueError, match="n must be"):
        load("athlepersona", n=0)


def test_unknown_dataset_is_named():
    with pytest.raises(ValueError, match="unknown dataset 'celeba'"):
        load("celeba")


def _assert_actionable(msg: str):
    assert "huggingface-cli login" in msg and "HF_TOKEN" in msg
    assert "accept the dataset terms" in msg and "source='/path/to/folder_or_file'" in msg


def test_hf_offline_fails_fast_with_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.perf_counter()
    with pytest.raises(DataAccessError) as exc:
        load("athlepersona", source="hf", cache_dir=tmp_path)
    assert time.perf_counter() - t0 < 10
    assert "Persona-X/athlepersona" in str(exc.value) and "HF_HUB_OFFLINE=1" in str(exc.value)
    _assert_actionable(str(exc.value))


def test_hf_unreachable_host_fails_fast_with_fix(tmp_path, monkeypatch):
    # offline mode off, endpoint on a closed local port: the TCP probe fails at once
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    t0 = time.perf_counter()
    with pytest.raises(DataAccessError) as exc:
        load("celebpersona", source="hf", cache_dir=tmp_path)
    assert time.perf_counter() - t0 < 10
    assert "unreachable" in str(exc.value)
    _assert_actionable(str(exc.value))


def test_hf_cached_snapshot_is_read_offline(tmp_path, monkeypatch):
    """A snapshot already in the HF cache layout loads with no network (and records the commit)."""
    data = generate("athlepersona", n=60, seed=1, face_dim=16, text_dim=16)
    commit = "a" * 40
    repo = tmp_path / "datasets--Persona-X--athlepersona"
    snap = repo / "snapshots" / commit / "data"
    snap.mkdir(parents=True)
    write_dataset(data, snap, stem="train-00000-of-00001")
    for f in snap.glob("*_truth*"):
        f.unlink()
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaded = load("athlepersona", source="hf", cache_dir=tmp_path)
    assert loaded.info["source"] == "hf" and loaded.info["commit"] == commit
    assert len(loaded) == 60 and loaded.truth is None and not loaded.info["synthetic"]


def _renamed_raw(data):
    """A 'release-like' table: figure-style names, packed score cells, list and wide embeddings."""
    f = data.frame
    raw = pd.DataFrame({
        "ID": f["person_id"], "Birthyear": f["birth_year"], "Birthmonth": f["birth_month"],
        "Birthday": f["birth_day"], "Latitude": f["latitude"], "Longitude": f["longitude"],
        "Height": f["height_cm"], "Weight": f["weight_kg"], "League": f["league"],
    })
    for llm in LLMS:
        cols = [llm_score_column(llm, t) for t in TRAITS]
        if llm == "gemini":   # JSON dict strings keyed by letter
            raw["Gemini_score"] = [json.dumps({k: (None if pd.isna(v) else int(v)) for k, v in zip("OCEAN", row)})
                                   for row in f[cols].itertuples(index=False)]
        else:                 # 5-element lists
            raw[f"{llm.capitalize()}_score"] = [list(map(int, row)) for row in f[cols].itertuples(index=False)]
        raw[f"{llm.capitalize()}_description_embedding"] = list(data.embeddings[f"text_{llm}"])
    for k, t in enumerate(TRAITS):
        raw[f"final_{'ocean'[k]}"] = f[t]
    face = data.embeddings["face_1"]
    for j in range(face.shape[1]):
        raw[f"face_emb_{j}"] = face[:, j]
    return raw


def test_renamed_local_parquet_is_mapped(tmp_path):
    data = generate("athlepersona", n=120, seed=2, face_dim=16, text_dim=24)
    path = tmp_path / "release.parquet"
    _renamed_raw(data).to_parquet(path)
    loaded = load("athlepersona", source=str(path))
    pd.testing.assert_frame_equal(loaded.frame, data.frame, check_dtype=True)
    for k, v in data.embeddings.items():
        np.testing.assert_allclose(loaded.embeddings[k], v)
    cmap = loaded.info["column_map"]
    assert cmap["birth_day"] == "Birthday" and cmap["packed:gemini"] == "Gemini_score"
    assert cmap["openness"] == "final_o" and cmap["embedding:text_llama"] == "Llama_description_embedding"
    assert any("aggregate agreement" in n and "O 1.000" in n for n in loaded.info["notes"])
    assert loaded.info["synthetic"] is False and loaded.truth is None


def test_csv_folder_with_computed_aggregate(tmp_path):
    data = generate("athlepersona", n=80, seed=3, face_dim=16, text_dim=16)
    raw = _renamed_raw(data).drop(columns=[f"final_{c}" for c in "ocean"])
    raw.to_parquet(tmp_path / "part-0.parquet")
    loaded = load("athlepersona", source=str(tmp_path))
    pd.testing.assert_series_equal(loaded.frame["openness"], data.frame["openness"])
    assert any("aggregate computed" in n for n in loaded.info["notes"])


def test_unmappable_table_lists_found_and_expected(tmp_path):
    data = generate("athlepersona", n=30, seed=0, face_dim=16, text_dim=16)
    raw = _renamed_raw(data).rename(columns={"League": "team_thing", "Height": "hgt_x"})
    path = tmp_path / "bad.csv"
    raw.drop(columns=[c for c in raw.columns if "embedding" in c or c.startswith("face_emb")]).to_csv(path, index=False)
    with pytest.raises(ColumnMappingError) as exc:
        load("athlepersona", source=str(path))
    msg = str(exc.value)
    assert "columns found" in msg and "team_thing" in msg and "hgt_x" in msg
    assert "expected but unmapped" in msg
    assert {"league", "height_cm"} <= set(exc.value.unmapped)
    assert any(u.startswith("embedding:face") for u in exc.value.unmapped)
    assert exc.value.mapped["birth_year"] == "Birthyear"


def test_embedding_with_the_other_modality_width_is_rejected(tmp_path):
    data = generate("athlepersona", n=20, seed=0, face_dim=16, text_dim=16)
    raw = _renamed_raw(data).drop(columns=[c for c in _renamed_raw(data).columns if c.startswith("face_emb")])
    raw["face_embedding"] = list(np.zeros((20, 3584), dtype=np.float32))
    path = tmp_path / "wrongdim.parquet"
    raw.to_parquet(path)
    with pytest.raises(ColumnMappingError, match="3584-d, the width of the other modality"):
        load("athlepersona", source=str(path))


def test_trait_score_of_7_is_rejected_naming_the_column():
    data = load("celebpersona", n=50)
    frame = data.frame.copy()
    frame.loc[4, "chatgpt_openness"] = 7
    with pytest.raises(ValidationError) as exc:
        validate(frame, "celebpersona")
    msg = str(exc.value)
    assert "'chatgpt_openness'" in msg and "rows [4]" in msg and "values [7]" in msg


def test_validation_names_missing_dtype_range_and_embedding_problems():
    data = load("athlepersona", n=40)
    frame = data.frame.drop(columns=["league"]).copy()
    frame["height_cm"] = frame["height_cm"].astype(str)
    frame.loc[2, "birth_month"] = 13
    frame.loc[3, "openness"] = 3.5
    emb = dict(data.embeddings)
    bad = emb["face_1"].copy()
    bad[5, 0] = np.nan
    emb["face_1"] = bad
    emb["text_llama"] = emb["text_llama"][:-1]
    with pytest.raises(ValidationError) as exc:
        validate(frame, "athlepersona", emb)
    problems = {p["column"]: p for p in exc.value.problems}
    assert "required column is missing" in problems["league"]["problem"]
    assert "dtype" in problems["height_cm"]["problem"]
    assert problems["birth_month"]["rows"] == [2] and problems["birth_month"]["values"] == [13]
    assert problems["openness"]["values"] == [3.5]
    assert problems["face_1"]["rows"] == [5]
    assert "shape" in problems["text_llama"]["problem"]


def test_nan_gaps_are_allowed():
    data = load("celebpersona", n=200)
    assert data.frame["height_cm"].isna().any()
    validate(data.frame, "celebpersona", data.embeddings)


def test_local_file_with_out_of_range_score_is_rejected(tmp_path):
    data = generate("athlepersona", n=30, seed=0, face_dim=16, text_dim=16)
    data.frame.loc[0, "llama_neuroticism"] = 7
    write_dataset(data, tmp_path, stem="x")
    with pytest.raises(ValidationError, match="llama_neuroticism"):
        load("athlepersona", source=str(tmp_path / "x.parquet"))


def test_manifest_matches_and_regeneration_is_byte_identical(tmp_path):
    manifest = json.loads((sample_dir() / "MANIFEST.json").read_text())
    for name, digest in manifest["files"].items():
        assert sha256_file(sample_dir() / name) == digest, f"{name} differs from MANIFEST.json"
    fresh = write_sample(tmp_path)
    assert fresh["files"] == manifest["files"]
    for ds, meta in manifest["datasets"].items():
        assert fresh["datasets"][ds]["content_sha256"] == meta["content_sha256"]
        assert content_hash(load(ds)) == meta["content_sha256"]


def test_hf_gated_repo_message(monkeypatch, tmp_path):
    """A gated dataset (network fine, terms not accepted) names the fix; no real request is made."""
    import huggingface_hub
    from huggingface_hub.errors import GatedRepoError

    from personax.data.io import hf

    class _Resp:  # the minimum of an HTTP response the hub error reads
        status_code = 403
        headers: dict = {}
        request = None
        url = "https://huggingface.co/datasets/Persona-X/celebpersona"

        def json(self):
            return {}

    def fake_snapshot_download(**kwargs):
        assert kwargs["repo_id"] == "Persona-X/celebpersona" and kwargs["revision"] == "v1"
        raise GatedRepoError("403 gated", response=_Resp())

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(hf, "_probe", lambda host, **kw: None)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    with pytest.raises(DataAccessError) as exc:
        load("celebpersona", source="hf", revision="v1", cache_dir=tmp_path)
    assert "gated" in str(exc.value)
    _assert_actionable(str(exc.value))


def test_celeb_three_face_measurements_and_text_labels_are_mapped(tmp_path):
    data = generate("celebpersona", n=60, seed=4, face_dim=16, text_dim=16)
    f = data.frame
    raw = f.rename(columns={"birth_year": "Birthyear", "height_cm": "Height(cm)", "gender": "Gender",
                            "occupation": "Occupation_idx", "Big_Nose": "big_nose"}).copy()
    raw["Gender"] = f["gender"].map({0: "female", 1: "male"})
    for k in (1, 2, 3):
        raw[f"Face_embedding_{k}"] = list(data.embeddings[f"face_{k}"])
    for llm in LLMS:
        raw[f"{llm}_embedding"] = list(data.embeddings[f"text_{llm}"])
    path = tmp_path / "celeb.parquet"
    raw.to_parquet(path)
    loaded = load("celebpersona", source=str(path))
    for k in (1, 2, 3):
        np.testing.assert_array_equal(loaded.embeddings[f"face_{k}"], data.embeddings[f"face_{k}"])
    pd.testing.assert_series_equal(loaded.frame["gender"], f["gender"])   # 'female' < 'male' → 0, 1
    assert any("gender: text labels encoded" in n for n in loaded.info["notes"])
    assert loaded.info["column_map"]["Big_Nose"] == "big_nose"


def test_unknown_league_value_is_rejected():
    data = load("athlepersona", n=30)
    frame = data.frame.copy()
    frame.loc[1, "league"] = "MLB"
    with pytest.raises(ValidationError, match="'league'.*MLB"):
        validate(frame, "athlepersona")


def test_missing_sample_files_are_regenerated_in_memory_with_the_same_content(tmp_path, monkeypatch):
    monkeypatch.setenv("PERSONAX_SAMPLE_DIR", str(tmp_path / "nowhere"))
    data = load("athlepersona")
    manifest = json.loads((REPO_SAMPLE / "MANIFEST.json").read_text())
    assert "regenerated in memory" in data.info["note"]
    assert content_hash(data) == manifest["datasets"]["athlepersona"]["content_sha256"]


def test_folder_with_two_formats_reads_parquet_only(tmp_path):
    data = generate("athlepersona", n=25, seed=6, face_dim=16, text_dim=16)
    raw = _renamed_raw(data)
    raw.to_parquet(tmp_path / "train.parquet")
    raw.drop(columns=[c for c in raw.columns if c.startswith("face_emb")]).head(3).to_csv(tmp_path / "preview.csv")
    (tmp_path / "README.md").write_text("# card\n")
    loaded = load("athlepersona", source=str(tmp_path))
    assert len(loaded) == 25 and [p.endswith("train.parquet") for p in loaded.info["files"]] == [True]


def test_mapping_reports_observed_scores_and_agreement_and_accepts_overrides(tmp_path):
    data = generate("athlepersona", n=50, seed=9, face_dim=16, text_dim=16)
    raw = _renamed_raw(data).rename(columns={"League": "club_competition"})
    raw.loc[0, "final_o"] = 9.0
    path = tmp_path / "r.parquet"
    raw.to_parquet(path)
    with pytest.raises(ColumnMappingError):
        load("athlepersona", source=str(path))
    with pytest.raises(ValidationError, match="'openness'"):   # 9 is outside 1–3 …
        load("athlepersona", source=str(path), column_map={"club_competition": "league"})
    raw.loc[0, "final_o"] = 1.0 if data.frame.loc[0, "openness"] != 1.0 else 2.0   # … a valid but different value
    raw.to_parquet(path)
    with pytest.warns(DataWarning, match=r"'openness': 1 of 50 value\(s\) disagree.*row 0"):
        loaded = load("athlepersona", source=str(path), column_map={"club_competition": "league"})
    with pytest.raises(ValidationError, match=r"'openness': 1 of 50 value\(s\) disagree"):
        load("athlepersona", source=str(path), column_map={"club_competition": "league"}, strict=True)
    assert loaded.info["column_map"]["league"] == "club_competition"
    assert loaded.info["aggregate_agreement"]["openness"] == pytest.approx(49 / 50)
    assert loaded.info["observed_score_values"]["chatgpt"] == [0, 1, 2, 3]


@pytest.mark.parametrize("cell, expected", [
    ([2, 3, 1, 2, 0], [2, 3, 1, 2, 0]),
    (np.array([1.0, 1.5, 2.0, 2.5, 3.0]), [1.0, 1.5, 2.0, 2.5, 3.0]),
    ('{"openness": 3, "conscientiousness": 2, "extraversion": 1, "agreeableness": 0, "neuroticism": 2}',
     [3, 2, 1, 0, 2]),
    ("{'O': 1, 'C': 2, 'E': 3, 'A': 1, 'N': None}", [1, 2, 3, 1, np.nan]),
    ("O: 2, C: 3, E: 1, A: 2, N: 0", [2, 3, 1, 2, 0]),
    ("[2, 2, 2, 2, 2]", [2, 2, 2, 2, 2]),
    (None, None),
])
def test_packed_score_cells(cell, expected):
    from personax.data.io import _parse_packed

    out = _parse_packed(cell)
    if expected is None:
        assert out is None
    else:
        np.testing.assert_array_equal(np.asarray(out, dtype=float), np.asarray(expected, dtype=float))


def test_packed_cell_with_wrong_length_is_named():
    from personax.data.io import _parse_packed

    with pytest.raises(ValueError, match="4 values, expected 5"):
        _parse_packed([1, 2, 3, 4])
    with pytest.raises(ValueError, match="no entry for 'neuroticism'"):
        _parse_packed({"O": 1, "C": 2, "E": 3, "A": 1})


def test_unparseable_packed_column_names_column_and_row(tmp_path):
    data = generate("athlepersona", n=10, seed=0, face_dim=16, text_dim=16)
    raw = _renamed_raw(data)
    raw["Chatgpt_score"] = raw["Chatgpt_score"].astype(object)
    raw.at[3, "Chatgpt_score"] = "high, low"
    raw["Chatgpt_score"] = raw["Chatgpt_score"].map(str)
    raw.to_parquet(tmp_path / "p.parquet")
    with pytest.raises(ValueError, match="column 'Chatgpt_score', row 3"):
        load("athlepersona", source=str(tmp_path / "p.parquet"))


def test_column_map_can_name_embedding_columns(tmp_path):
    data = generate("athlepersona", n=20, seed=0, face_dim=16, text_dim=16)
    raw = _renamed_raw(data)
    raw = raw.drop(columns=[c for c in raw.columns if c.startswith("face_emb")])
    raw["photo_vec"] = list(data.embeddings["face_1"])
    raw.to_parquet(tmp_path / "e.parquet")
    with pytest.raises(ColumnMappingError, match="embedding:face"):
        load("athlepersona", source=str(tmp_path / "e.parquet"))
    ds = load("athlepersona", source=str(tmp_path / "e.parquet"), column_map={"photo_vec": "face_1"})
    np.testing.assert_array_equal(ds.embeddings["face_1"], data.embeddings["face_1"])
    assert ds.info["column_map"]["embedding:face_1"] == "photo_vec"
    with pytest.raises(ColumnMappingError, match="not vectors"):
        load("athlepersona", source=str(tmp_path / "e.parquet"), column_map={"League": "text_llama"})


def test_probe_has_a_hard_deadline(monkeypatch):
    """A resolver that hangs cannot stall load(source='hf'): the probe gives up on time."""
    import socket as socket_mod
    import threading

    from personax.data.io import hf

    release = threading.Event()

    def hang(*args, **kwargs):
        # blocks like a stuck resolver; released at the end so the daemon thread ends cleanly
        release.wait(30)
        raise OSError("released by the test")

    monkeypatch.setattr(socket_mod, "create_connection", hang)
    t0 = time.perf_counter()
    try:
        reason = hf._probe("huggingface.co", timeout=0.5)
        assert time.perf_counter() - t0 < 3
        assert "no answer" in reason
    finally:
        release.set()
