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

#: Width of the book's content column in inches of a figure: the column is about 730 CSS
#: pixels wide (Jupyter Book 1.x, 1280-pixel window) and inline figures are 100-dpi PNGs
#: shown one image pixel per CSS pixel, so a figure up to 7.3 inches wide is not scaled.
BOOK_WIDTH_IN = 7.3
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
    >>> fig, ax = plt.subplots(figsize=(14.6, 3))
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
    heights = [max(m.shape[0], 1) * 0.32 + 0.75 for m in mats]
    fig, axes = plt.subplots(len(tests), 1, figsize=(width_in, sum(heights) + (0.4 if suptitle else 0.0)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
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
