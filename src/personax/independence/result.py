"""The result record shared by every independence test, and the error they raise.

Every test in :mod:`personax.independence` (whatever its backend) returns one
:class:`TestResult`; every refusal to compute a p-value (constant column, too few
rows, all-NaN pair, too many levels for a contingency table, ...) raises
:class:`IndependenceTestError`, whose message names the problem and the fix.  The
battery turns such errors into ``pvalue = NaN`` plus the message, never ``p = 0``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from personax.errors import DataError


class IndependenceTestError(DataError):
    """A test could not produce a p-value for this input (message says why and how to fix it).

    A :class:`personax.errors.DataError` (hence also a ``ValueError``).
    """


@dataclass(frozen=True)
class TestResult:
    """Outcome of one independence test X ⫫ Y, or X ⫫ Y | Z (conditional tests set
    ``details["conditional"] = True`` and ``details["d_given"]``).

    Attributes
    ----------
    test : str
        Registry name: ``"kci"``, ``"rcit"``, ``"hsic"``, ``"chi2"``, ``"g2"`` (or
        ``"fisherz"``, a conditional test for PC).
    statistic : float
        The test statistic on the test's own scale (KCI: V = Σ K̃x∘K̃y; HSIC: the biased
        HSIC estimate (1/n²)Σ K̃x∘K̃y; RCIT: n‖Ĉov(fx, fy)‖²_F; χ²: Pearson X²; G²: 2ΣO ln(O/E)).
    pvalue : float
        p-value in [0, 1] under H0: X ⫫ Y.
    method : str
        Human-readable description (kernel, null approximation, library).
    backend : str
        ``"fast"`` or ``"reference"``.
    n : int
        Rows used after listwise deletion of missing values in either variable.
    details : Mapping[str, Any]
        Test-specific extras (null moments, degrees of freedom, bandwidths, ...), read-only.

    Examples
    --------
    >>> import numpy as np
    >>> from personax.independence import test
    >>> r = test("g2", np.arange(40) % 2, np.arange(40) % 4)
    >>> r.to_dict()["test"], r.n, r.reject(0.05)
    ('g2', 40, True)
    """

    __test__ = False  # not a pytest test class despite the name

    test: str
    statistic: float
    pvalue: float
    method: str
    backend: str
    n: int
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "statistic", float(self.statistic))
        object.__setattr__(self, "pvalue", float(self.pvalue))
        object.__setattr__(self, "n", int(self.n))
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    def reject(self, alpha: float = 0.05) -> bool:
        """Decision at level ``alpha``: True means "dependent" (p < alpha)."""
        return self.pvalue < alpha

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON friendly when the details are)."""
        return {"test": self.test, "statistic": self.statistic, "pvalue": self.pvalue,
                "method": self.method, "backend": self.backend, "n": self.n,
                "details": dict(self.details)}

    def as_dict(self) -> dict[str, Any]:
        """Deprecated name of :meth:`to_dict` (removed in the next release)."""
        import warnings

        warnings.warn("TestResult.as_dict() is deprecated and will be removed in the next release: use to_dict()",
                      DeprecationWarning, stacklevel=2)
        return self.to_dict()
