"""``personax traits ...`` subcommands: list/show prompts, run inference, compute agreement.

Examples::

    personax traits prompts                      # the six formats with their hashes
    personax traits prompts --show number-l3-inc --name "Maren Olwick" --description "FICTIONAL actress."
    personax traits run --backend simulated --ledger build/traits/ledger.jsonl
    OPENAI_API_KEY=... personax traits run --backend openai --model gpt-4o-mini \\
        --base-url https://api.openai.com/v1 --people my_people.csv --ledger runs/gpt.jsonl
    personax traits run --backend openai --model llama3.1:8b --base-url http://localhost:11434/v1 --api-key-env ''
    personax traits agreement --dataset celebpersona --source sample --n-boot 1000

The API key is never a command-line argument: ``--api-key-env`` names the environment
variable that holds it.
"""

from __future__ import annotations

import argparse
import sys


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

    r = sub.add_parser("run", help="rate people with an LLM backend, resumably (JSONL ledger)")
    r.add_argument("--people", default=None,
                   help="CSV with person_id, name and description or league (default: the shipped fictional examples)")
    r.add_argument("--backend", choices=("simulated", "openai", "transformers"), default="simulated")
    r.add_argument("--model", default=None, help="model name (openai), folder/Hub id (transformers); "
                                                 "for simulated: comma list of raters (default chatgpt,gemini,llama)")
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
    r.add_argument("--seed", type=int, default=0, help="seeds the simulated world and the retry jitter")
    r.add_argument("--request-seed", type=int, default=None,
                   help="send this 'seed' field with each request (not every server accepts it)")
    r.add_argument("--out", default=None, help="write the tidy results to this CSV")
    r.set_defaults(func=_cmd_run)

    a = sub.add_parser("agreement", help="inter-LLM agreement per trait (alpha, ICC, Spearman, bootstrap CIs)")
    src = a.add_mutually_exclusive_group()
    src.add_argument("--dataset", default="celebpersona", choices=("celebpersona", "athlepersona"))
    a.add_argument("--source", default="sample", help="sample | hf | local path (see personax.data.load)")
    src.add_argument("--ledger", default=None, help="use a ledger from `personax traits run` instead")
    a.add_argument("--prompt", default=None, help="prompt id to use from the ledger")
    a.add_argument("--n-boot", type=int, default=1000)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--out", default=None, help="write the long table to this CSV")
    a.set_defaults(func=_cmd_agreement)


def _cmd_prompts(args) -> int:
    from personax.traits.prompts import formats_table, get_format

    if not args.show:
        print(formats_table().to_string(index=False))
        return 0
    fmt = get_format(args.show)
    desc = args.description if args.description or args.league else "FICTIONAL example person."
    for m in fmt.render(args.name, description=desc, league=args.league):
        print(f"--- {m['role']} ---\n{m['content']}\n")
    print(f"[{fmt.id} v{fmt.version}, {fmt.label}, sha256 {fmt.content_hash}]")
    return 0


def _cmd_run(args) -> int:
    import pandas as pd

    from personax.traits import load_example_people, run_inference, status_counts
    from personax.traits.backends import make_backend
    from personax.traits.prompts import FORMAT_IDS

    people = load_example_people() if args.people is None else pd.read_csv(args.people, dtype=str)
    prompts = list(FORMAT_IDS) if args.prompt == "all" else [p.strip() for p in args.prompt.split(",")]
    if args.backend == "simulated":
        llms = (args.model or "chatgpt,gemini,llama").split(",")
        backends = {l.strip(): make_backend("simulated", llm=l.strip(), seed=args.seed) for l in llms}
        print("NOTE: the simulated backend is NOT a language model (synthetic raters).", file=sys.stderr)
    elif args.backend == "openai":
        if not args.model:
            print("error: --model is required for --backend openai", file=sys.stderr)
            return 2
        b = make_backend("openai", model=args.model, base_url=args.base_url, api_key_env=args.api_key_env or None,
                         timeout=args.timeout, max_retries=args.max_retries, max_concurrency=args.concurrency,
                         seed=args.seed)
        backends = {args.label or args.model: b}
    else:
        if not args.model:
            print("error: --model (a local folder or cached Hub id) is required for --backend transformers",
                  file=sys.stderr)
            return 2
        backends = {args.label or args.model: make_backend("transformers", model=args.model, device=args.device)}
    params = {} if args.backend == "simulated" else {"temperature": args.temperature, "max_tokens": args.max_tokens}
    if args.request_seed is not None and args.backend != "simulated":
        params["seed"] = args.request_seed
    tidy = run_inference(people, backends, prompts, args.ledger, params=params, repeats=args.repeats)
    print(f"run: {tidy.attrs['run']}")
    print(status_counts(tidy).to_string())
    if args.out:
        tidy.to_csv(args.out, index=False)
    return 0


def _cmd_agreement(args) -> int:
    from personax.traits.agreement import agreement_summary, agreement_table

    if args.ledger:
        from personax.traits.run import ledger_frame, wide_scores

        tidy = ledger_frame(args.ledger)
        scores = wide_scores(tidy, args.prompt)
        llms = list(dict.fromkeys(tidy["llm"]))
    else:
        from personax.data import load
        from personax.data.schema import LLMS

        scores = load(args.dataset, source=args.source).frame
        llms = list(LLMS)
    table = agreement_table(scores, llms=llms, n_boot=args.n_boot, seed=args.seed)
    print(agreement_summary(table).to_string())
    if args.out:
        table.to_csv(args.out, index=False)
    return 0


__all__ = ["register"]
