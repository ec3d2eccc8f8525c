"""The in-memory containers: :class:`PersonaData` (one loaded dataset) and
:class:`PlantedTruth` (the known structure of a synthetic dataset).

Every loader (:func:`personax.data.load`, :func:`personax.data.synthetic.generate`)
returns a :class:`PersonaData`; the rest of the package consumes only this interface.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from personax.data.schema import LLMS, DatasetSchema, text_key


@dataclass
class PlantedTruth:
    """Known structure of a synthetic PersonaX world (``None`` on real data).

    Attributes
    ----------
    latents : DataFrame (n rows, aligned with ``PersonaData.frame``)
        Columns ``S1..Sk`` (shared), ``Z1_1..`` (face block), ``Z2_1..`` (text block).
    blocks : dict
        ``{"shared": [...], "face": [...], "text": [...]}`` latent names per block.
    dag : DataFrame of 0/1 over latent names
        ``dag.loc[parent, child] == 1`` means parent → child.
    dependent_pairs, independent_pairs : list of (trait, attribute)
        Derived by d-separation in :attr:`graph` (aggregated trait vs. Level I attribute).
    graph : networkx.DiGraph or None
        The full causal graph over attributes, hidden variables, latents, traits.
    trait_values : DataFrame or None
        The continuous trait values the simulated raters saw (columns = traits).
    equations : dict
        Child → human-readable structural equation, for the data card.

    Examples
    --------
    >>> from personax.data import load
    >>> truth = load("athlepersona").truth
    >>> sorted(truth.blocks), int(truth.dag.to_numpy().sum()) > 0
    (['face', 'shared', 'text'], True)
    >>> ("openness", "height_cm") in truth.dependent_pairs + truth.independent_pairs
    True
    """

    latents: pd.DataFrame
    blocks: dict
    dag: pd.DataFrame
    dependent_pairs: list
    independent_pairs: list
    graph: object = None
    trait_values: pd.DataFrame | None = None
    equations: dict = field(default_factory=dict)

    def pairs_table(self) -> pd.DataFrame:
        """Planted pairs as a DataFrame: columns ``trait``, ``attribute``, ``planted``
        (``"dependent"`` / ``"independent"``)."""
        rows = [{"trait": t, "attribute": a, "planted": "dependent"} for t, a in self.dependent_pairs]
        rows += [{"trait": t, "attribute": a, "planted": "independent"} for t, a in self.independent_pairs]
        return pd.DataFrame(rows, columns=["trait", "attribute", "planted"])

    def pairs_given(self, given) -> pd.DataFrame:
        """Planted pairs marginally and given the conditioning set ``given`` (d-separation in
        :attr:`graph`): columns ``trait``, ``attribute``, ``marginal``, ``conditional``,
        ``change`` (see :func:`personax.data.synthetic.confounding_table`)."""
        from personax.data.synthetic import CONFOUNDERS, confounding_table

        if self.graph is None:
            raise ValueError("this planted truth has no world graph; regenerate it with personax.data.synthetic")
        dataset = next((d for d in CONFOUNDERS if set(CONFOUNDERS[d]) <= set(self.graph.nodes)), None)
        if dataset is None:  # pragma: no cover - both worlds contain their confounders
            raise ValueError("cannot tell the dataset of this world graph")
        return confounding_table(dataset, given)

    def edges(self) -> list[tuple[str, str]]:
        """Latent DAG edges as ``(parent, child)`` tuples."""
        d = self.dag
        return [(p, c) for p in d.index for c in d.columns if d.loc[p, c] == 1]

    def take(self, idx: np.ndarray) -> "PlantedTruth":
        """Row subset (positions) of the per-row parts; structure unchanged."""
        tv = None if self.trait_values is None else self.trait_values.iloc[idx].reset_index(drop=True)
        return PlantedTruth(self.latents.iloc[idx].reset_index(drop=True), self.blocks, self.dag,
                            list(self.dependent_pairs), list(self.independent_pairs), self.graph, tv,
                            dict(self.equations))


@dataclass
class PersonaData:
    """One dataset: scalar frame, embedding measurements, schema, provenance, planted truth.

    Attributes
    ----------
    frame : DataFrame, one row per person, canonical columns (see ``schema.table()``).
    embeddings : dict[str, numpy.ndarray]
        float32 arrays (n, d), rows aligned with ``frame``; keys ``face_1..face_K`` and
        ``text_chatgpt``, ``text_gemini``, ``text_llama``.
    schema : DatasetSchema
    info : dict
        ``dataset``, ``source``, ``n``, ``synthetic`` (bool), and ``seed`` /
        ``generator_version`` (synthetic) or ``revision`` / ``path`` / ``column_map`` (real).
    truth : PlantedTruth or None

    Examples
    --------
    >>> from personax.data import load
    >>> ds = load("celebpersona", n=20, seed=0)
    >>> ds.frame.shape[0], len(ds.measurements("text")), ds.embeddings["text_chatgpt"].dtype
    (20, 3, dtype('float32'))
    >>> len(ds.subsample(5, seed=1))
    5
    """

    frame: pd.DataFrame
    embeddings: dict
    schema: DatasetSchema
    info: dict
    truth: PlantedTruth | None = None

    def __post_init__(self):
        n = len(self.frame)
        for key, arr in self.embeddings.items():
            if arr.ndim != 2 or arr.shape[0] != n:
                raise ValueError(f"embedding {key!r} has shape {arr.shape}; expected ({n}, d) aligned with the frame")

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def dataset(self) -> str:
        """Dataset name."""
        return self.schema.name

    @property
    def n(self) -> int:
        """Number of rows."""
        return len(self.frame)

    def measurements(self, modality: str) -> list[np.ndarray]:
        """Embedding measurements of one modality.

        Parameters
        ----------
        modality : ``"face"`` or ``"text"``.

        Returns
        -------
        list of float32 arrays (n, d): face measurements ``face_1..face_K`` in order, or the
        three text measurements in LLM order (chatgpt, gemini, llama).
        """
        if modality == "face":
            keys = sorted((k for k in self.embeddings if k.startswith("face_")), key=lambda k: int(k.split("_")[1]))
        elif modality == "text":
            keys = [text_key(l) for l in LLMS if text_key(l) in self.embeddings]
        else:
            raise ValueError(f"modality must be 'face' or 'text', got {modality!r}")
        return [self.embeddings[k] for k in keys]

    def subsample(self, n: int | None, seed: int = 0) -> "PersonaData":
        """A deterministic random subset of ``n`` rows (all rows, in order, if n is None or ≥ len).

        Row order of the subset follows the original order, so nested subsamples with the same
        seed are stable.
        """
        if n is None or n >= len(self):
            return self
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive int or None, got {n!r}")
        from personax.utils import make_rng

        idx = np.sort(make_rng(seed).choice(len(self), size=int(n), replace=False))
        frame = self.frame.iloc[idx].reset_index(drop=True)
        emb = {k: v[idx] for k, v in self.embeddings.items()}
        info = dict(self.info, n=int(n), subsample_seed=int(seed), n_full=len(self))
        truth = None if self.truth is None else self.truth.take(idx)
        return PersonaData(frame, emb, self.schema, info, truth)

    def __repr__(self) -> str:
        dims = ", ".join(f"{k}:{v.shape[1]}" for k, v in self.embeddings.items())
        return (f"PersonaData({self.schema.name}, n={len(self)}, source={self.info.get('source')!r}, "
                f"synthetic={self.info.get('synthetic')}, embeddings=[{dims}])")
