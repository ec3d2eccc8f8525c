"""The package's shared names: the datasets and the data sources (one definition each).

Loaders, notebooks, the runner and every CLI read these tuples (``personax.data.schema``
re-exports them as the same objects).  This module imports nothing, so the notebook and
runner parameter checks read it without loading pandas or torch.

Examples
--------
>>> DATASETS
('celebpersona', 'athlepersona')
>>> "synthetic" in SOURCES and "synthetic" in SYNTHETIC_SOURCES
True
"""

from __future__ import annotations

#: The two datasets.
DATASETS: tuple[str, ...] = ("celebpersona", "athlepersona")
#: What a ``dataset`` choice may also say where a command or notebook processes both.
BOTH = "both"
#: Named data sources of :func:`personax.data.load`, the notebooks and the CLIs; anything
#: else must be a local file or folder.  ``"sample"``: the synthetic sample shipped with the
#: package; ``"synthetic"``: a fresh draw of the synthetic world at ``n`` rows and ``seed``
#: (not an alias of ``"sample"``: other rows, full width embeddings by default); ``"hf"``:
#: the released data on Hugging Face.
SOURCES: tuple[str, ...] = ("sample", "synthetic", "hf")
#: Named sources whose data are synthetic (generated with a planted truth).
SYNTHETIC_SOURCES: tuple[str, ...] = ("sample", "synthetic")
