"""Tags for Jupyter Book that keep plumbing cells (parameters, setup, ``# plumbing``) out of the reader's way."""

from __future__ import annotations

# --------------------------------------------------------------------------- plumbing tags

#: First-line marker of a code cell whose input is plumbing (imports, setup, provenance):
#: ``# plumbing`` hides the input from the page (``remove-input``, outputs stay),
#: ``# plumbing: hide`` folds it behind a "show code" toggle (``hide-input``).
PLUMBING_MARKER = "# plumbing"
#: Jupyter Book 1.x tags that already decide how a cell shows; such cells are left alone.
DISPLAY_TAGS = ("remove-cell", "remove-input", "remove-output", "hide-cell", "hide-input", "hide-output")


def plumbing_tag(cell) -> str | None:
    """The display tag :func:`tag_plumbing` gives one cell, or None (the cell shows as written).

    * the ``parameters`` cell and papermill's ``injected-parameters`` cell: ``remove-cell``
      (the values of the run are shown by ``personax.notebook.setup``'s "Reproduce this
      page" box, which lists every parameter and the exact command);
    * a code cell whose first line is ``# plumbing``: ``remove-input``; ``# plumbing: hide``:
      ``hide-input``;
    * a code cell that calls ``personax.notebook.setup(``: ``remove-input`` (its output, the
      banner and the reproduce box, stays);
    * a cell that already carries a display tag (:data:`DISPLAY_TAGS`): None.
    """
    if cell.get("cell_type") != "code":
        return None
    tags = list(cell.get("metadata", {}).get("tags", []))
    if any(t in DISPLAY_TAGS for t in tags):
        return None
    if "parameters" in tags or "injected-parameters" in tags:
        return "remove-cell"
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    first = next((line.strip() for line in source.splitlines() if line.strip()), "")
    if first.startswith(PLUMBING_MARKER):
        rest = first[len(PLUMBING_MARKER):].strip(" :").lower()
        return "hide-input" if rest.startswith("hide") else "remove-input"
    if "notebook.setup(" in source:
        return "remove-input"
    return None


def tag_plumbing(nb) -> dict[int, str]:
    r"""Tag the plumbing cells of an executed notebook for Jupyter Book (see :func:`plumbing_tag`).

    Called by :func:`run_notebook` on every executed copy, so chapters get it without edits;
    the sources in ``notebooks/`` are never changed.  Returns ``{cell index: tag added}``.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[
    ...     nbformat.v4.new_code_cell("n = 1", metadata={"tags": ["parameters"]}),
    ...     nbformat.v4.new_code_cell("# plumbing\nimport numpy as np"),
    ...     nbformat.v4.new_code_cell("result = battery(data)")])
    >>> tag_plumbing(nb)
    {0: 'remove-cell', 1: 'remove-input'}
    """
    added = {}
    for index, cell in enumerate(nb.cells):
        tag = plumbing_tag(cell)
        if tag is not None:
            cell.setdefault("metadata", {}).setdefault("tags", []).append(tag)
            added[index] = tag
    return added
