"""The latent causal graphs the PersonaX paper published (paper §4.5), as data.

The edges were read from the authors' figures for AthlePersona and CelebPersona (23
edges); "—" in the figures is an undirected edge.  For AthlePersona the project's
reference notes announce 13 edges but list 14 (2 shared, 5 image, 5 text, 2
cross-modal); all 14 listed edges are kept here.  The latent labels are
the paper's *illustrative, post-hoc* labels: every label is prefixed "e.g." in the
figures.  They are interpretations chosen by the authors after training, not measured
properties of the latents, and a companion run has no reason to reproduce them — latent
indices are arbitrary within a block, so our ``Z1_3`` is not the paper's ``Z1,3``.
Show them beside our graphs only with that caution (:data:`LABEL_CAUTION`).
"""

from __future__ import annotations

import pandas as pd

__all__ = ["PUBLISHED", "LABEL_CAUTION", "published_edges", "published_labels", "published_adjacency"]

LABEL_CAUTION = (
    "Labels are the paper's illustrative post-hoc interpretations (each prefixed 'e.g.' in "
    "the authors' figures), not measured properties; latent indices are arbitrary within a "
    "block, so a companion latent with the same name is not the same factor."
)

# Edge strings: "A -> B" directed, "A -- B" undirected.  Names follow DEVELOPING.md.
PUBLISHED: dict[str, dict] = {
    "athlepersona": {
        "layout": {"shared": 2, "face": 5, "text": 5},
        "ci_test": "KCI (authors' script; alpha 0.5, no background knowledge)",
        "labels": {
            "S1": "mindset", "S2": "culture",
            "Z1_1": "skin tone", "Z1_2": "grooming", "Z1_3": "attractiveness",
            "Z1_4": "facial expressions", "Z1_5": "facial structure",
            "Z2_1": "confidence", "Z2_2": "achievement", "Z2_3": "emotional stability",
            "Z2_4": "self-awareness", "Z2_5": "positivity",
        },
        "edges": {
            "shared": ["S1 -- S2", "S1 -> Z2_4"],
            "image": ["Z1_1 -> Z1_2", "Z1_1 -> Z1_3", "Z1_3 -> Z1_4", "Z1_5 -> Z1_4", "Z1_5 -> Z1_2"],
            "text": ["Z2_1 -- Z2_2", "Z2_1 -> Z2_5", "Z2_3 -> Z2_4", "Z2_3 -> Z2_5", "Z2_4 -> Z2_5"],
            "cross-modal": ["Z2_1 -> Z1_4", "Z2_3 -> Z1_2"],
        },
    },
    "celebpersona": {
        "layout": {"shared": 3, "face": 10, "text": 5},
        "ci_test": "RCIT, alpha 0.05, edges Z -> S forbidden",
        "labels": {
            "S1": "education", "S2": "cultural background", "S3": "growing environment",
            "Z1_1": "clothing", "Z1_2": "fitness", "Z1_3": "lighting", "Z1_4": "hair style",
            "Z1_5": "event context", "Z1_6": "overall style", "Z1_7": "good looking",
            "Z1_8": "face visibility", "Z1_9": "posture", "Z1_10": "approachability",
            "Z2_1": "positive language use", "Z2_2": "social context", "Z2_3": "friendliness",
            "Z2_4": "language", "Z2_5": "expressiveness",
        },
        "edges": {
            "shared": ["S1 -> S2", "S3 -> S2", "S3 -> Z2_1", "S2 -> Z2_4"],
            "image": ["Z1_1 -> Z1_2", "Z1_1 -> Z1_6", "Z1_3 -> Z1_2", "Z1_3 -> Z1_4", "Z1_5 -> Z1_4",
                      "Z1_4 -> Z1_6", "Z1_4 -> Z1_8", "Z1_6 -> Z1_7", "Z1_8 -> Z1_7", "Z1_9 -> Z1_6",
                      "Z1_9 -> Z1_10"],
            "text": ["Z2_1 -> Z2_2", "Z2_1 -> Z2_3", "Z2_2 -> Z2_3", "Z2_4 -> Z2_3", "Z2_4 -> Z2_2",
                     "Z2_5 -> Z2_1", "Z2_5 -> Z2_2"],
            "cross-modal": ["Z2_5 -> Z1_10"],
        },
    },
}


def _check(dataset: str) -> dict:
    if dataset not in PUBLISHED:
        raise ValueError(f"no published graph for dataset {dataset!r}; use one of {sorted(PUBLISHED)}")
    return PUBLISHED[dataset]


def published_labels(dataset: str) -> dict[str, str]:
    """The paper's illustrative label of each latent (see :data:`LABEL_CAUTION`)."""
    return dict(_check(dataset)["labels"])


def published_edges(dataset: str) -> pd.DataFrame:
    """The published edge list of ``dataset``.

    Returns
    -------
    DataFrame
        Columns ``source``, ``target``, ``type`` ("directed" / "undirected"), ``group``
        (shared / image / text / cross-modal, as the paper groups them), ``source_label``,
        ``target_label`` (the paper's "e.g." labels).
    """
    spec = _check(dataset)
    labels = spec["labels"]
    rows = []
    for group, edges in spec["edges"].items():
        for e in edges:
            if " -> " in e:
                s, t = e.split(" -> ")
                kind = "directed"
            else:
                s, t = e.split(" -- ")
                kind = "undirected"
            rows.append({"source": s, "target": t, "type": kind, "group": group,
                         "source_label": labels[s], "target_label": labels[t]})
    return pd.DataFrame(rows, columns=["source", "target", "type", "group", "source_label", "target_label"])


def published_adjacency(dataset: str) -> pd.DataFrame:
    """0/1 adjacency of the published graph (row = parent; undirected edges set both cells)."""
    from personax.crl.graph import edges_to_adjacency

    return edges_to_adjacency(published_edges(dataset), list(_check(dataset)["labels"]))
