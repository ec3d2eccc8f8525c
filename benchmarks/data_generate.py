"""Data-layer benchmark: generating the synthetic PersonaX world and loading the sample.

Measured, one row per case (wall and CPU seconds, peak RSS, machine info):

* ``generate(dataset)`` at the release size (9,444 / 4,181 rows) with the release widths
  (face 1024, text 3584; 3 / 1 face measurements) — the "full scale in seconds" target;
* the same with narrow embeddings (16-d), i.e. the scalar SCM + raters + planted truth;
* ``load(dataset)`` of the shipped sample;
* ``check_planted_truth`` on the full-scale draw.

Run ``python benchmarks/data_generate.py`` (``--quick``: 1,000 rows); results go to
``benchmarks/results/data_generate.csv`` (``--out`` to change).  Timings on a shared or
busy machine are inflated: compare CPU seconds, or rerun on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 rows instead of the release size")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "data_generate.csv"))
    args = parser.parse_args(argv)

    from personax.data import load
    from personax.data.synthetic import check_planted_truth, generate

    rows = []
    for ds in ("celebpersona", "athlepersona"):
        n = 1000 if args.quick else None
        cases = [
            ("generate_release_widths", lambda: generate(ds, n=n, seed=0)),
            ("generate_narrow_16d", lambda: generate(ds, n=n, seed=0, face_dim=16, text_dim=16)),
            ("load_sample", lambda: load(ds)),
        ]
        narrow = None
        for name, fn in cases:
            out, wall, cpu = _timed(fn)
            if name == "generate_narrow_16d":
                narrow = out
            rows.append({"dataset": ds, "case": name, "n": len(out), "wall_s": round(wall, 3),
                         "cpu_s": round(cpu, 3), "peak_rss_mb": round(_peak_rss_mb(), 1)})
            del out
        res, wall, cpu = _timed(lambda: check_planted_truth(narrow))
        rows.append({"dataset": ds, "case": "check_planted_truth", "n": len(narrow), "wall_s": round(wall, 3),
                     "cpu_s": round(cpu, 3), "peak_rss_mb": round(_peak_rss_mb(), 1),
                     "dependent_detected": float(res[res.planted == "dependent"].detected.mean()),
                     "independent_detected": float(res[res.planted == "independent"].detected.mean())})
    frame = pd.DataFrame(rows)
    frame["machine"] = f"{platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()}".strip()
    frame["load_avg_1m"] = round(os.getloadavg()[0], 2)
    frame["omp_threads"] = os.environ.get("OMP_NUM_THREADS", "")
    frame["timestamp"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)
    print(frame.to_string(index=False))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
