"""Landing evaluation data: immutable, content-addressed Parquet extracts and their dataset
version.

The documented entry points are importable from here: ``land_evaluation_extracts`` and
``PREDICTIONS_DDL`` (defined in :mod:`~rai_pipeline.core.landing.extracts`).
"""

from rai_pipeline.core.landing.extracts import PREDICTIONS_DDL, land_evaluation_extracts

__all__ = ["PREDICTIONS_DDL", "land_evaluation_extracts"]
