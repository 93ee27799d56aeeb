"""The ``rai`` command line: the application (:mod:`.base`) and its commands, by concern,
registered in the order ``rai --help`` lists them."""

from rai_pipeline.cli.base import app

# isort: split
from rai_pipeline.cli import pipeline  # noqa: F401 (registers its commands)

# isort: split
from rai_pipeline.cli import files  # noqa: F401

# isort: split
from rai_pipeline.cli import llm  # noqa: F401

# isort: split
from rai_pipeline.cli import monitoring  # noqa: F401

# isort: split
from rai_pipeline.cli import audit  # noqa: F401

# isort: split
from rai_pipeline.cli import dispositions  # noqa: F401

__all__ = ["app"]
