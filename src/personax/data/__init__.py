"""PersonaX data layer: canonical schema, loaders (sample / Hugging Face / local), validation,
aggregation of LLM scores, and the synthetic PersonaX world with planted truth.

>>> from personax.data import load
>>> ds = load("celebpersona")            # shipped synthetic sample, offline
>>> ds.frame.shape[0], sorted(ds.embeddings)[:2]
(2000, ['face_1', 'face_2'])

Modules: :mod:`~personax.data.schema` (columns, dtypes, alias table),
:mod:`~personax.data.io` (``load``, ``write_table``, ``read_column_map``; a package: ``sample``,
``mapping``, ``cells``, ``local``, ``hf``), :mod:`~personax.data.validate`,
:mod:`~personax.data.aggregate` (``median_drop_zeros``),
:mod:`~personax.data.synthetic` (``generate``, ``RATERS``, ``rate``),
:mod:`~personax.data.dataset` (``PersonaData``, ``PlantedTruth``), :mod:`~personax.data.cli`.
"""

from personax.data.aggregate import agreement_with_released, median_drop_zeros
from personax.data.dataset import PersonaData, PlantedTruth
from personax.data.io import (
                              ColumnMappingError,
                              DataAccessError,
                              load,
                              map_columns,
                              read_column_map,
                              to_table,
                              write_table,
)
from personax.data.schema import (
                              DATASETS,
                              FACE_ATTRIBUTES,
                              LEAGUES,
                              LLMS,
                              SCHEMAS,
                              SOURCES,
                              TRAIT_ABBREV,
                              TRAITS,
                              DatasetSchema,
)
from personax.data.validate import ValidationError, validate

__all__ = [
    "load", "PersonaData", "PlantedTruth", "SCHEMAS", "DatasetSchema", "DATASETS", "TRAITS", "TRAIT_ABBREV",
    "LLMS", "FACE_ATTRIBUTES", "LEAGUES", "median_drop_zeros", "agreement_with_released", "validate",
    "ValidationError", "ColumnMappingError", "DataAccessError", "map_columns", "write_table", "to_table", "SOURCES",
    "read_column_map",
]
