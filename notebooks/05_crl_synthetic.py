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
# # Level II on synthetic data: does the CRL model recover known latents and their graph?
#
# PersonaX's second contribution is a causal representation learning (CRL) model for data
# seen through several **modalities** (face, text) and several **measurements** of each
# (three photos; three LLM descriptions), with shared latents, modality latents and a
# sparse latent causal graph. The paper claims component-wise identifiability and reports,
# on a Colored-MNIST + Fashion-MNIST set, R² 0.96 / MCC 0.92 against MMCRL's 0.90 / 0.85.
#
# This chapter checks the claim where the truth is known: two synthetic benchmarks with
# planted latents and a planted DAG, our implementation of the model (`personax.crl`), and
# three baselines trained on the same rows with the same protocol (held-out test rows,
# several seeds, mean ± sd).
#
# **Everything on this page is synthetic**: generated in this notebook from documented
# generators (`personax.crl.synthetic`), not PersonaX data and not the paper's images.

# %% [markdown]
# ## Prerequisites
#
# Nothing beyond the package. The image benchmark uses scikit-learn's 8×8 handwritten
# digits (shipped offline). With MNIST / Fashion-MNIST on disk, pass their folders as
# `image_source1` / `image_source2`. The `paper` profile (5 seeds, full size, 1,000-epoch
# budget) is meant for a GPU: `personax run 05_crl_synthetic -p profile paper -p device cuda`.

# %% tags=["parameters"]
dataset = "synthetic"   # only "synthetic": the benchmarks are generated here
source = "sample"       # only "sample": nothing is read from disk except the image sources
n = None                # rows per benchmark (None = profile default)
seed = 0                # seed of the benchmark data and of the train/val/test split
device = "auto"         # "auto" | "cpu" | "cuda" | "cuda:N"
profile = "quick"       # "ci" | "quick" | "paper"
seeds = None            # model seeds (None = profile default: ci [0], quick [0, 1, 2], paper [0..4])
benchmark = "both"      # "numerical" | "images" | "both"
image_source1 = "digits"  # "digits" (sklearn, offline) or a local MNIST folder / file
image_source2 = "digits"  # "digits" or a local Fashion-MNIST folder / file
image_base = "random"     # "random" base image per row (as the paper) or "fixed" (no nuisance)

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

import personax.notebook
from personax.crl import metrics, synthetic
from personax.plots import crl as crl_plots

ctx = personax.notebook.setup(
    "05_crl_synthetic", dataset=dataset, source=source, n=n, seed=seed, device=device, profile=profile,
    datasets_allowed=("synthetic",), show=False, seeds=seeds, benchmark=benchmark,
    image_source1=image_source1, image_source2=image_source2, image_base=image_base,
    checks={"benchmark": {"kind": "str", "choices": ("numerical", "images", "both")},
            "image_base": {"kind": "str", "choices": ("random", "fixed")}})
if ctx.source != "sample":
    raise personax.notebook.ParameterError(
        f"parameter source={source!r}: this chapter generates its data; use source='sample' "
        "(point image_source1 / image_source2 at local MNIST files instead)")
SEEDS = list(seeds) if seeds is not None else {"ci": [0], "quick": [0, 1, 2], "paper": [0, 1, 2, 3, 4]}[profile]
BENCHES = ["numerical", "images"] if benchmark == "both" else [benchmark]
display(Markdown(
    "> **Synthetic benchmarks.** Every number below comes from data generated in this notebook with "
    "known latents and a known causal graph; none of it is PersonaX data or describes real people."))
display(pd.DataFrame(personax.notebook.provenance_rows(ctx), columns=["field", "value"]).set_index("field"))

# %% [markdown]
# ## The model in brief
#
# Latents $[s, z_1, z_2]$: shared $s$ and modality blocks $z_m$. Measurement $k$ of
# modality $m$ is $x_m^{(k)} = g_m^{(k)}(s, z_m, \eta_m^{(k)})$ with a measurement-specific
# exogenous $\eta_m^{(k)}$. The latents follow a causal model; we fit an additive-noise prior
#
# $$\varepsilon_i = \big(z_i - \textstyle\sum_j A_{ji}\,\phi_{ji}(z_j)\big)\,e^{-c_i},\qquad |\phi_{ji}|\le 1,$$
#
# so the adjacency $A$ (row = parent, column = child) enters **differentiably** and bounds
# each edge's effect. Encoders per measurement give $(z_m^{(k)}, \eta_m^{(k)})$; $z_m$ is
# their mean and per-modality shared encoders give $s$. The loss is
#
# $$\mathcal L = \alpha_{rec}\sum_{m,k}\lVert x_m^{(k)}-\hat x_m^{(k)}\rVert^2
#   + \alpha_{ind}\,\mathrm{NLL}_{\text{flow}}([\varepsilon,\eta])
#   + \alpha_{sp}\lVert A\rVert_1
#   + \alpha_{cons}\sum_{m,k}\lVert z_m^{(k)}-z_m\rVert^2,$$
#
# with the paper's synthetic weights $(\alpha_{rec},\alpha_{ind}) = (2, 0.01)$, an L1 weight of
# $0.0005$ over **all** edges (the paper penalises only the cross-modal block; we score the
# whole graph), and a factorised (element-wise) flow mapping the noises to $\mathcal N(0, I)$
# (`synthetic.BENCHMARK_CONFIG`). Details and
# the deviations from the authors' code (learnable graph, permutations in the flow, every
# measurement used, held-out evaluation) are in the `personax.crl.model` docstring.
#
# **Benchmarks.** *Numerical*: $S_1$ plus $Z_{1,1}\to Z_{1,2}$, $Z_{1,1}\to Z_{2,1}$,
# $Z_{2,1}\to Z_{2,2}$ with uniform noises; three measurements of modality 1 and one of
# modality 2, each a fixed random injective leaky-ReLU mixing (10-d). *Images*: a digit
# rotated ($Z_{1,1}$) and scaled ($Z_{1,2}$), rendered in three colours; a second image
# rotated ($Z_{2,1}$) and dimmed ($Z_{2,2}$); both shifted by $S_1$.

# %%
if "images" in BENCHES:
    img_preview = synthetic.images(n=12, seed=seed, source1=image_source1, source2=image_source2, base=image_base)
    crl_plots.image_samples(img_preview, k=8)
    plt.show()

# %% [markdown]
# ## Training and scoring
#
# Each method is trained on the same 80 % training rows with early stopping on 10 %
# validation rows; MCC (Hungarian matching chosen on training rows) and kernel-ridge R²
# (fitted on training rows) are scored on the 10 % **test** rows that no choice saw.

# %%
results = []
for b in BENCHES:
    res = synthetic.run_benchmark(b, seeds=SEEDS, profile=profile, n=n, device=ctx.device, data_seed=seed,
                                  keep_fits=True,
                                  image_sources=(image_source1, image_source2), image_base=image_base)
    results.append(res)
table = pd.concat(results, ignore_index=True)
summary = synthetic.summarize(table)
summary[["seeds", "r2", "mcc", "mcc_spearman", "shd"]]

# %% [markdown]
# The paper's reported numbers on its own (unreleased) Colored-MNIST set, for reference —
# they are not comparable run-for-run with ours (different data, sizes and protocol; the
# paper selected the best epoch on its evaluation rows):

# %%
synthetic.PAPER_REPORTED

# %%
crl_plots.results_bars(summary, synthetic.PAPER_REPORTED)
plt.show()

# %% [markdown]
# ## Learned vs true graph
#
# The learned adjacency of our model (seed 0), its latents matched to the true ones by
# the Hungarian matching on training rows; framed cells are edges above the threshold.

# %%
for res in results:
    bench = res.attrs["benchmark"]
    f = res.attrs["fits"][("personax", SEEDS[0])]
    z = f.encode(bench.views)
    perm = metrics.match(z.iloc[f.split["train"]], bench.latents.iloc[f.split["train"]])
    crl_plots.graph_comparison(f.adjacency, bench.dag, perm, threshold=f.config.edge_threshold)
    plt.suptitle(f"{bench.name} benchmark", y=1.02)
    plt.show()

# %% [markdown]
# ## Training curves

# %%
for res in results:
    fits = [res.attrs["fits"][("personax", s)] for s in SEEDS]
    crl_plots.training_curves([f.history for f in fits], labels=[f"seed {s}" for s in SEEDS])
    plt.suptitle(f"{res.attrs['benchmark'].name} benchmark", y=1.05)
    plt.show()

# %% [markdown]
# ## Summary
#
# Caveat on training length: in development runs of the numerical benchmark, training
# much longer than the `quick` budget (the `paper` profile's 1,000-epoch budget) lowered
# the MCC instead of raising it. The deterministic encoders can keep lowering the prior's
# negative log-likelihood by making the latents more predictable from each other, and the
# validation loss used for early stopping rewards that; `CRLConfig(select_on="rec")`
# (early stopping on validation reconstruction) limits the damage. Treat the `paper`
# profile's numbers accordingly.

# %%
def _line(b, m):
    r = summary.loc[(b, m)]
    return f"| {b} | {m} | {r['r2']} | {r['mcc']} | {r['shd']} |"


lines = ["| benchmark | method | R² | MCC | SHD |", "|---|---|---|---|---|"]
lines += [_line(b, m) for b, m in summary.index]
display(Markdown(
    f"Profile `{profile}`, seeds {SEEDS}, device `{ctx.device}` (mean ± sd over seeds, test rows):\n\n"
    + "\n".join(lines)
    + "\n\nTargets of this project: numerical MCC ≥ 0.95, R² ≥ 0.95, SHD ≤ 1; images MCC ≥ 0.92, "
      "R² ≥ 0.96 at the `paper` profile. Small profiles train for fewer epochs on fewer rows, so "
      "their numbers are lower bounds of what the full protocol gives."))

# %% [markdown]
# ## Training speed
#
# `benchmarks/crl.py` measures, on the numerical benchmark (n = 4,000), the throughput of
# our trainer (minibatches of 256, lr 1e-3) and of the authors' schedule re-implemented
# with our model (full batch, lr 2e-6, 3,000 steps), and the training time until the
# held-out MCC first reaches 0.9 (empty when it never does). The committed CSV states the
# device and conditions it was measured under.

# %%
from personax.utils import repo_root

_root = repo_root()
_bench_csv = _root / "benchmarks" / "results" / "crl.csv" if _root is not None else None
if _bench_csv is not None and _bench_csv.exists():
    display(pd.read_csv(_bench_csv)[["device", "method", "epochs", "samples_per_s", "train_seconds",
                                     "time_to_mcc90_s", "best_monitored_mcc", "timestamp_utc"]])
else:
    print("benchmarks/results/crl.csv not found (installed package without the source tree)")

# %% [markdown]
# ## References
#
# - Li et al. (2026). *PersonaX: Multimodal Datasets with LLM-Inferred Behavior Traits.* ICLR 2026, arXiv:2509.11362.
# - Sun et al. (2025). *Causal representation learning from multimodal biomedical observations.* ICLR 2025, arXiv:2411.06518.
# - Higgins et al. (2017). *β-VAE: Learning basic visual concepts with a constrained variational framework.* ICLR.
# - Daunhawer et al. (2023). *Identifiability results for multimodal contrastive learning.* ICLR.
# - Dinh, Sohl-Dickstein, Bengio (2017). *Density estimation using Real NVP.* ICLR.
# - Zheng et al. (2018). *DAGs with NO TEARS.* NeurIPS.
