# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Face features and the privacy transform
#
# ````{admonition} This page in short
# :class: important personax-headline
# **Reproduces** paper §2.8–2.9: face embeddings and the invertible privacy transform, with its round trip and a re-identification audit.
#
# ```{glue:md} ch03_headline
# :format: myst
# ```
# ````
#
# PersonaX pairs Big Five trait scores with **face embeddings**. The released datasets contain
# embeddings only — no images — after an invertible obfuscation (paper §2.9). This chapter
# shows the two tools a reader needs to extend the data with their own images:
#
# 1. **`personax.faces.extract`** — detect the face in each image, align it, compute an
#    embedding (and attributes when their weights are present) with
#    [deepface](https://github.com/serengil/deepface). Every input gets one row and a
#    `status` (`ok`, `multiple_faces`, `no_face`, `unreadable`, `error`); a bad file never
#    crashes a batch nor silently shifts the rows.
# 2. **`personax.faces.privacy`** — a keyed, invertible transform of embedding matrices
#    (random orthogonal rotation, optionally followed by an elementwise monotone map),
#    and an audit of what it preserves (dependence tests, latent recovery) and what it hides
#    (nearest-neighbour re-identification without the key).
#
# **The only real person in this chapter** is the astronaut in `skimage.data.astronaut()`:
# a NASA photograph of astronaut Eileen Collins, in the public domain, shipped with
# scikit-image. The augmented copies below are all of that one photo. No other image of a
# real person is used, and nothing here identifies anyone: the dataset part runs on the
# project's **synthetic** sample.

# %% [markdown]
# ## Prerequisites
#
# * Offline by design: the **Dlib** embedding (128-d) uses the two dlib weight files that
#   ship inside the `face-recognition-models` wheel (linked into the weights folder
#   automatically); the **OpenCV** Haar detector uses the cascades shipped with opencv 4.x;
#   the **dlib** detector uses the same wheel.
# * Every other deepface model (ArcFace, Facenet, VGG-Face, …, and the emotion/age/gender/race
#   attribute models) needs its weight file in the weights folder
#   (`$DEEPFACE_HOME/.deepface/weights`, or the `weights_dir` argument, default the
#   personax cache). Without it, `extract` fails **at once** naming the file; with a network
#   run `personax faces fetch-weights MODEL`. `personax faces weights` lists what is present.

# %% tags=["parameters"]
dataset = "celebpersona"   # dataset whose (synthetic) face embeddings are obfuscated
source = "sample"          # "sample" (shipped synthetic), "hf", or a local path
n = None                   # rows of the dataset part; None = the profile default
seed = 0                   # seed of the privacy key and every random step
device = "auto"            # unused by deepface here (CPU); recorded in the provenance
profile = "quick"          # "ci" (seconds), "quick" (default), "paper" (all rows, more permutations)
detector = "opencv"        # offline detectors: "opencv", "dlib", "skip"
model = "Dlib"             # offline embedding model: "Dlib"

# %%
import numpy as np
import pandas as pd
from IPython.display import display

import personax.notebook
from personax.faces import PrivacyKey, embedding_matrix, extract, obfuscate, recover
from personax.faces import audit, demo, weights
from personax.plots import faces as fplots
from personax.utils import cache_dir

ctx = personax.notebook.setup(
    "03_face_features", dataset=dataset, source=source, n=n, seed=seed, device=device, profile=profile,
    detector=detector, model=model,
    checks={"detector": {"kind": "str", "choices": ("opencv", "dlib", "skip", "ssd", "yunet", "centerface")},
            "model": {"kind": "str"}},
)
SIZES = ctx.budget("faces.privacy")  # rows and permutations of this profile (personax.profiles)
n_rows = ctx.n if ctx.n is not None else SIZES["n"]

# %% [markdown]
# ## Which weights are available here
#
# First the two dlib files shipped in `face-recognition-models` are linked into the weights
# folder (found without importing that package, whose `__init__` needs the removed
# `pkg_resources`). Then one row per model: whether all its files are present, and where
# they come from offline.

# %%
weights.link_dlib_weights()  # link the two dlib files shipped in face-recognition-models (idempotent)
status = weights.weights_status()
summary = (status.groupby(["task", "model"], sort=False)
           .agg(files=("file", "count"), present=("present", "all"), offline_source=("offline_source", "first"))
           .reset_index())
display(summary)

# %% [markdown]
# ## A batch of images: the public-domain photo, augmented, plus three problem files
#
# Flip, crop, brightness and ±10° rotation of the astronaut photo, then a picture with two
# faces (the photo beside its mirror image), a picture with no face (part of the suit and
# background) and a file that is not an image. The folder is read in sorted order.

# %%
folder = cache_dir("faces_demo")
paths = demo.write_demo_batch(folder)
faces = extract(folder, detector=detector, model=model, attributes="available")
emb_col = faces.attrs["embedding_column"]
shown = faces.drop(columns=[emb_col]).assign(source=[p.name for p in paths],
                                             message=faces["message"].str.replace(f"{folder}/", "", regex=False))
display(shown)

# %%
fig = fplots.status_counts(faces)

# %% [markdown]
# ## Detections
#
# The box each row used (green: one face; orange: several faces — the largest one whose two
# eyes were located is used; no box: nothing usable). On the −10° rotation the Haar detector
# also fires on the black corner the rotation leaves; that box has no eyes, so the real face
# is used, and the row still says `multiple_faces` so a reviewer can check it.

# %%
fig = fplots.detection_overlay(demo.preview_images(list(faces["source"])), faces, ncols=5)

# %% [markdown]
# ## Embedding similarity
#
# Cosine similarity of the 128-d Dlib embeddings (grey: rows without an embedding). All
# augmentations of the same face stay close (Dlib's usual same-person threshold is a
# Euclidean distance of 0.6, about cosine 0.93 for these vectors).

# %%
X_demo = embedding_matrix(faces)
fig = fplots.similarity_heatmap(X_demo, [p.stem for p in paths])

# %% [markdown]
# ## Attributes
#
# Age, gender, emotion and race predictions need deepface's attribute weights, which no
# pip package ships; they are computed only when present in the weights folder.

# %%
print("attributes computed:", faces.attrs["attributes"] or "none")
print("attributes unavailable offline (weights absent):", faces.attrs["attributes_unavailable"])
for a in faces.attrs["attributes_unavailable"]:
    print(f"  {a}: needs {weights.lookup(a).files[0].name} -> personax faces fetch-weights {weights.lookup(a).name}")

# %% [markdown]
# ## The privacy transform on the sample's face embeddings
#
# The released PersonaX embeddings went through an invertible transformation whose form is
# not published (paper §2.9). `PrivacyKey` implements one such layer, with the key kept
# apart from the data:
#
# * `mode="orthogonal"`: `Z = X Q`, `Q` a random orthogonal matrix. Exactly
#   distance-, inner-product- and cosine-preserving.
# * `mode="orthogonal+monotone"` (default): `Z = a ⊙ f(X Q) + b` with `f(u) = t·asinh(u/t)`
#   per dimension — invertible, so (in)dependence is preserved in population, but distances
#   and finite-sample p-values change.
#
# The embeddings below come from the project's **synthetic** sample (no real person).

# %%
ds = personax.data.load(ctx.dataset, source=ctx.source).subsample(n_rows, seed=ctx.seed)
F = ds.measurements("face")[0].astype(np.float64)
keys = {m: PrivacyKey.for_data(F, seed=ctx.seed, mode=m) for m in ("orthogonal", "orthogonal+monotone")}
released = {m: obfuscate(F, k) for m, k in keys.items()}
pd.DataFrame([{"mode": m, "key": repr(k), "n": F.shape[0], "dim": F.shape[1],
               "max |recover(obfuscate(X)) - X|": float(np.max(np.abs(recover(released[m], k) - F)))}
              for m, k in keys.items()])

# %% [markdown]
# ### What is preserved
#
# Dependence between the face embeddings and a trait score (and a shuffled copy of it, which
# is independent by construction: a null control), and how well the planted face
# latents can be read off the embeddings, computed on the raw and on the transformed
# embeddings. `dcor` and `hsic` are permutation tests on Euclidean distances (same
# permutations for every version); `hsic_gamma` is the project's Gamma-HSIC
# (`personax.independence`) with one global rescaling; `pca_mcc` is the MCC between the
# top principal components and the planted latents; `ridge_r2` a cross-validated linear
# read-out. Expected: **identical** values for `orthogonal` (differences at rounding level),
# the **same decisions** for `orthogonal+monotone`.

# %%
trait = "extraversion"
latent_cols = (ds.truth.blocks["shared"] + ds.truth.blocks["face"]) if ds.truth is not None else None
latents = ds.truth.latents[latent_cols].to_numpy() if latent_cols else None
y = ds.frame[trait].to_numpy(float)
null_y = personax.utils.make_rng(ctx.seed).permutation(y)  # shuffled: independent by construction
table = audit.invariance_table(F, released, {trait: y, f"{trait} (shuffled, null)": null_y}, latents,
                               n_perm=SIZES["n_perm"], seed=ctx.seed)
table

# %%
fig = fplots.distance_preservation(F, released, seed=ctx.seed)

# %% [markdown]
# ### What is hidden — and its limit
#
# Left: matching each released row to its raw row by cosine nearest neighbour. Without the
# key the match rate is at chance; with the key (recover, then match) it is 100 %. Right:
# the transform is an obfuscation, **not encryption**. An attacker who holds some matched
# (raw, released) pairs can fit an orthogonal map and re-identify everyone else; once the
# pairs approach the dimension, the rotation is undone. The monotone map slows this down
# without preventing it. Keep the key secret and treat the released embeddings as
# pseudonymous data under the dataset's usage terms (no re-identification).

# %%
reid = {m: audit.reidentification(F, released[m], keys[m]) for m in released}
known = [k for k in (2, 4, 8, 16, 32, 64, 128, 256) if k < min(len(F) - 1, 4 * F.shape[1])]
attack = {m: audit.procrustes_attack(F, released[m], known, seed=ctx.seed) for m in released}
fig = fplots.reidentification_plot(reid, attack)

# %%
pd.concat({m: r.set_index("attack") for m, r in reid.items()}, names=["mode"])

# %% [markdown]
# The same key type works for text embeddings (one key per modality, matching its dimension):

# %%
T = ds.measurements("text")[0].astype(np.float64)
tkey = PrivacyKey.for_data(T, seed=ctx.seed + 1)
print(f"text embeddings {T.shape}: round-trip error {np.max(np.abs(recover(obfuscate(T, tkey), tkey) - T)):.1e}")

# %% [markdown]
# ## Summary
#
# * `extract` gives one row per input with a status; on this machine the Dlib embedding and
#   the OpenCV/dlib detectors run offline, attribute models run only with user-provided
#   weights, and a missing file fails at once with the fix.
# * The orthogonal privacy transform leaves distance/kernel-based dependence tests and
#   latent-recovery metrics unchanged to rounding; the monotone variant preserves the
#   decisions. Both are exactly invertible with the key and defeat naive nearest-neighbour
#   re-identification, but not an attacker holding matched pairs.
#
# ## References
#
# * Li et al., *PersonaX: Multimodal Datasets with LLM-Inferred Behavior Traits*, ICLR 2026 (arXiv:2509.11362), §2.8–2.9.
# * Serengil & Ozpinar, *LightFace: A Hybrid Deep Face Recognition Framework* (deepface), 2020.
# * King, *Dlib-ml: A Machine Learning Toolkit*, JMLR 10, 2009.
# * Gretton et al., *A Kernel Statistical Test of Independence*, NeurIPS 2008.
# * Székely, Rizzo & Bakirov, *Measuring and testing dependence by correlation of distances*, Ann. Statist. 2007.
# * Mezzadri, *How to generate random matrices from the classical compact groups*, Notices AMS 2007.
# * Photo: NASA, astronaut Eileen Collins, public domain (`skimage.data.astronaut`).

# %%
# plumbing: the headline in the box under the title (personax.headlines)
from personax import headlines

round_trip = max(float(np.max(np.abs(recover(released[m], keys[m]) - F))) for m in released)
headlines.glue_markdown("ch03_headline", headlines.faces(round_trip, reid))
