"""What chapter 05 reads and says: committed benchmark results, target checks, and sentences from numbers.

The chapter runs a small live benchmark at its profile and reads the full one (5 seeds,
20 + 5 designs, images, baselines) from ``benchmarks/results/crl.csv`` /
``crl_summary.csv`` / ``crl_candidates.csv`` written by ``benchmarks/crl.py``.  The
functions here load those files, check the issue's targets against them, and turn
numbers into the sentences that follow each result (so no prose is assembled in a
notebook cell).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from personax.crl.benchmark_summary import FAMILY, SINGLE, VIOLATED, family_group
from personax.utils import repo_root


def results_dir() -> Path | None:
    """``benchmarks/results`` of the source tree, or ``None`` outside a checkout."""
    root = repo_root()
    return root / "benchmarks" / "results" if root is not None else None


def load_results(folder: str | Path | None = None) -> dict[str, pd.DataFrame]:
    """The committed CRL benchmark tables (each may be absent).

    Keys: ``results``, ``summary``, ``candidates`` (``benchmarks/crl.py``),
    ``ablation_contrast`` (``benchmarks/crl_ablation_contrast.py``), ``ablation_restarts`` and
    ``ablation_sparsity`` (``benchmarks/crl_ablation_sparsity.py``), ``selection_criteria``
    (``benchmarks/crl_selection_criteria.py``), ``ablation_refine``
    (``benchmarks/crl_ablation_refine.py``).

    Returns an empty dict outside a source checkout or before ``benchmarks/crl.py`` has run.
    """
    folder = Path(folder) if folder is not None else results_dir()
    out: dict[str, pd.DataFrame] = {}
    if folder is None:
        return out
    for key, name in (("results", "crl.csv"), ("summary", "crl_summary.csv"), ("candidates", "crl_candidates.csv"),
                      ("ablation_contrast", "crl_ablation_contrast.csv"),
                      ("ablation_restarts", "crl_ablation_restarts.csv"),
                      ("ablation_sparsity", "crl_ablation_sparsity.csv"),
                      ("selection_criteria", "crl_selection_criteria.csv"),
                      ("ablation_refine", "crl_ablation_refine.csv")):
        p = folder / name
        if p.exists():
            df = pd.read_csv(p)
            if "benchmark" in df.columns:  # tables of an older benchmark script have another schema
                out[key] = df
    return out


def per_latent(z: pd.DataFrame, target: pd.DataFrame, split: dict) -> pd.Series:
    """Matched |correlation| per target latent (matching on training rows, score on test rows)."""
    from personax.crl import metrics

    tr, te = split["train"], split["test"]
    m = metrics.mcc(z.iloc[te], target.iloc[te], fit_on=(z.iloc[tr], target.iloc[tr]))
    return pd.Series(m.per_dim)


def twin_table(z: pd.DataFrame, bench, split: dict) -> pd.DataFrame:
    """Per latent: status, |corr(truth, twin)|, and our matched correlation against each ground truth.

    Columns ``status`` (from :func:`personax.crl.identifiability.check`), ``truth_vs_twin``,
    ``ours_vs_truth``, ``ours_vs_twin``.
    """
    from personax.crl import designs, identifiability

    twin_z, _ = designs.twin(bench)
    meas = {m: len(bench.views[m]) for m in bench.latent_dims}
    own = {m: bool(bench.info.get("eta_dim", 0)) for m in meas if meas[m] == 1}
    rep = identifiability.check(bench.dag, bench.blocks, meas, own)
    te = split["test"]
    tt = np.abs([np.corrcoef(bench.latents[c].iloc[te], twin_z[c].iloc[te])[0, 1] for c in bench.latents])
    return pd.DataFrame({"status": pd.Series(rep.status), "truth_vs_twin": pd.Series(tt, index=bench.latents.columns),
                         "ours_vs_truth": per_latent(z, bench.latents, split),
                         "ours_vs_twin": per_latent(z, twin_z, split)}).loc[list(bench.latents.columns)]


#: The issue's "Done when" targets, as (label, column of crl_summary, comparison, threshold).
TARGETS = [
    ("overall MCC (mean over seeds)", "mcc_mean", ">=", 0.95),
    ("overall MCC (min over seeds)", "mcc_min", ">=", 0.90),
    ("R² (kernel ridge)", "r2_mean", ">=", 0.97),
    ("shared-block MCC", "mcc_shared_mean", ">=", 0.90),
    ("modality-1 block MCC", "mcc_m1_mean", ">=", 0.90),
    ("modality-2 block MCC", "mcc_m2_mean", ">=", 0.90),
    ("max off-diagonal block R² (S from a modality block)", "r2_leak_shared_mean", "<=", 0.20),
    ("learned-graph SHD", "shd_mean", "<=", 1.0),
]


def target_check(summary: pd.DataFrame, benchmark: str, method: str = "personax") -> pd.DataFrame:
    """Each target beside the measured value for one benchmark row of ``crl_summary.csv``.

    Columns ``target``, ``required``, ``measured``, ``holds``.
    """
    row = summary[(summary["benchmark"] == benchmark) & (summary["method"] == method)]
    if row.empty:
        raise KeyError(f"no summary row for benchmark={benchmark!r}, method={method!r}")
    r = row.iloc[0]
    out = []
    for label, col, op, thr in TARGETS:
        val = float(r[col]) if col in r and pd.notna(r[col]) else float("nan")
        holds = (val >= thr) if op == ">=" else (val <= thr)
        out.append({"target": label, "required": f"{op} {thr}", "measured": round(val, 3),
                    "holds": bool(holds) if np.isfinite(val) else False})
    if "shd_empty_mean" in r and pd.notna(r.get("shd_empty_mean")):
        shd, empty = float(r["shd_mean"]), float(r["shd_empty_mean"])
        out.append({"target": "SHD below the empty graph's", "required": f"< {empty:g}", "measured": round(shd, 3),
                    "holds": bool(shd < empty)})
    return pd.DataFrame(out)


def sentence_scores(row: pd.Series | dict, name: str) -> str:
    """One paragraph reading a results row: MCC with its references, blocks, R², graph."""
    r = dict(row)
    parts = [f"On the {name}, our estimator reaches MCC {r['mcc']:.3f} on held-out rows, against "
             f"{r['ref_mcc_rotation']:.3f} for a random rotation of the true latents, {r['ref_mcc_pca']:.3f} for "
             f"PCA and {r['ref_mcc_ica']:.3f} for FastICA of the measurements."]
    blocks = [k for k in r if k.startswith("mcc_") and k[4:] in ("shared", "m1", "m2")]
    if blocks:
        parts.append("Per block: " + ", ".join(f"{k[4:]} {r[k]:.3f}" for k in blocks) + ".")
    if "r2" in r:
        parts.append(f"Kernel-ridge R² is {r['r2']:.3f}.")
    if "r2_leak_shared" in r and pd.notna(r["r2_leak_shared"]):
        parts.append(f"The shared latent is predicted from a learned modality block with R² at most "
                     f"{r['r2_leak_shared']:.2f} (leakage; lower is better).")
    if "shd" in r and pd.notna(r["shd"]):
        parts.append(f"The learned graph has SHD {r['shd']:.0f} against {r['shd_empty']:.0f} for the empty graph.")
    return " ".join(parts)


def sentence_twin(table: pd.DataFrame) -> str:
    """What the twin table says: which latents are pinned, which only up to their in-block parents."""
    noisy = table.index[table["status"] != "identified"].tolist()
    ok = table.index[table["status"] == "identified"].tolist()
    if not noisy:
        return "Every latent of this design is identifiable; the twin coincides with the truth."
    corr = ", ".join(f"{v} {table.loc[v, 'truth_vs_twin']:.2f}" for v in noisy)
    ours = ", ".join(f"{v} {table.loc[v, 'ours_vs_truth']:.2f} vs truth / {table.loc[v, 'ours_vs_twin']:.2f} vs twin"
                     for v in noisy)
    return (f"The two ground truths agree on {', '.join(ok)} and disagree on {', '.join(noisy)} "
            f"(|corr| between the truths: {corr}); our estimate scores {ours}. "
            "No estimator can match both truths there, because the observations are identical.")


def _fmt(r: pd.Series, col: str, nd: int = 3) -> str:
    v = r.get(col)
    return "n/a" if v is None or not np.isfinite(float(v)) else f"{float(v):.{nd}f}"


def summary_lines(summary: pd.DataFrame) -> str:
    """Markdown bullets that read ``crl_summary.csv``: one per benchmark group, numbers beside references.

    Each bullet states the default estimator's held-out MCC (mean, and min over seeds or
    designs), its per-block MCC, the random-rotation and FastICA references and the SHD
    beside the empty graph's, then how many of the issue's targets hold
    (:data:`TARGETS`).  Groups missing from the table are left out.

    Examples
    --------
    >>> s = pd.DataFrame([{"benchmark": "numerical", "method": "personax", "seeds": 5, "mcc_mean": 0.88,
    ...                    "mcc_min": 0.82, "mcc_shared_mean": 0.99, "mcc_m1_mean": 0.88, "mcc_m2_mean": 0.82,
    ...                    "r2_mean": 0.96, "r2_leak_shared_mean": 0.1, "shd_mean": 2.4, "shd_empty_mean": 3.0,
    ...                    "ref_mcc_rotation_mean": 0.74, "ref_mcc_ica_mean": 0.56}])
    >>> print(summary_lines(s))  # doctest: +ELLIPSIS
    - **paper's numerical benchmark** (5 seeds): MCC 0.880 (min 0.820); blocks shared 0.990, ...
    """
    groups = [("numerical", "paper's numerical benchmark"),
              (FAMILY, "designs that meet the conditions"),
              (VIOLATED, "designs that break one condition"),
              (SINGLE, "designs with one measurement per modality"),
              ("images_cross", "MNIST images, cross-modal edges only"),
              ("images_paper", "MNIST images, the paper's DAG")]
    out = []
    for key, label in groups:
        row = summary[(summary["benchmark"] == key) & (summary["method"] == "personax")]
        if row.empty:
            continue
        r = row.iloc[0]
        n = f"{int(r['designs'])} designs, {int(r['seeds'])} fits" if pd.notna(r.get("designs", np.nan)) \
            else f"{int(r['seeds'])} seeds"
        text = (f"- **{label}** ({n}): MCC {_fmt(r, 'mcc_mean')} (min {_fmt(r, 'mcc_min')}); blocks shared "
                f"{_fmt(r, 'mcc_shared_mean')}, modality 1 {_fmt(r, 'mcc_m1_mean')}, modality 2 "
                f"{_fmt(r, 'mcc_m2_mean')}; R² {_fmt(r, 'r2_mean')}; references: random rotation "
                f"{_fmt(r, 'ref_mcc_rotation_mean')}, FastICA {_fmt(r, 'ref_mcc_ica_mean')}; SHD "
                f"{_fmt(r, 'shd_mean', 1)} vs {_fmt(r, 'shd_empty_mean', 1)} for the empty graph.")
        if key == FAMILY:
            chk = target_check(summary, key)
            text += (f" Targets met: {int(chk['holds'].sum())} of {len(chk)}"
                     + (f" (missed: {', '.join(chk.loc[~chk['holds'], 'target'])})" if (~chk['holds']).any() else "")
                     + ".")
            if pd.notna(r.get("designs_mcc_ge_0.95", np.nan)):
                text += (f" {int(r['designs_mcc_ge_0.95'])} of {int(r['designs'])} designs reach MCC ≥ 0.95; "
                         f"{int(r['designs_shd_below_empty'])} beat the empty graph's SHD on every seed.")
        out.append(text)
    return "\n".join(out)


def speed_table(results: pd.DataFrame, benchmarks: tuple[str, ...] = ("numerical", "images_paper", "images_cross")
                ) -> pd.DataFrame:
    """Mean wall seconds per fit and training samples/s per (benchmark, method) of ``crl.csv``.

    Columns ``benchmark``, ``method``, ``fits``, ``seconds_mean``, ``samples_per_s_mean``,
    ``machine`` (as recorded); the baselines have no samples/s (NaN).
    """
    d = results[results["benchmark"].isin(benchmarks)]
    g = d.groupby(["benchmark", "method"], sort=False)
    out = g.agg(fits=("seed", "size"), seconds_mean=("seconds", "mean"),
                samples_per_s_mean=("samples_per_s", "mean")).reset_index()
    if "machine" in d:
        out["machine"] = g["machine"].first().to_numpy()
    return out


def live_plan(profile: str, seeds=None, n: int | None = None) -> dict:
    """What chapter 05 runs live at a profile: model seeds, rows, methods, and whether the extra runs happen.

    Returns
    -------
    dict
        ``seeds`` (list: ci / quick ``[0]``, paper ``[0..4]``, or the given ones), ``n`` (rows of
        the numerical benchmark: ci 600, quick 4,000, paper 10,000, or ``n``), ``n_images``
        (rows of the live image run: 300 / 1,500 / 5,000, or ``n``), ``methods`` (the joint
        objective beside the default only at ``paper``), ``live_extra`` (the design and
        image benchmarks run live only at ``paper``; ``ci`` / ``quick`` read them from the
        committed CSVs), ``block_r2`` (score the block R² table live; not at ``ci``).  The
        values are ``personax.profiles.BUDGETS["crl.synthetic_chapter"]``.

    Examples
    --------
    >>> live_plan("quick")["n"], live_plan("paper")["methods"]
    (4000, ['personax', 'personax_joint'])
    """
    from personax import profiles

    if profile not in profiles.PROFILE_NAMES:
        raise ValueError(f"profile={profile!r}: use one of {list(profiles.PROFILE_NAMES)}")
    plan = dict(profiles.BUDGETS["crl.synthetic_chapter"][profile])
    if seeds is not None:
        plan["seeds"] = list(seeds)
    if n is not None:
        plan["n"] = plan["n_images"] = int(n)
    plan["seeds"], plan["methods"] = list(plan["seeds"]), list(plan["methods"])
    return plan


#: The notice chapter 05 shows under its setup (the page check looks for "Synthetic benchmarks").
SYNTHETIC_NOTICE = ("> **Synthetic benchmarks.** Every number below comes from data generated with known latents and "
                    "a known causal graph; none of it is PersonaX data or describes real people.")


def headline(summary: pd.DataFrame | None) -> str:
    """Chapter 05's headline in words: the paper's image-benchmark scores beside the committed benchmark's.

    Reads ``crl_summary.csv`` (:func:`load_results`); ``None`` (no committed results) says so.

    Examples
    --------
    >>> s = pd.DataFrame([{"benchmark": "images_paper", "method": "personax", "seeds": 2, "mcc_mean": 0.61,
    ...                    "r2_mean": 0.92}])
    >>> print(headline(s))  # doctest: +ELLIPSIS
    **Paper:** MCC 0.92, R² 0.96 on coloured MNIST ... **Reproduced here** ... MCC 0.61, R² 0.92 (2 seeds)...
    """
    paper = ("**Paper:** MCC 0.92, R² 0.96 on coloured MNIST + Fashion-MNIST (strongest baseline MMCRL 0.85 / "
             "0.90).")
    if summary is None or not len(summary):
        return paper + " **Reproduced here:** no committed benchmark in this checkout (run `benchmarks/crl.py`)."

    def row(bench, method="personax"):
        r = summary[(summary["benchmark"] == bench) & (summary["method"] == method)]
        return r.iloc[0] if len(r) else None

    parts = []
    img, mm = row("images_paper"), row("images_paper", "mmcrl")
    if img is not None:
        s = (f"on MNIST images with the paper's DAG our estimator reaches MCC {img['mcc_mean']:.2f}, R² "
             f"{img['r2_mean']:.2f} ({int(img['seeds'])} seeds)")
        if mm is not None:
            s += f", MMCRL {mm['mcc_mean']:.2f} / {mm['r2_mean']:.2f}"
        parts.append(s)
    num = row("numerical")
    if num is not None:
        parts.append(f"on the paper's numerical benchmark MCC {num['mcc_mean']:.2f}, R² {num['r2_mean']:.2f}")
    fam = row(FAMILY)
    if fam is not None and pd.notna(fam.get("designs", np.nan)):
        parts.append(f"on {int(fam['designs'])} random designs that meet the identifiability conditions MCC "
                     f"{fam['mcc_mean']:.2f} ({int(fam['designs_mcc_ge_0.95'])} of them ≥ 0.95)")
    text = paper + " **Reproduced here** (committed benchmark): " + "; ".join(parts) + "."
    return text + (" Section 3 shows why no estimator can score much higher on the paper's DAG: its edges "
                   "inside blocks are not identifiable.")


def chapter_setup(ctx, image_source2: str) -> None:
    """Chapter 05's checks and header after ``personax.notebook.setup(..., show=False)``.

    Raises :class:`personax.notebook.ParameterError` unless ``source`` is ``"sample"`` (the
    chapter generates its data) and ``image_source2`` names an image source; then shows the
    synthetic-benchmark notice (:data:`SYNTHETIC_NOTICE`) and the "Reproduce this page"
    box (:func:`personax.notebook.reproduce_html`).
    """
    import personax.notebook
    from personax.crl import synthetic

    synthetic.check_image_source(image_source2, "image_source2")
    if ctx.source != "sample":
        raise personax.notebook.ParameterError(
            f"parameter source={ctx.source!r}: this chapter generates its data; use source='sample' "
            "(point image_source2 at a local Fashion-MNIST folder instead)")
    try:
        from IPython import get_ipython
        from IPython.display import HTML, Markdown, display
    except ImportError:
        return
    if get_ipython() is not None:
        display(Markdown(SYNTHETIC_NOTICE))
        display(HTML(personax.notebook.reproduce_html(ctx)))


def contrast_ablation(ablation: pd.DataFrame) -> pd.DataFrame:
    """Stage 1 without / with the contrastive term, mean per group of benchmarks.

    ``ablation`` is ``crl_ablation_contrast.csv`` (one row per paired fit).  Returns one row
    per group of :func:`personax.crl.benchmark_summary.family_group` (the design family,
    the violating designs, the one-measurement designs, ``numerical``, ``images_*``) with ``fits`` and the means of
    ``mcc``, ``mcc_m1``, ``mcc_m2``, ``r2_block_m1``, ``r2_block_m2`` and ``shd`` for
    ``contrast0`` and ``contrast1``, plus ``fits_better`` (pairs whose MCC rose).

    Examples
    --------
    >>> ab = pd.DataFrame({"benchmark": ["design:0", "design:1"], "seed": [0, 0],
    ...                    **{f"{c}_contrast{w}": [0.8 + 0.1 * w, 0.9] for c in
    ...                       ("mcc", "mcc_m1", "mcc_m2", "r2_block_m1", "r2_block_m2", "shd") for w in (0, 1)}})
    >>> t = contrast_ablation(ab)
    >>> row = t.iloc[0]
    >>> row["group"], int(row["fits"]), round(float(row["mcc_contrast0"]), 3), int(row["fits_better"])
    ('design family (conditions met)', 2, 0.85, 1)
    """
    cols = [f"{c}_contrast{w}" for c in ("mcc", "mcc_m1", "mcc_m2", "r2_block_m1", "r2_block_m2", "shd")
            for w in (0, 1)]
    df = ablation.assign(group=family_group(ablation["benchmark"]),
                         better=(ablation["mcc_contrast1"] > ablation["mcc_contrast0"]).astype(int))
    out = df.groupby("group", sort=False).agg(fits=("seed", "size"), **{c: (c, "mean") for c in cols},
                                              fits_better=("better", "sum"))
    return out.reset_index()


def sentence_contrast(table: pd.DataFrame) -> str:
    """What the contrastive-term ablation says, from :func:`contrast_ablation`'s table."""
    parts = []
    for r in table.itertuples():
        parts.append(f"{r.group}: MCC {r.mcc_contrast0:.3f} → {r.mcc_contrast1:.3f}, modality-1 block R² "
                     f"{r.r2_block_m1_contrast0:.3f} → {r.r2_block_m1_contrast1:.3f}, modality-2 block R² "
                     f"{r.r2_block_m2_contrast0:.3f} → {r.r2_block_m2_contrast1:.3f} "
                     f"(higher MCC in {r.fits_better} of {r.fits} fits)")
    return "Without → with the contrastive term, same designs, seeds and split: " + "; ".join(parts) + "."


def sentence_restarts(ablation: pd.DataFrame) -> str:
    """What the stage-2 restarts ablation (``crl_ablation_restarts.csv``) says, in one sentence.

    Examples
    --------
    >>> ab = pd.DataFrame({"mcc_restarts_1": [0.99, 0.89], "mcc_restarts_3": [0.97, 0.74],
    ...                    "val_nll_restarts_1": [3.90, 9.38], "val_nll_restarts_3": [3.87, 9.31]})
    >>> print(sentence_restarts(ab))  # doctest: +NORMALIZE_WHITESPACE
    With one ICA-started fit per block order the kept candidates score mean MCC 0.940; adding two
    rotated starts per order (lower held-out NLL in 2 of 2 fits) scores 0.855, lower MCC in 2 of 2.
    """
    better_nll = int((ablation["val_nll_restarts_3"] < ablation["val_nll_restarts_1"]).sum())
    worse = int((ablation["mcc_restarts_3"] < ablation["mcc_restarts_1"]).sum())
    k = len(ablation)
    return (f"With one ICA-started fit per block order the kept candidates score mean MCC "
            f"{ablation['mcc_restarts_1'].mean():.3f}; adding two rotated starts per order (lower held-out NLL in "
            f"{better_nll} of {k} fits) scores {ablation['mcc_restarts_3'].mean():.3f}, lower MCC in {worse} of {k}.")


def refine_ablation(ablation: pd.DataFrame) -> pd.DataFrame:
    """Stage 2 without / with the sparse-rotation refinement, per group of benchmarks.

    ``ablation`` is ``crl_ablation_refine.csv`` (one row per fit: the candidate chosen
    before the refinement, ``*_none``, and the final fit).  Returns per group of
    :func:`personax.crl.benchmark_summary.family_group`: ``fits``, ``kept`` (refinement
    taken), mean and minimum MCC without and with it, mean SHD without and with it, the
    empty graph's mean SHD, and ``fits_better`` / ``fits_worse`` (MCC moved by more than
    0.005).

    Examples
    --------
    >>> ab = pd.DataFrame({"benchmark": ["design:6", "design:7"], "seed": [0, 0], "refinement_kept": [True, False],
    ...                    "mcc_none": [0.76, 0.99], "mcc": [0.95, 0.99], "shd_none": [5, 0], "shd": [2, 0],
    ...                    "shd_empty": [8, 4]})
    >>> r = refine_ablation(ab).iloc[0]
    >>> int(r["fits"]), int(r["kept"]), round(float(r["mcc_none"]), 3), round(float(r["mcc"]), 3), int(r["fits_better"])
    (2, 1, 0.875, 0.97, 1)
    """
    df = ablation.assign(group=family_group(ablation["benchmark"]),
                         better=(ablation["mcc"] > ablation["mcc_none"] + 0.005).astype(int),
                         worse=(ablation["mcc"] < ablation["mcc_none"] - 0.005).astype(int))
    out = df.groupby("group", sort=False).agg(
        fits=("seed", "size"), kept=("refinement_kept", "sum"), mcc_none=("mcc_none", "mean"), mcc=("mcc", "mean"),
        mcc_min_none=("mcc_none", "min"), mcc_min=("mcc", "min"), shd_none=("shd_none", "mean"), shd=("shd", "mean"),
        shd_empty=("shd_empty", "mean"), fits_better=("better", "sum"), fits_worse=("worse", "sum"))
    return out.reset_index()


def sentence_refine(table: pd.DataFrame) -> str:
    """What the refinement ablation says, from :func:`refine_ablation`'s table."""
    parts = [f"{r.group}: MCC {r.mcc_none:.3f} → {r.mcc:.3f} (min {r.mcc_min_none:.3f} → {r.mcc_min:.3f}), SHD "
             f"{r.shd_none:.2f} → {r.shd:.2f} (empty graph {r.shd_empty:.2f}); refinement kept in {r.kept} of "
             f"{r.fits} fits, MCC higher in {r.fits_better}, lower in {r.fits_worse}" for r in table.itertuples()]
    return "Without → with the sparse-rotation refinement, same fits: " + "; ".join(parts) + "."
