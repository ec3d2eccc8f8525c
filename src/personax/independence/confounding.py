"""Read-outs of a conditional battery: which decisions change when conditioning on Z.

Both functions take tidy battery frames (:func:`personax.independence.battery`), one run
unconditionally and one with ``given=[...]``; the planted truth of the synthetic sample
(:meth:`personax.data.PlantedTruth.pairs_given`) says which changes the world implies.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from personax.errors import ParameterError
from personax.utils import renamed_columns

KEY = ["trait", "attribute", "test"]


def decision_changes(unconditional: pd.DataFrame, conditional: pd.DataFrame, decision: str = "reject",
                     truth: pd.DataFrame | None = None) -> pd.DataFrame:
    """Pair-by-pair comparison of the unconditional and conditional decisions.

    Parameters
    ----------
    unconditional, conditional : battery frames (the second with a non-empty ``given``)
    decision : {"reject", "reject_raw"}
    truth : DataFrame, optional
        ``PlantedTruth.pairs_given(given)``; adds ``planted_change`` and ``planted_given``.

    Returns
    -------
    DataFrame, one row per (trait, attribute, test) present in both, columns ``trait``,
    ``attribute``, ``test``, ``given``, ``pvalue_marginal``, ``pvalue_given``, ``dependent_marginal``,
    ``dependent_given``, ``change`` (``"explained away"``: dependent only marginally,
    ``"induced"``: only given Z, ``""``: same decision) [, ``planted_change``,
    ``planted_given``].  Failed tests (NaN p on either side) are dropped.  The earlier
    names ``p_marginal`` / ``p_given`` still read, with a ``DeprecationWarning``, for one release.

    Examples
    --------
    >>> from personax.data import load
    >>> from personax.independence import battery
    >>> ds = load("celebpersona", n=400)
    >>> kw = dict(attributes=["height_cm"], tests=["kci"], cache=False, progress=False)
    >>> changes = decision_changes(battery(ds, **kw), battery(ds, given=["gender"], **kw))
    >>> list(changes.columns)[3:6]
    ['given', 'pvalue_marginal', 'pvalue_given']
    """
    for name, frame in (("unconditional", unconditional), ("conditional", conditional)):
        missing = [c for c in [*KEY, "pvalue", decision] if c not in frame.columns]
        if missing:
            raise ParameterError(f"{name} results lack columns {missing}: pass battery() outputs")
    u = unconditional[KEY + ["pvalue", decision]].rename(columns={"pvalue": "pvalue_marginal",
                                                                   decision: "dependent_marginal"})
    c = conditional[KEY + ["given", "pvalue", decision]].rename(columns={"pvalue": "pvalue_given",
                                                                          decision: "dependent_given"})
    m = u.merge(c, on=KEY).dropna(subset=["pvalue_marginal", "pvalue_given"])
    m["dependent_marginal"] = m["dependent_marginal"].astype(bool)
    m["dependent_given"] = m["dependent_given"].astype(bool)
    m["change"] = np.where(m["dependent_marginal"] & ~m["dependent_given"], "explained away",
                           np.where(~m["dependent_marginal"] & m["dependent_given"], "induced", ""))
    cols = ["trait", "attribute", "test", "given", "pvalue_marginal", "pvalue_given", "dependent_marginal",
            "dependent_given", "change"]
    m = m[cols]
    if truth is not None:
        t = truth.rename(columns={"change": "planted_change", "conditional": "planted_given"})
        m = m.merge(t[["trait", "attribute", "planted_change", "planted_given"]], on=["trait", "attribute"],
                    how="left")
    return renamed_columns(m.reset_index(drop=True), {"p_marginal": "pvalue_marginal", "p_given": "pvalue_given"},
                           where="decision_changes")


def change_check(changes: pd.DataFrame) -> pd.DataFrame:
    """Per test: observed decision changes against the planted ones (synthetic data).

    Returns
    -------
    DataFrame indexed by test with ``planted`` (pairs the world says are explained away),
    ``observed`` (pairs whose decision changed), ``hits`` (observed ∩ planted),
    ``lost_power`` (changed although still dependent given Z: the conditional test missed a
    remaining dependence), ``spurious_given`` (rejected given Z although conditionally
    independent), ``missed`` (planted but unchanged), ``recall`` = hits / planted.

    Examples
    --------
    >>> from personax.data import load
    >>> from personax.independence import battery
    >>> ds = load("celebpersona", n=400)
    >>> kw = dict(attributes=["height_cm"], tests=["kci"], cache=False, progress=False)
    >>> changes = decision_changes(battery(ds, **kw), battery(ds, given=["gender"], **kw),
    ...                            truth=ds.truth.pairs_given(["gender"]))
    >>> list(change_check(changes).columns)[:3]
    ['planted', 'observed', 'hits']
    """
    if "planted_change" not in changes.columns:
        raise ParameterError("change_check needs decision_changes(..., truth=truth.pairs_given(given))")
    rows = []
    for t, sub in changes.groupby("test", sort=False):
        planted = sub["planted_change"] == "explained away"
        observed = sub["change"] != ""
        rows.append({"test": t, "planted": int(planted.sum()), "observed": int(observed.sum()),
                     "hits": int((planted & (sub["change"] == "explained away")).sum()),
                     "lost_power": int((observed & (sub["planted_given"] == "dependent")
                                        & (sub["change"] == "explained away")).sum()),
                     "spurious_given": int((sub["dependent_given"] & (sub["planted_given"] == "independent")).sum()),
                     "missed": int((planted & ~observed).sum())})
    out = pd.DataFrame(rows).set_index("test")
    out["recall"] = (out["hits"] / out["planted"].replace(0, np.nan)).round(3)
    return out
