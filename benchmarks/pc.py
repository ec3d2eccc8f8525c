"""Benchmark: PC over the sample's planted latents, causal-learn's own KCI versus ours, same PC call.

Data: the planted latents of the shipped synthetic sample (``personax.data.load(d).truth.
latents``: CelebPersona 18 latents × 2,000 rows, AthlePersona 12 × 1,500), standardised as
``personax.crl.graph.pc_data`` does.  PC: causal-learn's ``pc`` (stable skeleton,
``uc_rule=0``, ``uc_priority=2``, background knowledge "no Z → S", α = 0.05, depth unlimited).
Two CI tests plugged into the *same* PC call:

* ``causal-learn`` — ``indep_test="kci"`` (``KCI_UInd`` / ``KCI_CInd`` defaults, dense n × n);
* ``personax`` — our conditional KCI with causal-learn's definition through the registration
  hook (``personax.crl.graph.pc_graph(test="kci")``): one batched computation per depth
  level, pivoted-Cholesky factors; ``--options`` sets its options (default: pc_graph's
  ``PC_KCI_OPTIONS``, rank caps 300 for x and y and 1,200 for the conditioning set).

Rows written (``benchmarks/results/pc.csv``), each measured in its own subprocess (so the
peak RSS is that run's):

* ``scope=full``: ours on every row; wall and CPU time, tests, tests/s, peak RSS, CPDAG SHD
  against the planted DAG.  causal-learn on every row takes hours here (≈ 3 s per
  conditional test at n = 2,000 on two idle cores, 3,000+ tests), so unless
  ``--reference-full`` is given (which runs it and keeps the record in
  ``benchmarks/results/pc_reference_<dataset>.json`` for later runs) or that record exists,
  its full-size row is **extrapolated**: causal-learn's
  ``KCI_CInd`` / ``KCI_UInd`` is timed on ``--sample`` triples drawn from our run (stratified
  by conditioning-set size), the mean time per size × our number of tests per size gives the
  wall time, and the sampled triples' decisions are compared with ours.
* ``scope=subsample``: both on the same ``--sub-rows`` rows (seeded subsample), measured
  end to end: wall, tests, peak RSS, identical skeleton, identical graph (endpoint matrix),
  and the number of tests whose decision at α differs (p-values compared by cache key).

* ``scope=full`` with ``covariates`` set: ours on the latents *and* the biographical
  covariates (``personax.crl.graph_covariates.BIOGRAPHICAL_COVARIATES``: gender, occupation,
  birth year, birthplace; league for AthlePersona) as PC nodes, with "no latent →
  covariate" background knowledge; SHD over the latents.  The sample's attributes cause
  several latents at once, so PC over the latents alone joins latents that share an
  attribute parent;
* ``scope=oracle``: PC with a d-separation oracle on the world graph (a perfect CI test),
  on the latents alone and with the covariates — the floor of the graph step's error on
  those nodes.

``--parts latents,subsample,covariates,oracle`` chooses what runs; rows of the parts not run
are kept from the existing CSV.

Every row records the machine, torch threads and the 1-minute load average at the start and
end of the run: the development machine was shared, so wall times there are inflated.

Usage: ``python benchmarks/pc.py [--datasets celebpersona,athlepersona] [--sub-rows 500]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
ALPHA = 0.05
#: Options of our KCI inside PC for the benchmark: pc_graph's default (PC_KCI_OPTIONS).
from personax.crl.graph import PC_KCI_OPTIONS as PC_OPTIONS  # noqa: E402
from personax.crl.graph_covariates import BIOGRAPHICAL_COVARIATES  # noqa: E402

#: Parts of the benchmark (``--parts``).
PARTS = ("latents", "subsample", "covariates", "oracle")
#: Columns a measured PC run (``worker``) contributes to its row.
MEASURED = ("wall_s", "cpu_s", "n_tests", "peak_rss_mb", "shd_cpdag", "n_edges", "skeleton_precision",
            "skeleton_recall", "load_start", "load_end")


def measured(m: dict, *extra: str) -> dict:
    """The :data:`MEASURED` columns (and ``extra``) of a worker's result, with tests per second."""
    return {**{k: m[k] for k in (*MEASURED, *extra)}, "tests_per_s": m["n_tests"] / m["wall_s"],
            "extrapolated": False}


def _load(dataset: str):
    from personax.data import load

    ds = load(dataset)
    return ds, ds.truth.latents


def _rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(job: dict) -> dict:
    """One measurement in this process; returns a JSON-able dict."""
    import torch

    from personax.crl.graph import compare_graphs, pc_data, shared_background

    ds, lat = _load(job["dataset"])
    rows = None
    if job.get("sub_rows"):
        from personax.utils import make_rng

        sub = np.sort(make_rng(0).choice(len(lat), size=int(job["sub_rows"]), replace=False))
        lat = lat.iloc[sub]
    X, nodes = pc_data(lat, rows)
    load0 = os.getloadavg()[0]
    out = {"n_rows": int(X.shape[0]), "n_latents": int(X.shape[1]), "torch_threads": torch.get_num_threads()}
    if job["impl"] == "personax":
        from personax.crl.graph import pc_graph

        w, c = time.perf_counter(), time.process_time()
        cov = None
        if job.get("covariates"):
            from personax.crl.graph_covariates import biographical_covariates

            cov = biographical_covariates(ds)
            if job.get("sub_rows"):
                cov = cov.iloc[sub].reset_index(drop=True)
        g = pc_graph(lat, test="kci", alpha=ALPHA, rows=rows, options=job.get("options") or {}, device="cpu",
                     covariates=cov)
        out.update(wall_s=time.perf_counter() - w, cpu_s=time.process_time() - c, n_tests=int(g.params["n_tests"]),
                   endpoints=g.endpoints.tolist(), n_batches=g.params["n_batches"], n_rows=int(g.params["n_rows"]))
        keys = {}
        idx = {v: i for i, v in enumerate(list(nodes) + list(g.params.get("covariates") or []))}
        for x, y, s, p in zip(g.tests["x"], g.tests["y"], g.tests["cond"], g.tests["pvalue"]):
            a, b = sorted((idx[x], idx[y]))
            keys[f"{a};{b}|{'.'.join(str(i) for i in sorted(idx[v] for v in s))}" if s else f"{a};{b}"] = float(p)
        out["pvalues"] = keys
        adjacency = g.adjacency
    else:
        from causallearn.search.ConstraintBased.PC import pc

        w, c = time.perf_counter(), time.process_time()
        cg = pc(X, ALPHA, "kci", stable=True, uc_rule=0, uc_priority=2, background_knowledge=shared_background(nodes),
                show_progress=False, node_names=nodes)
        out.update(wall_s=time.perf_counter() - w, cpu_s=time.process_time() - c)
        pv = {k: float(v) for k, v in cg.test.pvalue_cache.items() if ";" in k}
        out.update(n_tests=len(pv), pvalues=pv, endpoints=np.asarray(cg.G.graph).astype(int).tolist())
        from personax.crl.graph import _edges_from_causallearn, edges_to_adjacency

        adjacency = edges_to_adjacency(_edges_from_causallearn(np.asarray(cg.G.graph), nodes), nodes)
    s = compare_graphs(adjacency, ds.truth.dag.loc[nodes, nodes])
    out.update(shd_cpdag=s.shd_cpdag, n_edges=s.n_est, skeleton_precision=s.skeleton_precision,
               skeleton_recall=s.skeleton_recall, peak_rss_mb=_rss(), load_start=load0,
               load_end=os.getloadavg()[0])
    return out


def sample_reference(job: dict) -> dict:
    """Time causal-learn's KCI on sampled triples of our run (full-size extrapolation)."""
    from causallearn.utils.KCI.KCI import KCI_CInd, KCI_UInd

    from personax.crl.graph import pc_data

    _, lat = _load(job["dataset"])
    X, _ = pc_data(lat)
    times: dict[int, list[float]] = {}
    decisions = []
    load0 = os.getloadavg()[0]
    for key, p_ours in job["triples"]:
        xy, _, s = key.partition("|")
        x, y = (int(v) for v in xy.split(";"))
        S = [int(v) for v in s.split(".")] if s else []
        w = time.perf_counter()
        if S:
            p = KCI_CInd().compute_pvalue(X[:, [x]].copy(), X[:, [y]].copy(), X[:, S].copy())[0]
        else:
            p = KCI_UInd().compute_pvalue(X[:, [x]].copy(), X[:, [y]].copy())[0]
        times.setdefault(len(S), []).append(time.perf_counter() - w)
        decisions.append((key, float(p), float(p_ours)))
    return {"times": {str(k): v for k, v in times.items()}, "decisions": decisions, "peak_rss_mb": _rss(),
            "load_start": load0, "load_end": os.getloadavg()[0]}


def run_job(job: dict) -> dict:
    env = dict(os.environ, PERSONAX_QUIET="1")
    res = subprocess.run([sys.executable, __file__, "--worker", json.dumps(job)], capture_output=True, text=True,
                         env=env, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"benchmark job {job.get('impl')} {job.get('dataset')} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def skeleton(endpoints) -> set:
    G = np.asarray(endpoints)
    return {(i, j) for i in range(G.shape[0]) for j in range(i + 1, G.shape[0]) if G[i, j] != 0 or G[j, i] != 0}


def compare(a: dict, b: dict) -> dict:
    common = set(a["pvalues"]) & set(b["pvalues"])
    dis = sum((a["pvalues"][k] > ALPHA) != (b["pvalues"][k] > ALPHA) for k in common)
    rel = [abs(a["pvalues"][k] - b["pvalues"][k]) / b["pvalues"][k] for k in common if b["pvalues"][k] > 1e-6]
    return {"skeleton_identical": skeleton(a["endpoints"]) == skeleton(b["endpoints"]),
            "graph_identical": a["endpoints"] == b["endpoints"], "tests_compared": len(common),
            "decision_disagreements": int(dis), "max_rel_p_diff": float(max(rel)) if rel else float("nan")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="athlepersona,celebpersona")
    ap.add_argument("--sub-rows", type=int, default=500, help="rows of the end-to-end comparison (0: skip)")
    ap.add_argument("--sample", type=int, default=24, help="triples timed with causal-learn for the full size")
    ap.add_argument("--options", default=json.dumps(PC_OPTIONS), help="JSON options of our KCI")
    ap.add_argument("--reference-full", action="store_true",
                    help="run causal-learn's PC-KCI on every row (hours) and keep its record")
    ap.add_argument("--parts", default=",".join(PARTS),
                    help=f"comma-separated parts to run, of {', '.join(PARTS)}; rows of parts not run are kept from "
                         "the existing CSV")
    ap.add_argument("--out", default=str(RESULTS / "pc.csv"))
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--sampler", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        job = json.loads(args.worker)
        print(json.dumps(sample_reference(job) if job.get("impl") == "sample" else worker(job)))
        return 0

    import torch

    from personax.utils import write_csv

    options = json.loads(args.options)
    common = {"machine": f"{platform.machine()} {platform.processor() or platform.platform()}",
              "cpu_count": os.cpu_count(), "python": sys.version.split()[0], "torch": torch.__version__,
              "alpha": ALPHA, "max_depth": "unlimited", "timestamp_utc": datetime.now(timezone.utc).strftime(
                  "%Y-%m-%dT%H:%M:%SZ")}
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    bad = [p for p in parts if p not in PARTS]
    if bad:
        ap.error(f"unknown part(s) {bad}; use {', '.join(PARTS)}")
    rows = []
    datasets = [s.strip() for s in args.datasets.split(",") if s.strip()]
    for d in datasets:
        base = {"dataset": d, **common}
        if "oracle" in parts:
            rows += oracle_rows(d, base)
        if "covariates" in parts:
            cov = run_job({"dataset": d, "impl": "personax", "options": options, "covariates": True})
            rows.append({**base, "n_rows": cov["n_rows"], "n_latents": cov["n_latents"], "scope": "full",
                         "implementation": "personax", "options": json.dumps(options),
                         "covariates": ",".join(BIOGRAPHICAL_COVARIATES[d]),
                         **measured(cov, "torch_threads"),
                         "note": "PC over the latents and the biographical covariates (rows with a missing "
                                 "covariate dropped); SHD over the latents"})
            print(f"{d} full + covariates: ours {cov['wall_s']:.0f} s, {cov['n_tests']} tests, "
                  f"SHD {cov['shd_cpdag']}", flush=True)
        if "latents" not in parts and "subsample" not in parts:
            continue
        ours = run_job({"dataset": d, "impl": "personax", "options": options})
        print(f"{d} full: ours {ours['wall_s']:.0f} s wall / {ours['cpu_s']:.0f} s CPU, {ours['n_tests']} tests, "
              f"SHD {ours['shd_cpdag']}", flush=True)
        ref_file = RESULTS / f"pc_reference_{d}.json"
        base = {"dataset": d, "n_rows": ours["n_rows"], "n_latents": ours["n_latents"], **common}
        if "latents" in parts:
            rows += latent_rows(d, ours, base, options, ref_file, args)
        if "subsample" in parts:
            rows += subsample_rows(d, base, options, args.sub_rows)
    out = Path(args.out)
    table = pd.DataFrame(rows)
    if set(parts) != set(PARTS) and out.exists():
        old = pd.read_csv(out)
        if "covariates" not in old:
            old["covariates"] = ""
        key = ["dataset", "scope", "implementation", "covariates"]
        table["covariates"] = table.get("covariates", pd.Series("", index=table.index)).fillna("")
        old["covariates"] = old["covariates"].fillna("")
        done = set(map(tuple, table[key].astype(str).to_numpy()))
        keep = old[[tuple(r) not in done for r in old[key].astype(str).to_numpy()]]
        table = pd.concat([keep, table], ignore_index=True)
    print(f"-> {write_csv(table.sort_values(['dataset', 'scope', 'implementation'], kind='stable'), out)}")
    return 0


def latent_rows(d, ours, base, options, ref_file, args) -> list[dict]:
    """Ours on every row, and causal-learn's KCI (its full record, or extrapolated from sampled triples)."""
    from personax.utils import atomic_path

    common = {k: v for k, v in base.items() if k not in ("dataset", "n_rows", "n_latents")}
    if args.reference_full and not ref_file.exists():
        full = run_job({"dataset": d, "impl": "causal-learn"})
        rec = {"wall_s": full["wall_s"], "cpu_s": full["cpu_s"], "n_tests": full["n_tests"],
               "peak_rss_mb": full["peak_rss_mb"], "pvalues": full["pvalues"], "graph": full["endpoints"],
               "shd_cpdag": full["shd_cpdag"], "load_start": full["load_start"], "load_end": full["load_end"],
               **common}
        with atomic_path(ref_file) as tmp:
            Path(tmp).write_text(json.dumps(rec))
    rows = [{**base, "scope": "full", "implementation": "personax", "options": json.dumps(options),
             **measured(ours, "torch_threads")}]
    if ref_file.exists():
        ref = json.loads(ref_file.read_text())
        cmp = compare(ours, {"pvalues": ref["pvalues"], "endpoints": ref["graph"]})
        rows.append({**base, "scope": "full", "implementation": "causal-learn", "wall_s": ref["wall_s"],
                     "cpu_s": ref.get("cpu_s"), "n_tests": ref["n_tests"],
                     "tests_per_s": ref["n_tests"] / ref["wall_s"], "peak_rss_mb": ref["peak_rss_mb"],
                     "shd_cpdag": ref.get("shd_cpdag"), "extrapolated": False, **cmp,
                     "speed_ratio_wall": ref["wall_s"] / ours["wall_s"], "load_start": ref.get("load_start"),
                     "load_end": ref.get("load_end"), "note": f"reference record of {ref.get('timestamp_utc')}"})
        return rows
    rng = np.random.default_rng(0)
    by_level: dict[int, list] = {}
    for k, p in ours["pvalues"].items():
        by_level.setdefault(0 if "|" not in k else k.split("|")[1].count(".") + 1, []).append((k, p))
    per = max(1, args.sample // max(1, len(by_level)))
    triples = []
    for _lv, items in sorted(by_level.items()):
        pick = rng.choice(len(items), size=min(per, len(items)), replace=False)
        triples += [items[i] for i in pick]
    smp = run_job({"dataset": d, "impl": "sample", "triples": triples})
    mean_t = {int(k): float(np.mean(v)) for k, v in smp["times"].items()}
    counts = {lv: len(items) for lv, items in by_level.items()}
    est = sum(counts[lv] * mean_t.get(lv, max(mean_t.values())) for lv in counts)
    dis = sum((p > ALPHA) != (q > ALPHA) for _, p, q in smp["decisions"])
    rel = [abs(q - p) / p for _, p, q in smp["decisions"] if p > 1e-6]
    rows.append({**base, "scope": "full", "implementation": "causal-learn", "wall_s": est,
                 "n_tests": ours["n_tests"], "tests_per_s": ours["n_tests"] / est,
                 "peak_rss_mb": smp["peak_rss_mb"], "extrapolated": True, "tests_compared": len(triples),
                 "decision_disagreements": int(dis), "max_rel_p_diff": float(max(rel)) if rel else float("nan"),
                 "speed_ratio_wall": est / ours["wall_s"], "load_start": smp["load_start"],
                 "load_end": smp["load_end"],
                 "note": "wall = Σ over conditioning-set sizes of (our tests of that size) × (causal-learn's "
                         f"mean time per test on {len(triples)} sampled triples); tests = ours"})
    print(f"{d} full: causal-learn extrapolated {est:.0f} s ({est / ours['wall_s']:.0f}x), "
          f"{dis} of {len(triples)} sampled decisions differ", flush=True)
    return rows


def subsample_rows(d, base, options, sub_rows: int) -> list[dict]:
    """Ours and causal-learn's KCI end to end on the same seeded subsample."""
    if not sub_rows:
        return []
    o = run_job({"dataset": d, "impl": "personax", "options": options, "sub_rows": sub_rows})
    r = run_job({"dataset": d, "impl": "causal-learn", "sub_rows": sub_rows})
    cmp = compare(o, r)
    sub = {**base, "n_rows": o["n_rows"], "scope": "subsample"}
    rows = []
    for name, m in (("personax", o), ("causal-learn", r)):
        rows.append({**sub, "implementation": name, "options": json.dumps(options) if name == "personax" else "",
                     **measured(m), **cmp,
                     "speed_ratio_wall": r["wall_s"] / o["wall_s"]})
    print(f"{d} {o['n_rows']} rows: ours {o['wall_s']:.1f} s, causal-learn {r['wall_s']:.1f} s "
          f"(x{r['wall_s'] / o['wall_s']:.0f}); skeleton identical {cmp['skeleton_identical']}, "
          f"{cmp['decision_disagreements']} decisions differ", flush=True)
    return rows


def oracle_rows(d, base) -> list[dict]:
    """PC with a d-separation oracle on the sample's world graph: latents alone, and with the covariates."""
    from personax.crl.graph import compare_graphs
    from personax.crl.graph_covariates import dseparation_graph
    from personax.data.synthetic.world import latent_dag, world_graph

    _, lat = _load(d)
    nodes = list(lat.columns)
    W, dag = world_graph(d), latent_dag(d).loc[nodes, nodes]
    rows = []
    for covs in ((), BIOGRAPHICAL_COVARIATES[d]):
        w = time.perf_counter()
        g = dseparation_graph(W, nodes, list(covs))
        s = compare_graphs(g.adjacency, dag)
        rows.append({**base, "n_latents": len(nodes), "scope": "oracle", "implementation": "d-separation",
                     "covariates": ",".join(covs), "wall_s": time.perf_counter() - w, "shd_cpdag": s.shd_cpdag,
                     "n_edges": s.n_est, "skeleton_precision": s.skeleton_precision,
                     "skeleton_recall": s.skeleton_recall, "extrapolated": False,
                     "note": "PC with a perfect CI test (d-separation in the world graph, other nodes marginalised): "
                             "the floor of the graph step's error on these nodes"})
        print(f"{d} d-separation oracle, covariates {list(covs)}: SHD {s.shd_cpdag}", flush=True)
    return rows


if __name__ == "__main__":
    sys.exit(main())
