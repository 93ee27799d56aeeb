"""The ``rai`` process itself, as its console script starts it.

Python's cyclic garbage collector walks every tracked object at each full collection, and
several times more while the interpreter shuts down. After a command's imports that is
some 90,000 objects (modules, classes, functions) that live until the process ends: the
exit of ``rai evaluate-file`` on 1,000 rows took 0.13 s of its 1.45 s, and full collections
during the run more (measured: 1.45 s -> 1.28 s with both freezes). So the console script
freezes what exists once a command that calls :func:`imports_done` (``evaluate-file``) has
its imports in, and again at exit
(``gc.freeze``: the collector no longer walks those objects; they are never collected, which
changes nothing for objects that live until exit anyway).

Only the console script does this. When the application runs inside another program (a
test's ``CliRunner``, a notebook), freezing would keep that program's garbage forever, so
:func:`imports_done` does nothing there.
"""

from __future__ import annotations

import atexit
import gc

_OWN_PROCESS = {"started": False}


def main() -> None:
    """The ``rai`` console script: the application, in a process of its own."""
    from rai_pipeline.cli import app

    _OWN_PROCESS["started"] = True
    atexit.register(gc.freeze)
    app()


def imports_done() -> None:
    """A command has imported what it runs: in the ``rai`` process itself, the objects made
    so far are left out of the collector's walks from now on."""
    if _OWN_PROCESS["started"]:
        gc.freeze()
