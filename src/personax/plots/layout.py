"""Figure layout for the book's pages: figures that fit the content width with readable labels.

The book's content column is about :data:`BOOK_WIDTH_IN` inches wide at the inline
backend's resolution; a wider figure is scaled down by the browser and its labels shrink
with it.  :func:`min_font_pt` measures the smallest text of a figure *as the reader sees
it* at that width, and :func:`heatmap_rows` draws the Level I p-value heatmaps one test
per row, full width, with every label at :data:`MIN_FONT_PT` or more (the single-row
panel of five heatmaps in :func:`personax.plots.independence.heatmap_panel` shrinks to
a few pixels per label).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

#: Width of a cell output in the book, in inches of a figure: measured in headless Chromium
#: (Jupyter Book 1.x, 1280-pixel window) as 676 CSS pixels for an output image (article
#: 740 px); inline figures are 100-dpi PNGs shown one image pixel per CSS pixel, so a
#: figure up to 6.7 inches wide is not scaled down.
BOOK_WIDTH_IN = 6.7
#: Smallest label size a reader should get, in points at the book's width.
MIN_FONT_PT = 9.0


def min_font_pt(fig, width_in: float = BOOK_WIDTH_IN) -> float:
    """Smallest font size of the visible text of ``fig``, in points as shown at ``width_in``.

    A figure wider than the content column is scaled down by ``width_in / fig_width``;
    a narrower one is shown at its own size.  Tick labels, titles, annotations, legends
    and colour-bar labels all count; empty strings do not.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(figsize=(13.4, 3))
    >>> _ = ax.set_title("wide", fontsize=12)
    >>> _ = ax.set_xticks([0, 1], ["a", "b"], fontsize=12)
    >>> _ = ax.set_yticks([])
    >>> min_font_pt(fig)
    6.0
    >>> plt.close(fig)
    """
    from matplotlib.text import Text

    fig.canvas.draw()  # tick labels exist only after a draw
    scale = min(1.0, width_in / fig.get_size_inches()[0])
    sizes = [t.get_fontsize() for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip() and t.get_window_extent().width > 0]
    return float(min(sizes) * scale) if sizes else float("inf")


def readable(fig, width_in: float = BOOK_WIDTH_IN, min_pt: float = MIN_FONT_PT):
    """Fit ``fig`` to the book's width and raise every label to ``min_pt``; return it.

    A figure wider than ``width_in`` is narrowed to it (its height is kept, so panels get
    narrower, not flatter); every text (titles, axis and tick labels, annotations,
    legends, colour bars) under ``min_pt`` is raised to ``min_pt``; the layout is then
    redone.  Figures that are already readable are left as they are.  Used at the end
    of the book's plotting functions.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, axes = plt.subplots(1, 4, figsize=(12, 3))
    >>> _ = axes[0].set_title("small", fontsize=6)
    >>> min_font_pt(fig) < 9 <= min_font_pt(readable(fig))
    True
    >>> plt.close(fig)
    """
    import warnings

    from matplotlib.text import Text

    w, h = fig.get_size_inches()
    if w > width_in:
        fig.set_size_inches(width_in, h)
    for ax in fig.axes:
        for which, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            labels = axis.get_ticklabels(which="both")
            size = labels[0].get_fontsize() if labels else None
            if size is not None and size < min_pt:
                ax.tick_params(axis=which, which="both", labelsize=min_pt)
    for text in fig.findobj(Text):
        if text.get_fontsize() < min_pt:
            text.set_fontsize(min_pt)
    engine = fig.get_layout_engine()
    if engine is None:
        with warnings.catch_warnings():  # a layout that cannot improve is no reader's concern
            warnings.simplefilter("ignore", UserWarning)
            fig.tight_layout()
    return fig


def heatmap_rows(results: pd.DataFrame, tests: Sequence[str] | None = None, *, suptitle: str | None = None,
                 column: str = "pvalue", width_in: float = BOOK_WIDTH_IN, fontsize: float = MIN_FONT_PT):
    """Paper-style p-value heatmaps, one test per row, at the book's width with readable labels.

    Same encoding as :func:`personax.plots.independence.pvalue_heatmap` (Blues on [0, 1],
    rows attributes, columns the traits O, C, E, A, N, each cell annotated with p to three
    decimals, "fail" for a test that could not run), laid out for reading: one row per
    test, every label at ``fontsize`` points or more.

    Parameters
    ----------
    results : DataFrame
        Tidy battery results (``trait``, ``attribute``, ``test``, ``column``).
    tests : sequence of str, optional
        Tests to draw, in order (default: those present, in the battery's order).
    suptitle : str, optional
        Figure title (e.g. "CelebPersona (reproduced)").
    column : {"pvalue", "pvalue_bh"}
        Which p-value to draw.
    width_in, fontsize : float
        Figure width in inches and the smallest font size.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> rows = [{"trait": t, "attribute": a, "test": s, "pvalue": 0.5}
    ...         for t in ("openness", "neuroticism") for a in ("age", "height") for s in ("kci", "hsic")]
    >>> fig = heatmap_rows(pd.DataFrame(rows))
    >>> len(fig.axes) >= 2 and min_font_pt(fig) >= MIN_FONT_PT
    True
    """
    import matplotlib.pyplot as plt

    from personax.independence.summary import pvalue_matrix
    from personax.plots.independence import TEST_TITLES, _abbrev

    if not isinstance(results, pd.DataFrame) or "test" not in results:
        raise ValueError("heatmap_rows needs the battery's DataFrame (columns trait, attribute, test, pvalue)")
    present = list(dict.fromkeys(results["test"]))
    tests = [t for t in (tests or present) if t in present]
    if not tests:
        raise ValueError(f"none of the tests {list(tests or [])} is in the results (they hold {present})")
    mats = [pvalue_matrix(results, t, column=column) for t in tests]
    heights = [max(m.shape[0], 1) * 0.32 + 0.9 for m in mats]
    fig, axes = plt.subplots(len(tests), 1, figsize=(width_in, sum(heights) + (0.4 if suptitle else 0.0)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False, layout="constrained")
    image = None
    for ax, test, mat in zip(axes[:, 0], tests, mats):
        values = mat.to_numpy(dtype=float)
        image = ax.imshow(np.ma.masked_invalid(values), cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(range(mat.shape[1]), _abbrev(mat.columns), fontsize=fontsize)
        ax.set_yticks(range(mat.shape[0]), list(mat.index), fontsize=fontsize)
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                v = values[i, j]
                ax.text(j, i, "fail" if not np.isfinite(v) else f"{v:.3f}", ha="center", va="center",
                        fontsize=fontsize, color="white" if np.isfinite(v) and v > 0.6 else "black")
        ax.set_title(f"{TEST_TITLES.get(test, test)} P-value Heatmap", fontsize=fontsize + 1, loc="left")
    label = "p-value" if column == "pvalue" else "BH-adjusted p"
    bar = fig.colorbar(image, ax=list(axes[:, 0]), fraction=0.03, pad=0.02, aspect=40)
    bar.set_label(label, fontsize=fontsize)
    bar.ax.tick_params(labelsize=fontsize)
    if suptitle:
        fig.suptitle(suptitle, fontsize=fontsize + 2)
    return fig


#: Environment variable naming a JSON-lines file that :func:`audit_displayed_figures`
#: appends one record per displayed figure to (the runner sets it for every kernel).
FIGURES_ENV = "PERSONAX_FIGURES_FILE"


def figure_record(fig, execution_count: int | None = None) -> dict:
    """``{"execution_count", "width_in", "height_in", "min_font_pt"}`` of one figure at book width.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(figsize=(6, 3))
    >>> _ = ax.set_title("t", fontsize=11)
    >>> figure_record(fig, 3)["min_font_pt"] >= 9
    True
    >>> plt.close(fig)
    """
    width, height = (float(v) for v in fig.get_size_inches())
    return {"execution_count": execution_count, "width_in": round(width, 2), "height_in": round(height, 2),
            "min_font_pt": round(min_font_pt(fig), 2)}


def audit_displayed_figures(shell=None) -> bool:
    """Record every figure a notebook displays (size, smallest label at book width).

    Wraps IPython's ``image/png`` formatter for matplotlib figures so each displayed
    figure is measured by :func:`figure_record` and appended to the file named by
    ``$PERSONAX_FIGURES_FILE``; the runner stores the records in the executed notebook
    (``metadata["personax"]["figures"]``) and ``scripts/check_book.py`` fails a page
    whose labels are under :data:`MIN_FONT_PT`.  Re-wraps before each cell, because the
    inline backend re-registers its formatter when it is (re)activated.  Returns whether
    auditing is on (an IPython shell and the environment variable).
    """
    import json
    import os

    target = os.environ.get(FIGURES_ENV)
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if not target or shell is None:
        return False
    import matplotlib
    from matplotlib.figure import Figure

    backend = str(matplotlib.rcParams._get("backend") if hasattr(matplotlib.rcParams, "_get")
                  else matplotlib.rcParams["backend"])
    if "inline" in backend:
        # the inline backend registers its figure formatter when its module is first imported
        import matplotlib_inline.backend_inline  # noqa: F401

    from personax.utils import atomic_path

    def wrap(*_args):
        formatter = shell.display_formatter.formatters["image/png"]
        try:
            current = formatter.lookup_by_type(Figure)
        except KeyError:
            return
        if getattr(current, "_personax_audit", False):
            return

        def audited(fig, *args, **kwargs):
            try:
                record = figure_record(fig, shell.execution_count)
                from pathlib import Path

                path = Path(target)
                before = path.read_text(encoding="utf-8") if path.exists() else ""
                with atomic_path(path) as tmp:
                    tmp.write_text(before + json.dumps(record) + "\n", encoding="utf-8")
            except Exception as exc:  # measuring must never break a page; say so instead
                import warnings

                warnings.warn(f"personax could not measure a figure: {exc}", RuntimeWarning, stacklevel=2)
            return current(fig, *args, **kwargs)

        audited._personax_audit = True
        formatter.for_type(Figure, audited)

    wrap()
    if not getattr(shell, "_personax_figure_audit", False):
        shell.events.register("pre_run_cell", wrap)
        shell._personax_figure_audit = True
    return True
