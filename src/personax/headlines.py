"""Each chapter's headline, in words, for the box under its title.

Every chapter opens with a short box (Jupyter Book admonition) saying which paper section
it reproduces, what it reproduces, and its headline number: the paper's beside this
run's.  Numbers computed while the page runs come after the title, so the page stores the
sentence with MyST-NB's ``glue`` (:func:`glue_markdown`) and the box pastes it
(``{glue:md}`` directive); the sentence itself is produced by a tested function of the
chapter's area (``personax.crl.realworld_report.headline``, ``personax.crl.report.headline``, ...).
"""

from __future__ import annotations

__all__ = ["glue_markdown"]


def glue_markdown(key: str, text: str) -> None:
    """Store ``text`` as Markdown under ``key`` for MyST-NB's ``{glue:md}`` (shown where the page pastes it).

    Outside a notebook kernel (or without ``myst_nb``) nothing is stored and nothing is
    shown; the text is the same either way.

    Examples
    --------
    >>> glue_markdown("ch00_headline", "**Paper:** 1. **Reproduced here:** 1.")  # no kernel: a no-op
    """
    if not isinstance(key, str) or not key:
        raise ValueError(f"key must be a non-empty string, got {key!r}")
    try:
        from IPython import get_ipython
    except ImportError:
        return
    if get_ipython() is None:
        return
    try:
        from myst_nb import glue
    except ImportError:  # the book is built with myst-nb; a plain kernel only loses the pasted box
        return
    from IPython.display import Markdown

    glue(key, Markdown(str(text)), display=False)
