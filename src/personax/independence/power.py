r"""Power of the Level I tests at a dataset's size: what a "no dependence" cell can rule out.

Simulation with the synthetic world's measurement model (:mod:`personax.data.synthetic`):
for an attribute column of the data, n rows are resampled with replacement; a latent trait

.. math:: t = \beta\, s(a) + \sqrt{1 - \beta^2}\,\varepsilon, \qquad \varepsilon \sim N(0, 1)

is planted, where s(a) is the attribute standardised to mean 0 and variance 1 over the
sample (a nominal attribute — occupation, league, gender — enters through a fixed random
effect per category, standardised the same way).  β is therefore the correlation of the
latent trait with s(a).  The three simulated LLM raters score t (bias, noise, cut points,
abstention: :func:`personax.data.synthetic.rate`) and the aggregate is their median after
dropping zeros — exactly how the traits of the synthetic sample are made — so the test sees
a five-level trait as in the data (the rare person all three raters abstain on, p ≈ 5e-5,
gets the middle score 2 instead of a missing value, so that all replicates share rows).
Each effect size is replicated ``reps`` times; power is the fraction of replicates with
p < α (unadjusted, the paper's rule).

The effect grid is in units of 1/√n (β = k/√n, k = 0, 1, …), so one grid serves every n;
k = 0 gives the type-I error rate.  :func:`detectable_effect` interpolates the smallest β
with power ≥ 0.8 and reports the matching correlation between the *aggregated* trait and
s(a) (``r80``, attenuated by the rating), the number a reader can compare with an observed
association.  The replicates of one effect size share the resampled attribute rows, so the
battery tests them as traits of one attribute (one kernel pass for all of them).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from personax.errors import ParameterError

NOMINAL = ("occupation", "league", "gender")
DEFAULT_GRID = tuple(range(0, 9))


def _standardised_effect(values: np.ndarray, nominal: bool, rng: np.random.Generator) -> np.ndarray:
    if nominal:
        cats, codes = np.unique(values, return_inverse=True)
        eff = rng.standard_normal(cats.size)
        s = eff[codes.reshape(-1)]
    else:
        s = values.astype(np.float64)
    sd = s.std()
    if not sd > 0:
        raise ParameterError("the attribute is constant on the sampled rows: power is undefined")
    return (s - s.mean()) / sd


def simulate_traits(s: np.ndarray, betas: Sequence[float], reps: int, rng: np.random.Generator) -> np.ndarray:
    """Aggregated trait scores (n, len(betas)·reps) for latent correlations ``betas`` with ``s``."""
    from personax.data.aggregate import median_drop_zeros
    from personax.data.schema import LLMS
    from personax.data.synthetic import rate

    n = s.size
    cols = []
    for beta in betas:
        if not 0 <= beta < 1:
            raise ParameterError(f"effect size beta={beta!r} must lie in [0, 1): lower the grid (n is small)")
        t = beta * s[:, None] + np.sqrt(1 - beta ** 2) * rng.standard_normal((n, reps))
        cols.append(t)
    latent = np.column_stack(cols)
    m = latent.shape[1]
    pad = (-m) % 5                                   # the raters score five traits at a time
    latent5 = np.column_stack([latent, rng.standard_normal((n, pad))]) if pad else latent
    out = np.empty((n, latent5.shape[1]))
    for j in range(0, latent5.shape[1], 5):
        block = latent5[:, j:j + 5]
        scores = [rate(block, llm, rng) for llm in LLMS]
        for k in range(5):
            out[:, j + k] = median_drop_zeros(np.column_stack([sc[:, k] for sc in scores]))
    out = out[:, :m]
    # a person all three raters abstain on (p ≈ 5e-5) has no aggregate; filled with the scale's
    # middle (2) so that every replicate shares one row set (one kernel pass for all of them)
    out[~np.isfinite(out)] = 2.0
    return out


def power_curve(frame: pd.DataFrame, attribute: str, tests: Sequence[str] = ("kci", "rcit", "hsic_gamma"), *,
                n: int | None = None, grid: Sequence[float] = DEFAULT_GRID, reps: int = 40, alpha: float = 0.05,
                seed: int = 0, nominal: bool | None = None, discrete: bool | None = None,
                device: str = "auto") -> pd.DataFrame:
    """Simulated power of each test against one attribute, along an effect-size grid.

    Parameters
    ----------
    frame : DataFrame
        Supplies the attribute's observed values (missing rows dropped).
    attribute : str
    tests : sequence of str
        χ²/G² are run only when the attribute is discrete.
    n : int, optional
        Rows per replicate (default: the attribute's non-missing rows — the dataset's n).
    grid : sequence of float
        Effect sizes in units of 1/√n (β = k/√n).
    reps : int
        Replicates per effect size.
    alpha : float
    seed : int
    nominal, discrete : bool, optional
        Attribute kind (default: nominal for occupation/league/gender; discrete when it
        has at most 100 distinct values).
    device : str

    Returns
    -------
    DataFrame with columns ``attribute``, ``test``, ``k`` (grid value), ``beta``, ``n``,
    ``reps``, ``power`` (fraction of p < α), ``power_se`` (binomial standard error),
    ``r_obs`` (mean Spearman correlation of the aggregated trait with s(a)), ``failed``.

    Examples
    --------
    >>> from personax.data import load
    >>> curve = power_curve(load("athlepersona").frame, "height_cm", tests=["kci"], grid=[0, 4], reps=10)
    >>> list(curve.columns)[:4]
    ['attribute', 'test', 'k', 'beta']
    """
    import warnings

    from scipy import stats

    from personax.independence.grid import _numeric, battery
    from personax.utils import make_rng

    if attribute not in frame.columns:
        raise ParameterError(f"attribute {attribute!r} is not in the frame")
    if reps < 2:
        raise ParameterError(f"reps={reps!r}: need at least 2 replicates per effect size")
    values = _numeric(frame[attribute])
    values = values[np.isfinite(values)]
    n = values.size if n is None else int(n)
    if n < 20:
        raise ParameterError(f"n={n}: power needs at least 20 rows")
    nominal = attribute in NOMINAL if nominal is None else bool(nominal)
    discrete = (np.unique(values).size <= 100) if discrete is None else bool(discrete)
    rng = make_rng(seed)
    a = values[rng.integers(0, values.size, n)]
    s = _standardised_effect(a, nominal, rng)
    betas = [float(k) / np.sqrt(n) for k in grid]
    traits = simulate_traits(s, betas, reps, rng)
    names = [f"t{j}" for j in range(traits.shape[1])]
    sim = pd.DataFrame(traits, columns=names)
    sim[attribute] = a
    run = [t for t in tests if discrete or t not in ("chi2", "g2")]
    columns = ["attribute", "test", "k", "beta", "n", "reps", "power", "power_se", "r_obs", "failed"]
    if not run:
        return pd.DataFrame(columns=columns)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*produced no p-value.*")
        res = battery(sim, traits=names, attributes=[attribute], tests=run, alpha=alpha, seed=seed,
                      discrete=[attribute] if discrete else [], cache=False, progress=False, device=device)
    rho = np.array([stats.spearmanr(traits[:, j], s, nan_policy="omit").statistic for j in range(len(names))])
    which = {nm: (j // reps, j) for j, nm in enumerate(names)}
    rows = []
    for t, sub in res.groupby("test", sort=False):
        b_idx = np.array([which[nm][0] for nm in sub["trait"]])
        p = sub["pvalue"].to_numpy(dtype=float)
        for i, (k, beta) in enumerate(zip(grid, betas)):
            pi = p[b_idx == i]
            ok = np.isfinite(pi)
            pw = float((pi[ok] < alpha).mean()) if ok.any() else np.nan
            rows.append({"attribute": attribute, "test": t, "k": float(k), "beta": beta, "n": n, "reps": reps,
                         "power": pw, "power_se": float(np.sqrt(pw * (1 - pw) / max(ok.sum(), 1))),
                         "r_obs": float(np.nanmean(rho[i * reps:(i + 1) * reps])), "failed": int((~ok).sum())})
    return pd.DataFrame(rows, columns=columns)


def power_table(frame: pd.DataFrame, attributes: Sequence[str], tests: Sequence[str] = ("kci", "rcit", "hsic_gamma",
                "chi2", "g2"), **kwargs: Any) -> pd.DataFrame:
    """:func:`power_curve` for several attributes, concatenated (same columns).

    Examples
    --------
    >>> from personax.data import load
    >>> table = power_table(load("athlepersona").frame, ["height_cm"], tests=["kci"], grid=[0, 4], reps=5)
    >>> table[["attribute", "test", "k"]].values.tolist()
    [['height_cm', 'kci', 0.0], ['height_cm', 'kci', 4.0]]
    """
    return pd.concat([power_curve(frame, a, tests, **{**kwargs, "seed": kwargs.get("seed", 0) + i})
                      for i, a in enumerate(attributes)], ignore_index=True)


def detectable_effect(curves: pd.DataFrame, target: float = 0.8) -> pd.DataFrame:
    """Smallest effect with power ≥ ``target``, per (attribute, test), by linear interpolation.

    Returns
    -------
    DataFrame with columns ``attribute``, ``test``, ``n``, ``type1`` (power at β = 0),
    ``beta80`` (latent correlation; NaN when the grid never reaches ``target``),
    ``r80`` (the matching correlation of the aggregated trait with the attribute) and
    ``reached`` (bool).

    Examples
    --------
    >>> from personax.data import load
    >>> curves = power_table(load("athlepersona").frame, ["height_cm"], tests=["kci"], grid=[0, 4, 8], reps=5)
    >>> list(detectable_effect(curves).columns)[:4]
    ['attribute', 'test', 'n', 'type1']
    """
    rows = []
    for (a, t), sub in curves.groupby(["attribute", "test"], sort=False):
        sub = sub.sort_values("beta")
        b, pw, r = sub["beta"].to_numpy(), sub["power"].to_numpy(), sub["r_obs"].to_numpy()
        type1 = float(pw[b == 0][0]) if (b == 0).any() else np.nan
        hit = np.flatnonzero((b > 0) & (pw >= target))
        beta80 = r80 = np.nan
        if hit.size:
            i = int(hit[0])
            if i == 0 or pw[i] <= pw[i - 1]:
                beta80, r80 = b[i], r[i]
            else:
                w = (target - pw[i - 1]) / (pw[i] - pw[i - 1])
                w = min(max(w, 0.0), 1.0)
                beta80, r80 = b[i - 1] + w * (b[i] - b[i - 1]), r[i - 1] + w * (r[i] - r[i - 1])
        rows.append({"attribute": a, "test": t, "n": int(sub["n"].iloc[0]), "type1": type1,
                     "beta80": float(beta80), "r80": float(r80), "reached": bool(hit.size)})
    return pd.DataFrame(rows)


def circle_power(tests: Sequence[str] = ("hsic_gamma", "hsic_hyppo"), *, n: int = 100, reps: int = 100,
                 noise: float = 0.3, alpha: float = 0.05, seed: int = 0) -> tuple[pd.DataFrame, int]:
    """Power of several tests on the circle (x = cos θ + e, y = sin θ + e'; dependent,
    uncorrelated), the classic case where kernel width matters.

    Returns
    -------
    (DataFrame indexed by test with ``power`` and ``n``, number of replicates on which the
    first two tests reach different decisions at ``alpha``)

    Examples
    --------
    >>> table, differ = circle_power(n=60, reps=5)
    >>> list(table.columns)
    ['power', 'n']
    """
    from personax.independence.registry import test as run_test
    from personax.utils import make_rng

    if reps < 1 or n < 20:
        raise ParameterError(f"circle_power needs reps >= 1 and n >= 20, got reps={reps}, n={n}")
    rng = make_rng(seed)
    rejects = {t: [] for t in tests}
    for r in range(reps):
        theta = rng.uniform(0, 2 * np.pi, n)
        x = np.cos(theta) + noise * rng.standard_normal(n)
        y = np.sin(theta) + noise * rng.standard_normal(n)
        for t in tests:
            opts = {"hyppo": False} if t == "hsic_gamma" else {}
            rejects[t].append(run_test(t, x, y, seed=seed + r, **opts).pvalue < alpha)
    table = pd.DataFrame({"power": {t: float(np.mean(v)) for t, v in rejects.items()}, "n": n})
    table.index.name = "test"
    names = list(tests)
    differ = int(np.sum(np.array(rejects[names[0]]) != np.array(rejects[names[1]]))) if len(names) > 1 else 0
    return table, differ
