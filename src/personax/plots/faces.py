"""Figures of the face chapter: detections, embedding similarity, batch statuses, and the
privacy transform (distance preservation, re-identification).

Every function returns a :class:`matplotlib.figure.Figure` and never calls ``plt.show``.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from personax.plots.layout import readable

__all__ = ["detection_overlay", "similarity_heatmap", "status_counts", "distance_preservation",
           "reidentification_plot"]

_STATUS_COLORS = {"ok": "#2ca02c", "multiple_faces": "#ff7f0e", "no_face": "#7f7f7f",
                  "unreadable": "#d62728", "error": "#9467bd"}


def detection_overlay(images: Mapping[str, np.ndarray], frame: pd.DataFrame, *, ncols: int = 4,
                      size: float = 2.6):
    """Grid of RGB images with the face box used by :func:`personax.faces.extract`.

    Parameters
    ----------
    images : mapping of str -> numpy.ndarray
        Titles and RGB ``uint8`` images, in the same order as ``frame``'s rows.
    frame : pandas.DataFrame
        Output of ``extract`` on those images (``status``, ``box_*``, ``confidence``).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    if len(images) != len(frame):
        raise ValueError(f"{len(images)} images but {len(frame)} rows: pass the images extract() was given")
    n = len(images)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, (size + 0.5) * nrows), squeeze=False)
    for ax, (title, img), (_, row) in zip(axes.flat, images.items(), frame.iterrows()):
        ax.imshow(img)
        color = _STATUS_COLORS.get(row["status"], "black")
        if pd.notna(row.get("box_x")):
            ax.add_patch(Rectangle((row["box_x"], row["box_y"]), row["box_w"], row["box_h"], fill=False,
                                   edgecolor=color, linewidth=2))
        conf = "" if pd.isna(row.get("confidence")) else f", conf {row['confidence']:.2f}"
        ax.set_title(f"{title}\n{row['status']}{conf}", fontsize=8, color=color)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout(h_pad=1.2)
    return readable(fig)


def similarity_heatmap(X: np.ndarray, labels: Sequence[str], *, title: str = "cosine similarity of face embeddings"):
    """Annotated heatmap of pairwise cosine similarities; rows without an embedding are grey.

    Parameters
    ----------
    X : numpy.ndarray, shape (n, d)
        Embedding matrix (NaN rows for failed images, as ``embedding_matrix`` returns).
    labels : sequence of str
        Row labels.
    """
    import matplotlib.pyplot as plt

    X = np.asarray(X, float)
    if len(labels) != len(X):
        raise ValueError(f"{len(labels)} labels for {len(X)} rows")
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    U = X / norms
    S = U @ U.T
    fig, ax = plt.subplots(figsize=(0.55 * len(X) + 2.5, 0.5 * len(X) + 1.5))
    cmap = plt.get_cmap("viridis").with_extremes(bad="#dddddd")
    finite = S[np.isfinite(S)]
    vmin = float(min(finite.min(), 0.8)) if finite.size else 0.0
    im = ax.imshow(np.ma.masked_invalid(S), cmap=cmap, vmin=vmin, vmax=1.0)
    for i in range(len(X)):
        for j in range(len(X)):
            if np.isfinite(S[i, j]):
                ax.text(j, i, f"{S[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if S[i, j] < (vmin + 1) / 2 else "black")
    ax.set_xticks(range(len(X)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(X)), labels, fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.04)
    fig.tight_layout()
    return readable(fig)


def status_counts(frame: pd.DataFrame):
    """Horizontal bar chart of the ``status`` column (every status, zero counts included)."""
    import matplotlib.pyplot as plt

    from personax.faces.extraction import STATUSES

    counts = frame["status"].value_counts().reindex(list(STATUSES), fill_value=0)
    fig, ax = plt.subplots(figsize=(5, 2.4))
    ax.barh(counts.index, counts.values, color=[_STATUS_COLORS[s] for s in counts.index])
    for y, v in enumerate(counts.values):
        ax.text(v + 0.05, y, str(int(v)), va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("images")
    ax.set_title("batch statuses", fontsize=10)
    fig.tight_layout()
    return readable(fig)


def distance_preservation(raw: np.ndarray, versions: Mapping[str, np.ndarray], *, n_pairs: int = 3000,
                          seed: int = 0):
    """Pairwise Euclidean distance and cosine before vs after each transform (random row pairs).

    Orthogonal mode lies exactly on the diagonal; the monotone map bends it.
    """
    import matplotlib.pyplot as plt

    from personax.utils import make_rng

    raw = np.asarray(raw, float)
    rng = make_rng(seed)
    i = rng.integers(0, len(raw), n_pairs)
    j = rng.integers(0, len(raw), n_pairs)
    keep = i != j
    i, j = i[keep], j[keep]

    def dist(A):
        return np.linalg.norm(A[i] - A[j], axis=1)

    def cos(A):
        return np.sum(A[i] * A[j], 1) / np.linalg.norm(A[i], axis=1) / np.linalg.norm(A[j], axis=1)

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    for name, Z in versions.items():
        Z = np.asarray(Z, float)
        axes[0].scatter(dist(raw), dist(Z), s=4, alpha=0.5, label=name)
        axes[1].scatter(cos(raw), cos(Z), s=4, alpha=0.5, label=name)
    for ax, what in zip(axes, ("Euclidean distance", "cosine similarity")):
        lo, hi = ax.get_xlim()
        ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, ls="--")
        ax.set_xlabel(f"{what}, raw")
        ax.set_ylabel(f"{what}, transformed")
        ax.set_title(what, fontsize=10)
    axes[1].legend(fontsize=8, markerscale=3)
    fig.tight_layout()
    return readable(fig)


def reidentification_plot(reid: Mapping[str, pd.DataFrame], attack: Mapping[str, pd.DataFrame] | None = None):
    """Top-1 re-identification: without/with the key (bars), and the known-pairs attack (curve).

    Parameters
    ----------
    reid : mapping of mode -> DataFrame
        Outputs of :func:`personax.faces.audit.reidentification`.
    attack : mapping of mode -> DataFrame, optional
        Outputs of :func:`personax.faces.audit.procrustes_attack`.
    """
    import matplotlib.pyplot as plt

    ncol = 2 if attack else 1
    fig, axes = plt.subplots(1, ncol, figsize=(5 * ncol, 3.6), squeeze=False)
    ax = axes[0, 0]
    modes = list(reid)
    attacks = list(reid[modes[0]]["attack"])
    width = 0.8 / len(attacks)
    for k, name in enumerate(attacks):
        vals = [float(reid[m].set_index("attack").loc[name, "top1"]) for m in modes]
        bars = ax.bar(np.arange(len(modes)) + k * width, vals, width, label=name)
        for b, v in zip(bars, vals):
            ax.text(b.get_x() + b.get_width() / 2, v + 0.02, f"{v:.3f}", ha="center", fontsize=7)
    chance = float(reid[modes[0]]["chance_top1"].iloc[0])
    ax.axhline(chance, color="black", ls=":", lw=1, label=f"chance (1/n = {chance:.4f})")
    ax.set_xticks(np.arange(len(modes)) + width * (len(attacks) - 1) / 2, modes, fontsize=8)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("top-1 accuracy (cosine NN)")
    ax.set_title("re-identification against raw embeddings", fontsize=10)
    ax.legend(fontsize=7, loc="center right")
    if attack:
        ax = axes[0, 1]
        for m, df in attack.items():
            ax.plot(df["n_known"], df["top1"], marker="o", label=m)
        ax.axhline(float(next(iter(attack.values()))["chance"].iloc[0]), color="black", ls=":", lw=1, label="chance")
        ax.set_xscale("log")
        ax.set_xlabel("matched (raw, released) pairs known to the attacker")
        ax.set_ylabel("top-1 accuracy on the others")
        ax.set_title("known-pairs attack (orthogonal Procrustes)", fontsize=10)
        ax.set_ylim(0, 1.05)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return readable(fig)
