"""Figures used by the book, one module per area (imported on demand):

``data``          data card: schema table, distributions, missingness, LLM scores, planted truth
``traits``        LLM trait inference: score distributions, agreement between raters
``faces``         face features and the privacy transform
``independence``  Level I p-value heatmaps and test comparisons
``crl``           Level II training curves, MCC/R², baselines
``graph``         latent graphs (learned and planted)
"""
