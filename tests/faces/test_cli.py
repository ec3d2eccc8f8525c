"""``personax faces`` subcommands, end to end through the top-level CLI."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd

from personax.cli import main
from personax.faces import PrivacyKey, embedding_matrix, recover


def test_extract_weights_and_obfuscate_round_trip(astronaut, tmp_path, capsys, no_network):
    cv2.imwrite(str(tmp_path / "a.png"), astronaut[:, :, ::-1])
    (tmp_path / "b.png").write_bytes(b"broken")
    out = tmp_path / "out" / "emb.parquet"
    # a broken image is a failed item: exit 1, --out untouched, every row kept beside it
    assert main(["faces", "extract", str(tmp_path), "--out", str(out), "--weights-dir", str(tmp_path / "w")]) == 1
    captured = capsys.readouterr()
    assert "2 image(s): ok 1, unreadable 1" in captured.out
    assert "1 of 2 image(s) failed" in captured.err and "b.png: unreadable" in captured.err
    assert not out.exists()
    assert pd.read_parquet(out.with_name("emb.failed.parquet")).status.tolist() == ["ok", "unreadable"]
    assert main(["faces", "extract", str(tmp_path), "--out", str(out), "--weights-dir", str(tmp_path / "w"),
                 "--allow-failures"]) == 0
    assert "{'ok': 1, 'unreadable': 1}" in capsys.readouterr().out
    assert not out.with_name("emb.failed.parquet").exists()
    df = pd.read_parquet(out)
    assert df.status.tolist() == ["ok", "unreadable"]

    assert main(["faces", "weights", "--weights-dir", str(tmp_path / "w")]) == 0
    listing = capsys.readouterr().out
    assert "dlib_face_recognition_resnet_model_v1.dat" in listing and "arcface_weights.pth" in listing

    key, obf = tmp_path / "secret" / "key.npz", tmp_path / "obf.parquet"
    assert main(["faces", "obfuscate", str(out), "--key", str(key), "--new-key", "--out", str(obf)]) == 2
    assert "--new-key needs --seed" in capsys.readouterr().err
    assert main(["faces", "obfuscate", str(out), "--key", str(key), "--new-key", "--seed", "987",
                 "--out", str(obf)]) == 0
    Z = embedding_matrix(pd.read_parquet(obf), "emb_dlib")
    X = embedding_matrix(df, "emb_dlib")
    assert np.isnan(Z[1]).all() and not np.allclose(Z[0], X[0])
    np.testing.assert_allclose(recover(Z[:1], PrivacyKey.load(key)), X[:1], atol=1e-10)


def test_fetch_weights_offline_exit_code(tmp_path, capsys, no_network):
    rc = main(["faces", "fetch-weights", "Age", "--weights-dir", str(tmp_path), "--url", "http://127.0.0.1:9/x.pth",
               "--timeout", "2"])
    assert rc == 1
    assert "age_model_weights.pth" in capsys.readouterr().err


def test_faces_without_subcommand_prints_help(capsys):
    assert main(["faces"]) == 2
    assert "fetch-weights" in capsys.readouterr().out
