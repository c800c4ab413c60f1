"""A process's own minute and hour rows of ``tracekit_stats`` (``writer`` = this process's
random id): written by this process alone, so a flush takes no row lock another process
waits on, and never reads back what it remembers it wrote.

What a process remembers is what it committed (:func:`remember`, called once the
transaction committed — the outermost one, when the write was inside a caller's): a
transaction that failed changes nothing here and is retried whole. A commit that went
through unseen (the connection lost at COMMIT) and is retried sets a remembered row to the
same total again (set, not added to); a row that flush created is added to again, as a
merged row is on any backend. A row that is gone (merged, pruned, rolled back) is
inserted with the increments only. A fork starts with a new id and nothing remembered.
Closed buckets' rows of every process are merged into one row (:mod:`.merging`); the
process then forgets them.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping

from django_tracekit.destinations.stats import stats_rows
from django_tracekit.storage.usage_models import HOUR, MINUTE

#: How long after its bucket ended a row is still remembered (a late write to a row no
#: longer remembered reads it back: slower, as exact).
KEEP_SECONDS = {MINUTE: 10 * MINUTE, HOUR: 2 * HOUR}
OWN = (MINUTE, HOUR)

_pid = 0
_writer = 0
_known: dict[str, dict[stats_rows.RowKey, stats_rows.Values]] = {}


def writer_id() -> int:
    """This process's writer id (new after a fork)."""
    global _pid, _writer
    pid = os.getpid()
    if pid != _pid:
        _pid, _writer = pid, random.SystemRandom().randrange(1, 2 ** 62)
        _known.clear()
    return _writer


def write(alias: str, rows: Mapping[stats_rows.RowKey, stats_rows.Values], generic: bool,
          trusted: bool = True) -> tuple[int, dict[stats_rows.RowKey, stats_rows.Values]]:
    """Write ``rows`` (increments) into this process's rows, inside the caller's
    transaction: (rows written, the rows' values to :func:`remember` once committed).
    ``trusted`` False: the rows are read back, not taken from memory (the write is inside a
    transaction of the caller's, which may roll back what was remembered meanwhile)."""
    writer = writer_id()
    written: dict[stats_rows.RowKey, stats_rows.Values] = {}
    count = stats_rows.write(alias, rows, generic, writer=writer,
                             known=_known.setdefault(alias, {}) if trusted else {},
                             out=written)
    return count, written


def remember(alias: str, written: Mapping[stats_rows.RowKey, stats_rows.Values],
             merged: Mapping[int, int], now: int) -> None:
    """After the commit: what the rows hold now; rows merged already (buckets before
    ``merged[resolution]``) or long closed are forgotten."""
    writer_id()
    known = _known.setdefault(alias, {})
    known.update(written)
    for key in [k for k in known if k[2] < merged.get(k[1], 0)
                or k[2] + k[1] + KEEP_SECONDS[k[1]] < now]:
        del known[key]


def forget() -> None:
    """Forget every row (tests; a database replaced under a running process)."""
    _known.clear()
