"""Level II inputs and fits on PersonaX: the CRL views of a PersonaData, one fit per seed.

* :func:`persona_views` — the face-embedding measurement(s) and the three text-embedding
  measurements, standardised per feature (never divided by 255, the authors' defect #10),
  with the person ids that every downstream table carries;
* :func:`fit_persona` — one :func:`personax.crl.fit` per seed with the paper's latent sizes
  per dataset; returns the latents of every person indexed by ``person_id``
  (:class:`PersonaFit`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from personax.crl.graph import latent_block
from personax.utils import progress

__all__ = ["PersonaFit", "persona_views", "fit_persona", "latent_columns"]


# --------------------------------------------------------------------------- inputs

def _standardise(X: np.ndarray, name: str) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ValueError(f"embedding {name!r} must be a 2-D array (n, d), got shape {X.shape}")
    if not np.isfinite(X).all():
        bad = int((~np.isfinite(X)).any(axis=1).sum())
        raise ValueError(f"embedding {name!r} has {bad} rows with NaN/inf; drop those persons "
                         "(ds.frame and ds.embeddings together) before fitting")
    mu = X.mean(axis=0, dtype=np.float64)
    sd = X.std(axis=0, dtype=np.float64)
    # Constant features carry nothing; keep them at 0 instead of dividing by 0.
    sd[sd == 0] = 1.0
    return ((X - mu) / sd).astype(np.float32)


def _person_ids(ds) -> np.ndarray:
    frame = ds.frame
    if "person_id" not in frame.columns:
        raise ValueError("ds.frame has no 'person_id' column; rows cannot be aligned (DEVELOPING.md schema)")
    ids = frame["person_id"].astype(str).to_numpy()
    if len(set(ids)) != len(ids):
        raise ValueError("ds.frame has duplicated person_id values; deduplicate before fitting")
    return ids


def _check_alignment(ds, arrays: dict[str, list[np.ndarray]], ids: np.ndarray) -> None:
    """Assert that every embedding has one row per person of ``ds.frame``, in the same order."""
    n = len(ids)
    for role, mats in arrays.items():
        for k, X in enumerate(mats):
            if X.shape[0] != n:
                raise ValueError(f"{role} measurement {k + 1} has {X.shape[0]} rows but ds.frame has {n}: "
                                 "embeddings and the table are misaligned (official-code defect #17)")
    emb_ids = getattr(ds, "embedding_ids", None)
    if emb_ids is not None:
        emb_ids = np.asarray(emb_ids).astype(str)
        if emb_ids.shape != ids.shape or not np.array_equal(emb_ids, ids):
            raise ValueError("the person ids stored with the embeddings differ from ds.frame['person_id']; "
                             "reorder the embeddings to the frame's rows")


def persona_views(ds, *, standardise: bool = True) -> tuple[dict[str, list[np.ndarray]], np.ndarray]:
    """The CRL inputs of a PersonaData: face measurement(s) and the three text measurements.

    Parameters
    ----------
    ds : personax.data.PersonaData
        Loaded dataset (sample, Hugging Face or local).
    standardise : bool
        Standardise every embedding feature to mean 0, sd 1 (the default).  Embeddings
        are never divided by 255 (official-code defect #10).  Standardisation uses all rows:
        it is unsupervised and involves no target, so it leaks nothing into the latents'
        evaluation.

    Returns
    -------
    views : dict
        ``{"face": [X_face_1, ...], "text": [X_chatgpt, X_gemini, X_llama]}`` (float32).
    person_id : ndarray of str
        The row identity shared by every array.
    """
    ids = _person_ids(ds)
    face = list(ds.measurements("face"))
    text = list(ds.measurements("text"))
    if not face:
        raise ValueError("the dataset has no face-embedding measurement; CRL needs at least one")
    if len(text) != 3:
        raise ValueError(f"expected three text-embedding measurements (chatgpt, gemini, llama), got {len(text)}")
    raw = {"face": face, "text": text}
    _check_alignment(ds, raw, ids)
    if standardise:
        views = {role: [_standardise(X, f"{role}[{k}]") for k, X in enumerate(mats)] for role, mats in raw.items()}
    else:
        views = {role: [np.asarray(X, dtype=np.float32) for X in mats] for role, mats in raw.items()}
    return views, ids


# --------------------------------------------------------------------------- fitting

@dataclass
class PersonaFit:
    """Result of :func:`fit_persona`.

    Attributes
    ----------
    dataset : str
    latent_dims : dict
        ``{"face": k1, "text": k2}``; ``n_shared`` the number of shared latents.
    n_shared : int
    seeds : tuple of int
    fits : list
        The ``crl.fit`` result of every seed (``.history``, ``.record``, ``.split`` ...).
    latents : list of DataFrame
        Per seed, the latents of every person: index ``person_id``, columns ``S1..``,
        ``Z1_1..`` (face), ``Z2_1..`` (text).
    split : dict
        ``train`` / ``val`` / ``test`` row positions of the first seed's fit.
    """

    dataset: str
    latent_dims: dict
    n_shared: int
    seeds: tuple
    fits: list
    latents: list
    split: dict = field(default_factory=dict)

    def latents_on(self, part: str = "test", seed_index: int = 0) -> pd.DataFrame:
        """Latents of one seed restricted to one split part (``train``, ``val``, ``test``, ``all``)."""
        lat = self.latents[seed_index]
        if part == "all":
            return lat
        split = _split_of(self.fits[seed_index])
        if part not in split:
            raise ValueError(f"part={part!r}: use one of {sorted(split)} or 'all'")
        return lat.iloc[np.sort(np.asarray(split[part], dtype=int))]


def _split_of(fit) -> dict:
    split = getattr(fit, "split", None)
    if split is None:
        return {}
    return {k: np.asarray(v, dtype=int) for k, v in dict(split).items()}


def latent_columns(df: pd.DataFrame) -> list[str]:
    """The latent columns of a table (``S<k>``, ``Z1_<i>``, ``Z2_<i>``), in order."""
    cols = []
    for c in df.columns:
        try:
            latent_block(c)
        except ValueError:
            continue
        cols.append(c)
    return cols


def fit_persona(ds, *, latent_dims: dict | None = None, n_shared: int | None = None,
                seeds: Sequence[int] = (0,), profile: str = "quick", device: str = "auto",
                checkpoint_dir=None, config=None, val_fraction: float = 0.1,
                test_fraction: float = 0.1) -> PersonaFit:
    """Train the project's CRL model on a PersonaData, once per seed.

    Parameters
    ----------
    ds : personax.data.PersonaData
    latent_dims : dict, optional
        ``{"face": k1, "text": k2}``; defaults to the paper's sizes for the dataset
        (``ds.schema.latent_layout``: Celeb 10 / 5, Athle 5 / 5).
    n_shared : int, optional
        Shared latents; default from the layout (Celeb 3, Athle 2).
    seeds : sequence of int
        One fit per seed (same trainer, checkpoints and run records as ``crl.fit``).
    profile : {"ci", "quick", "paper"}
        Training budget preset of ``crl.fit``.
    device : str
        ``"auto"`` / ``"cpu"`` / ``"cuda"``.
    checkpoint_dir : path, optional
        Checkpoints go to ``checkpoint_dir/<dataset>/seed<k>``; an interrupted fit resumes.
    config : optional
        Passed to ``crl.fit`` (overrides the profile's hyper-parameters).
    val_fraction, test_fraction : float
        Held-out fractions of ``crl.fit`` (early stopping uses validation only).

    Returns
    -------
    PersonaFit
    """
    from pathlib import Path

    from personax import crl

    layout = dict(ds.schema.latent_layout)
    dims = dict(latent_dims) if latent_dims is not None else {"face": int(layout["face"]), "text": int(layout["text"])}
    if set(dims) != {"face", "text"}:
        raise ValueError(f"latent_dims must have exactly the keys 'face' and 'text', got {sorted(dims)}")
    k_shared = int(layout["shared"]) if n_shared is None else int(n_shared)
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds is empty: pass at least one seed, e.g. seeds=(0,)")
    views, ids = persona_views(ds)
    info = getattr(ds, "info", None)
    dataset = str(info.get("dataset", ds.schema.name)) if isinstance(info, dict) else ds.schema.name
    fits, latents = [], []
    for seed in progress(seeds, desc=f"CRL fits ({dataset})"):
        ckpt = None if checkpoint_dir is None else Path(checkpoint_dir) / dataset / f"seed{seed}"
        fit = crl.fit(views, latent_dims=dims, n_shared=k_shared, seed=seed, device=device, profile=profile,
                      config=config, checkpoint_dir=ckpt, val_fraction=val_fraction, test_fraction=test_fraction)
        lat = fit.encode(views)  # a DataFrame S1.., Z1_1.., Z2_1.. (CRLFit.encode)
        lat = lat[latent_columns(lat)].copy()
        lat.index = pd.Index(ids, name="person_id")
        fits.append(fit)
        latents.append(lat)
    return PersonaFit(dataset=dataset, latent_dims=dims, n_shared=k_shared, seeds=seeds, fits=fits,
                      latents=latents, split=_split_of(fits[0]))
