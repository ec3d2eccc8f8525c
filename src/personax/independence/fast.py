"""The ``fast`` backend: the project's own vectorised implementations (torch, float64).

Semantics follow the libraries the authors called (``official-code.md`` §2), so that
``backend="fast"`` and ``backend="reference"`` give the same answer:

* **KCI** (causal-learn ``KCI_UInd`` defaults): z-score each variable (ddof=1, constant
  dimension → 0); Gaussian kernel exp(−½θ‖a−b‖²) with θ = d/w², w = 0.8 (n < 200),
  0.5 (n < 1200) else 0.3; V = Σ K̃x∘K̃y; Gamma null with mean tr K̃x·tr K̃y/n and
  variance 2‖K̃x‖²‖K̃y‖²/n².
* **HSIC** (Gretton et al. 2008 Gamma test, as in ``conditional-independence``'s
  ``hsic_test``): kernel exp(−‖a−b‖²/(2σ²)), σ = 1/√2, on standardised values by default
  (``standardize=False`` is the authors' raw-unit "parity" mode, unit dependent);
  statistic (1/n²)Σ K̃x∘K̃y; Gamma null mean (1 + μxμy − μx − μy)/n (μ = mean off-diagonal
  kernel value) and variance 2(n−4)(n−5)/(n(n−1)(n−2)(n−3))·Σ_{i≠j}(K̃x∘K̃y)²/n².
* **RCIT** (causal-learn ``RIT``, the unconditional branch of ``"rcit"``): z-score;
  bandwidth = median non-zero distance among the first min(n, 500) rows; 5 random Fourier
  features √2cos(wx + b), w ~ N(0, 1/σ²), b ~ U(0, 2π), drawn from
  ``numpy.random.RandomState(seed)`` in causal-learn's order (x: w, b; then y: w, b), so
  the reference run under the same seed sees identical features; S = n‖Ĉov(fx, fy)‖²_F;
  null = weighted χ² with the eigenvalues of the covariance of the 25 feature products,
  evaluated by Hall–Buckley–Eagleson (see :mod:`personax.independence.nulls`; the
  library's Lindsay–Pilla–Basak call fails under NumPy 2 and falls back to the same HBE).
* **χ² / G²** (causal-learn ``chisq`` / ``gsq``): contingency table of the distinct
  values; X² = Σ(O−E)²/E, G² = 2ΣO ln(O/E); df = (kx−1)(ky−1); p = χ²_df tail; no Yates
  correction; p = 1 when df = 0.

The kernel tests never form an n×n matrix: see :mod:`personax.independence.kernels`.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np
from scipy import special
from scipy.spatial.distance import pdist

from personax.independence import kernels
from personax.independence.nulls import gamma_sf, hbe_sf
from personax.independence.result import IndependenceTestError, TestResult

BACKEND = "fast"


# --------------------------------------------------------------------------- preparation
def zscore(data: np.ndarray) -> np.ndarray:
    """Column z-score with ddof=1; a constant column becomes 0 (as causal-learn does)."""
    mean = data.mean(axis=0)
    std = data.std(axis=0, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (data - mean) / std
    z[:, ~(std > 0)] = 0.0
    return z


def kci_width(n: int) -> float:
    """causal-learn's empirical width rule for unconditional KCI."""
    return 0.8 if n < 200 else (0.5 if n < 1200 else 0.3)


def prepare_kci(data: np.ndarray) -> tuple[np.ndarray, float]:
    """(z-scored data, c) with k(a, b) = exp(−c‖a−b‖²), c = ½·d/w²."""
    n, d = data.shape
    return zscore(data), 0.5 * d / kci_width(n) ** 2


def prepare_hsic(data: np.ndarray, *, standardize: bool = True,
                 sigma: float = 1 / np.sqrt(2)) -> tuple[np.ndarray, float]:
    """(optionally standardised data, c) with c = 1/(2σ²)."""
    if not (np.isfinite(sigma) and sigma > 0):
        raise IndependenceTestError(f"hsic sigma must be a positive number, got {sigma!r}")
    return (zscore(data) if standardize else data), 1.0 / (2.0 * sigma ** 2)


# --------------------------------------------------------------------------- kernel tests
def kci_from_moments(m: kernels.PairMoments) -> TestResult:
    """KCI statistic and Gamma p-value from exact pair moments."""
    n = m.n
    mean = m.trace_x * m.trace_y / n
    var = 2.0 * m.fro2_x * m.fro2_y / n ** 2
    p = gamma_sf(m.cross, mean, var)
    return TestResult("kci", m.cross, p, "KCI (Gaussian kernels, empirical width, Gamma null)", BACKEND, n,
                      {"null_mean": mean, "null_var": var, "gamma_shape": mean ** 2 / var,
                       "gamma_scale": var / mean, "width_rule": kci_width(n), "strategy": m.strategy})


def hsic_from_moments(m: kernels.PairMoments, *, standardize: bool, sigma: float) -> TestResult:
    """Gamma-HSIC statistic and p-value from exact pair moments."""
    n = m.n
    if n < 6:
        raise IndependenceTestError(f"Gamma-HSIC needs n >= 6 (its variance has a factor (n-4)(n-5)), got n={n}")
    stat = m.cross / n ** 2
    mux = m.offsum_x / (n * (n - 1))
    muy = m.offsum_y / (n * (n - 1))
    mean = (1.0 + mux * muy - mux - muy) / n
    coef = 2.0 * (n - 4) * (n - 5) / (n * (n - 1) * (n - 2) * (n - 3))
    var = coef * m.sq_cross / n ** 2
    p = gamma_sf(stat, mean, var)
    mode = "standardised" if standardize else "raw units (parity mode, unit dependent)"
    return TestResult("hsic", stat, p, f"Gamma-HSIC (Gaussian kernel sigma={sigma:.4g}, {mode})", BACKEND, n,
                      {"null_mean": mean, "null_var": var, "mu_x": mux, "mu_y": muy,
                       "standardize": standardize, "sigma": sigma, "strategy": m.strategy})


def kci(x: np.ndarray, y: np.ndarray, *, device: str = "cpu") -> TestResult:
    """Unconditional KCI on cleaned arrays (see :mod:`personax.independence.prepare`)."""
    px, cx = prepare_kci(x)
    py, cy = prepare_kci(y)
    return kci_from_moments(kernels.pair_moments(px, cx, py, cy, device, need_sq_cross=False))


def hsic(x: np.ndarray, y: np.ndarray, *, device: str = "cpu", standardize: bool = True,
         sigma: float = 1 / np.sqrt(2)) -> TestResult:
    """Gamma-HSIC on cleaned arrays."""
    px, cx = prepare_hsic(x, standardize=standardize, sigma=sigma)
    py, cy = prepare_hsic(y, standardize=standardize, sigma=sigma)
    return hsic_from_moments(kernels.pair_moments(px, cx, py, cy, device), standardize=standardize, sigma=sigma)


def kernel_many(name: str, x: np.ndarray, partners: Sequence[np.ndarray], *, device: str = "cpu",
                **options: Any) -> list[TestResult]:
    """One kernel test (``"kci"`` or ``"hsic"``) of ``x`` against several partners on the same rows.

    All arrays are cleaned and share one row set.  Few-valued partners share a single
    blockwise pass over x's kernel when x is continuous — the battery's main saving.
    """
    if name == "kci":
        px, cx = prepare_kci(x)
        preps = [prepare_kci(y) for y in partners]
        finish = kci_from_moments
    elif name == "hsic":
        standardize = bool(options.get("standardize", True))
        sigma = float(options.get("sigma", 1 / np.sqrt(2)))
        px, cx = prepare_hsic(x, standardize=standardize, sigma=sigma)
        preps = [prepare_hsic(y, standardize=standardize, sigma=sigma) for y in partners]

        def finish(m):
            return hsic_from_moments(m, standardize=standardize, sigma=sigma)
    else:
        raise ValueError(f"kernel_many supports 'kci' and 'hsic', got {name!r}")
    moments: list[kernels.PairMoments | None] = [None] * len(partners)
    # one sort per variable: its grouped form also tells how many distinct values it has
    gx = kernels.group(px)
    gys = [kernels.group(py) for py, _ in preps]
    n = px.shape[0]
    need_sq = name == "hsic"
    best = [min(c, key=c.get) for c in (kernels.strategy_costs(n, gx.k, gy.k, need_sq_cross=need_sq) for gy in gys)]
    gg = [i for i, b in enumerate(best) if b == "grouped×grouped"]
    if gg:
        # x's k×k kernel is computed once and shared by every partner grouped with it
        qx = kernels.grouped_kernel(gx, cx, device)
        for i in gg:
            moments[i] = kernels.moments_grouped_grouped(gx, cx, gys[i], preps[i][1], device, qx=qx)
    if gx.k > kernels.MAX_LEVELS_MIXED:
        batch = [i for i, b in enumerate(best) if b == "continuous×grouped" and gys[i].k <= kernels.MAX_LEVELS_MIXED]
        if batch:
            res = kernels.moments_continuous_vs_grouped(px, cx, [(gys[i], preps[i][1]) for i in batch], device)
            for i, m in zip(batch, res):
                moments[i] = m
    for i, (py, cy) in enumerate(preps):
        if moments[i] is None:
            moments[i] = kernels.pair_moments(px, cx, py, cy, device, need_sq_cross=need_sq)
    return [finish(m) for m in moments]


# --------------------------------------------------------------------------- RCIT
def median_bandwidth(z: np.ndarray) -> float:
    """Median of the non-zero pairwise distances among the first min(n, 500) rows (1 if none)."""
    head = np.ascontiguousarray(z[: min(z.shape[0], 500)])
    return _median_bandwidth_cached(head.tobytes(), head.shape)


@functools.lru_cache(maxsize=256)
def _median_bandwidth_cached(buf: bytes, shape: tuple[int, int]) -> float:
    # keyed by the bytes of the rows used: in a battery the same attribute/trait rows recur
    head = np.frombuffer(buf, dtype=np.float64).reshape(shape)
    if shape[1] == 1:
        uniq, counts = np.unique(head[:, 0], return_counts=True)
        if uniq.size <= 64:
            return _grouped_median_distance(uniq, counts)
    d = pdist(head, metric="euclidean")
    d = d[d != 0]
    sigma = float(np.median(d)) if d.size else 0.0
    return sigma if (np.isfinite(sigma) and sigma != 0) else 1.0


def _grouped_median_distance(uniq: np.ndarray, counts: np.ndarray) -> float:
    """Median of the non-zero pairwise distances of a 1-D sample given as distinct values
    and counts: the distance |u_a − u_b| occurs c_a·c_b times (exactly ``np.median`` of
    the expanded list, without forming its O(m²) entries)."""
    a, b = np.triu_indices(uniq.size, k=1)
    if a.size == 0:
        return 1.0
    d = np.sqrt((uniq[a] - uniq[b]) ** 2)  # pdist's formula, so ties and rounding match
    w = counts[a] * counts[b]
    order = np.argsort(d, kind="stable")
    d, cw = d[order], np.cumsum(w[order])
    total = int(cw[-1])
    lo = d[np.searchsorted(cw, (total - 1) // 2, side="right")]
    hi = d[np.searchsorted(cw, total // 2, side="right")]
    sigma = float((lo + hi) / 2.0)
    return sigma if (np.isfinite(sigma) and sigma != 0) else 1.0


def draw_fourier(seed: int, dx: int, dy: int, num_features: int = 5) -> dict[str, np.ndarray]:
    """Unit-bandwidth random Fourier parameters, in causal-learn's draw order, from a local RNG."""
    rs = np.random.RandomState(int(seed))  # local legacy generator: same stream as np.random.seed(seed)
    wx = rs.normal(size=(num_features, dx))
    bx = 2 * np.pi * rs.uniform(size=(num_features, 1))
    wy = rs.normal(size=(num_features, dy))
    by = 2 * np.pi * rs.uniform(size=(num_features, 1))
    return {"wx": wx, "bx": bx, "wy": wy, "by": by}


def _standardised_features(z: np.ndarray, w: np.ndarray, b: np.ndarray, max_levels: int):
    """√2·cos(zwᵀ + bᵀ) standardised (ddof=1); in grouped form when z has few distinct rows.

    Returns ``(f, index)``: ``f`` is (n, F) with ``index=None``, or (k, F) per distinct
    value with ``index`` (n,) mapping rows to values — the same numbers either way.
    """
    n = z.shape[0]
    uniq = index = None
    if max_levels > 0:
        if z.shape[1] == 1:
            uniq, index = np.unique(z[:, 0], return_inverse=True)
            uniq = uniq[:, None]
        else:
            uniq, index = np.unique(z, axis=0, return_inverse=True)
        index = index.reshape(-1)
    grouped = uniq is not None and uniq.shape[0] <= max_levels
    base = uniq if grouped else z
    # einsum (not @): these skinny products are too small for a threaded BLAS, whose
    # thread hand-offs cost more than the arithmetic on a busy machine
    f = np.sqrt(2.0) * np.cos(np.einsum("nd,fd->nf", base, w) + b.T)
    if grouped:
        counts = np.bincount(index, minlength=uniq.shape[0]).astype(np.float64)
        mean = counts @ f / n
        std = np.sqrt(counts @ (f - mean) ** 2 / (n - 1))
    else:
        mean, std = f.mean(0), f.std(0, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = (f - mean) / std
    if not np.isfinite(f).all():
        raise IndependenceTestError(
            "a random Fourier feature is constant on these rows (too few distinct values for the "
            "drawn frequencies): RCIT is undefined; use another seed or KCI")
    return f, (index if grouped else None)


def rcit(x: np.ndarray, y: np.ndarray, *, seed: int = 0, device: str = "cpu",
         num_features: int = 5, max_levels: int = 64) -> TestResult:
    """Unconditional RCIT (randomized independence test) on cleaned arrays, seeded.

    The work is O(n·F²) on n×F feature matrices (F = 5), so it runs in NumPy on the CPU
    whatever ``device`` is.  When one variable has at most ``max_levels`` distinct values
    its features take k distinct rows, and the covariance of the F² feature products
    reduces exactly to per-group sums of the other variable's F×F products.
    """
    n = x.shape[0]
    zx, zy = zscore(x), zscore(y)
    sx, sy = median_bandwidth(zx), median_bandwidth(zy)
    draw = draw_fourier(seed, x.shape[1], y.shape[1], num_features)
    fx, gx = _standardised_features(zx, draw["wx"] / sx, draw["bx"], max_levels)
    fy, gy = _standardised_features(zy, draw["wy"] / sy, draw["by"], max_levels if gx is None else 0)
    F = num_features
    if gx is None and gy is None:
        cxy = np.einsum("ni,nj->ij", fx, fy) / (n - 1)
        prod = (fx[:, :, None] * fy[:, None, :]).reshape(n, -1)
        cov = np.einsum("ni,nj->ij", prod, prod) / n
        strategy = "full"
    else:
        # grouped side g (k distinct feature rows) and full side h (n rows); the product
        # index stays (x-feature, y-feature) so the covariance is the library's matrix
        grouped_is_x = gx is not None
        fg, index, fh = (fx, gx, fy) if grouped_is_x else (fy, gy, fx)
        k = fg.shape[0]
        hsum = np.stack([np.bincount(index, weights=fh[:, j], minlength=k) for j in range(F)], 1)
        hh = (fh[:, :, None] * fh[:, None, :]).reshape(n, F * F)
        S = np.stack([np.bincount(index, weights=hh[:, j], minlength=k) for j in range(F * F)], 1)
        S = S.reshape(k, F, F)
        A = fg[:, :, None] * fg[:, None, :]
        if grouped_is_x:
            cxy = fg.T @ hsum / (n - 1)
            cov = np.einsum("gik,gjl->ijkl", A, S).reshape(F * F, F * F) / n
        else:
            cxy = hsum.T @ fg / (n - 1)
            cov = np.einsum("gik,gjl->ijkl", S, A).reshape(F * F, F * F) / n
        strategy = "grouped"
    stat = float(n * (cxy ** 2).sum())
    eig = np.linalg.eigvalsh(cov)
    eig = eig[eig > 0]
    p = hbe_sf(eig, stat)
    return TestResult("rcit", stat, p, f"RCIT ({num_features} random Fourier features, HBE null)", BACKEND, n,
                      {"sigma_x": sx, "sigma_y": sy, "num_features": num_features, "seed": int(seed),
                       "approx": "hbe", "n_weights": int(eig.size), "strategy": strategy})


def _group_sums(index: np.ndarray, k: int, values: np.ndarray) -> np.ndarray:
    """(k, m) sums of the rows of ``values`` (n, m) per group, in one bincount pass."""
    n, m = values.shape
    flat = (index[:, None] * m + np.arange(m)[None, :]).ravel()
    return np.bincount(flat, weights=values.ravel(), minlength=k * m).reshape(k, m)


def rcit_many(xs: Sequence[np.ndarray], y: np.ndarray, *, seed: int = 0, num_features: int = 5,
              max_levels: int = 64) -> list[TestResult]:
    """RCIT of several x's (e.g. the five traits) against one y on the same rows.

    Same numbers as :func:`rcit` pair by pair (same seed, so the same draws): y's
    features and their F² products are computed once and reused; each few-valued x then
    costs one pass of group sums.  x's with many values fall back to :func:`rcit`.
    """
    n = y.shape[0]
    F = num_features
    zy = zscore(y)
    sy = median_bandwidth(zy)
    out: list[TestResult] = []
    shared: dict[str, np.ndarray] = {}
    for x in xs:
        zx = zscore(x)
        draw = draw_fourier(seed, x.shape[1], y.shape[1], F)
        sx = median_bandwidth(zx)
        fx, gx = _standardised_features(zx, draw["wx"] / sx, draw["bx"], max_levels)
        if gx is None:
            out.append(rcit(x, y, seed=seed, num_features=F, max_levels=max_levels))
            continue
        if not shared:
            fy, _ = _standardised_features(zy, draw["wy"] / sy, draw["by"], 0)
            shared["fy"] = fy
            shared["hh"] = (fy[:, :, None] * fy[:, None, :]).reshape(n, F * F)
        k = fx.shape[0]
        hsum = _group_sums(gx, k, shared["fy"])
        S = _group_sums(gx, k, shared["hh"]).reshape(k, F, F)
        A = fx[:, :, None] * fx[:, None, :]
        cxy = fx.T @ hsum / (n - 1)
        cov = np.einsum("gik,gjl->ijkl", A, S).reshape(F * F, F * F) / n
        stat = float(n * (cxy ** 2).sum())
        eig = np.linalg.eigvalsh(cov)
        eig = eig[eig > 0]
        p = hbe_sf(eig, stat)
        out.append(TestResult("rcit", stat, p, f"RCIT ({F} random Fourier features, HBE null)", BACKEND, n,
                              {"sigma_x": sx, "sigma_y": sy, "num_features": F, "seed": int(seed),
                               "approx": "hbe", "n_weights": int(eig.size), "strategy": "grouped"}))
    return out


# --------------------------------------------------------------------------- χ² / G²
def contingency(x: np.ndarray, y: np.ndarray, *, max_levels: int = 500) -> np.ndarray:
    """kx×ky table of counts of the distinct (rows of) x and y; refuses continuous data."""
    tabs = []
    for name, v in (("x", x), ("y", y)):
        if v.shape[1] == 1:  # the 1-D path is far faster than unique(axis=0)
            _, idx = np.unique(v[:, 0], return_inverse=True)
        else:
            _, idx = np.unique(v, axis=0, return_inverse=True)
        idx = idx.reshape(-1)
        k = int(idx.max()) + 1
        if k > max_levels:
            raise IndependenceTestError(
                f"{name} has {k} distinct values (> max_levels={max_levels}): chi2/g2 need discrete data; "
                "use kci/rcit/hsic for continuous variables, bin it, or raise max_levels")
        tabs.append((idx, k))
    (ix, kx), (iy, ky) = tabs
    return np.bincount(ix * ky + iy, minlength=kx * ky).reshape(kx, ky).astype(np.float64)


def level_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer codes 0…k−1 of the distinct finite values of a 1-D array (−1 for NaN), and k."""
    v = np.asarray(values, dtype=np.float64)
    codes = np.full(v.shape, -1, dtype=np.int64)
    ok = np.isfinite(v)
    uniq, inv = np.unique(v[ok], return_inverse=True)
    codes[ok] = inv.reshape(-1)
    return codes, int(uniq.size)


def contingency_from_codes(cx: np.ndarray, kx: int, cy: np.ndarray, ky: int, *, min_n: int,
                           max_levels: int = 500) -> np.ndarray:
    """Contingency table of a pair from precomputed column codes (battery fast path).

    Applies the same rules as :func:`personax.independence.prepare.clean_pair` and
    :func:`contingency` (listwise deletion, ``min_n``, constant variable, ``max_levels``);
    levels absent from the pair's rows are dropped, exactly as recoding the pair would.
    """
    keep = (cx >= 0) & (cy >= 0)
    m = int(keep.sum())
    if m < min_n:
        raise IndependenceTestError(
            f"only {m} complete rows (of {cx.size}) after dropping missing values; at least "
            f"min_n={min_n} are needed: use variables with fewer missing values or lower min_n")
    table = np.bincount(cx[keep] * ky + cy[keep], minlength=kx * ky).reshape(kx, ky)
    table = table[table.sum(1) > 0][:, table.sum(0) > 0].astype(np.float64)
    for name, k in (("x", table.shape[0]), ("y", table.shape[1])):
        if k == 1:
            raise IndependenceTestError(
                f"{name} is constant on the {m} complete rows: independence is untestable; drop this variable")
        if k > max_levels:
            raise IndependenceTestError(
                f"{name} has {k} distinct values (> max_levels={max_levels}): chi2/g2 need discrete data; "
                "use kci/rcit/hsic for continuous variables, bin it, or raise max_levels")
    return table


def contingency_test(name: str, table: np.ndarray, backend: str = BACKEND) -> TestResult:
    """Pearson X² (``"chi2"``) or likelihood-ratio G² (``"g2"``) on a contingency table."""
    n = table.sum()
    expected = np.outer(table.sum(1), table.sum(0)) / n
    if name == "chi2":
        stat = float(np.sum((table - expected) ** 2 / expected))
        method = "Pearson chi-square (no continuity correction)"
    else:
        pos = table > 0
        stat = float(2.0 * np.sum(table[pos] * np.log(table[pos] / expected[pos])))
        method = "G-square likelihood ratio"
    kx, ky = table.shape
    dof = (kx - 1) * (ky - 1)
    p = 1.0 if dof == 0 else float(special.chdtrc(dof, stat))  # = scipy.stats.chi2.sf, without its overhead
    small = float(np.mean(expected < 5))
    return TestResult(name, stat, p, method, backend, int(n),
                      {"dof": dof, "levels_x": kx, "levels_y": ky, "min_expected": float(expected.min()),
                       "frac_expected_below_5": small})


def chi2(x: np.ndarray, y: np.ndarray, *, max_levels: int = 500) -> TestResult:
    """Pearson χ² test of independence on cleaned discrete arrays."""
    return contingency_test("chi2", contingency(x, y, max_levels=max_levels))


def g2(x: np.ndarray, y: np.ndarray, *, max_levels: int = 500) -> TestResult:
    """G² (likelihood-ratio) test of independence on cleaned discrete arrays."""
    return contingency_test("g2", contingency(x, y, max_levels=max_levels))
