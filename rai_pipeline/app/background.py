"""Work started on a daemon thread while the caller goes on.

:func:`in_background` runs a function on its own thread and returns a callable that waits for its
result, raising what the function raised. The thread is a daemon: a caller that fails before
it asks for the result leaves nothing to join, and the process exits without waiting. Worth it
for work that releases the GIL (``hashlib`` over a large file, say) beside work in the engine
or in Python.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")


def in_background(work: Callable[[], T], *, name: str) -> Callable[[], T]:
    """Start ``work()`` on a daemon thread named ``name``; call the result to wait for it."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as error:  # handed to whoever waits
            future.set_exception(error)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future.result
