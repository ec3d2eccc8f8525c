"""``personax traits ...`` subcommands: list/show prompts and local models, run inference, agreement.

Examples::

    personax traits prompts                      # the six formats with their hashes
    personax traits prompts --show number-l3-inc --name "Maren Olwick" --description "FICTIONAL actress."
    personax traits models                       # named local models and whether they are installed
    personax traits run --backend simulated --ledger build/traits/ledger.jsonl
    personax traits run --backend transformers --model smollm2-135m --prompt all --ledger runs/smol.jsonl
    OPENAI_API_KEY=... personax traits run --backend openai --model gpt-4o-mini \\
        --base-url https://api.openai.com/v1 --people my_people.csv --ledger runs/gpt.jsonl
    personax traits run --backend openai --model llama3.1:8b --base-url http://localhost:11434/v1 --api-key-env ''
    personax traits run ... --retry-invalid --retry-temperature 0.7   # re-ask the invalid replies
    personax traits agreement --dataset celebpersona --source sample --n-boot 1000

The API key is never a command-line argument: ``--api-key-env`` names the environment
variable that holds it.

Exit status of ``traits run`` (results and the summary on stdout, messages on stderr):
0 when the requested work is done; 1 when a backend cannot be used (HTTP 401/403/404,
unknown model, missing key variable: the run stops after the first such reply), when no
request ended ``ok``, or when requests without a reply (``error``) exceed
``--max-error-rate`` (default 0: any) or invalid/refused replies exceed
``--max-invalid-rate`` (default: no limit); ``--allow-failures`` exits 0 with the summary
whenever the run itself completed.  2 for a bad option.  Rerunning the same command
resumes: done requests are skipped, errors are sent again.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from personax.data.schema import DATASETS


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid rate {text!r}: a number between 0 and 1") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"invalid rate {text!r}: must be between 0 and 1")
    return value


def register(subparsers) -> None:
    """Add the ``traits`` command and its subcommands to the top-level parser."""
    p = subparsers.add_parser("traits", help="LLM Big Five inference: prompts, runs, agreement",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="traits_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    pr = sub.add_parser("prompts", help="list the prompt formats or render one")
    pr.add_argument("--show", metavar="PROMPT_ID", help="print the rendered messages of this format")
    pr.add_argument("--name", default="Maren Olwick (fictional)")
    pr.add_argument("--description", default=None)
    pr.add_argument("--league", default=None)
    pr.set_defaults(func=_cmd_prompts)

    mo = sub.add_parser("models", help="named local models of the transformers backend (offline)")
    mo.set_defaults(func=_cmd_models)

    r = sub.add_parser("run", help="rate people with an LLM backend, resumably (JSONL ledger)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("--people", default=None,
                   help="CSV with person_id, name and description or league (default: the shipped fictional examples)")
    r.add_argument("--backend", choices=("simulated", "openai", "transformers"), default="simulated")
    r.add_argument("--model", default=None,
                   help="openai: the server's model name; transformers: smollm2-135m (ships offline), a .gguf file, "
                        "a local folder or cached Hub id; simulated: comma list of raters "
                        "(default chatgpt,gemini,llama)")
    r.add_argument("--label", default=None, help="llm label in the results (default: the model)")
    r.add_argument("--base-url", default="https://api.openai.com/v1")
    r.add_argument("--api-key-env", default="OPENAI_API_KEY",
                   help="NAME of the environment variable holding the API key ('' = send none)")
    r.add_argument("--prompt", default="number-l3-inc", help="prompt id, comma list, or 'all'")
    r.add_argument("--ledger", required=True, help="JSONL ledger path (appended; reruns resume)")
    r.add_argument("--temperature", type=float, default=0.0)
    r.add_argument("--max-tokens", type=int, default=600)
    r.add_argument("--repeats", type=int, default=1)
    r.add_argument("--concurrency", type=int, default=4)
    r.add_argument("--timeout", type=float, default=60.0)
    r.add_argument("--max-retries", type=int, default=5)
    r.add_argument("--device", default="auto")
    r.add_argument("--scoring", choices=("auto", "constrained", "generate"), default="auto",
                   help="transformers: constrained scoring (number formats by default) or free generation")
    r.add_argument("--mass-threshold", type=_rate, default=None,
                   help="transformers, constrained scoring: minimum probability on the valid answers (default 0.5)")
    r.add_argument("--batch-size", type=int, default=8, help="transformers: replies decoded together")
    r.add_argument("--seed", type=int, default=0, help="seeds the simulated world and the retry jitter")
    r.add_argument("--request-seed", type=int, default=None,
                   help="send this 'seed' field with each request (not every server accepts it)")
    r.add_argument("--retry-invalid", action="store_true",
                   help="re-ask requests whose recorded reply was invalid (the old ledger line is kept as history)")
    r.add_argument("--retry-status", default=None, metavar="STATUS[,STATUS]",
                   help="re-ask these statuses or groups too (e.g. refused,malformed)")
    r.add_argument("--retry-temperature", type=float, default=None,
                   help="temperature for the re-asked requests only (a greedy model repeats its reply)")
    r.add_argument("--max-error-rate", type=_rate, default=0.0,
                   help="fail (exit 1) when more than this fraction got no reply (default 0: any)")
    r.add_argument("--max-invalid-rate", type=_rate, default=None,
                   help="fail (exit 1) when more than this fraction was invalid or refused (default: no limit)")
    r.add_argument("--allow-failures", action="store_true",
                   help="exit 0 with the summary even when requests failed")
    r.add_argument("--allow-partial", action="store_true",
                   help="--out: keep the valid traits of replies with per-trait problems (status partial)")
    r.add_argument("--out", default=None, help="write the tidy results to this CSV")
    r.set_defaults(func=_cmd_run)

    a = sub.add_parser("agreement", help="inter-LLM agreement per trait (alpha, ICC, Spearman, bootstrap CIs)")
    src = a.add_mutually_exclusive_group()
    src.add_argument("--dataset", default="celebpersona", choices=DATASETS)
    a.add_argument("--source", default="sample", help="sample | hf | local path (see personax.data.load)")
    src.add_argument("--ledger", default=None, help="use a ledger from `personax traits run` instead")
    a.add_argument("--prompt", default=None, help="prompt id to use from the ledger")
    a.add_argument("--n-boot", type=int, default=1000)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--out", default=None, help="write the long table to this CSV")
    a.set_defaults(func=_cmd_agreement)


def _format(prompt_id: str):
    from personax.errors import UsageError
    from personax.traits.prompts import get_format, list_formats

    try:
        return get_format(prompt_id)
    except KeyError:
        raise UsageError(f"unknown prompt format {prompt_id!r}",
                         hint=f"use one of {', '.join(list_formats())} (or 'all' for --prompt)") from None


def _cmd_prompts(args) -> int:
    from personax.traits.prompts import formats_table

    if not args.show:
        print(formats_table().to_string(index=False))
        return 0
    fmt = _format(args.show)
    desc = args.description if args.description or args.league else "FICTIONAL example person."
    for m in fmt.render(args.name, description=desc, league=args.league):
        print(f"--- {m['role']} ---\n{m['content']}\n")
    print(f"[{fmt.id} v{fmt.version}, {fmt.label}, sha256 {fmt.content_hash}]")
    return 0


def _cmd_models(args) -> int:
    from personax.errors import BackendError
    from personax.traits.backends.local_models import LOCAL_MODELS, locate

    for name, spec in LOCAL_MODELS.items():
        try:
            folder, fname = locate(name)
            where = str(Path(folder) / fname)
        except BackendError as exc:
            where = f"NOT INSTALLED ({exc.hint})"
        print(f"{name}: {spec.title}, {spec.parameters} parameters, {spec.licence}, from {spec.upstream}\n"
              f"  wheel {spec.distribution}=={spec.version}: {where}")
    return 0


def _read_people(path: str):
    import pandas as pd

    from personax.errors import DataError, InputOutputError

    p = Path(path)
    if not p.exists():
        raise InputOutputError(f"--people {path}: No such file or directory",
                               hint="pass a CSV with person_id, name and description or league")
    if p.is_dir():
        raise InputOutputError(f"--people {path} is a folder", hint="pass a CSV file")
    try:
        return pd.read_csv(p, dtype=str)
    except pd.errors.EmptyDataError:
        raise InputOutputError(f"--people {path} is empty",
                               hint="the CSV needs a header row: person_id,name,description (or league)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"--people {path} is not a readable CSV: {exc}",
                        hint="pass a comma-separated UTF-8 file with a header row") from exc


def _cmd_run(args) -> int:
    from personax.errors import UsageError
    from personax.traits import load_example_people, run_inference, status_counts
    from personax.traits.backends import make_backend
    from personax.traits.prompts import FORMAT_IDS

    if args.repeats < 1:
        raise UsageError(f"--repeats must be >= 1, got {args.repeats}")
    if args.batch_size < 1 or args.concurrency < 1:
        raise UsageError(f"--batch-size and --concurrency must be >= 1, got {args.batch_size}, {args.concurrency}")
    prompts = list(FORMAT_IDS) if args.prompt == "all" else [_format(p.strip()).id
                                                               for p in args.prompt.split(",") if p.strip()]
    if not prompts:
        raise UsageError("--prompt is empty", hint="give a prompt id, a comma list, or 'all'")
    if args.backend == "simulated":
        llms = [m.strip() for m in (args.model or "chatgpt,gemini,llama").split(",") if m.strip()]
        from personax.data.synthetic import RATERS

        unknown = [m for m in llms if m not in RATERS]
        if unknown:
            raise UsageError(f"--model {','.join(unknown)}: unknown simulated rater(s)",
                             hint=f"the simulated backend has the raters {', '.join(RATERS)}")
        backends = {m: make_backend("simulated", llm=m, seed=args.seed) for m in llms}
        print("NOTE: the simulated backend is NOT a language model (synthetic raters).", file=sys.stderr)
    elif args.backend == "openai":
        if not args.model:
            raise UsageError("--model is required for --backend openai",
                             hint="name the server's model, e.g. --model gpt-4o-mini")
        b = make_backend("openai", model=args.model, base_url=args.base_url, api_key_env=args.api_key_env or None,
                         timeout=args.timeout, max_retries=args.max_retries, max_concurrency=args.concurrency,
                         seed=args.seed)
        backends = {args.label or args.model: b}
    else:
        if not args.model:
            raise UsageError("--model is required for --backend transformers",
                             hint="--model smollm2-135m (a real chat model shipped offline), a .gguf file, or a "
                                  "local model folder")
        kw = {} if args.mass_threshold is None else {"mass_threshold": args.mass_threshold}
        backends = {args.label or args.model: make_backend("transformers", model=args.model, device=args.device,
                                                           scoring=args.scoring, batch_size=args.batch_size, **kw)}
    people = load_example_people() if args.people is None else _read_people(args.people)
    params = {} if args.backend == "simulated" else {"temperature": args.temperature, "max_tokens": args.max_tokens}
    if args.request_seed is not None and args.backend != "simulated":
        params["seed"] = args.request_seed
    retry_params = None if args.retry_temperature is None else {"temperature": args.retry_temperature}
    tidy = run_inference(people, backends, prompts, args.ledger, params=params, repeats=args.repeats,
                         retry_invalid=args.retry_invalid, retry_statuses=args.retry_status,
                         retry_params=retry_params, allow_partial=args.allow_partial)
    summary = tidy.attrs["summary"]
    print(f"run: {tidy.attrs['run']}")
    print(summary.format())
    requested = tidy[tidy["llm"].isin(list(backends)) & tidy["prompt_id"].isin(prompts)]
    if len(requested):
        print(status_counts(requested).to_string())
    if args.out:
        from personax.utils import atomic_path

        with atomic_path(args.out) as tmp:
            tidy.to_csv(tmp, index=False)
    summary.check(max_error_rate=args.max_error_rate, max_invalid_rate=args.max_invalid_rate,
                  allow_failures=args.allow_failures)
    return 0


def _cmd_agreement(args) -> int:
    from personax.errors import InputOutputError, UsageError
    from personax.traits.agreement import agreement_summary, agreement_table

    if args.n_boot < 0:
        raise UsageError(f"--n-boot must be >= 0, got {args.n_boot}")
    if args.ledger:
        from personax.traits.run import ledger_frame, wide_scores

        if not Path(args.ledger).is_file():
            raise InputOutputError(f"--ledger {args.ledger}: No such file",
                                   hint="pass a ledger written by `personax traits run`")
        tidy = ledger_frame(args.ledger)
        if tidy.empty:
            raise InputOutputError(f"--ledger {args.ledger} holds no replies",
                                   hint="run `personax traits run --ledger ...` first")
        if args.prompt is None and tidy["prompt_id"].nunique() > 1:
            raise UsageError(f"the ledger holds several prompt formats {sorted(tidy['prompt_id'].unique())}",
                             hint="pick one with --prompt")
        scores = wide_scores(tidy, None if args.prompt is None else _format(args.prompt).id)
        llms = list(dict.fromkeys(tidy["llm"]))
        if len(llms) < 2:
            raise UsageError(f"agreement needs at least two raters; the ledger has {llms}",
                             hint="run several backends or --model a,b,c into the same ledger")
    else:
        from personax.data import load
        from personax.data.schema import LLMS

        scores = load(args.dataset, source=args.source).frame
        llms = list(LLMS)
    table = agreement_table(scores, llms=llms, n_boot=args.n_boot, seed=args.seed)
    print(agreement_summary(table).to_string())
    if args.out:
        from personax.utils import atomic_path

        with atomic_path(args.out) as tmp:
            table.to_csv(tmp, index=False)
    return 0


__all__ = ["register"]
