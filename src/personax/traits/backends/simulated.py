"""Simulated "LLM" raters for offline runs of the book.  NOT a language model.

The synthetic PersonaX world (:mod:`personax.data.synthetic`) defines three raters that
map continuous trait values to integer 0-3 scores with rater-specific bias, noise and
abstention (0 = insufficient information).  This backend drives them with a
deterministic latent per person: five standard-normal trait values drawn from a seed
derived from ``(seed, person_id, name, description/league)``, so the same person always
has the same simulated personality and different raters/prompt formats disagree only
through the raters' own noise.

Scales other than the 3-point one are simulated by refining the 3-point rating with the
latent (a documented rule, see :meth:`SimulatedBackend._to_scale`): the middle level
stays the middle, low/high split into very low/low and high/very high by the latent plus
format-specific noise.  Every reply says it is simulated, in the text and in
``RawResponse.simulated``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from personax.data.schema import TRAITS
from personax.traits.backends.base import ChatBackend, RawResponse, Request

#: bump when the simulation rules of this module change
BACKEND_VERSION = "1"
SIMULATED_NOTE = "SIMULATED rating from personax.data.synthetic raters; not produced by a language model"


def _seed_from(*parts: Any) -> int:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return int(digest[:16], 16)


def person_latent(person_id: str, name: str, subject: str, seed: int = 0) -> np.ndarray:
    """The simulated person's five trait values (standard normal), fixed by a hash.

    Parameters
    ----------
    person_id, name, subject : str
        Identity and description/league of the person; any change gives a new latent.
    seed : int
        World seed.

    Returns
    -------
    numpy.ndarray of shape (5,)
        Values in :data:`personax.data.schema.TRAITS` order.
    """
    return np.random.default_rng(_seed_from("latent", seed, person_id, name, subject)).standard_normal(len(TRAITS))


class SimulatedBackend(ChatBackend):
    """One simulated rater (``llm`` in :data:`personax.data.synthetic.RATERS`).

    Parameters
    ----------
    llm : str
        Which synthetic rater to use (``"chatgpt"``, ``"gemini"``, ``"llama"``).
    seed : int
        World seed: fixes the person latents and the raters' noise.
    split_noise : float
        Standard deviation of the format-specific noise used to refine 3-point ratings
        into 5-point ones.
    """

    name = "simulated"
    simulated = True

    def __init__(self, llm: str, *, seed: int = 0, split_noise: float = 0.6):
        from personax.data import synthetic

        raters = synthetic.RATERS
        if llm not in raters:
            raise ValueError(f"unknown simulated rater {llm!r}; available: {', '.join(raters)}")
        self.llm = llm
        # The rater definition is part of the model id (hence of every ledger key): when the
        # synthetic world's raters or this backend's rules change, old ledger lines are not reused.
        spec = f"{BACKEND_VERSION}|{raters[llm]!r}|{split_noise}"
        self.model_id = f"simulated-{llm}@{hashlib.sha256(spec.encode()).hexdigest()[:10]}"
        self.seed = int(seed)
        self.split_noise = float(split_noise)
        self.max_concurrency = 1
        self._rate = synthetic.rate

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model_id, "simulated": True, "note": SIMULATED_NOTE}

    def complete(self, messages: list[dict[str, str]], **params: Any) -> RawResponse:
        raise NotImplementedError("the simulated backend rates people, not free chat messages: use assess(request) "
                                  "(personax.traits.run_inference does this)")

    def _to_scale(self, score3: np.ndarray, latent: np.ndarray, levels: int, rng: np.random.Generator) -> np.ndarray:
        """Map 0-3 ratings onto a 0-``levels`` scale (0 kept as insufficient information).

        3 levels: unchanged.  5 levels: 2 -> 3; 1 -> 1 if latent + noise < -1 else 2;
        3 -> 5 if latent + noise > 1 else 4.
        """
        if levels == 3:
            return score3
        if levels != 5:
            raise ValueError(f"the simulated backend supports 3- and 5-level scales, not {levels}")
        z = latent + rng.normal(0.0, self.split_noise, size=latent.shape)
        out = np.zeros_like(score3)
        out[score3 == 2] = 3
        out[score3 == 1] = np.where(z[score3 == 1] < -1.0, 1, 2)
        out[score3 == 3] = np.where(z[score3 == 3] > 1.0, 5, 4)
        return out

    def assess(self, request: Request) -> RawResponse:
        subject = request.description if request.description is not None else (request.league or "")
        latent = person_latent(request.person_id, request.name, subject, self.seed)
        rng = np.random.default_rng(_seed_from("rate", self.seed, request.person_id, self.llm,
                                               request.prompt.id, request.repeat))
        score3 = np.asarray(self._rate(latent[None, :], self.llm, rng)).reshape(-1).astype(int)
        if score3.shape != (len(TRAITS),) or score3.min() < 0 or score3.max() > 3:
            raise RuntimeError(f"personax.data.synthetic.rate returned {score3!r}; expected five integers in 0..3")
        scores = self._to_scale(score3, latent, request.prompt.levels, rng)
        fmt = request.prompt
        by_value = {lvl.value: lvl.answer for lvl in fmt.scale}
        by_value[0] = fmt.insufficient.answer
        reply = {"simulated": True, "note": SIMULATED_NOTE}
        for trait, value in zip(TRAITS, scores):
            answer: Any = int(value) if fmt.answer_kind == "number" else by_value[int(value)]
            reply[trait] = {"score": answer, "description": f"simulated {self.llm} rater"}
        return RawResponse(text=json.dumps(reply), model=self.model_id, simulated=True,
                           extra={"latent": [round(float(v), 6) for v in latent]})


__all__ = ["SimulatedBackend", "person_latent", "SIMULATED_NOTE"]
