"""Constrained scoring of the local transformers backend: the log-probability of each allowed answer
along the JSON skeleton the prompt asks for, with a KV cache carried from one call to the next
(:class:`AnswerScoring`, mixed into :class:`~personax.traits.backends.local_transformers.TransformersBackend`)."""

from __future__ import annotations

import copy
import json
import math
import time
from typing import Any

from personax.data.schema import TRAITS
from personax.traits.backends.base import RawResponse, Request


def score_prefix(trait: str) -> str:
    """Assistant-turn prefix used by constrained scoring: the requested JSON, opened at ``trait``."""
    return '{"%s": {"score":' % trait


def answer_strings(fmt) -> list[str]:
    """Continuations scored for each answer of ``fmt`` (insufficient information first)."""
    levels = [fmt.insufficient] + sorted(fmt.scale, key=lambda s: s.value)
    if fmt.answer_kind == "number":
        return [" " + lvl.answer for lvl in levels]
    return [' "%s"' % lvl.answer for lvl in levels]  # closing quote included: "low" must end



def _crop(cache, keep: int) -> None:
    """Cut a KV cache back to its first ``keep`` positions (transformers 5.x: crop(-n) removes n)."""
    n = cache.get_seq_length()
    if n > keep:
        cache.crop(-(n - keep))


class _State:
    """Token ids covered by a KV cache (constrained scoring of one request)."""

    def __init__(self):
        self.ids: list[int] = []
        self.cache = None


def _lcp(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class AnswerScoring:
    """Constrained scoring for a loaded causal LM backend (a mixin of
    :class:`~personax.traits.backends.local_transformers.TransformersBackend`, which provides
    ``load``, ``_lock``, ``_thread_context``, ``_prompt_text``, ``_ids``, ``_forward``,
    ``device``, ``_pad``, ``_state``, ``model_id`` and ``mass_threshold``)."""

    def answer_logprobs(self, messages: list[dict[str, str]], prefix: str, answers: list[str]) -> list[float]:
        """Log-probability of each answer string after ``messages`` + assistant ``prefix``.

        Returns
        -------
        list of float
            Summed token log-probabilities on the joint tokenisation, one per answer (not
            renormalised: ``exp`` of them sums to the answer mass).
        """
        self.load()
        import torch

        with self._lock, torch.no_grad(), self._thread_context():
            return self._score(_State(), self._prompt_text(messages) + prefix, answers)

    def _extend(self, state: "_State", target: list[int], need_from: int):
        """Make ``state``'s cache cover ``target``; return (log-probs, first row position).

        Row ``r`` of the returned log-probabilities is the distribution after position
        ``first + r`` of ``target``, for positions ``need_from - 1 .. len(target) - 1``.
        Only the tokens not already in the cache are forwarded (the cache is cropped back
        to the longest common prefix first).
        """
        import torch

        first = max(need_from - 1, 0)
        keep = _lcp(state.ids, target)
        start = min(keep, first)
        cache = state.cache if start > 0 else None
        if cache is not None and start < len(state.ids):
            _crop(cache, start)
        ids = torch.tensor([target[start:]], device=self.device)
        out, cache = self._forward(ids, cache, logits_to_keep=len(target) - first)
        logits = out.logits[0, -(len(target) - first):]
        state.ids, state.cache = list(target), cache
        return torch.log_softmax(logits.float(), dim=-1), first

    def _score(self, state: "_State", text: str, answers: list[str]) -> list[float]:
        """Log-probability of every answer after ``text`` (prompt + assistant prefix).

        Uses the joint tokenisation of ``text + answer``; tokens all answers share (e.g. the
        space before a digit) count for every answer.  ``state`` carries the KV cache
        from one call to the next, so a growing prefix costs only its new tokens.
        """
        import torch

        base = self._ids(text)
        seqs = [self._ids(text + a) for a in answers]
        kb = min(_lcp(base, s) for s in seqs)           # where the answers begin
        ks = min(_lcp(seqs[0], s) for s in seqs[1:]) if len(seqs) > 1 else len(seqs[0]) - 1
        if kb == 0 or any(len(s) <= ks for s in seqs):
            raise ValueError(f"answers {answers!r} cannot be told apart after the prompt")
        logp, first = self._extend(state, seqs[0][:ks], kb)
        shared = sum(float(logp[p - 1 - first, seqs[0][p]]) for p in range(kb, ks))
        nxt = logp[ks - 1 - first]
        tails = [s[ks:] for s in seqs]
        result = [shared + float(nxt[t[0]]) for t in tails]
        longer = [i for i, t in enumerate(tails) if len(t) > 1]
        if longer:
            width = max(len(tails[i]) - 1 for i in longer)
            batch = torch.full((len(longer), width), self._pad, dtype=torch.long, device=self.device)
            for row, i in enumerate(longer):
                batch[row, : len(tails[i]) - 1] = torch.tensor(tails[i][:-1], device=self.device)
            cache = copy.deepcopy(state.cache)
            if len(longer) > 1:
                cache.batch_repeat_interleave(len(longer))
            out, _ = self._forward(batch, cache)
            lp = torch.log_softmax(out.logits.float(), dim=-1)
            for row, i in enumerate(longer):
                result[i] += float(sum(lp[row, j - 1, tails[i][j]] for j in range(1, len(tails[i]))))
        return result

    def _constrained(self, request: Request) -> RawResponse:
        """Constrained scoring along the JSON skeleton the prompt asks for: trait after
        trait, each answered with the most probable allowed answer, which then stays in the
        context of the next (``{"openness": {"score": 2}, "conscientiousness": {"score":``)."""
        import torch

        t0 = time.monotonic()
        fmt = request.prompt
        levels = [fmt.insufficient] + sorted(fmt.scale, key=lambda s: s.value)
        answers = answer_strings(fmt)
        text = self._prompt_text(request.messages)
        reply: dict[str, Any] = {}
        probs_all: dict[str, dict[str, float]] = {}
        mass_all: dict[str, float] = {}
        skeleton = ""
        with self._lock, torch.no_grad(), self._thread_context():
            # Continue from the previous request's cache: requests of one prompt format share
            # the system message and the instructions (about 2/3 of the prompt), so only the
            # part from the person's name on is computed again.
            state = self._state
            if state.cache is None:
                state = self._state = _State()
            for i, trait in enumerate(TRAITS):
                skeleton += ("{" if i == 0 else ", ") + '"%s": {"score":' % trait
                lp = self._score(state, text + skeleton, answers)
                m = max(lp)
                z = sum(math.exp(v - m) for v in lp)
                j = max(range(len(lp)), key=lambda i: lp[i])
                best = levels[j]
                skeleton += answers[j] + "}"
                value: Any = best.value if fmt.answer_kind == "number" else best.answer
                reply[trait] = {"score": value, "description": "constrained scoring (no free text)"}
                probs_all[trait] = {lvl.answer: round(math.exp(v - m) / z, 6) for lvl, v in zip(levels, lp)}
                mass_all[trait] = float(f"{math.exp(m) * z:.6g}")
        return RawResponse(text=json.dumps(reply), model=self.model_id, latency_s=time.monotonic() - t0,
                           finish_reason="constrained", usage={"prompt_tokens": len(self._ids(text))},
                           extra={"scoring": "constrained", "answer_probs": probs_all, "answer_mass": mass_all,
                                  "mass_threshold": self.mass_threshold, "skeleton": skeleton + "}",
                                  "device": self.device})
