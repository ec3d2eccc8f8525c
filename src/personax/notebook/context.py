"""The validated parameters of one notebook run (:class:`NotebookContext`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from personax import names as _names, profiles as _profiles
from personax.notebook.catalogue import PROFILES
from personax.notebook.checks import ParameterError


@dataclass(frozen=True)
class NotebookContext:
    """Validated parameters of one notebook run.

    Attributes
    ----------
    notebook : str
        Notebook name, e.g. ``"01_data"``.
    dataset : str
        The ``dataset`` parameter as given (may be ``"both"``).
    datasets : list of str
        Datasets to process, ``"both"`` expanded to ``["celebpersona", "athlepersona"]``.
    source : str
        ``"sample"``, ``"synthetic"``, ``"hf"`` or an absolute local path.
    n : int or None
        Row limit (None = the dataset or profile default).
    seed : int
        Seed for every random step of the notebook.
    device : str
        Resolved torch device (``"cpu"``, ``"cuda"``, ``"cuda:1"``).
    device_requested : str
        The ``device`` parameter as given (``"auto"``, ...).
    profile : str
        ``"ci"``, ``"quick"`` or ``"paper"``.
    extra : dict
        Notebook-specific parameters (validated when ``checks`` covered them).
    provenance : dict
        Record from :func:`personax.provenance.collect`.
    """

    notebook: str
    dataset: str
    datasets: list[str]
    source: str
    n: int | None
    seed: int
    device: str
    device_requested: str
    profile: str
    extra: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def is_sample(self) -> bool:
        """True when the page is built on the shipped synthetic sample."""
        return self.source == "sample"

    @property
    def is_synthetic(self) -> bool:
        """True when the page is built on synthetic data (the shipped sample or a fresh draw)."""
        return self.source in _names.SYNTHETIC_SOURCES

    @property
    def params(self) -> dict[str, Any]:
        """All parameters of the run (common ones first, then the notebook's own)."""
        common = {"dataset": self.dataset, "source": self.source, "n": self.n, "seed": self.seed,
                  "device": self.device_requested, "profile": self.profile}
        return {**common, **self.extra}

    def by_profile(self, **values: Any) -> Any:
        """Pick the value for the current profile: ``ctx.by_profile(ci=..., quick=..., paper=...)``.

        Every profile must be given so a new profile cannot silently fall back to a default.
        Budgets (rows, permutations, epochs, ...) do not belong here: they live in
        :mod:`personax.profiles` and are read with :meth:`budget`.
        """
        missing = [p for p in PROFILES if p not in values]
        unknown = [p for p in values if p not in PROFILES]
        if missing or unknown:
            raise ParameterError(
                f"by_profile needs exactly one value per profile {list(PROFILES)}; "
                f"missing {missing}, unknown {unknown}"
            )
        return values[self.profile]

    def budget(self, area: str, key: str | None = None) -> Any:
        """A budget setting of this run's profile from :data:`personax.profiles.BUDGETS`.

        ``ctx.budget("independence.battery", "n_perm")`` is
        ``personax.profiles.budget("independence.battery", "n_perm", profile=ctx.profile)``;
        without ``key``, the area's whole dict for the profile.
        """
        return _profiles.budget(area, key, profile=self.profile)
