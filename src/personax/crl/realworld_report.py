"""What chapter 06 shows and says: tables, figures' companions and sentences read from this run.

Chapter ``06_crl_realworld`` calls :func:`personax.crl.realworld.run_level2` once per
dataset and hands the results (``{dataset: Level2Result}``) to the functions here:

* tables — :func:`run_table` (settings and timings), :func:`recovery_tables` (MCC / R² per
  block; graph scores of the oracle, the main run and the stable graph);
* sentences — one paragraph after each figure or table that reads the numbers of *this*
  run (:func:`sentence_run`, :func:`sentence_training`, :func:`sentence_graphs`,
  :func:`sentence_stability`, :func:`sentence_evidence`, :func:`sentence_recovery`,
  :func:`sentence_published`), the page's headline (:func:`headline`, glued into the box
  under the title) and its conclusions (:func:`conclusions`).

No number in the chapter's prose is typed by hand or assembled in a notebook cell.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

__all__ = [
    "load_data",
    "data_table",
    "three_graph_options",
    "run_table",
    "training_summary",
    "recovery_tables",
    "cross_modal",
    "headline",
    "sentence_run",
    "sentence_training",
    "sentence_graphs",
    "sentence_stability",
    "sentence_evidence",
    "sentence_recovery",
    "sentence_published",
    "conclusions",
]

_NAMES = {"celebpersona": "CelebPersona", "athlepersona": "AthlePersona"}


def _name(dataset: str) -> str:
    return _NAMES.get(dataset, dataset)


def _and(items: list[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def cross_modal(edges: pd.DataFrame) -> int:
    """Number of image ↔ text edges in an edge table (``source_block`` / ``target_block`` or names)."""
    from personax.crl.graph import latent_block

    if not len(edges):
        return 0
    return int(sum({latent_block(a), latent_block(b)} == {"face", "text"}
                   for a, b in zip(edges["source"], edges["target"])))


def load_data(datasets, *, source: str = "sample", n: int | None = None, seed: int = 0,
              profile: str = "quick") -> dict:
    """``{dataset: PersonaData}`` for the chapter: ``n`` rows, or the profile's default (``PROFILE_SETTINGS``)."""
    from personax.crl.realworld import PROFILE_SETTINGS
    from personax.data import load

    if profile not in PROFILE_SETTINGS:
        raise ValueError(f"profile={profile!r}: use one of {sorted(PROFILE_SETTINGS)}")
    rows = n if n is not None else PROFILE_SETTINGS[profile]["n"]
    return {d: load(d, source=source, n=rows, seed=seed) for d in datasets}


def data_table(data: Mapping[str, object]) -> pd.DataFrame:
    """One row per dataset: rows, face and text measurements, the latent layout, synthetic or not."""
    return pd.DataFrame([{"dataset": d, "rows": len(ds), "face measurements": len(ds.measurements("face")),
                          "text measurements": len(ds.measurements("text")), **ds.schema.latent_layout,
                          "synthetic": bool(ds.info.get("synthetic"))} for d, ds in data.items()]).set_index("dataset")


def three_graph_options(result, ds) -> dict:
    """Keyword arguments of :func:`personax.plots.graph.draw_three_graphs` for one dataset's result."""
    st = result.settings
    return {"threshold": st["freq_threshold"], "n_runs": st["n_stability_runs"],
            "planted_dag": ds.truth.dag if ds.truth is not None else None,
            "mapping": result.recovery.mapping if result.recovery is not None else None,
            "seen": len(result.stability), "title": f"{result.dataset}: PC with {st['ci_test']}, α = {st['alpha']:g}"}


def run_table(results: Mapping[str, object]) -> pd.DataFrame:
    """Settings and timings of each dataset's run, one column per dataset.

    Rows: one ``<step> (s)`` row per timed step of :func:`~personax.crl.realworld.run_level2`
    (fit, pc, stability, describe, recovery, oracle_pc; wall seconds), ``CPU time (s)`` (the
    pipeline's and the oracle's CPU seconds: on a shared machine the wall times include
    waiting for a core), then ``seeds``, ``CI test``,
    ``alpha``, ``PC rows``, ``PC tests (main run)``, ``runs for stability``,
    ``edge frequency drawn``.
    """
    out = {}
    for d, r in results.items():
        st = r.settings
        cpu = float(st.get("cpu_seconds", np.nan)) + float(st.get("cpu_seconds_oracle", 0.0))
        out[d] = {**{f"{k} (s)": round(float(v), 1) for k, v in st["timings"].items()}, "CPU time (s)": round(cpu, 1),
                  "seeds": ", ".join(map(str, r.fit.seeds)), "CI test": st["ci_test"], "alpha": st["alpha"],
                  "PC rows": r.graph.params["n_rows"], "PC tests (main run)": r.graph.params["n_tests"],
                  "runs for stability": st["n_stability_runs"], "edge frequency drawn": st["freq_threshold"]}
    return pd.DataFrame(out)


def sentence_run(results: Mapping[str, object]) -> str:
    """Where the time of this run went and how much PC was asked, per dataset."""
    parts = []
    for d, r in results.items():
        t = r.settings["timings"]
        total = sum(float(v) for v in t.values())
        big = max(t, key=lambda k: t[k])
        cpu = float(r.settings.get("cpu_seconds", np.nan)) + float(r.settings.get("cpu_seconds_oracle", 0.0))
        parts.append(f"{_name(d)} took {total:.0f} s of wall time over its steps ({cpu:.0f} s of CPU), most of it "
                     f"in the `{big}` step ({float(t[big]):.0f} s); "
                     f"PC asked {r.graph.params['n_tests']} {r.settings['ci_test'].upper()} tests on "
                     f"{r.graph.params['n_rows']} rows in the main run")
    return "; ".join(parts) + "."


def training_summary(results: Mapping[str, object]) -> pd.DataFrame:
    """Per dataset and training phase of the first seed: epochs run, best epoch, how it ended.

    Read from the fit's run record (``CRLFit.record["stages"]``, staged estimator).

    Returns
    -------
    DataFrame
        Columns ``dataset``, ``phase`` (``blocks`` = stage 1; ``components:<order>:<restart>``
        = the stage-2 candidates, ``...:refit`` / ``...:rot`` their refinement,
        :mod:`personax.crl.refine`), ``epochs``, ``best_epoch``, ``stopped_early`` (early
        stopping ended it, not the epoch budget), ``val_nll`` (stage 2: held-out NLL, which
        with the edge penalty selects the candidate), ``kept`` (the candidate the fit kept).
    """
    rows = []
    for d, r in results.items():
        stages = r.fit.fits[0].record.get("stages")
        if not stages:
            raise ValueError(f"{d}: the fit has no stage record (joint estimator?); training_summary reads the "
                             "staged estimator's record['stages']")
        b = stages["blocks"]
        rows.append({"dataset": d, "phase": "blocks", "epochs": int(b["epochs"]), "best_epoch": int(b["best_epoch"]),
                     "stopped_early": bool(b["stopped_early"]), "val_nll": float("nan"), "kept": True})
        comp = list(stages.get("components", []))
        best = min((c["val_nll"] for c in comp), default=None)  # records written before the "chosen" flag
        for c in comp:
            rows.append({"dataset": d, "phase": str(c["phase"]), "epochs": int(c["epochs"]),
                         "best_epoch": int(c["best_epoch"]), "stopped_early": bool(c["stopped_early"]),
                         "val_nll": float(c["val_nll"]),
                         "kept": bool(c["chosen"] if "chosen" in c else c["val_nll"] == best)})
    return pd.DataFrame(rows, columns=["dataset", "phase", "epochs", "best_epoch", "stopped_early", "val_nll", "kept"])


def sentence_training(results: Mapping[str, object]) -> str:
    """How long each phase of the first seed trained, and whether early stopping or the budget ended it."""
    tab = training_summary(results)

    def ended(row) -> str:
        return "early stopping" if row["stopped_early"] else "the epoch budget"

    parts = []
    for d, g in tab.groupby("dataset", sort=False):
        b = g[g["phase"] == "blocks"].iloc[0]
        s = (f"{_name(d)}: stage 1 ran {b['epochs']} epochs (best at epoch {b['best_epoch']}; ended by {ended(b)})")
        comp = g[g["phase"] != "blocks"]
        if len(comp):
            k = comp[comp["kept"]].iloc[0]
            s += (f"; stage 2 fitted {len(comp)} candidate(s) for "
                  f"{_and([str(e) for e in comp['epochs']])} epochs and kept `{k['phase']}` (held-out NLL "
                  f"{k['val_nll']:.2f}; ended by {ended(k)})")
        parts.append(s)
    return ". ".join(parts) + "."


def _graph_row(latents: str, graph: str, scores) -> dict:
    keep = ("shd_cpdag", "n_true", "n_est", "skeleton_precision", "skeleton_recall", "arrow_precision")
    return {"latents": latents, "graph": graph, **{k: getattr(scores, k) for k in keep}}


def recovery_tables(results: Mapping[str, object]) -> list[pd.DataFrame]:
    """MCC / R² per block and the graph scores, for the datasets with a planted truth.

    Returns ``[]`` when no dataset has one (real data), else ``[blocks, graphs]``:
    ``blocks`` indexed by (dataset, block) with ``n_latents``, ``mcc``, ``r2``, ``n_rows``;
    ``graphs`` indexed by (dataset, latents, graph) with ``shd_cpdag``, ``n_true``,
    ``n_est``, ``skeleton_precision``, ``skeleton_recall``, ``arrow_precision`` — per
    dataset: PC with a perfect test (d-separation in the world graph; where it is known), the
    oracle (PC on the planted latents), the main run and the stable graph.
    """
    blocks, graphs = [], []
    for d, r in results.items():
        if r.recovery is None:
            continue
        blocks.append(r.recovery.blocks.assign(dataset=d))
        thr = r.settings["freq_threshold"]
        floor = getattr(r.oracle, "floor", None)
        if floor is not None:
            graphs.append({"dataset": d, **_graph_row("planted", "perfect test (d-separation)", floor)})
        for row in (_graph_row("planted (oracle)", "main run", r.oracle.scores),
                    _graph_row("learned", "main run", r.recovery.graph),
                    _graph_row("learned", f"stable (≥ {thr:g})", r.recovery.graph_stable)):
            graphs.append({"dataset": d, **row})
    if not blocks:
        return []
    return [pd.concat(blocks).set_index(["dataset", "block"]),
            pd.DataFrame(graphs).set_index(["dataset", "latents", "graph"])]


def sentence_graphs(results: Mapping[str, object], planted: Mapping[str, pd.DataFrame | None] | None = None) -> str:
    """Edge counts of the three panels (published, planted, ours) and how many are cross-modal."""
    from personax.crl.published import published_edges

    parts = []
    for d, r in results.items():
        pub = published_edges(d)
        s = (f"{_name(d)}: the paper's graph has {len(pub)} edges ({cross_modal(pub)} cross-modal); ")
        dag = (planted or {}).get(d)
        if dag is not None:
            s += f"the planted graph {int(np.asarray(dag).sum())}; "
        s += (f"ours keeps {len(r.stable)} of the {len(r.stability)} edges seen in "
              f"{r.settings['n_stability_runs']} PC runs ({cross_modal(r.stable)} cross-modal)")
        parts.append(s)
    return ". ".join(parts) + "."


def sentence_stability(results: Mapping[str, object]) -> str:
    """How sharply the runs agree: edges in every run, edges in only some."""
    parts = []
    for d, r in results.items():
        st = r.stability
        R = r.settings["n_stability_runs"]
        always = int((st["freq_any"] >= 1 - 1e-9).sum())
        some = int(((st["freq_any"] < 1 - 1e-9)).sum())
        flips = int(((st["freq_directed"] > 0) & (st["freq_reverse"] > 0)).sum())
        parts.append(f"{_name(d)}: {always} edges appear in all {R} runs and {some} in only some of them; "
                     f"{flips} edges change direction between runs")
    return ". ".join(parts) + ". With few runs the frequencies are coarse (multiples of 1/runs)."


def sentence_evidence(results: Mapping[str, object]) -> str:
    """How many latents have evidence for a label, and the strongest pieces of evidence."""
    parts = []
    for d, r in results.items():
        lab = r.labels
        with_ev = lab[lab["n_dependent"] > 0]
        best = with_ev.sort_values("best_r2_test", ascending=False).head(2)
        tops = [f"{x.latent} ↔ {x.best_variable} (held-out R² {x.best_r2_test:.2f})" for x in best.itertuples()]
        s = f"{_name(d)}: {len(with_ev)} of {len(lab)} latents depend on at least one trait or attribute (BH q < 0.05)"
        if tops:
            s += "; strongest: " + _and(tops)
        parts.append(s)
    return ". ".join(parts) + ". Latents without evidence stay unlabelled."


def sentence_recovery(results: Mapping[str, object]) -> str:
    """Recovery on the synthetic sample: MCC per block, the oracle's and the learned graphs' SHD."""
    parts = []
    for d, r in results.items():
        if r.recovery is None:
            continue
        b = r.recovery.blocks.set_index("block")
        o, g, gs = r.oracle.scores, r.recovery.graph, r.recovery.graph_stable
        parts.append(
            f"{_name(d)}: MCC " + ", ".join(f"{k} {b.loc[k, 'mcc']:.2f}" for k in b.index)
            + f"; against the {o.n_true} planted edges the oracle PC on the planted latents reaches CPDAG SHD "
            f"{o.shd_cpdag} ({o.n_est} edges, skeleton precision {o.skeleton_precision:.2f}, recall "
            f"{o.skeleton_recall:.2f}), the PC run on the learned latents SHD {g.shd_cpdag} "
            f"({g.n_est} edges) and the stable graph SHD {gs.shd_cpdag} ({gs.n_est} edges)"
            + _floor_clause(r))
    if not parts:
        return "Real data: there is no planted truth, so recovery is not scored."
    return (". ".join(parts) + ". The oracle's errors are the graph step's own; the gap to the learned rows is "
            "what learning the latents costs at this budget.")


def _floor_clause(r) -> str:
    floor = getattr(r.oracle, "floor", None)
    if floor is None:
        return ""
    cov = r.oracle.graph.params.get("covariates") or []
    nodes = f"the latents and {len(cov)} biographical covariates" if cov else "the latents alone"
    return (f"; even a perfect CI test (d-separation in the world graph) on {nodes} would reach SHD "
            f"{floor.shd_cpdag} ({floor.n_est} edges)")


def sentence_published(results: Mapping[str, object]) -> str:
    """Edges per group (shared, image, text, cross-modal): published beside ours."""
    from personax.crl.graph import latent_block
    from personax.crl.published import published_edges

    def groups(edges):
        out = {"shared": 0, "image": 0, "text": 0, "cross-modal": 0}
        for a, b in zip(edges["source"], edges["target"]):
            ba, bb = latent_block(a), latent_block(b)
            key = ("shared" if "shared" in (ba, bb) else "cross-modal" if ba != bb
                   else "image" if ba == "face" else "text")
            out[key] += 1
        return out

    parts = []
    for d, r in results.items():
        p, o = groups(published_edges(d)), groups(r.stable)
        parts.append(f"{_name(d)} (published / ours): " + ", ".join(f"{k} {p[k]} / {o[k]}" for k in p))
    return "; ".join(parts) + "."


def headline(results: Mapping[str, object]) -> str:
    """The page's headline in words: published edge counts beside this run's, and recovery where scored."""
    from personax.crl.published import published_edges

    names = list(results)
    pub = _and([f"{len(published_edges(d))} ({_name(d)})" for d in names])
    ours = _and([f"{len(r.stable)} ({_name(d)})" for d, r in results.items()])
    synthetic = [d for d, r in results.items() if r.recovery is not None]
    text = (f"**Paper:** PC over the learned latents gives graphs of {pub} edges, with cross-modal edges. "
            f"**Reproduced here:** {ours} stable edges "
            f"(drawn at frequency ≥ {results[names[0]].settings['freq_threshold']:g}).")
    if synthetic:
        o = _and([f"{results[d].oracle.scores.shd_cpdag}" for d in synthetic])
        g = _and([f"{results[d].recovery.graph_stable.shd_cpdag}" for d in synthetic])
        n = _and([f"{results[d].oracle.scores.n_true}" for d in synthetic])
        text += (f" On the synthetic sample (planted graphs of {n} edges) the same PC on the *planted* latents "
                 f"reaches CPDAG SHD {o}, on the learned latents {g}")
        worse = all(results[d].recovery.graph_stable.shd_cpdag > results[d].oracle.scores.shd_cpdag
                    for d in synthetic)
        text += (": most of the error comes from the latents learned at this budget, not from the graph step."
                 if worse else ".")
    return text


def conclusions(results: Mapping[str, object], *, profile: str, device: str) -> str:
    """The chapter's closing summary (Markdown): one bullet per dataset, then what the numbers mean."""
    from personax.crl.published import published_edges

    lines = []
    for d, r in results.items():
        st = r.settings
        line = (f"- **{_name(d)}**: {len(r.stable)} stable edges (frequency ≥ {st['freq_threshold']:g} over "
                f"{st['n_stability_runs']} runs; {len(r.graph.edges)} in the main run) among {len(r.graph.nodes)} "
                f"latents, {cross_modal(r.stable)} cross-modal; the paper's graph has {len(published_edges(d))} edges")
        if r.recovery is not None:
            b = r.recovery.blocks.set_index("block")
            g, gs, o = r.recovery.graph, r.recovery.graph_stable, r.oracle.scores
            line += ("; recovery on the synthetic sample: MCC "
                     + ", ".join(f"{k} {b.loc[k, 'mcc']:.2f}" for k in b.index) + "; R² "
                     + ", ".join(f"{k} {b.loc[k, 'r2']:.2f}" for k in b.index)
                     + f"; CPDAG SHD {g.shd_cpdag} (main run), {gs.shd_cpdag} (stable graph) against the "
                     f"{o.n_true} planted edges, skeleton precision {g.skeleton_precision:.2f} / recall "
                     f"{g.skeleton_recall:.2f}; oracle PC on the planted latents: SHD {o.shd_cpdag}, "
                     f"precision {o.skeleton_precision:.2f} / recall {o.skeleton_recall:.2f}")
        lines.append(line + ".")
    alpha = next(iter(results.values())).settings["alpha"]
    return (f"Profile `{profile}`, device `{device}`, α = {alpha:g}.\n\n" + "\n".join(lines)
            + "\n\nThe gap between the oracle row and the learned rows is the price of learning the latents; the "
            "oracle's own errors are those of the graph step (finite rows, the CI test, confounding by attributes "
            "that are not latents). Small profiles train briefly: their recovery numbers are lower bounds. The "
            "published labels are the authors' illustrations; ours are the evidence table above. Traits inferred "
            "by LLMs for public figures reflect public image and model priors, not measured personality.")
