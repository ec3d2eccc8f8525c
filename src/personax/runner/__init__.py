"""Execute the book's notebooks with papermill and render the Jupyter Book.

The reviewed source of every notebook is ``notebooks/NN_name.py`` (jupytext percent
format).  :func:`run_notebook` reads that source with jupytext, injects parameters with
papermill (kernel ``python3``) and writes the executed copy to ``book/executed/`` — never
onto the paired ``notebooks/NN_name.ipynb``, which papermill would otherwise pollute with
an ``injected-parameters`` cell that the next ``jupytext --sync`` copies into the source.

Parameter overrides
-------------------
Values are parsed as YAML scalars (``-p n 500`` → int, ``-p n null`` → None,
``-p source hf`` → str).  Only parameters a notebook *declares* in its ``parameters``
cell are injected into it:

* running one notebook (:func:`run_notebook`, ``personax run NOTEBOOK -p ...``): an
  override the notebook does not declare is an error listing the declared names
  (``strict=True``), because it is almost always a typo;
* running all notebooks (:func:`run_all`, ``personax run --all``, ``personax book``):
  an override goes to the notebooks that declare it and is skipped (and reported) for the
  others — e.g. ``DATASET=athlepersona`` only reaches notebooks with a ``dataset``
  parameter; an override that *no* notebook declares is an error.

Provenance
----------
The runner points ``$PERSONAX_PROVENANCE_FILE`` at a temporary file; the notebook's
:func:`personax.notebook.setup` writes its provenance record there from inside the
kernel.  The runner adds its own facts (injected parameters, skipped overrides, source
checksum, wall time, status) and writes the merged record to
``<out>/<name>.provenance.json`` and into the executed notebook's metadata under
``metadata["personax"]["provenance"]``.  A notebook that never calls ``setup`` still
gets a record, collected by the runner.

Plumbing out of sight
---------------------
Every executed copy goes through :func:`tag_plumbing` before it is written: the
parameters and injected-parameters cells get ``remove-cell``, the cell calling
``personax.notebook.setup(`` and any code cell whose first line is ``# plumbing`` get
``remove-input`` (``# plumbing: hide`` gets ``hide-input``), so the rendered page shows the
banner and the "Reproduce this page" box but not the imports.  The sources are untouched.

The package is split along its seams (``base``: constants, errors, locations; ``params``;
``plumbing``; ``execute``; ``book``); every name stays importable from ``personax.runner``.
"""

from __future__ import annotations

from personax.names import SOURCES  # noqa: F401  (re-exported: runner.SOURCES)
from personax.runner.base import (  # noqa: F401  (re-exported: the old import path)
    DEFAULT_CELL_TIMEOUT,
    KERNEL,
    PROFILES,
    REQUIRED_PARAMETERS,
    RunnerError,
    RunnerUsageError,
    RunResult,
    executed_dir,
    find_notebook,
    list_notebooks,
    notebooks_dir,
    project_root,
)
from personax.runner.book import _jupyter_book_command, build_book, missing_toc_files, toc_files  # noqa: F401  (re-exported: the old import path)
from personax.runner.execute import (  # noqa: F401  (re-exported: the old import path)
    TIMINGS_ENV,
    _append_timing,
    _error_summary,
    _kernel_environment,
    _PapermillInferenceFilter,
    _quiet_papermill_inference,
    failed_paths,
    run_all,
    run_notebook,
)
from personax.runner.params import (  # noqa: F401  (re-exported: the old import path)
    _absolutise_source,
    _dotted,
    _literal_parameters,
    check_parameters,
    declared_parameters,
    load_source,
    parameters_cell,
    parse_overrides,
    parse_value,
    setup_call,
    split_overrides,
)
from personax.runner.plumbing import DISPLAY_TAGS, PLUMBING_MARKER, plumbing_tag, tag_plumbing  # noqa: F401  (re-exported: the old import path)
from personax.runner.reuse import execution_key, file_sha256 as _sha256  # noqa: F401  (re-exported)

