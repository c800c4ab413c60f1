"""Merging the process rows of closed minutes (``tracekit_stats.writer`` not 0,
:mod:`.own_rows`) into one row per feature, minute and version (``writer`` 0), and adding
each merged minute to its hour's row: flushes write minute rows only (one row per feature
and flush), so the hour rows are built here, a minute at a time.

Until merged, a key has up to one row per process: every read sums them, so merging
changes no number shown; it keeps the rows per key (and the pages' reads) few. An hour row
holds its minutes before the minute watermark; readers read the minutes from the
watermark on as minute rows (:func:`~django_tracekit.storage.usage_models.split_hours`).
A pass holds the minute watermark row (:class:`~django_tracekit.storage.usage_models.
StatsCompacted`) locked while it merges the minutes from its watermark up to
:data:`MERGE_AFTER` seconds ago, adds them to their hours and moves the watermark on, all
in one transaction. A flush reads the watermarks under a share lock at the start of its
transaction: it wrote into its own minute row before the pass read it, or it sees the new
watermark and adds to the merged minute and hour rows (:mod:`.stats_rows`, under the row
locks): never lost, never twice. (Process hour rows written before migration 0012 are
summed by every read as they are.)

Run by the flusher (one process at a time, at most every :data:`CHECK_SECONDS` per
process) and by ``tracekit_prune``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db import connections

from django_tracekit.core import histogram
from django_tracekit.destinations.stats import stats_rows
from django_tracekit.storage.usage_models import HOUR, MINUTE, FeatureStats, StatsCompacted
from django_tracekit.storage.writer import chunks, retrying

logger = logging.getLogger("django_tracekit")

MERGED = (MINUTE,)
#: A bucket's process rows are merged this long after it ended (a flush of the bucket's
#: last seconds, a few seconds late, still lands in its process's row).
MERGE_AFTER = 2 * MINUTE
#: Buckets merged per transaction (a pass that catches up holds the flushes no longer).
PASS_BUCKETS = {MINUTE: 1}
CHECK_SECONDS = 60.0
_ADVISORY_KEY = 0x7472616365  # "trace": one merging process at a time on PostgreSQL
_next_check: dict[str, float] = {}


def maybe_merge(alias: str, now: float | None = None) -> int:
    """:func:`merge`, at most every :data:`CHECK_SECONDS` per process; never raises."""
    clock = time.monotonic()
    if _next_check.get(alias, 0.0) > clock:
        return 0
    _next_check[alias] = clock + CHECK_SECONDS
    try:
        return merge(alias, now)
    except Exception:
        logger.debug("tracekit: merging stats rows failed (tried again later)", exc_info=True)
        return 0


def merge(alias: str, now: float | None = None) -> int:
    """Merge the closed buckets' process rows; the rows merged away."""
    for resolution in MERGED:  # the watermark rows exist before they are locked
        StatsCompacted.objects.using(alias).get_or_create(resolution=resolution)
    stamp = int(time.time() if now is None else now)
    total = 0
    while True:
        merged, more = retrying(alias, lambda: _pass(alias, stamp))
        total += merged
        if not more:
            return total


def _pass(alias: str, now: int) -> tuple[int, bool]:
    connection = connections[alias]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_ADVISORY_KEY])
            if not cursor.fetchone()[0]:
                return 0, False  # another process merges
    marks = {m.resolution: m for m in StatsCompacted.objects.using(alias).select_for_update()
             .filter(resolution__in=MERGED).order_by("resolution")}
    merged, more = 0, False
    for resolution in MERGED:
        mark = marks[resolution]
        cutoff = (now - MERGE_AFTER) // resolution * resolution
        start = mark.through or _first_own(alias, resolution, cutoff)
        end = min(cutoff, start + PASS_BUCKETS[resolution] * resolution)
        if start < end:
            merged += _merge_range(alias, resolution, start, end)
            more = more or end < cutoff
        if end > mark.through:
            mark.through = end
            mark.save(using=alias, update_fields=["through"])
    return merged, more


def _first_own(alias: str, resolution: int, cutoff: int) -> int:
    """Where merging starts without a watermark (tables emptied): the first row (no
    minute is in its hour's row yet)."""
    first = FeatureStats.objects.using(alias).filter(resolution=resolution).order_by(
        "bucket_start").values_list("bucket_start", flat=True).first()
    return cutoff if first is None else int(first)


def _merge_range(alias: str, resolution: int, start: int, end: int) -> int:
    manager = FeatureStats.objects.using(alias)
    groups: dict[tuple[int, int, str], list[tuple[Any, ...]]] = {}
    for row in manager.filter(resolution=resolution, bucket_start__gte=start,
                              bucket_start__lt=end).values_list(
            "id", "feature_id", "bucket_start", "version", "writer", *stats_rows.COUNTERS,
            "latency", "users").iterator(chunk_size=5000):
        groups.setdefault((row[1], row[2], row[3]), []).append(row)
    relabel: list[int] = []  # a key's only row: it becomes the merged row as it is
    gone: list[int] = []
    rows: list[FeatureStats] = []
    # What the minutes add to their hours' rows (flushes write no hour row; see store).
    hours: dict[stats_rows.RowKey, stats_rows.Values] = {}
    for (feature_id, bucket, version), found in sorted(groups.items()):
        hour_key = (feature_id, HOUR, bucket - bucket % HOUR, version)
        into = hours.get(hour_key)
        if into is None:
            into = hours[hour_key] = stats_rows.new_values()
        if len(found) == 1:
            row = found[0]
            if row[4]:
                relabel.append(row[0])
            stats_rows.add(into, row[5:13], histogram.unpack(row[13]),
                           stats_rows.users_of(row[14]))
            continue
        merged = stats_rows.new_values()
        for row in found:
            gone.append(row[0])
            stats_rows.add(merged, row[5:13], histogram.unpack(row[13]),
                           stats_rows.users_of(row[14]))
        stats_rows.add(into, merged[:8], merged[8], merged[9])
        rows.append(FeatureStats(
            feature_id=feature_id, resolution=resolution, bucket_start=bucket,
            version=version, **dict(zip(stats_rows.COUNTERS, merged[:8], strict=True)),
            latency=histogram.pack(merged[8]),
            users=merged[9].dumps() if merged[9] is not None else b""))
    for chunk in chunks(relabel, 500):
        manager.filter(id__in=chunk).update(writer=0)
    for chunk in chunks(gone, 500):
        manager.filter(id__in=chunk).delete()
    manager.bulk_create(rows, batch_size=500)
    stats_rows.write(alias, hours)  # the hour rows, under their row locks
    return len(gone) - len(rows)
