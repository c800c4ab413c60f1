"""Writing increments: many processes on many hosts add to the same rows, nothing lost.

Each flush is one transaction (all or nothing, so a retried flush never counts twice):

1. features: ``bulk_create(ignore_conflicts=True)`` then a lookup of the ids (cached per
   process for an hour);
2. one :class:`~django_tracekit.storage.usage_models.FeatureStats` row per feature and
   version for the minute (counters, latency histogram and users sketch in the row): one
   row per feature per flush whatever the traffic. It is this process's own row
   (:mod:`.own_rows`: no other process writes it, no lock to wait for); closed minutes are
   merged into one row per key and added to their hour's row (:mod:`.merging`: so an hour
   row holds the minutes merged so far, and readers add the others,
   :func:`~django_tracekit.storage.usage_models.split_hours`). A late write to a merged
   minute adds to the merged minute row and to its hour's row under their row locks
   (:mod:`.stats_rows`). Day and week rows are built from closed hours
   (:mod:`.compaction`); a late write to a day already built adds to it too;

Error samples are not stored (nothing reads them; the error groups are).

The skeleton is :mod:`django_tracekit.storage.writer`'s: before writing the tables must exist
(until ``migrate`` :func:`write` raises :class:`TablesMissing`, quietly waited out); a
transaction that rolled back because of another writer (deadlock, lock wait) or of a stale
cached feature id (``IntegrityError``) is tried again whole; every text is made storable
on every backend. A batch that still fails with a data error is isolated feature by
feature, each in its own transaction; only what fails alone is dropped, counted in
:data:`rejected` and logged.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence

from django.db import connections, router, transaction

from django_tracekit.destinations.stats import (
    compaction,
    feature_ids,
    merging,
    own_rows,
    stats_rows,
)
from django_tracekit.destinations.stats.records import (
    Entry,
    FeatureKey,
    Key,
    WriteIncomplete,
)
from django_tracekit.destinations.stats.records import ErrorSample as ErrorSampleData
from django_tracekit.storage import timeouts
from django_tracekit.storage.usage_models import (
    DAY,
    HOUR,
    LIFE,
    MINUTE,
    OPEN_DAY,
    RESOLUTIONS,
    Feature,
    FeatureStats,
    InstrumentedFunction,
    StatsCompacted,
)
from django_tracekit.storage.writer import (
    DATA_ERRORS,
    Stopped,
    TableCheck,
    TablesMissing,
    batch_failed,
    bmp_only,
    chunks,
    clean_text,
    isolate,
    rejected_one,
    retrying,
)

logger = logging.getLogger("django_tracekit")

__all__ = ["TablesMissing", "clean_text"]  # re-exported for the stats' callers


# What isolation had to drop, since the process started: calls.
rejected: Counter[str] = Counter()


def clear_cache() -> None:
    feature_ids.clear_cache()
    check_tables.clear()
    own_rows.forget()




def write(increments: Mapping[Key, Entry], errors: Sequence[ErrorSampleData] = (), *,
          using: str | None = None, method: str = "auto") -> int:
    """Add ``increments``; returns the number of rows written.

    ``errors`` are accepted and not stored: no page reads single samples (the errors page
    reads the error groups, :mod:`.groups_store`). ``method``: "auto" (the vendor's
    statements), or "orm" (the generic path every backend has).
    Raises :class:`TablesMissing` before ``migrate``; :class:`WriteIncomplete` when a
    connection failed after part of a batch was committed (what is left is in it).
    """
    del errors
    alias = using or router.db_for_write(FeatureStats)
    feature_ids.expire()
    timeouts.apply(connections[alias])
    check_tables(alias)
    try:
        written = _write_retrying(alias, increments, method)
    except DATA_ERRORS as exc:
        return _isolate(alias, increments, method, exc)
    except Exception:
        check_tables.forget(alias)  # look again: the tables may have gone
        raise
    compaction.maybe_compact(alias)  # a day closed: its day row (and a week's)
    merging.maybe_merge(alias)  # closed minutes and hours: one row per key
    return written


check_tables = TableCheck(lambda: (m._meta.db_table for m in (
    Feature, FeatureStats, StatsCompacted, InstrumentedFunction)))


def _write_retrying(alias: str, increments: Mapping[Key, Entry], method: str) -> int:
    # Ids cached by a rolled-back transaction name no row; a feature pruned while its id
    # was cached here (IntegrityError): look the ids up again either way.
    # Inside a caller's transaction (tests, a backlog written by hand) what is written may
    # still roll back: the process's memory of its rows is neither used nor changed until
    # that transaction commits.
    trusted = not connections[alias].in_atomic_block
    written, remembered, marks = retrying(
        alias, lambda: _write(alias, increments, method, trusted),
        before_retry=feature_ids.forget)
    transaction.on_commit(lambda: own_rows.remember(alias, remembered, marks,
                                                    int(time.time())), using=alias)
    return written


def _isolate(alias: str, increments: Mapping[Key, Entry], method: str,
             cause: Exception) -> int:
    """Write what can be written of a batch that failed with a data error: feature by
    feature. A failure of another kind stops here: what is left is in
    :class:`WriteIncomplete`."""
    batch_failed("feature-usage stats", cause)
    left = dict(increments)
    parts: dict[FeatureKey, dict[Key, Entry]] = {}
    for key, entry in increments.items():
        parts.setdefault(feature_ids.clip(*key[:3]), {})[key] = entry

    def write_part(item: tuple[FeatureKey, dict[Key, Entry]]) -> int:
        n = _write_retrying(alias, item[1], method)
        for key in item[1]:
            del left[key]
        return n

    def drop_part(item: tuple[FeatureKey, dict[Key, Entry]], exc: Exception) -> None:
        calls = sum(entry[0] for entry in item[1].values())
        rejected_one(rejected, "calls", calls,
                     f"{calls} calls of feature {item[0]!r:.200}", exc)
        for key in item[1]:
            del left[key]

    try:
        return isolate(list(parts.items()), write_part, drop_part)
    except Exception as exc:
        cause_of = exc.__cause__ if isinstance(exc, Stopped) and exc.__cause__ else exc
        raise WriteIncomplete(left, []) from cause_of


def _write(alias: str, increments: Mapping[Key, Entry], method: str, trusted: bool = True,
           ) -> tuple[int, dict[stats_rows.RowKey, stats_rows.Values], dict[int, int]]:
    connection = connections[alias]
    bmp = bmp_only(connection)
    # Per flush, not per entry: a feature's key (a flush holds each feature once a minute),
    # a version's cleaned text and a minute's rows (the same for every feature).
    clipped = {key[:3]: feature_ids.clip(*key[:3], bmp) for key in increments}
    ids = feature_ids.ids_for(alias, set(clipped.values()))
    # Buckets before these are compacted already: a late write (a backlog after an
    # outage) adds to their day and week rows too.
    compacted = compaction.watermarks(alias, share_lock=bool(increments))
    rows: dict[stats_rows.RowKey, stats_rows.Values] = {}  # shared: merged rows, locked
    own: dict[stats_rows.RowKey, stats_rows.Values] = {}  # this process's open rows
    versions: dict[str, str] = {}
    targets: dict[int, list[tuple[int, int, dict[stats_rows.RowKey, stats_rows.Values],
                                  bool]]] = {}
    add = stats_rows.add
    for (feature, kind, service, minute), entry in increments.items():
        feature_id = ids[clipped[(feature, kind, service)]]
        n_plus_one = entry[5] if len(entry) > 5 else 0
        entry_users = entry[6] if len(entry) > 6 else None
        version = ""
        if len(entry) > 7 and entry[7]:
            version = versions.get(entry[7]) or versions.setdefault(
                entry[7], clean_text(entry[7], 64, bmp_only=bmp))
        retries, failed, retried = (entry[8], entry[9], entry[10]) if len(entry) > 10 \
            else (0, 0, 0)
        counters = (entry[0], entry[1], entry[2] // 1000, entry[3] // 1000, n_plus_one,
                    retries, failed, retried)
        spans = targets.get(minute)
        if spans is None:
            spans = targets[minute] = _targets(minute * 60, compacted, rows, own)
        for resolution, bucket, into, life in spans:
            key = (feature_id, resolution, bucket, version)
            values = into.get(key)
            if values is None:
                values = into[key] = stats_rows.new_values()
            add(values, counters, entry[4], entry_users)
            if life and version:  # a late write to a built day: its version's life too
                life_row = rows.get((feature_id, LIFE, 0, version))
                if life_row is None:
                    life_row = rows[(feature_id, LIFE, 0, version)] = stats_rows.new_values()
                add(life_row, counters, entry[4], None)
    generic = method == "orm"
    written, remembered = own_rows.write(alias, own, generic, trusted)
    written += stats_rows.write(alias, rows, generic=generic)
    return written, remembered, compacted


def _targets(start: int, compacted: Mapping[int, int],
             rows: dict[stats_rows.RowKey, stats_rows.Values],
             own: dict[stats_rows.RowKey, stats_rows.Values],
             ) -> list[tuple[int, int, dict[stats_rows.RowKey, stats_rows.Values], bool]]:
    """The rows a minute starting at ``start`` adds to: (resolution, bucket, this process's
    rows or the shared ones, whether a version's life row takes it too). A minute not
    merged yet: this process's minute row alone (the merge adds it to its hour); a merged
    one (a late write): the merged minute and hour rows."""
    spans = []
    merged = start < compacted[MINUTE]  # its minute merged already: a late write
    open_mark = compacted.get(OPEN_DAY, 0)
    for resolution in RESOLUTIONS:
        bucket = start - start % resolution
        if resolution in compaction.COMPACTED and bucket >= compacted[resolution] and not (
                resolution == DAY and start < open_mark and bucket == open_mark - open_mark % DAY):
            continue  # a day or week not compacted yet: built from the hours later
        if resolution == HOUR and not merged:
            continue  # the merge adds the minute to its hour (one row per flush)
        into = own if resolution == MINUTE and not merged else rows
        spans.append((resolution, bucket, into, resolution == DAY and bucket < compacted[DAY]))
    return spans


def record_instrumented(service: str, functions: Sequence[tuple[str, str]], *,
                        using: str | None = None, now: int | None = None) -> int:
    """Record the functions auto-tracing instrumented in a process of ``service``
    (``(name, module)`` pairs): new ones inserted, every one's ``last_seen`` set to now."""
    alias = using or router.db_for_write(InstrumentedFunction)
    check_tables(alias)
    bmp = bmp_only(connections[alias])
    stamp = int(time.time()) if now is None else now
    service = clean_text(service, 128, bmp_only=bmp)
    cleaned = sorted({clean_text(n, 255, bmp_only=bmp): clean_text(m, 255, bmp_only=bmp)
                      for n, m in functions}.items())
    manager = InstrumentedFunction.objects.using(alias)
    with transaction.atomic(using=alias):
        manager.bulk_create([InstrumentedFunction(name=n, module=m, service=service,
                                                  first_seen=stamp, last_seen=stamp)
                             for n, m in cleaned], ignore_conflicts=True, batch_size=500)
        for chunk in chunks(cleaned, 500):
            manager.filter(service=service, name__in=[n for n, _ in chunk]).update(
                last_seen=stamp)
    return len(cleaned)
