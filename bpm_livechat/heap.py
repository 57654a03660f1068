"""The heap of a long-running process (a gunicorn worker, a job worker).

At exit Python's teardown runs several full garbage collections over every tracked object. In a
worker that has loaded the product (about 170,000 objects) that took 4-6 s after SIGTERM on the
loaded 2-core test machine, long after the work itself had stopped (issue 18's chaos runs). The
objects alive once a process has started (modules, classes, the app, its engines) live until it
exits anyway: frozen, every later collection skips them, the teardown's included, and the
collections while it serves get cheaper too.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Move every object alive now out of the garbage collector's sight (`gc.freeze`): call it
    once, when the process has finished starting."""
    gc.freeze()
