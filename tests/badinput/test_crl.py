"""``personax crl train``: every bad option is refused before any training, and a finished
``results.csv`` is never overwritten."""

from __future__ import annotations

import pytest

AREA = "crl train"


@pytest.fixture
def run_dir(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "results.csv").write_text("benchmark,method,seed,n,r2\nnumerical,mcl,0,200,0.8\n")
    return out


def train(out, *extra):
    return ["crl", "train", "--profile", "ci", "--methods", "mcl", "--seeds", "0", "--out", str(out), *extra]


@pytest.mark.parametrize("extra, fragments", [
    (["--n", "5"], ["--n", "integer >= 20"]),
    (["--n", "many"], ["--n", "'many'"]),
    (["--seeds", "-1"], ["--seeds", "non-negative"]),
    (["--seeds", "0", "0"], ["--seeds 0 0", "repeats a seed"]),
    (["--data-seed", "x"], ["--data-seed", "'x'"]),
    (["--methods", "vae"], ["--methods", "'vae'"]),
    (["--profile", "fast"], ["--profile", "'fast'"]),
    (["--benchmark", "tabular"], ["--benchmark", "'tabular'"]),
    (["--device", "tpu"], ["--device 'tpu'", "unknown device"]),
    (["--image-base", "fixed"], ["--image-base apply to --benchmark images only"]),
])
def test_bad_option(bad, tmp_path, extra, fragments):
    bad(train(tmp_path / "new", *extra), code=2, names=fragments, watch=[tmp_path])


def test_cuda_without_a_gpu(bad, tmp_path, no_gpu):
    bad(train(tmp_path / "new", "--device", "cuda"), code=2, names=["--device 'cuda'", "no CUDA GPU"],
        watch=[tmp_path])


def test_missing_image_source(bad, tmp_path):
    bad(train(tmp_path / "new", "--benchmark", "images", "--image-sources", tmp_path / "mnist", "digits"), code=2,
        names=["source 1", "mnist", "does not exist", "'digits'"], watch=[tmp_path])


def test_unreadable_image_source(bad, tmp_path):
    (tmp_path / "fashion.npz").write_text("not an archive")
    bad(train(tmp_path / "new", "--benchmark", "images", "--image-sources", "digits", tmp_path / "fashion.npz"),
        code=1, names=["fashion.npz", "cannot read images"], watch=[tmp_path])


def test_out_is_a_file(bad, tmp_path):
    (tmp_path / "taken").write_text("keep")
    bad(train(tmp_path / "taken"), code=2, names=["taken", "is a file"], watch=[tmp_path])


def test_finished_results_are_not_overwritten(bad, run_dir):
    bad(train(run_dir), code=2, names=["results.csv exists", "--resume", "never overwritten"], watch=[run_dir])


def test_resume_with_a_damaged_ledger(bad, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "results.csv").write_bytes(b"")
    bad(train(out, "--resume"), code=1, names=["--resume", "results.csv", "empty"], watch=[out])


def test_resume_with_a_foreign_table(bad, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "results.csv").write_text("a,b\n1,2\n")
    bad(train(out, "--resume"), code=1, names=["--resume", "no column(s) ['method', 'seed', 'n']"], watch=[out])


def test_min_n_matches_the_benchmark_generators():
    from personax.crl import cli, synthetic

    with pytest.raises(ValueError, match="too small"):
        synthetic.numerical(n=cli.MIN_N - 1, seed=0)
    synthetic.numerical(n=cli.MIN_N, seed=0)
