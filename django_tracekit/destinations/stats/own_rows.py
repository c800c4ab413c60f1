"""A process's own minute rows of ``tracekit_stats`` (``writer`` = this process's
random id): written by this process alone, so a flush takes no row lock another process
waits on, and never reads back what it remembers it wrote.

What a process remembers is what it committed (:func:`remember`, called once the
transaction committed — the outermost one, when the write was inside a caller's): a
transaction that failed changes nothing here and is retried whole. A commit that went
through unseen (the connection lost at COMMIT) and is retried sets a remembered row to the
same total again (set, not added to); a row that flush created is added to again, as a
merged row is on any backend. A row that is gone (merged, pruned, rolled back) is
inserted with the increments only. A fork starts with a new id and nothing remembered; so
does every thread that writes (a process's flusher is one thread; two threads writing one
row unlocked would lose counts). Closed minutes' rows of every process are merged into
one row and added to their hour's (:mod:`.merging`); the process then forgets them.
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Mapping

from django_tracekit.destinations.stats import stats_rows
from django_tracekit.storage.usage_models import MINUTE

#: How long after its bucket ended a row is still remembered (a late write to a row no
#: longer remembered reads it back: slower, as exact).
KEEP_SECONDS = {MINUTE: 10 * MINUTE}

_local = threading.local()
_generation = 0  # forget(): every thread starts again


def _state() -> threading.local:
    """This thread's writer id and memory ({alias: {row key: values}}); new after a fork."""
    state = _local
    if getattr(state, "pid", None) != os.getpid() or state.generation != _generation:
        state.pid, state.generation = os.getpid(), _generation
        state.writer = random.SystemRandom().randrange(1, 2 ** 62)
        state.known = {}
    return state


def writer_id() -> int:
    """The writer id of this process (of this thread of it)."""
    return int(_state().writer)


def write(alias: str, rows: Mapping[stats_rows.RowKey, stats_rows.Values], generic: bool,
          trusted: bool = True) -> tuple[int, dict[stats_rows.RowKey, stats_rows.Values]]:
    """Write ``rows`` (increments) into this process's rows, inside the caller's
    transaction: (rows written, the rows' values to :func:`remember` once committed).
    ``trusted`` False: the rows are read back, not taken from memory (the write is inside a
    transaction of the caller's, which may roll back what was remembered meanwhile)."""
    state = _state()
    written: dict[stats_rows.RowKey, stats_rows.Values] = {}
    count = stats_rows.write(alias, rows, generic, writer=state.writer,
                             known=state.known.setdefault(alias, {}) if trusted else {},
                             out=written)
    return count, written


def remember(alias: str, written: Mapping[stats_rows.RowKey, stats_rows.Values],
             merged: Mapping[int, int], now: int) -> None:
    """After the commit: what the rows hold now; rows merged already (buckets before
    ``merged[resolution]``) or long closed are forgotten."""
    known = _state().known.setdefault(alias, {})
    known.update(written)
    for key in [k for k in known if k[2] < merged.get(k[1], 0)
                or k[2] + k[1] + KEEP_SECONDS[k[1]] < now]:
        del known[key]


def forget() -> None:
    """Forget every row, in every thread, and write new ones (tests; a database replaced
    under a running process)."""
    global _generation
    _generation += 1
