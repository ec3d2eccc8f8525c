"""``personax faces extract`` (and ``obfuscate``): every failed image is reported and exits non-zero,
and a good earlier output is never replaced by a failed run."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

AREA = "faces extract"


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    from skimage import data

    folder = tmp_path_factory.mktemp("images")
    ok, buf = cv2.imencode(".jpg", data.astronaut()[:, :, ::-1])
    jpeg = buf.tobytes()
    (folder / "astronaut.jpg").write_bytes(jpeg)
    (folder / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 3])
    (folder / "notes.txt").write_text("not an image\n")
    (folder / "script.jpg").write_text("import os\nprint('a renamed python file')\n")
    (folder / "empty.png").write_bytes(b"")
    cv2.imwrite(str(folder / "grey.png"), np.full((160, 160, 3), 128, np.uint8))
    (folder / "nothing").mkdir()
    return folder


@pytest.fixture
def outdir(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    pd.DataFrame({"source": ["earlier.jpg"], "status": ["ok"]}).to_parquet(out / "emb.parquet")
    return out


def extract(out, *paths_and_options, weights=None):
    argv = ["faces", "extract", *map(str, paths_and_options), "--out", str(out / "emb.parquet")]
    return argv + (["--weights-dir", str(weights)] if weights else [])


@pytest.mark.parametrize("name, status, reason", [
    ("notes.txt", "unreadable", "looks like text, not an image"),
    ("script.jpg", "unreadable", "looks like text, not an image"),
    ("truncated.jpg", "unreadable", "truncated or corrupt"),
    ("empty.png", "unreadable", "empty (0 bytes)"),
    ("grey.png", "no_face", "found no face"),
])
def test_failed_image_exits_1_and_keeps_the_earlier_output(bad, images, outdir, name, status, reason):
    out, err = bad(extract(outdir, images / name), code=1,
                   names=["1 of 1 image(s) failed", f"{name}: {status}: ", reason, "emb.failed.parquet",
                          "was not written", "--allow-failures"],
                   watch=[outdir, images], created=["emb.failed.parquet"])
    assert f"1 image(s): {status} 1" in out
    assert pd.read_parquet(outdir / "emb.failed.parquet").status.tolist() == [status]


def test_missing_path_is_rejected_before_any_work(bad, images, outdir):
    bad(extract(outdir, images / "astronaut.jpg", images / "gone.jpg"), code=1,
        names=["gone.jpg", "no such file or folder", "nothing was processed"], watch=[outdir, images])


def test_empty_folder(bad, images, outdir):
    bad(extract(outdir, images / "nothing"), code=1, names=["nothing", "without any"], watch=[outdir, images])


@pytest.mark.parametrize("option, fragments", [
    (["--detector", "retinaface"], ["'retinaface'", "not supported", "opencv"]),
    (["--detector", "haar"], ["unknown detector model 'haar'", "opencv"]),
    (["--model", "FaceNet-9000"], ["unknown embedding model 'FaceNet-9000'", "Dlib"]),
    (["--attributes", "height"], ["unknown attribute 'height'", "age"]),
])
def test_unknown_model_detector_or_attribute(bad, images, outdir, option, fragments):
    bad(extract(outdir, images / "astronaut.jpg", *option), code=2, names=fragments, watch=[outdir, images])


def test_attribute_without_weights(bad, images, outdir, tmp_path):
    bad(extract(outdir, images / "astronaut.jpg", "--attributes", "emotion", weights=tmp_path / "w"), code=1,
        names=["facial_expression_model_weights.pth", "fetch-weights Emotion"], watch=[outdir, images])


def test_output_with_an_unknown_suffix(bad, images, tmp_path):
    bad(["faces", "extract", images / "astronaut.jpg", "--out", tmp_path / "emb.xlsx"], code=2,
        names=["emb.xlsx", ".parquet or .csv"], watch=[tmp_path])


def test_output_that_is_an_input(bad, images):
    bad(["faces", "extract", images / "astronaut.jpg", "--out", images / "astronaut.jpg"], code=2,
        names=[".parquet or .csv"], watch=[images])


def test_obfuscate_without_a_key(bad, tmp_path, outdir):
    bad(["faces", "obfuscate", outdir / "emb.parquet", "--key", tmp_path / "none.npz", "--out", tmp_path / "o.parquet"],
        code=2, names=["none.npz", "does not exist"], watch=[tmp_path])


def test_obfuscate_new_key_needs_a_seed(bad, tmp_path, outdir):
    bad(["faces", "obfuscate", outdir / "emb.parquet", "--key", tmp_path / "k.npz", "--new-key",
         "--out", tmp_path / "o.parquet"], code=2, names=["--new-key needs --seed"], watch=[tmp_path])


def test_obfuscate_input_without_embeddings(bad, tmp_path, outdir):
    bad(["faces", "obfuscate", outdir / "emb.parquet", "--key", tmp_path / "k.npz", "--new-key", "--seed", "5",
         "--out", tmp_path / "o.parquet"], code=1, names=["no emb_* column", "--column"], watch=[tmp_path])


def test_obfuscate_with_a_damaged_key(bad, tmp_path, outdir):
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 damaged")
    bad(["faces", "obfuscate", outdir / "emb.parquet", "--key", tmp_path / "bad.npz", "--column", "status",
         "--out", tmp_path / "o.parquet"], code=1, names=["bad.npz", "not a readable privacy key"],
        watch=[tmp_path])
