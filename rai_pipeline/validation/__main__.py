"""``python -m rai_pipeline.validation``: see :mod:`rai_pipeline.validation.report`."""

import sys

from rai_pipeline.validation.report import main

sys.exit(main())
