"""A process hands what it counted and has not written to another process of its family,
through a file: a Celery pool child past its hard time limit, which billiard SIGKILLs 0.1 s
after SIGTERM, to the worker's main process, which survives.

The child could write its counts itself and then leave a marker saying so, but SIGKILL can
fall between the commit and the marker, and the main process would count the task a second
time. Here the counts *are* the marker: written to a temporary name, then renamed, so the
main process finds all of them or nothing (then it counts the task itself). Counted once,
whichever way the race goes.

The file is only read from a directory this user owns and no one else can write
(``sources/celery/fallback.py``), and unpickled with the stats' own record types only.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
from typing import Any

from django_tracekit.destinations.stats.processor import StatsProcessor
from django_tracekit.destinations.stats.records import Pending

logger = logging.getLogger("django_tracekit")


def hand_over(path: str, processors: list[StatsProcessor] | None = None) -> bool:
    """Every stats processor's pending counts, taken out, in the file ``path`` (created
    even when there are none: the file itself says "counted"). ``False``, the counts kept
    here, when the file could not be written."""
    if processors is None:
        processors = StatsProcessor.processors()
    taken = [processor.take_pending() for processor in processors]
    part = f"{path}.part"
    try:
        with open(part, "wb") as out:
            pickle.dump(taken, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(part, path)
    except OSError:
        logger.warning("tracekit: could not hand the counts over at %s", path, exc_info=True)
        for processor, pending in zip(processors, taken, strict=True):
            processor.add_pending(pending)
        return False
    return True


def adopt(path: str, into: StatsProcessor | None = None) -> bool:
    """Whether another process handed its counts over at ``path``; they are this process's
    (``into``'s: by default its first stats processor's) to write now (file removed)."""
    try:
        with open(path, "rb") as handed:
            data = handed.read()
        os.unlink(path)
    except FileNotFoundError:
        return False
    except OSError:
        logger.warning("tracekit: could not read the counts handed over at %s", path,
                       exc_info=True)
        return True  # it was there: the other process counted
    if not data:
        return True
    try:
        taken: list[Pending] = _Records(io.BytesIO(data)).load()
    except Exception:
        logger.warning("tracekit: the counts handed over at %s are unreadable", path,
                       exc_info=True)
        return True
    if into is None:
        into = next(iter(StatsProcessor.processors()), None)
    if into is None:
        logger.warning("tracekit: no stats here for the counts handed over at %s", path)
        return True
    for pending in taken:
        into.add_pending(pending)
    return True


class _Records(pickle.Unpickler):
    """Only what :meth:`StatsProcessor.take_pending` returns: tracekit's record classes and
    the builtin containers they are made of, never a function."""

    _ALLOWED = frozenset({("builtins", "set"), ("builtins", "frozenset"),
                          ("array", "array"), ("array", "_array_reconstructor"),
                          ("builtins", "bytearray"), ("copyreg", "_reconstructor"),
                          ("builtins", "object")})

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        if module.startswith("django_tracekit."):
            found = super().find_class(module, name)
            if isinstance(found, type):  # a record's class, never a function
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not a stats record")

