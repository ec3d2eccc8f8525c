"""The one table of execution-profile budgets: rows, epochs, seeds, permutations, PC sizes, power reps.

Every notebook, command and function that scales its work with a profile reads its numbers
here, so the three profiles are defined in one place:

* ``ci`` — seconds; used by ``make test`` (a smoke test of every step);
* ``quick`` — the default; ``make book`` on a 2-core CPU in a few minutes per chapter;
* ``paper`` — the full protocol (GPU advised).

:data:`BUDGETS` maps an *area* (one consumer: a chapter or a function) to one dict of
settings per profile.  Read it through :func:`budget` (or ``ctx.budget(area, key)`` in a
notebook, see :meth:`personax.notebook.NotebookContext.budget`), which names the area, the
key and the profile when one is missing.  The dicts are the live objects (the CRL training
presets :data:`personax.crl.PROFILES` *are* ``BUDGETS["crl.train"]``), so they are never
mutated by their readers.

Adding a profile: add its name to :data:`PROFILE_NAMES` and one entry to every area (a
test checks that each area has exactly these profiles).  Adding an area: one entry here,
read with :func:`budget`; ``tests/infra/test_profiles.py`` fails on budget literals
elsewhere.

This module imports nothing heavy (no numpy, no torch): the notebook and runner checks
read it before any work starts.

Examples
--------
>>> budget("independence.battery", "n_perm", profile="ci")
2
>>> sorted(budget("crl.train", profile="quick"))
['max_epochs', 'patience', 's2_max_epochs', 's2_patience']
"""

from __future__ import annotations

from typing import Any

#: Execution profiles, in order of cost.
PROFILE_NAMES: tuple[str, ...] = ("ci", "quick", "paper")
#: The profile a notebook, command or function uses when none is given.
DEFAULT_PROFILE = "quick"

_CI_PEOPLE = ["ex01", "ex09"]
_CI_FORMATS = ["number-l3-inc", "number-l3-dec", "text-l3-inc"]

#: ``{area: {profile: {setting: value}}}``; see the module docstring.
BUDGETS: dict[str, dict[str, dict[str, Any]]] = {
    # chapter 01: the planted-truth check runs on a fresh full-size synthetic draw
    # (``full_scale``) or on the loaded sample (ci)
    "data.planted_check": {
        "ci": {"full_scale": False},
        "quick": {"full_scale": True},
        "paper": {"full_scale": True},
    },
    # chapter 02 (personax.traits.chapter.chapter_settings): people (None = all twelve
    # examples), prompt formats (None = every format), reply token budget, bootstrap size,
    # simulated-rater repeats
    "traits.chapter": {
        "ci": {"people": _CI_PEOPLE, "formats": _CI_FORMATS, "max_tokens": 48, "n_boot": 100, "sim_repeats": 1},
        "quick": {"people": None, "formats": None, "max_tokens": 160, "n_boot": 500, "sim_repeats": 2},
        "paper": {"people": None, "formats": None, "max_tokens": 400, "n_boot": 2000, "sim_repeats": 5},
    },
    # chapter 03: rows of the privacy demonstration (None = all) and permutations of its test
    "faces.privacy": {
        "ci": {"n": 300, "n_perm": 100},
        "quick": {"n": 1000, "n_perm": 300},
        "paper": {"n": None, "n_perm": 1000},
    },
    # chapter 04: rows (None = all), permutation-null repeats, pairs checked against the
    # reference libraries (dense references cost seconds per pair at full n)
    "independence.battery": {
        "ci": {"n": 400, "n_perm": 2, "n_ref_pairs": 6},
        "quick": {"n": None, "n_perm": 5, "n_ref_pairs": 15},
        "paper": {"n": None, "n_perm": 20, "n_ref_pairs": 10},
    },
    # chapter 04b: rows, circle-example repetitions, power simulation (repetitions, effect
    # grid) and the attributes whose power is simulated
    "independence.beyond": {
        "ci": {"n": 400, "circle_reps": 20, "power_reps": 8, "power_grid": (0, 3, 6),
               "power_attributes": {"celebpersona": ["Big_Nose"], "athlepersona": ["league"]}},
        "quick": {"n": None, "circle_reps": 100, "power_reps": 20, "power_grid": (0, 1, 2, 3, 4, 5, 6, 8),
                  "power_attributes": {"celebpersona": ["height_cm", "Big_Nose", "occupation"],
                                       "athlepersona": ["height_cm", "league"]}},
        "paper": {"n": None, "circle_reps": 500, "power_reps": 100, "power_grid": tuple(range(11)),
                  "power_attributes": {"celebpersona": ["height_cm", "birth_year", "Big_Nose", "occupation"],
                                       "athlepersona": ["height_cm", "birth_year", "league"]}},
    },
    # personax.crl.train.fit: training budget (stage 1 epochs / patience, stage 2 epochs /
    # patience / restarts); exported as personax.crl.PROFILES
    "crl.train": {
        "ci": {"max_epochs": 25, "patience": 8, "s2_max_epochs": 60, "s2_patience": 10},
        "quick": {"max_epochs": 200, "patience": 20, "s2_max_epochs": 300, "s2_patience": 20},
        "paper": {"max_epochs": 600, "patience": 40, "s2_max_epochs": 600, "s2_patience": 40},
    },
    # personax.crl.synthetic.run_benchmark: default rows of each benchmark kind
    "crl.benchmark": {
        "ci": {"numerical": 1000, "design": 1000, "images": 600},
        "quick": {"numerical": 4000, "design": 4000, "images": 2000},
        "paper": {"numerical": 10000, "design": 10000, "images": 5000},
    },
    # chapter 05 (prepared here; the notebook still holds these values inline until its rework
    # reads them with ctx.budget("crl.synthetic_chapter", ...)): model seeds of the live run,
    # rows of the live numerical / design run and of the live image run, methods, whether the
    # design and image benchmarks run live (ci / quick read the committed results) and whether
    # block R² is scored
    "crl.synthetic_chapter": {
        "ci": {"seeds": [0], "n": 600, "n_images": 300, "methods": ["personax"], "live_extra": False,
               "block_r2": False},
        "quick": {"seeds": [0], "n": 4000, "n_images": 1500, "methods": ["personax"], "live_extra": False,
                  "block_r2": True},
        "paper": {"seeds": [0, 1, 2, 3, 4], "n": 10000, "n_images": 5000, "methods": ["personax", "personax_joint"],
                  "live_extra": True, "block_r2": True},
    },
    # personax.crl.realworld.run_level2 (exported there as PROFILE_SETTINGS): rows, training
    # profile and config, seeds, PC test and stability sizes.  PC always runs on every row
    # it is given with no depth limit; ``n_boot`` is the number of half-sample resamples per
    # training seed for edge stability (the main run counts as one more run);
    # ``freq_threshold`` is the stated frequency above which an edge is drawn.
    "crl.realworld": {
        # seconds: a smoke test of every step on 500 rows (Fisher-z: linear, instant)
        "ci": {"n": 500, "train_profile": "ci", "train_config": None, "seeds": (0,), "ci_test": "fisherz",
               "pc_options": {}, "max_depth": None, "n_boot": 2, "freq_threshold": 0.5, "describe_max_n": 250},
        # the book on 2 CPU cores: the shipped sample (every row), one seed, a 40-epoch training
        # budget, conditional RCIT (the paper's test for CelebPersona; O(n·100²) per test),
        # two half-sample resamples (three PC runs for the stability table: the chapter's
        # 120 s budget on two cores; each resample costs ≈ 17 s of PC on CelebPersona)
        "quick": {"n": None, "train_profile": "quick", "train_config": {"max_epochs": 40, "patience": 10},
                  "seeds": (0,), "ci_test": "rcit", "pc_options": {}, "max_depth": None, "n_boot": 2,
                  "freq_threshold": 0.5, "describe_max_n": 600},
        # the full protocol (GPU advised for training): three seeds × 20 half-samples
        "paper": {"n": None, "train_profile": "paper", "train_config": None, "seeds": (0, 1, 2), "ci_test": "rcit",
                  "pc_options": {}, "max_depth": None, "n_boot": 20, "freq_threshold": 0.5, "describe_max_n": 4000},
    },
}


def check_profile(profile: Any) -> str:
    """Return ``profile`` when it is one of :data:`PROFILE_NAMES`, else raise a ``ParameterError``.

    Examples
    --------
    >>> check_profile("ci")
    'ci'
    >>> check_profile("fast")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    personax.errors.ParameterError: profile='fast' is invalid: allowed 'ci', 'quick', 'paper'...
    """
    if profile not in PROFILE_NAMES:
        from personax.errors import ParameterError

        raise ParameterError(f"profile={profile!r} is invalid: allowed {', '.join(map(repr, PROFILE_NAMES))}",
                             hint="use --profile ci (seconds), quick (default) or paper (full protocol)")
    return profile


def budget(area: str, key: str | None = None, *, profile: str) -> Any:
    """One budget setting (``key``) or all settings of ``area`` at ``profile``.

    Parameters
    ----------
    area : str
        A key of :data:`BUDGETS`, e.g. ``"independence.battery"``.
    key : str, optional
        One setting of the area; None returns the area's dict for the profile (the live
        object: copy it before changing it).
    profile : {"ci", "quick", "paper"}
        The execution profile.

    Returns
    -------
    object

    Raises
    ------
    personax.errors.ParameterError
        For an unknown profile.
    KeyError
        For an unknown area or setting (a programming error; the message lists what exists).

    Examples
    --------
    >>> budget("faces.privacy", "n_perm", profile="paper")
    1000
    >>> budget("independence.battery", profile="ci")["n"]
    400
    """
    check_profile(profile)
    if area not in BUDGETS:
        raise KeyError(f"no budget area {area!r} in personax.profiles.BUDGETS; areas: {sorted(BUDGETS)}")
    settings = BUDGETS[area][profile]
    if key is None:
        return settings
    if key not in settings:
        raise KeyError(f"budget area {area!r} has no setting {key!r} at profile {profile!r}; "
                       f"settings: {sorted(settings)}")
    return settings[key]
