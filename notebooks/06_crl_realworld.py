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
# # Level II on PersonaX: latent factors and their causal graph
#
# ````{admonition} This page in short
# :class: important personax-headline
# **Reproduces** paper §4.5: latent factors learned from face and text embeddings (CRL)
# and the causal graph among them (PC with background knowledge), for both datasets.
#
# ```{glue:md} ch06_headline
# :format: myst
# ```
# ````
#
# The paper's headline real-world result is a causal graph among *learned* latent factors:
# shared factors $S$ (red), image factors $Z_{1,\cdot}$ learned from face embeddings (blue)
# and text factors $Z_{2,\cdot}$ learned from the three LLMs' description embeddings
# (green), with cross-modal edges such as "confidence → facial expressions".
#
# This chapter runs that pipeline end to end for each dataset:
#
# 1. train the project's CRL model (`personax.crl`, previous chapter) on the face
#    embedding(s) and the three text embeddings, with the paper's latent sizes
#    (CelebPersona 3 shared / 10 image / 5 text; AthlePersona 2 / 5 / 5);
# 2. run the PC algorithm over the learned latents — on every row, with no limit on the
#    size of the conditioning sets — with a conditional-independence test and the paper's
#    background knowledge (no edge from a $Z$ into an $S$);
# 3. measure how stable each edge is over training seeds and half-sample resamples, and
#    draw only the edges that come back often;
# 4. collect evidence for *labelling* each latent: its dependence on the aggregated Big
#    Five scores and on the attributes (Level I tests, held-out R²);
# 5. on the synthetic sample, score the recovery against the planted latents and graph,
#    beside an **oracle**: the same PC on the planted latents themselves;
# 6. show the paper's published graph, the planted graph and ours, one above the other.
#
# Every sentence after a figure or table below is generated from this run's results by
# `personax.crl.realworld_report`; none is typed by hand.

# %% [markdown]
# ## Prerequisites
#
# The previous chapter (`05_crl_synthetic`) explains the model. Nothing else is needed:
# the shipped sample works offline. For the released data pass `source="hf"` (after
# accepting the dataset terms on Hugging Face) or a local folder; the `paper` profile
# (full rows, three seeds, 20 resamples per seed) wants a GPU for training.
#
# The CI tests come from `personax.independence` (conditional KCI, RCIT and Fisher-z with
# causal-learn's definitions; `ci_test` below) and are plugged into causal-learn's `pc`
# through its registration hook; `benchmarks/results/pc.csv` compares them with
# causal-learn's own KCI inside the same PC call.

# %% tags=["parameters"]
dataset = "both"    # "celebpersona" | "athlepersona" | "both"
source = "sample"   # "sample" (synthetic, offline) | "hf" | a local path
n = None            # rows (None = the profile's default: ci 500, otherwise every row)
seed = 0            # seed of subsampling, PC resamples, CI tests, interpretation split
device = "auto"     # "auto" | "cpu" | "cuda" | "cuda:N"
profile = "quick"   # "ci" | "quick" | "paper"
seeds = None        # CRL training seeds (None = profile default: [0], paper [0, 1, 2])
alpha = 0.05        # PC significance level (the paper: 0.05 for CelebPersona)
ci_test = None      # PC's CI test: "rcit" | "kci" | "fisherz" (None = profile default)
n_boot = None       # half-sample resamples per seed for edge stability (None = profile default)
freq_threshold = None  # draw edges seen in at least this share of runs (None = profile default, 0.5)
pc_covariates = None  # None (PC over the latents, as the paper) | "biographical" (+ the attributes as PC nodes)

# %%
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

import personax.notebook
from personax.crl import realworld
from personax.crl import realworld_report as report
from personax.headlines import glue_markdown
from personax.plots import graph as graph_plots

ctx = personax.notebook.setup(
    "06_crl_realworld", dataset=dataset, source=source, n=n, seed=seed, device=device, profile=profile, seeds=seeds,
    alpha=alpha, ci_test=ci_test, n_boot=n_boot, freq_threshold=freq_threshold, pc_covariates=pc_covariates,
    checks={"alpha": {"kind": "float", "low": 0, "high": 1, "low_inclusive": False, "high_inclusive": False},
            "ci_test": {"kind": "str", "choices": ("rcit", "kci", "fisherz"), "allow_none": True},
            "n_boot": {"kind": "int", "low": 0, "allow_none": True},
            "freq_threshold": {"kind": "float", "low": 0, "high": 1, "low_inclusive": False, "allow_none": True},
            "pc_covariates": {"kind": "str", "choices": ("biographical",), "allow_none": True}})

# %% [markdown]
# The data: one row per person, the face measurement(s) and the three text measurements
# the model is trained on, and the latent sizes of the paper.

# %%
data = report.load_data(ctx.datasets, source=source, n=n, seed=seed, profile=profile)
report.data_table(data)

# %% [markdown]
# ## Training and the latent graph
#
# One call per dataset: CRL fit (early stopping on validation rows), PC over the latents of
# every person (no depth limit), edge stability over seeds × half-sample resamples, the
# interpretation table and — on synthetic data — the recovery scores and the oracle PC on
# the planted latents. The profile chooses the CI test: conditional RCIT at `quick` and
# `paper` (the paper's test for CelebPersona; its cost is linear in the rows), Fisher-z at
# `ci` (a smoke test). Conditional KCI (`ci_test="kci"`) is available with causal-learn's
# exact definition; on 2,000 rows a PC run takes about 2.5 minutes on two cores (see the benchmark).
# At `quick` the stability table has the main PC run plus two half-sample resamples
# (three runs, so frequencies are multiples of 1/3); `paper` uses three seeds × 20.
# On a CPU the datasets' pipelines and the oracle PCs run in parallel worker processes,
# one thread each (`run_level2_all`); the results are those of one run after the other.
# The table gives the wall seconds of each step and the CPU seconds of the whole run: on a
# machine shared with other jobs the wall times include waiting for a core.

# %%
results = realworld.run_level2_all(data, profile=profile, seeds=seeds, alpha=alpha, ci_test=ci_test, seed=seed,
                                   device=ctx.device, n_boot=n_boot, freq_threshold=freq_threshold,
                                   pc_covariates=pc_covariates)
report.run_table(results)

# %%
# plumbing
glue_markdown("ch06_headline", report.headline(results))
display(Markdown(report.sentence_run(results)))

# %% [markdown]
# ### Training
#
# Validation loss per epoch of the first seed: stage 1 learns the blocks (alignment of the
# measurements + reconstruction), stage 2 one candidate per block order (held-out
# negative log-likelihood); a dot marks the epoch whose weights each phase keeps.

# %%
graph_plots.training_by_phase({d: r.fit.fits[0].history for d, r in results.items()})
plt.show()

# %%
display(Markdown(report.sentence_training(results)))

# %% [markdown]
# ## Three graphs, one above the other
#
# Top: the graph the paper published (edges read from the authors' figures). Middle: the
# graph planted in the synthetic sample (only on the shipped sample; the generator used the
# directed edges of the published graphs). Bottom: ours — **only the edges that appear in
# at least the stated share of the PC runs** (seeds × half-sample resamples plus the main
# run), with that frequency written on each edge; on the synthetic sample our latents are
# drawn under the names of the planted latents they match best (Hungarian matching on
# |Spearman| within each block), so the middle and bottom panels can be compared edge by
# edge. Cross-modal edges (image ↔ text) are orange; directed edges are arrows, undirected
# edges plain lines. The panel titles give the number of edges.

# %%
for d, r in results.items():
    graph_plots.draw_three_graphs(d, r.stable, r.graph.nodes, **report.three_graph_options(r, data[d]))
    plt.show()

# %%
display(Markdown(report.sentence_graphs(results, {d: ds.truth.dag if ds.truth else None for d, ds in data.items()})))

# %% [markdown]
# ### Edge stability
#
# `freq_directed`: share of runs with source → target; `freq_reverse`: the opposite
# direction; `freq_undirected`: undirected; `freq_any`: any edge between the two. The
# stable graph above keeps the rows with `freq_any` at or above the threshold.

# %%
for d, r in results.items():
    display(Markdown(f"**{d}**"), r.stability.head(12).round(2))

# %%
display(Markdown(report.sentence_stability(results)))

# %% [markdown]
# ## What do the latents stand for? Evidence, not guesswork
#
# For every latent: a Level I test (KCI, `personax.independence`) against each aggregated
# Big Five score and attribute, Benjamini–Hochberg adjusted over the table, and the R² of
# predicting the latent from that variable, fitted on training rows and scored on
# held-out rows. A latent is described by the variables it depends on, ranked by held-out
# R²; without such evidence it stays unlabelled. A dot marks a dependence that survives
# the adjustment.

# %%
for d, r in results.items():
    graph_plots.evidence_heatmap(r.description, r.graph.nodes, [*data[d].schema.traits, *data[d].schema.attributes],
                                 title=f"{d}: how much of each latent a variable explains")
    plt.show()
    display(r.labels.set_index("latent")[["block", "evidence", "n_dependent"]])

# %%
display(Markdown(report.sentence_evidence(results)))

# %% [markdown]
# ## Recovery on the synthetic sample
#
# **On the shipped sample the latents and the graph are synthetic and planted** (the
# generator of `personax.data.synthetic` draws the latents along a DAG modelled on the
# paper's published graphs and mixes them into the embeddings); these scores say how well
# the pipeline recovers a known truth, nothing about real people. On real data this
# section is skipped: there is no truth to score against.
#
# MCC (Hungarian matching chosen on training rows) and kernel-ridge R² (fitted on training
# rows) are scored on test rows, per block. Graph scores compare a graph, after renaming
# learned latents to their matched planted ones, with the planted DAG. **SHD is the CPDAG
# SHD**: node pairs whose mark (no edge, a → b, b → a, undirected) differs from the
# planted DAG's Markov equivalence class refined by the background knowledge — the best
# PC can identify. Three rows per dataset: the **oracle** (the same PC, test, α and rows on
# the planted latents themselves: the graph step's own error), the main PC run on the
# learned latents, and the stable graph drawn above. In the planted world several latents
# share attribute parents (gender and occupation in CelebPersona, league in AthlePersona);
# PC over latents alone cannot tell such confounded pairs from latent edges, so even the
# oracle keeps a few extra edges. The first row per dataset says how many no test can
# avoid: PC with a *perfect* CI test (d-separation in the world graph) on the same nodes.
# With `pc_covariates="biographical"` the attributes that precede a person's face and text
# (gender, occupation, birth year, birthplace; league) join PC as nodes that no latent may
# cause; with a perfect test that removes every confounded pair (CPDAG SHD 9 → 0 for
# CelebPersona, 6 → 2 for AthlePersona; `benchmarks/results/pc.csv` has the same with
# conditional KCI on the planted latents).

# %%
for table in report.recovery_tables(results):
    display(table.round(3))

# %%
display(Markdown(report.sentence_recovery(results)))

# %% [markdown]
# ### Published edges beside ours, by group
#
# The published labels are **the paper's illustrative, post-hoc interpretations** — every
# one is prefixed "e.g." in the figures — not measured properties. Latent indices are
# arbitrary within a block, so our $Z_{1,3}$ is not the paper's $Z_{1,3}$; compare the kinds
# of structure (which blocks connect, how many cross-modal edges), not the names.

# %%
for d, r in results.items():
    display(Markdown(f"**{d}**"), graph_plots.edges_side_by_side(d, r.stable, r.stability))

# %%
display(Markdown(report.sentence_published(results)))

# %% [markdown]
# ## Summary

# %%
display(Markdown(report.conclusions(results, profile=profile, device=ctx.device)))

# %% [markdown]
# ## References
#
# - Li et al. (2026). *PersonaX: Multimodal Datasets with LLM-Inferred Behavior Traits.* ICLR 2026, arXiv:2509.11362.
# - Spirtes, Glymour, Scheines (2000). *Causation, Prediction, and Search* (the PC algorithm). MIT Press.
# - Zhang, Peters, Janzing, Schölkopf (2011). *Kernel-based conditional independence test and application in causal discovery.* UAI.
# - Strobl, Zhang, Visweswaran (2019). *Approximate kernel-based conditional independence tests for fast non-parametric causal discovery* (RCIT). Journal of Causal Inference.
# - Zheng et al. (2024). *causal-learn: Causal discovery in Python.* JMLR.
# - Meinshausen, Bühlmann (2010). *Stability selection.* JRSS-B.
# - Chen, Epperly, Tropp, Webber (2023). *Randomly pivoted Cholesky: practical approximation of a kernel matrix with few entry evaluations* (pivoted Cholesky / Nyström factors). arXiv:2207.06503.
