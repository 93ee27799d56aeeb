"""The project's compiled loops (``rai_pipeline/core/loops.c``), or None where the install
found no C compiler.

:data:`LOOPS` is the extension module built by the install: ``count_below`` (the exact AUC's
cell-pair count, :mod:`~rai_pipeline.core.engine.cell_pairs`) and ``upper_hull`` (the
threshold what-if's envelopes, :mod:`~rai_pipeline.core.metrics.mitigation`). Each caller
keeps a NumPy or Python path that gives the same numbers, for an install without a compiler
and for the tests that compare the two.
"""

from __future__ import annotations

from types import ModuleType


def _load() -> ModuleType | None:
    try:
        from rai_pipeline.core import loops  # type: ignore[attr-defined]
    except ImportError:  # installed without a C compiler
        return None
    return loops  # type: ignore[no-any-return]


LOOPS = _load()
