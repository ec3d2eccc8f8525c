"""The implementations behind each :class:`~personax.independence.registry.TestSpec`: thin adapters
from the registry's calling convention to the fast, reference, batched and stratified functions."""

from __future__ import annotations

import dataclasses

from personax.independence import conditional, fast, reference, stratified
from personax.independence.result import IndependenceTestError


def _fast_kci(x, y, *, seed, device):
    return fast.kci(x, y, device=device)


def _many_kci(x, ys, *, seed, device):
    return fast.kernel_many("kci", x, ys, device=device)


def _many_kci_given(xs, y, z, *, seed, device):
    return stratified.kci_given_many(xs, y, z, device=device)


def _many_rcit(x, ys, *, seed, device, num_features):
    # roles as in test("rcit", trait, attribute): the traits draw their features first
    return fast.rcit_many(ys, x, seed=seed, num_features=int(num_features))


def _many_rcit_given(xs, y, z, *, seed, device, num_features):
    return stratified.rcit_given_many(xs, y, z, seed=seed, num_features=int(num_features))


def _many_hsic(x, ys, *, seed, device, standardize, sigma, hyppo):
    return fast.kernel_many("hsic", x, ys, device=device, standardize=standardize, sigma=sigma)


def _codes(name):
    """The contingency paths of test ``name`` (``"chi2"``/``"g2"``) on level codes."""
    def from_codes(ct, kt, ca, ka, *, min_n, max_levels):
        table = fast.contingency_from_codes(ct, kt, ca, ka, min_n=min_n, max_levels=max_levels)
        return fast.contingency_test(name, table)

    def from_codes_given(ct, kt, ca, ka, zcode, kz):
        return stratified.contingency_given_codes(name, ct, kt, ca, ka, zcode, kz)

    return {"from_codes": from_codes, "from_codes_given": from_codes_given}


def _ref_kci(x, y, *, seed, device):
    return reference.kci(x, y)


def _fast_rcit(x, y, *, seed, device, num_features):
    return fast.rcit(x, y, seed=seed, device=device, num_features=num_features)


def _ref_rcit(x, y, *, seed, device, num_features):
    if num_features != 5:
        raise IndependenceTestError("the reference RCIT (causal-learn RIT) always uses 5 features; "
                                    "use backend='fast' for other num_features")
    return reference.rcit(x, y, seed=seed)


def _fast_hsic(x, y, *, seed, device, standardize, sigma, hyppo):
    return dataclasses.replace(fast.hsic(x, y, device=device, standardize=standardize, sigma=sigma),
                               test="hsic_gamma")


def _ref_hsic(x, y, *, seed, device, standardize, sigma, hyppo):
    return dataclasses.replace(reference.hsic(x, y, standardize=standardize, sigma=sigma, hyppo=hyppo, seed=seed),
                               test="hsic_gamma")


def _fast_chi2(x, y, *, seed, device, max_levels):
    return fast.chi2(x, y, max_levels=max_levels)


def _ref_chi2(x, y, *, seed, device, max_levels):
    return reference.chi2(x, y, max_levels=max_levels)


def _fast_g2(x, y, *, seed, device, max_levels):
    return fast.g2(x, y, max_levels=max_levels)


def _ref_g2(x, y, *, seed, device, max_levels):
    return reference.g2(x, y, max_levels=max_levels)


KCI_CONDITIONAL_OPTIONS = {"method": "auto", "tol": conditional.KCI_TOL, "max_rank": conditional.KCI_MAX_RANK,
                           "max_rank_given": None}
RCIT_CONDITIONAL_OPTIONS = {"num_features_z": 100, "rcot": False}


def _fast_kci_cond(x, y, z, *, seed, device, method, tol, max_rank, max_rank_given):
    return conditional.kci_batch({"x": x, "y": y, "z": z}, [("x", "y", ("z",))], device=device, method=method,
                                 tol=tol, max_rank=max_rank, max_rank_given=max_rank_given, clean=False)[0]


def _ref_kci_cond(x, y, z, *, seed, device, method, tol, max_rank, max_rank_given):
    return reference.kci_conditional(x, y, z)


def _batch_kci(variables, triples, *, seeds, device, errors, min_n, method, tol, max_rank, max_rank_given):
    return conditional.kci_batch(variables, triples, device=device, method=method, tol=tol, max_rank=max_rank,
                                 max_rank_given=max_rank_given, min_n=min_n, errors=errors)


def _fast_rcit_cond(x, y, z, *, seed, device, num_features, num_features_z, rcot):
    return conditional.rcit_conditional(x, y, z, seed=seed, num_features=num_features,
                                        num_features_z=num_features_z, rcot=rcot)


def _ref_rcit_cond(x, y, z, *, seed, device, num_features, num_features_z, rcot):
    if num_features != 5 or num_features_z != 100:
        raise IndependenceTestError("the reference conditional RCIT (causal-learn RCIT) uses 5 and 100 features; "
                                    "use backend='fast' for other numbers")
    return reference.rcit_conditional(x, y, z, seed=seed, rcot=rcot)


def _batch_rcit(variables, triples, *, seeds, device, errors, min_n, num_features, num_features_z, rcot):
    return conditional.rcit_batch(variables, triples, seeds=seeds, num_features=num_features,
                                  num_features_z=num_features_z, rcot=rcot, min_n=min_n, errors=errors)


def _fast_fisherz(x, y, *, seed, device):
    return conditional.fisherz(x, y)


def _ref_fisherz(x, y, *, seed, device):
    return reference.fisherz(x, y)


def _fast_fisherz_cond(x, y, z, *, seed, device):
    return conditional.fisherz(x, y, z)


def _ref_fisherz_cond(x, y, z, *, seed, device):
    return reference.fisherz(x, y, z)


def _batch_fisherz(variables, triples, *, seeds, device, errors, min_n):
    return conditional.fisherz_batch(variables, triples, seeds=seeds, min_n=min_n, errors=errors)
