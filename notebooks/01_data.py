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
# # Data card: CelebPersona and AthlePersona
#
# ````{admonition} This page in short
# :class: important personax-headline
# **Reproduces** paper §2.1–2.3, §2.10: the two datasets: the canonical schema, sizes, distributions, missingness and, on the shipped sample, the planted truth.
#
# ```{glue:md} ch01_headline
# :format: myst
# ```
# ````
#
# PersonaX releases two multimodal datasets: **CelebPersona** (9,444 public figures) and
# **AthlePersona** (4,181 male athletes from 7 leagues). Each row pairs biographical
# attributes with Big Five behaviour-trait scores inferred by three LLMs (ChatGPT-4o,
# Gemini-2.5-Pro, Llama-4-Maverick; 0–3, where 0 means "insufficient information"), their
# aggregate (median of the non-zero scores), a face embedding (1024-d ImageBind; three
# photos per celebrity in the authors' code) and three LLM-description embeddings
# (3584-d gte-Qwen2). CelebPersona adds ten CelebA face attributes coded −1/1.
#
# This page shows the canonical schema used by the package, the sizes, the distributions
# and gaps of every attribute, the LLM score distributions per rater, and — on the
# shipped synthetic sample — the **planted truth**: the latent causal graph and which
# trait–attribute pairs are dependent by construction.
#
# Behaviour traits inferred for public figures reflect public image and model priors,
# not measured personality. The data are for research only: no re-identification, no
# profiling of real individuals.

# %% [markdown]
# ## Prerequisites
#
# Nothing beyond the package: the default `source="sample"` reads the synthetic sample
# shipped in `data/sample/`. To build this page on the released data, run
# `personax run 01_data -p source hf` after `huggingface-cli login` and accepting the
# dataset terms on Hugging Face, or pass a local folder with `-p source /path/to/data`.

# %% tags=["parameters"]
dataset = "both"      # "celebpersona", "athlepersona" or "both"
source = "sample"     # "sample" (shipped synthetic sample), "hf", or a local path
n = None              # row limit; None keeps all rows of the source
seed = 0              # seed of the subsample and of the full-scale synthetic check
device = "auto"       # unused here; kept for a uniform interface
profile = "quick"     # "ci" | "quick" | "paper"
alpha = 0.05          # level of the simple planted-truth test

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

import personax.notebook
from personax.data import SCHEMAS, load
from personax.data.schema import alias_table
from personax.data.synthetic import attribute_edges, check_planted_truth, generate
from personax.plots import data as dplots

ctx = personax.notebook.setup("01_data", dataset=dataset, source=source, n=n, seed=seed, device=device,
                              profile=profile, alpha=alpha,
                              checks={"alpha": {"kind": "float", "low": 0, "high": 1,
                                                "low_inclusive": False, "high_inclusive": False}})

# %% [markdown]
# ## Load
#
# `personax.data.load(dataset, source=...)` returns a validated `PersonaData`: a frame
# with the canonical columns, the embedding measurements, provenance (`info`) and, on
# synthetic data, the planted truth.

# %%
data = {ds: load(ds, source=ctx.source, n=ctx.n, seed=ctx.seed) for ds in ctx.datasets}
dplots.sizes_table(data.values())

# %% [markdown]
# ## Canonical schema
#
# Column names, pandas dtypes, kind (discrete/continuous) and allowed values, as enforced
# by `personax.data.validate`. Missing values (NaN) are allowed wherever the real data
# have gaps.

# %%
for ds in ctx.datasets:
    display(Markdown(f"**{ds}** — Level I attributes: {', '.join(SCHEMAS[ds].attributes)}"))
    display(SCHEMAS[ds].table())

# %% [markdown]
# The released column names are not documented, so non-sample sources go through an
# alias table (names compared in lower case without punctuation; packed five-trait cells
# and wide numbered embedding columns are recognised too). A few rows:

# %%
alias_table().head(12)

# %% [markdown]
# ## Attribute distributions

# %%
for ds in ctx.datasets:
    dplots.plot_attribute_distributions(data[ds])
    plt.show()

# %% [markdown]
# ## Missingness

# %%
for ds in ctx.datasets:
    dplots.plot_missingness(data[ds])
    plt.show()

# %% [markdown]
# ## LLM trait scores per rater
#
# Each rater scores each trait on 0–3 (0 = insufficient information). The aggregate is
# the median of the non-zero scores; with two non-zero scores it is their midpoint (e.g.
# 1.5), with none it is missing — the project's documented rule (the paper does not state
# its edge cases).

# %%
for ds in ctx.datasets:
    dplots.plot_llm_scores(data[ds])
    plt.show()

# %% [markdown]
# ## Planted truth (synthetic data only)
#
# The synthetic PersonaX world is a structural causal model (`personax.data.synthetic`):
# biographical attributes cause shared latents S and text latents Z₂ (gender, occupation,
# league, birth year; latitude/longitude through a "culture" latent), the five traits are
# noisy monotone functions of Z₂,₁…Z₂,₅, the CelebA attributes are thresholded face
# latents Z₁, and the latent DAG uses the directed edges of the paper's learned graphs
# (the two undirected AthlePersona edges oriented S₂ → S₁ and Z₂,₁ → Z₂,₂). Birth month
# and day cause nothing. Which trait–attribute pairs are dependent is derived by
# d-separation in that graph.

# %%
if any(d.truth is not None for d in data.values()):
    for ds in ctx.datasets:
        if data[ds].truth is not None:
            dplots.plot_latent_dag(data[ds].truth, title=f"{ds}: planted latent DAG")
            plt.show()
else:
    display(Markdown("*This source has no planted truth (real data).*"))

# %% [markdown]
# Attribute → latent edges of the world (the project's choice, made to echo the paper's
# qualitative Level I findings):

# %%
for ds in ctx.datasets:
    if data[ds].truth is not None:
        edges = attribute_edges(ds)
        display(Markdown(f"**{ds}**: " + "; ".join(f"{a} → {b}" for a, b in edges)))

# %% [markdown]
# ### Does a simple test recover the planted pairs?
#
# Spearman's rank correlation (Kruskal–Wallis for nominal attributes) on each
# trait–attribute pair. At the `quick` and `paper` profiles the check runs on a fresh
# full-size synthetic draw (9,444 / 4,181 rows, narrow embeddings); at `ci` on the loaded
# sample. Blue cells are planted dependent, grey planted independent; red frames mark
# disagreements with the test at level `alpha` (a few are expected on independent pairs,
# at rate ≈ alpha, and on weak dependences at small n).

# %%
checks = {}
full_scale = ctx.budget("data.planted_check", "full_scale")  # budgets: personax.profiles
for ds in [ds for ds in ctx.datasets if data[ds].truth is not None]:  # real data: no planted truth
    full = generate(ds, seed=ctx.seed, face_dim=16, text_dim=16) if full_scale else data[ds]
    checks[ds] = check_planted_truth(full, alpha=ctx.extra["alpha"])
    dplots.plot_planted_pairs(full, checks[ds])
    plt.show()
    display(Markdown(f"**{ds}** (n = {len(full):,})"), dplots.planted_summary(checks[ds], alpha=ctx.extra["alpha"]))

# %% [markdown]
# ## Summary
#
# * Both datasets follow one canonical schema (`personax.data.schema`), validated on
#   every load; real columns are mapped through a documented alias table.
# * On the synthetic sample, the planted dependences (gender, occupation, league, birth
#   year, height/weight, most face attributes) and independences (birth month and day,
#   and some structurally separated pairs) are known exactly, so the Level I tests and the
#   Level II model of later chapters can be checked against them.
# * Nothing on this page describes the released data when `source="sample"`.
#
# ## References
#
# * Li et al., *PersonaX: Multimodal Datasets with LLM-Inferred Behavior Traits*, ICLR 2026,
#   arXiv:2509.11362. Datasets: `Persona-X/celebpersona`, `Persona-X/athlepersona` on Hugging Face.
# * Liu et al., *Deep Learning Face Attributes in the Wild* (CelebA), ICCV 2015.
# * The synthetic world: `personax.data.synthetic` (module docstring) and `data/README.md`.

# %%
# plumbing: the headline in the box under the title (personax.headlines)
from personax import headlines

headlines.glue_markdown("ch01_headline", headlines.data_card(data, checks))
