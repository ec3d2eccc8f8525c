"""The privacy transform: invertibility, what it preserves (exactly or in decision), what it hides."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from personax.faces import PrivacyKey, obfuscate, recover
from personax.faces.audit import (
    dependence_pvalues,
    invariance_table,
    latent_recovery,
    mean_corr_coef,
    procrustes_attack,
    reidentification,
)


def _world(n=240, d=48, k=4, seed=0):
    """Embeddings generated from k planted latents (nonlinear mixing + noise), plus a trait
    that depends on latent 0 and one that is independent of everything."""
    rng = np.random.default_rng(seed)
    latents = rng.standard_normal((n, k))
    mix = rng.standard_normal((k, d))
    X = np.tanh(latents @ mix / np.sqrt(k)) * 0.1 + 0.01 * rng.standard_normal((n, d))
    trait = latents[:, 0] + 0.7 * rng.standard_normal(n)
    noise_trait = rng.standard_normal(n)
    return X, latents, trait, noise_trait


@pytest.mark.parametrize("mode", ["orthogonal", "orthogonal+monotone"])
@pytest.mark.parametrize("d", [3, 128, 384])
def test_recover_inverts_obfuscate(mode, d):
    rng = np.random.default_rng(d)
    X = rng.standard_normal((50, d)) * 0.05
    key = PrivacyKey.for_data(X, seed=11, mode=mode)
    Z = obfuscate(X, key)
    assert Z.dtype == np.float64 and Z.shape == X.shape
    assert np.max(np.abs(recover(Z, key) - X)) < 1e-10
    assert np.max(np.abs(Z - X)) > 1e-3  # it did change the data
    # float32 input (as shipped embeddings are) round-trips to its float64 value
    X32 = X.astype(np.float32)
    assert np.max(np.abs(recover(obfuscate(X32, key), key) - X32.astype(np.float64))) < 1e-10


def test_key_is_orthogonal_deterministic_and_seed_specific():
    a = PrivacyKey.generate(64, seed=5)
    b = PrivacyKey.generate(64, seed=5)
    c = PrivacyKey.generate(64, seed=6)
    np.testing.assert_allclose(a.rotation.T @ a.rotation, np.eye(64), atol=1e-12)
    assert a.fingerprint == b.fingerprint != c.fingerprint
    np.testing.assert_array_equal(a.rotation, b.rotation)
    assert np.all(a.scale > 0) and np.all(a.bend > 0)
    assert "rotation" not in repr(a) and a.fingerprint in repr(a)


def test_haar_rotation_is_unbiased():
    # Haar-distributed Q: Q[0, 0] * sqrt(d) is ~N(0, 1) for large d; no sign bias
    vals = np.array([PrivacyKey.generate(40, seed=s, mode="orthogonal").rotation[0, 0] for s in range(300)])
    z = vals * np.sqrt(40)
    assert abs(z.mean()) < 0.2 and 0.8 < z.std() < 1.2


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="seed=None"):
        PrivacyKey.generate(8, seed=None)
    with pytest.raises(ValueError, match="mode must be one of"):
        PrivacyKey.generate(8, seed=0, mode="rot")
    key = PrivacyKey.generate(8, seed=0)
    with pytest.raises(ValueError, match="dimension 9 does not match the key's dim 8"):
        obfuscate(np.zeros((2, 9)), key)
    with pytest.raises(ValueError, match="2-D"):
        obfuscate(np.zeros(8), key)
    with pytest.raises(TypeError, match="PrivacyKey"):
        recover(np.zeros((2, 8)), "secret")


def test_save_load_round_trip_and_tamper_detection(tmp_path):
    key = PrivacyKey.generate(16, seed=3, data_scale=0.2)
    path = key.save(tmp_path / "keys" / "face_key")
    assert path.suffix == ".npz"
    loaded = PrivacyKey.load(path)
    X = np.random.default_rng(0).standard_normal((5, 16))
    np.testing.assert_array_equal(obfuscate(X, loaded), obfuscate(X, key))
    with pytest.raises(FileExistsError, match="overwrite=True"):
        key.save(path)
    with np.load(path) as f:
        parts = dict(f)
    parts["shift"] = parts["shift"] + 1.0
    np.savez(tmp_path / "bad.npz", **parts)
    with pytest.raises(ValueError, match="fingerprint mismatch"):
        PrivacyKey.load(tmp_path / "bad.npz")


def test_orthogonal_mode_preserves_geometry_monotone_mode_does_not():
    X, *_ = _world()
    ko = PrivacyKey.for_data(X, seed=1, mode="orthogonal")
    km = PrivacyKey.for_data(X, seed=1, mode="orthogonal+monotone")
    G = X @ X.T
    np.testing.assert_allclose(obfuscate(X, ko) @ obfuscate(X, ko).T, G, atol=1e-12)
    Zm = obfuscate(X, km)
    assert np.max(np.abs(Zm @ Zm.T - G)) > 1e-3
    # the elementwise map is strictly increasing in each rotated coordinate
    U = X @ km.rotation
    for j in range(0, X.shape[1], 7):
        order = np.argsort(U[:, j])
        assert np.all(np.diff(Zm[order, j]) > 0)


def test_dependence_pvalues_exactly_invariant_under_orthogonal_mode():
    X, _, trait, noise = _world()
    Z = obfuscate(X, PrivacyKey.for_data(X, seed=2, mode="orthogonal"))
    for y in (trait, noise):
        raw = dependence_pvalues(X, y, tests=("dcor", "hsic"), n_perm=200, seed=4)
        rot = dependence_pvalues(Z, y, tests=("dcor", "hsic"), n_perm=200, seed=4)
        assert raw == rot  # bit-identical p-values: same distances, same permutations
        # the project's Gamma-HSIC (deterministic null): equal up to floating-point rounding
        g_raw = dependence_pvalues(X, y, tests=("hsic_gamma",))["hsic_gamma"]
        g_rot = dependence_pvalues(Z, y, tests=("hsic_gamma",))["hsic_gamma"]
        assert g_rot == pytest.approx(g_raw, rel=1e-8, abs=1e-300)


def test_monotone_mode_preserves_decisions():
    X, _, trait, noise = _world()
    Z = obfuscate(X, PrivacyKey.for_data(X, seed=2))
    dep_raw, dep_z = dependence_pvalues(X, trait, n_perm=200), dependence_pvalues(Z, trait, n_perm=200)
    null_raw, null_z = dependence_pvalues(X, noise, n_perm=200), dependence_pvalues(Z, noise, n_perm=200)
    for t in ("dcor", "hsic", "hsic_gamma"):
        assert dep_raw[t] < 0.01 and dep_z[t] < 0.01
        assert null_raw[t] > 0.05 and null_z[t] > 0.05


def test_audit_tests_type_one_error_and_power():
    # the audit's permutation tests themselves: level alpha under the null, power under dependence
    rng = np.random.default_rng(123)
    reps, n, alpha = 150, 60, 0.05
    null_p = {"dcor": [], "hsic": []}
    alt_rej = {"dcor": 0, "hsic": 0}
    for r in range(reps):
        E = rng.standard_normal((n, 6))
        for t, p in dependence_pvalues(E, rng.standard_normal(n), tests=("dcor", "hsic"), n_perm=99, seed=r).items():
            null_p[t].append(p)
        if r < 30:
            y = E[:, 0] + E[:, 0] ** 2 + 0.3 * rng.standard_normal(n)
            for t, p in dependence_pvalues(E, y, tests=("dcor", "hsic"), n_perm=99, seed=r).items():
                alt_rej[t] += p < alpha
    for t in null_p:
        rejections = int(np.sum(np.array(null_p[t]) < alpha))
        # two-sided binomial test of the rejection rate against alpha
        assert stats.binomtest(rejections, reps, alpha).pvalue > 0.001, (t, rejections)
        assert alt_rej[t] >= 24, (t, alt_rej[t])  # >= 80% power on a nonlinear dependence


def test_crl_metrics_invariant():
    X, L, *_ = _world(n=300)
    ko = PrivacyKey.for_data(X, seed=8, mode="orthogonal")
    km = PrivacyKey.for_data(X, seed=8)
    raw = latent_recovery(X, L)
    rot = latent_recovery(obfuscate(X, ko), L)
    mono = latent_recovery(obfuscate(X, km), L)
    assert raw["pca_mcc"] > 0.6 and raw["ridge_r2"] > 0.7
    for m in raw:
        assert abs(rot[m] - raw[m]) < 1e-10
        assert abs(mono[m] - raw[m]) < 0.15  # same latents, slightly bent coordinates
    # MCC against the project's CRL metric when it exists (else the local one is the reference)
    try:
        from personax.crl.metrics import mcc as crl_mcc
    except ImportError:
        crl_mcc = None
    if crl_mcc is not None:
        from sklearn.decomposition import PCA

        pcs = PCA(4, svd_solver="full").fit_transform(X)
        assert abs(float(crl_mcc(pcs, L)) - mean_corr_coef(pcs, L)) < 1e-6


def test_mean_corr_coef_known_values():
    rng = np.random.default_rng(0)
    L = rng.standard_normal((500, 3))
    assert mean_corr_coef(L[:, [2, 0, 1]] * [-1, 2, 3], L) == pytest.approx(1.0)
    assert mean_corr_coef(rng.standard_normal((500, 3)), L) < 0.15


def test_invariance_table_schema_and_values():
    X, L, trait, _ = _world()
    versions = {m: obfuscate(X, PrivacyKey.for_data(X, seed=3, mode=m)) for m in ("orthogonal", "orthogonal+monotone")}
    shuffled = np.random.default_rng(1).permutation(trait)  # independent of X by construction
    tab = invariance_table(X, versions, {"trait": trait, "null": shuffled}, L, n_perm=100)
    assert tab.statistic.tolist() == ["dcor", "hsic", "hsic_gamma"] * 2 + ["pca_mcc", "ridge_r2"]
    assert tab.target.tolist() == ["trait"] * 3 + ["null"] * 3 + ["latents"] * 2
    assert (tab["max_abs_diff_orthogonal"] < 1e-10).all()
    pv = tab[tab.kind == "p-value"]
    assert pv["decision_same_orthogonal"].all() and pv["decision_same_orthogonal+monotone"].all()
    assert (pv[pv.target == "trait"].raw < 0.05).all() and (pv[pv.target == "null"].raw > 0.05).all()
    # a single array works too
    assert invariance_table(X, versions, trait, n_perm=20).target.unique().tolist() == ["target"]


def test_reidentification_fails_without_key_and_succeeds_with_it():
    X, *_ = _world(n=300)
    for mode in ("orthogonal", "orthogonal+monotone"):
        key = PrivacyKey.for_data(X, seed=9, mode=mode)
        res = reidentification(X, obfuscate(X, key), key).set_index("attack")
        no_key = res.loc["released vs raw, no key"]
        # chance is 1/300; allow binomial slack (<= 5 correct of 300)
        assert no_key.top1 <= 5 / 300 and no_key.top5 <= 0.05
        assert res.loc["recovered with key vs raw", "top1"] == 1.0


def test_procrustes_attack_documents_the_limit():
    X, *_ = _world(n=300, d=48)
    key = PrivacyKey.for_data(X, seed=9, mode="orthogonal")
    res = procrustes_attack(X, obfuscate(X, key), [3, 60])
    assert res.top1.iloc[-1] > 0.95  # with more leaked pairs than dimensions, rotation is undone
    assert res.top1.iloc[0] < res.top1.iloc[-1]


def test_text_embedding_dimension():
    # usable for text embeddings too (e.g. 384-d MiniLM); rows with NaN stay NaN
    rng = np.random.default_rng(4)
    T = rng.standard_normal((20, 384))
    T[3] = np.nan
    key = PrivacyKey.for_data(T, seed=1)
    Z = obfuscate(T, key)
    assert np.isnan(Z[3]).all() and np.isfinite(np.delete(Z, 3, axis=0)).all()
    np.testing.assert_allclose(recover(Z, key)[[0, 1, 19]], T[[0, 1, 19]], atol=1e-10)
