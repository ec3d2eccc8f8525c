r"""Conditional independence tests X ⫫ Y | Z for the ``fast`` backend: KCI, RCIT/RCoT, Fisher-z.

Every test here follows the definition of the causal-learn class that PC users know
(``causallearn.utils.cit``), so that a p-value of ours can be read against theirs.

KCI (causal-learn ``KCI_CInd`` defaults)
----------------------------------------
* x, y, z are z-scored column-wise (ddof = 1; a constant column would become 0, but this
  module refuses constant columns, see *Bad input*);
* x is augmented with the conditioning set, ẍ = [x, ½z] (y is **not**): the test is not
  symmetric in x and y, and causal-learn's PC always passes the smaller column index as x
  (so does :mod:`personax.crl.graph`);
* Gaussian kernels k(a, b) = exp(−½θ‖a − b‖²) on ẍ, y and z with the *same* θ =
  1/(w²·d_z), w = 1.2 (n < 200), 0.7 (n < 1,200), else 0.4 (``set_width_empirical_kci``);
* each kernel is centred, K̃ = HKH, and x and y are regressed on z with a kernel ridge of
  fixed regularisation ε = 10⁻³: R = ε(K̃z + εI)⁻¹, K̈x = R K̃x R, K̈y = R K̃y R;
* statistic V = Σᵢⱼ K̈x,ᵢⱼ K̈y,ᵢⱼ;
* null: the eigen-pairs (λ, u) of K̈x and of K̈y with λ > 10⁻⁵·λ_max are kept, v = u√λ,
  and the weights of the weighted χ² null are the eigenvalues of UUᵀ with U the n × (rₓr_y)
  matrix of products vₓ,ᵢ ∘ v_y,ⱼ; a Gamma law is matched to their sum
  (mean tr UUᵀ) and twice their sum of squares (variance 2 tr (UUᵀ)²).  We evaluate both
  without forming U: tr UUᵀ = Σₜ ‖vₓ,ₜ‖²‖v_y,ₜ‖² and tr (UUᵀ)² = Σₛₜ (vₓ,ₛ·vₓ,ₜ)²(v_y,ₛ·v_y,ₜ)²
  (:func:`null_variances`, blockwise, O(block·n) memory);
* p = upper tail of the Gamma law (``gammaincc``; the library's 1 − cdf cannot resolve
  p < 1e-16, so tiny p-values differ from the library's by less than 1e-14 absolute).

Two computations of the same quantities (option ``method``):

``"dense"``
    the library's algorithm on n × n matrices (torch, float64): eigendecomposition of K̃z,
    R, K̈ and their eigendecompositions.  O(n³) per variable and conditioning set; the
    literal replica, used to verify the other path.
``"lowrank"`` (default; ``"auto"`` is the same)
    every kernel is replaced by a pivoted-Cholesky factor K ≈ LLᵀ (the greedy Nyström
    factor: columns are added at the row of largest remaining diagonal until the trace of
    the residual K − LLᵀ, which is positive semi-definite, is at most ``tol``·n, or
    ``max_rank`` columns are used).  With F = HL: K̃ ≈ FFᵀ, R F = F − F_z(F_zᵀF_z + εI)⁻¹F_zᵀF
    exactly (Woodbury), K̈ ≈ AAᵀ with A = RF, V = ‖AₓᵀA_y‖²_F, and the eigen-pairs of K̈
    are those of the small Gram matrix AᵀA.  Cost O(n·m²) per kernel with m the rank.
    When the data have few distinct rows (discrete-coded variables) the factor is exact
    after as many columns as there are distinct rows.  The error is controlled by ``tol``
    while the rank stays below ``max_rank``; see ``details["rank_capped"]`` and the
    measured agreement with causal-learn in ``tests/independence/test_conditional.py`` and
    ``benchmarks/results/pc.csv``.  With the defaults (tol = 1e-12, max_rank = 2,000) no cap
    is reached below 2,000 rows and the p-values match causal-learn's to about 1e-6
    relative.  PC's options (``personax.crl.graph.PC_KCI_OPTIONS``: caps 300 for x and y,
    1,200 for the conditioning set) are an approximation on 2,000 rows with |S| ≥ 2: on
    CelebPersona's planted latents, 12 triples per size against the dense computation, the
    p-values differed by at most 4e-4 (|S| = 2) and 6.5e-3 (|S| = 3) absolute, with no
    decision at α = 0.05 changed (2026-12-03); a conditioning-set cap of 600 gave 0.05.

RCIT / RCoT (causal-learn ``RCIT`` class, ``num_f=100``, ``num_f2=5``)
--------------------------------------------------------------------
x, y, z standardised (ddof = 1); for RCIT (``rcot=False``, causal-learn's default) y is
augmented to [y, z]; bandwidths = median non-zero distance among the first min(n, 500)
rows; random Fourier features √2 cos(wᵀa + b), w ~ N(0, σ⁻²I), b ~ U(0, 2π), drawn from
``numpy.random.RandomState(seed)`` in causal-learn's order (z: 100 features, then x: 5,
then y: 5), so the reference run under the same seed sees identical features; features
standardised; residuals of f_x and f_y on f_z by least squares (ridge 1e-10); statistic
n‖Ĉov(fₓ, f_y | f_z)‖²_F; null a weighted χ² with the eigenvalues of the covariance of the
25 residual products, evaluated by Hall–Buckley–Eagleson (causal-learn's Lindsay–Pilla–Basak
call fails under NumPy 2 and falls back to the same HBE).  O(n·100²) per test.

Fisher-z (causal-learn ``FisherZ``)
-----------------------------------
Partial correlation of x and y given z from the inverse of their correlation matrix;
z = √(n − |S| − 3)·|atanh r|; p = 2(1 − Φ(z)).  Linear-Gaussian only (a smoke test).

Conditioning matrices with discrete-coded columns
-------------------------------------------------
``z`` may hold discrete columns (integer codes, 0/1 indicators, one-hot blocks) next to
continuous ones.  Every test treats each column as a number, exactly as causal-learn does:
KCI and RCIT put a Gaussian kernel on the z-scored codes, Fisher-z a linear term.  So

* a binary column is fine (its two codes are one z-scored distance apart);
* a nominal column with more than two levels should be one-hot encoded first (integer
  codes impose an order and distances between the categories); ordinal codes can stay;
* for KCI, a discrete or mixed Z is also a fast case: a column block with k distinct rows
  has an exact rank-k kernel factor, so the low-rank path is exact there.

Bad input
---------
:func:`clean_triple` drops rows with a missing value in x, y or z (listwise), then raises
:class:`~personax.independence.result.IndependenceTestError` (a
:class:`personax.errors.DataError`) for fewer than ``min_n`` rows, a constant x, y or
conditioning column, and :class:`personax.errors.ParameterError` when the conditioning set
has more columns than the rows can support (:func:`max_given_columns`).

Batches
-------
:func:`kci_batch`, :func:`rcit_batch` and :func:`fisherz_batch` take named variables and
many (x, y, S) triples at once (one PC depth level, or one attribute against every trait
given the same covariates).  Triples are grouped by their conditioning set: the kernel
factor of Z, its ridge solve and the factor of every (variable, S) are computed once and
shared by all triples of the group; memory stays bounded by the blocks of
:func:`null_variances` and by chunking the batched factorisations.

The package is split along these seams, every name stays importable from here:
``limits`` (constants, input checks), ``kernels`` (Gram matrices, pivoted Cholesky),
``roles`` (the residualised kernel of x or y given Z, statistic, null moments), ``kci``
(one triple and batches), ``rcit`` (RCIT / RCoT and Fisher-z).
"""

from __future__ import annotations

from personax.independence.conditional.kci import (  # noqa: F401  (re-exported: the old import path)
    Triple,
    _as_variables,
    _check_triples,
    _error_result,
    _groups_by_rows,
    _kci_group,
    _prepared,
    _prepared_groups,
    _roles_by_shape,
    _row_checks,
    _stats,
    _triple_problem,
    kci_batch,
    kci_conditional,
    null_variances,
)
from personax.independence.conditional.kernels import (  # noqa: F401  (re-exported: the old import path)
    _sqdist,
    center_gram,
    gaussian_gram,
    kci_conditional_coef,
    kci_conditional_width,
    pivoted_cholesky,
)
from personax.independence.conditional.limits import (  # noqa: F401  (re-exported: the old import path)
    AUTO_DENSE_MAX_N,
    AUTO_DENSE_RANK_FRACTION,
    BACKEND,
    BLOCK_ELEMENTS,
    CPU_THREADS,
    DTYPE,
    FACTOR_ELEMENTS,
    KCI_EIG_THRESH,
    KCI_EPSILON,
    KCI_MAX_RANK,
    KCI_METHODS,
    KCI_TOL,
    ROWS_PER_GIVEN_COLUMN,
    check_given_size,
    clean_triple,
    max_given_columns,
)
from personax.independence.conditional.rcit import (  # noqa: F401  (re-exported: the old import path)
    _features,
    _simple_batch,
    _std_cols,
    draw_fourier_conditional,
    fisherz,
    fisherz_batch,
    rcit_batch,
    rcit_conditional,
)
from personax.independence.conditional.roles import (  # noqa: F401  (re-exported: the old import path)
    _check_tol,
    _DenseZ,
    _kci_result,
    _kci_stat_mean,
    _LowRankZ,
    _resolve_method,
    _Role,
    _truncate,
    cpu_threads,
)

__all__ = ["KCI_EPSILON", "KCI_EIG_THRESH", "KCI_TOL", "KCI_MAX_RANK", "KCI_METHODS", "clean_triple",
           "max_given_columns", "check_given_size", "kci_conditional", "kci_batch", "rcit_conditional",
           "rcit_batch", "fisherz", "fisherz_batch", "pivoted_cholesky", "null_variances",
           "draw_fourier_conditional", "kci_conditional_width"]
