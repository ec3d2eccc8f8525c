"""extract(): one row per input with a status, offline Dlib embeddings, local attribute weights."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from personax.faces import MissingWeightsError, embedding_matrix, extract, load_image
from personax.faces.extraction import STATUSES


def _cos(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.fixture(scope="module")
def batch(astronaut, tmp_path_factory):
    """One extract() call over every kind of input (shared: the Dlib model loads once)."""
    d = tmp_path_factory.mktemp("batch")
    cv2.imwrite(str(d / "astronaut.png"), astronaut[:, :, ::-1])
    (d / "corrupt.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    cv2.imwrite(str(d / "blank.png"), np.full((160, 160, 3), 127, np.uint8))
    small = cv2.resize(astronaut, (256, 256))
    pad = np.zeros((512, 256, 3), np.uint8)
    pad[:256] = small
    two = np.concatenate([astronaut, pad], axis=1)  # the large face and a half-size copy
    inputs = [d / "astronaut.png", astronaut, astronaut[:, ::-1].copy(), d / "corrupt.jpg",
              d / "does-not-exist.png", np.zeros(7), d / "blank.png", two,
              astronaut.astype(np.float64) / 255.0]
    return inputs, extract(inputs)


def test_one_row_per_input_in_order_with_statuses(batch):
    inputs, df = batch
    assert len(df) == len(inputs)
    assert list(df["status"]) == ["ok", "ok", "ok", "unreadable", "unreadable", "unreadable", "no_face",
                                  "multiple_faces", "ok"]
    assert set(df["status"]) <= set(STATUSES)
    assert df.loc[0, "source"].endswith("astronaut.png") and df.loc[1, "source"] == "array:1"
    assert "cannot decode" in df.loc[3, "message"] and "file not found" in df.loc[4, "message"]
    assert "shape (7,)" in df.loc[5, "message"]
    assert df.loc[6, "n_faces"] == 0 and df.loc[7, "n_faces"] == 2
    assert (df.loc[df.status.isin(["ok", "multiple_faces"]), "message"] != "").sum() == 1  # only the 2-face note
    assert df.attrs["embedding_dim"] == 128 and df.attrs["embedding_column"] == "emb_dlib"


def test_boxes_confidence_and_largest_face_policy(batch, astronaut):
    _, df = batch
    ok = df.loc[0]
    assert 0 < ok.confidence <= 2 and ok.box_w > 60  # Haar scores are > 0, not capped at 1
    # the face is in the upper-middle of the photo
    assert 100 < ok.box_x + ok.box_w / 2 < 300 and 50 < ok.box_y + ok.box_h / 2 < 200
    # flipped image: the box is mirrored
    flipped = df.loc[2]
    assert abs((flipped.box_x + flipped.box_w / 2) - (512 - (ok.box_x + ok.box_w / 2))) < 10
    # two faces: the larger one (left, full-size) was used
    two = df.loc[7]
    assert two.box_w > 0.8 * ok.box_w and two.box_x < 512
    assert "largest with both eyes" in two.message


def test_embeddings_aligned_nan_rows_and_similarity(batch):
    _, df = batch
    X = embedding_matrix(df)
    assert X.shape == (len(df), 128)
    failed = df.status.isin(["unreadable", "no_face", "error"]).to_numpy()
    assert np.isnan(X[failed]).all() and np.isfinite(X[~failed]).all()
    # file and in-memory array of the same photo give the same embedding
    np.testing.assert_allclose(X[0], X[1], atol=1e-9)
    # float [0, 1] input is the same picture
    assert _cos(X[0], X[8]) > 0.999
    # a mirrored photo of the same face stays close (Dlib euclidean threshold is 0.6)
    assert np.linalg.norm(X[0] - X[2]) < 0.6


def test_parquet_round_trip(batch, tmp_path):
    _, df = batch
    path = tmp_path / "emb.parquet"
    df.to_parquet(path)
    back = pd.read_parquet(path)
    np.testing.assert_array_equal(np.isnan(embedding_matrix(back, "emb_dlib")), np.isnan(embedding_matrix(df)))
    np.testing.assert_allclose(embedding_matrix(back, "emb_dlib")[0], embedding_matrix(df)[0])


def test_folder_input_sorted_hidden_skipped(astronaut, tmp_path):
    cv2.imwrite(str(tmp_path / "b.jpg"), astronaut[:, :, ::-1])
    (tmp_path / "a_notes.txt").write_text("not an image")
    (tmp_path / ".hidden.png").write_bytes(b"")
    df = extract(tmp_path, model=None)
    assert [s.rsplit("/", 1)[-1] for s in df.source] == ["a_notes.txt", "b.jpg"]
    assert list(df.status) == ["unreadable", "ok"]
    assert "emb_dlib" not in df and df.attrs["model"] is None


def test_dlib_detector_and_bgr_arrays(astronaut):
    df = extract([astronaut[:, :, ::-1].copy()], detector="dlib", channel_order="bgr")
    assert df.status.tolist() == ["ok"] and df.confidence[0] > 0.5
    ref = extract([astronaut])
    assert _cos(embedding_matrix(df)[0], embedding_matrix(ref)[0]) > 0.95  # different boxes, same person


def test_missing_model_weights_fail_before_any_work(astronaut, tmp_path, no_network):
    with pytest.raises(MissingWeightsError, match="arcface_weights.pth.*fetch-weights ArcFace"):
        extract([astronaut], model="ArcFace", weights_dir=tmp_path)
    with pytest.raises(MissingWeightsError, match="race_model_single_batch.pth"):
        extract([astronaut], attributes=("race",), weights_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown attribute 'mood'"):
        extract([astronaut], attributes=("mood",), weights_dir=tmp_path)


def test_local_attribute_weights_run_offline(astronaut, emotion_home, no_network):
    from deepface.models.demography.DemographyUtils import EMOTION_LABELS

    df = extract([astronaut, np.zeros(3)], attributes=("emotion",), weights_dir=emotion_home)
    assert df.status.tolist() == ["ok", "unreadable"]
    assert df.emotion[0] in EMOTION_LABELS and 0 < df.emotion_score[0] <= 100
    assert df.emotion[1] is None and np.isnan(df.emotion_score[1])
    # "available" picks what is present and reports the rest
    avail = extract([astronaut], attributes="available", weights_dir=emotion_home, model=None)
    assert avail.attrs["attributes"] == ["emotion"]
    assert avail.attrs["attributes_unavailable"] == ["age", "gender", "race"]


def test_load_image_validation(tmp_path):
    with pytest.raises(ValueError, match="within \\[0, 1\\]"):
        load_image(np.full((4, 4, 3), 2.0))
    with pytest.raises(ValueError, match="uint8 or float"):
        load_image(np.zeros((4, 4, 3), dtype=np.int64))
    gray = load_image(np.zeros((5, 6), np.uint8))
    assert gray.shape == (5, 6, 3) and gray.dtype == np.uint8
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 0] = 255  # red in RGB order
    assert load_image(rgba)[0, 0].tolist() == [0, 0, 255]  # BGR out
    with pytest.raises(ValueError, match="channel_order"):
        load_image(rgba, channel_order="rgba")


def test_deepface_errors_become_error_rows(astronaut, monkeypatch):
    from deepface import DeepFace

    def broken(*args, **kwargs):
        raise RuntimeError("simulated model failure")

    monkeypatch.setattr(DeepFace, "represent", broken)
    with pytest.warns(RuntimeWarning, match="1 of 2 image"):
        df = extract([astronaut, np.zeros(2)])
    assert df.status.tolist() == ["error", "unreadable"]
    assert df.message[0] == "RuntimeError: simulated model failure"
    assert df.emb_dlib[0] is None and pd.isna(df.box_x[0])


def test_demo_batch_statuses_and_false_positive_policy(tmp_path):
    from personax.faces.demo import augmentations, write_demo_batch

    paths = write_demo_batch(tmp_path)
    df = extract(tmp_path)
    assert [s.rsplit("/", 1)[-1] for s in df.source] == [p.name for p in paths]
    status = dict(zip((p.name for p in paths), df.status))
    assert status["20_two_faces.png"] == "multiple_faces"
    assert status["21_no_face.png"] == "no_face" and status["22_unreadable.jpg"] == "unreadable"
    assert all(status[p.name] in ("ok", "multiple_faces") for p in paths[:7])
    # the Haar detector also fires on the black corner of the rotated copy; the box with
    # located eyes (the real face, upper half) is the one used
    rot = df[df.source.str.endswith("rotate_-10.png")].iloc[0]
    assert rot.box_y < 200
    X = embedding_matrix(df)
    assert np.nanmax(np.linalg.norm(X[:8] - X[0], axis=1)) < 0.6  # all augmentations: same person
    # a confidence floor removes the dlib detector's low-score background boxes
    dl = extract([augmentations()["flip"]], detector="dlib", model=None, min_confidence=0.5)
    assert dl.status.tolist() == ["ok"]


def test_folder_inside_a_list_is_reported(tmp_path):
    df = extract([tmp_path], model=None)
    assert df.status.tolist() == ["unreadable"] and "is a folder" in df.message[0]


def test_dlib_model_is_loaded_once_per_process(astronaut):
    from deepface.modules import modeling

    extract([astronaut])
    first = modeling.cached_models["facial_recognition"]["Dlib"]
    extract([astronaut[:, ::-1].copy()])
    assert modeling.cached_models["facial_recognition"]["Dlib"] is first


def test_importing_the_package_is_cheap():
    import subprocess
    import sys

    code = ("import sys, personax.faces, personax.faces.privacy, personax.faces.weights; "
            "print(any(m in sys.modules for m in ('deepface', 'torch', 'cv2')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_never_writes_to_the_users_home(tmp_path):
    # a fresh process with DEEPFACE_HOME unset: deepface's default would be ~/.deepface
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("DEEPFACE_HOME", "PYTEST_CURRENT_TEST")}
    env.update(HOME=str(tmp_path / "home"), PERSONAX_CACHE=str(tmp_path / "cache"), PERSONAX_QUIET="1")
    (tmp_path / "home").mkdir()
    code = ("from skimage import data; from personax.faces import extract; "
            "print(extract([data.astronaut()]).status.tolist())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "['ok']" in out.stdout
    assert not (tmp_path / "home" / ".deepface").exists()
    weights_dir = tmp_path / "cache" / "deepface" / ".deepface" / "weights"
    assert (weights_dir / "dlib_face_recognition_resnet_model_v1.dat").exists()
