"""Day and week rows of :class:`~django_tracekit.storage.usage_models.FeatureStats`, built from
closed hours and days: the flush writes only minute and hour rows (two per feature), long
ranges still read a few rows per feature.

:func:`compact` builds every closed day not built yet from its hour rows (counters summed,
latency histograms and users sketches merged), then every closed week from its days, and
moves the watermarks (:class:`~django_tracekit.storage.usage_models.StatsCompacted`) on. It
holds the watermark rows locked while it builds; a writer reads them under a share lock
(:func:`watermarks`) at the start of its transaction, so a late write (a backlog after an
outage) either lands in the hours before the day is built or sees the new watermark and
adds to the day row too: never lost, never twice. Today's row holds today's closed,
merged hours (added an hour at a time, up to the ``OPEN_DAY`` mark; a late write before
the mark adds to it too) and is built again whole when the day closes. Run from the
flusher (at most every :data:`CHECK_SECONDS` per process, when a day or an hour closed)
and by ``tracekit_prune``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db import connections, transaction

from django_tracekit.core import histogram
from django_tracekit.core.sketch import Users, loads
from django_tracekit.destinations.stats import stats_rows
from django_tracekit.storage.usage_models import (
    DAY,
    HOUR,
    LIFE,
    MINUTE,
    OPEN_DAY,
    WEEK,
    FeatureStats,
    StatsCompacted,
    split_hours,
)
from django_tracekit.storage.writer import chunks, retrying

logger = logging.getLogger("django_tracekit")

COMPACTED = (DAY, WEEK)  # built from the finer resolution below each
_SOURCE = {DAY: HOUR, WEEK: DAY}
CHECK_SECONDS = 600.0
COUNTERS = ("calls", "errors", "duration_sum_us", "duration_max_us", "n_plus_one", "retries",
            "failed_attempts", "retried_tasks")
_next_check: dict[str, float] = {}


def watermarks(alias: str, share_lock: bool = True) -> dict[int, int]:
    """``{DAY: through, WEEK: through}`` (0: nothing built yet), and the minute and hour
    merge watermarks (:mod:`.merging`), read under a share lock inside the caller's
    transaction (in resolution order: every locker takes them in that order)."""
    connection = connections[alias]
    qn = connection.ops.quote_name
    sql = (f"SELECT {qn('resolution')}, {qn('through')} FROM "
           f"{qn(StatsCompacted._meta.db_table)} ORDER BY {qn('resolution')}")
    if share_lock and connection.vendor == "postgresql":
        sql += " FOR SHARE"
    elif share_lock and connection.vendor == "mysql":
        sql += " LOCK IN SHARE MODE"
    found = {OPEN_DAY: 0, MINUTE: 0, HOUR: 0, DAY: 0, WEEK: 0}
    with connection.cursor() as cursor:
        cursor.execute(sql)
        for resolution, through in cursor.fetchall():
            found[int(resolution)] = int(through)
    return found


def maybe_compact(alias: str, now: float | None = None) -> int:
    """:func:`compact` when a day or a merged hour of today closed since the last build
    (checked every :data:`CHECK_SECONDS` per process); never raises (logged at DEBUG)."""
    clock = time.monotonic()
    if _next_check.get(alias, 0.0) > clock:
        return 0
    _next_check[alias] = clock + CHECK_SECONDS
    try:
        today = _today(now)
        with transaction.atomic(using=alias):
            found = watermarks(alias, share_lock=False)
            if found[DAY] >= today and found[OPEN_DAY] >= _open_target(found[MINUTE], today):
                return 0
        return compact(alias, now)
    except Exception:
        logger.debug("tracekit: building day rows failed (tried again later)", exc_info=True)
        return 0


def _today(now: float | None) -> int:
    stamp = int(time.time() if now is None else now)
    return stamp - stamp % DAY


def _open_target(minute_mark: int, today: int) -> int:
    """How far today's day row can hold today's hours: up to the hour the minute watermark
    is in (the hours before it hold all their minutes)."""
    return max(today, minute_mark - minute_mark % HOUR)


def compact(alias: str, now: float | None = None) -> int:
    """Build the closed days and weeks not built yet, and today's closed hours into
    today's row; the rows written."""
    # The watermark rows exist before they are locked.
    for resolution in (OPEN_DAY, MINUTE, *COMPACTED):
        StatsCompacted.objects.using(alias).get_or_create(resolution=resolution)
    return retrying(alias, lambda: _compact(alias, _today(now)))


def _compact(alias: str, today: int) -> int:
    manager = StatsCompacted.objects.using(alias)
    # The minute watermark too (first: every locker takes them in resolution order): a day
    # is built from its hour rows and the minutes not merged into them yet, and no merge
    # moves minutes into hours meanwhile.
    marks = {m.resolution: m for m in manager.select_for_update().filter(
        resolution__in=(OPEN_DAY, MINUTE, *COMPACTED)).order_by("resolution")}
    minute_mark = marks[MINUTE].through
    written = 0
    day = marks[DAY].through
    if not day:
        first = FeatureStats.objects.using(alias).filter(resolution__in=(MINUTE, HOUR)).order_by(
            "bucket_start").values_list("bucket_start", flat=True).first()
        day = today if first is None else first - first % DAY
    while day < today:
        written += _build(alias, DAY, day, minute_mark)
        day += DAY
    marks[DAY].through = max(marks[DAY].through, today)
    marks[DAY].save(using=alias)
    week = marks[WEEK].through - marks[WEEK].through % WEEK
    if not week:
        first = FeatureStats.objects.using(alias).filter(resolution=DAY).order_by(
            "bucket_start").values_list("bucket_start", flat=True).first()
        week = today if first is None else first - first % WEEK
    while week + WEEK <= marks[DAY].through:
        written += _build(alias, WEEK, week, minute_mark)
        week += WEEK
    marks[WEEK].through = max(marks[WEEK].through, week)
    marks[WEEK].save(using=alias)
    # Today's closed hours into today's day row (a fresh row on the first of the day).
    target = _open_target(minute_mark, today)
    start = max(marks[OPEN_DAY].through, today)
    if start < target:
        written += _build(alias, DAY, today, minute_mark, (start, target))
    if marks[OPEN_DAY].through < target:  # (at midnight: no hour of today yet)
        marks[OPEN_DAY].through = target
        marks[OPEN_DAY].save(using=alias)
    return written


def _build(alias: str, resolution: int, start: int, minute_mark: int,
           open_hours: tuple[int, int] | None = None) -> int:
    """(Re)build the ``resolution`` rows of the bucket at ``start`` from the finer rows
    (a day: its hour rows and the minutes not in them yet, :func:`split_hours`).
    ``open_hours``: only today's closed hours ``[first, last)``, added to today's row
    (built afresh when ``first`` is the day's start); no life row takes them."""
    manager = FeatureStats.objects.using(alias)
    merged: dict[tuple[int, str], list[Any]] = {}
    first, last = open_hours or (start, start + resolution)
    sources = split_hours([(_SOURCE[resolution], first, last)], minute_mark)
    for feature_id, version, *rest in (row for source, first, last in sources
                                       for row in manager.filter(
            resolution=source, bucket_start__gte=first, bucket_start__lt=last).values_list(
            "feature_id", "version", *COUNTERS, "latency", "users").iterator(chunk_size=2000)):
        into = merged.get((feature_id, version))
        if into is None:
            into = merged[(feature_id, version)] = [0] * 8 + [{}, None]
        for i in range(8):
            into[i] = max(into[i], rest[i]) if i == 3 else into[i] + rest[i]
        histogram.add(into[8], histogram.unpack(rest[8]))
        if rest[9]:
            try:
                users = loads(bytes(rest[9]))
            except ValueError:
                continue
            if into[9] is None:
                into[9] = Users()
            into[9].update(users)
    if first > start:  # more closed hours of today: added to its row
        return stats_rows.write(alias, {(feature_id, DAY, start, version): values
                                        for (feature_id, version), values in merged.items()})
    manager.filter(resolution=resolution, bucket_start=start).delete()
    rows = [FeatureStats(feature_id=feature_id, resolution=resolution, bucket_start=start,
                         version=version, **dict(zip(COUNTERS, values[:8], strict=True)),
                         latency=histogram.pack(values[8]),
                         users=values[9].dumps() if values[9] is not None else b"")
            for (feature_id, version), values in sorted(merged.items())]
    for chunk in chunks(rows, 500):
        manager.bulk_create(chunk)
    if resolution == DAY and open_hours is None:  # each version's life row takes the day in
        life = {(feature_id, LIFE, 0, version): [*values[:8], values[8], None]
                for (feature_id, version), values in merged.items() if version}
        stats_rows.write(alias, life)
    return len(rows)


def rebuild_life(alias: str, pairs: set[tuple[int, str]]) -> int:
    """Build the life rows of ``(feature id, version)`` pairs again from their built day
    rows (after ``tracekit_prune`` deleted old days); the rows written."""
    if not pairs:
        return 0
    return retrying(alias, lambda: _rebuild_life(alias, sorted(pairs)))


def _rebuild_life(alias: str, pairs: list[tuple[int, str]]) -> int:
    manager = FeatureStats.objects.using(alias)
    through = watermarks(alias, share_lock=False)[DAY]
    written = 0
    for chunk in chunks(pairs, 200):
        features = {f for f, _ in chunk}
        versions = {v for _, v in chunk}
        wanted = set(chunk)
        merged: dict[tuple[int, str], list[Any]] = {}
        for feature_id, version, *rest in manager.filter(
                resolution=DAY, bucket_start__lt=through, feature_id__in=features,
                version__in=versions).values_list(
                "feature_id", "version", *COUNTERS, "latency").iterator(chunk_size=2000):
            if (feature_id, version) not in wanted:
                continue
            into = merged.get((feature_id, version))
            if into is None:
                into = merged[(feature_id, version)] = [0] * 8 + [{}]
            for i in range(8):
                into[i] = max(into[i], rest[i]) if i == 3 else into[i] + rest[i]
            histogram.add(into[8], histogram.unpack(rest[8]))
        for feature_id, version in chunk:
            manager.filter(resolution=LIFE, feature_id=feature_id, version=version).delete()
        rows = [FeatureStats(feature_id=feature_id, resolution=LIFE, bucket_start=0,
                             version=version, **dict(zip(COUNTERS, values[:8], strict=True)),
                             latency=histogram.pack(values[8]))
                for (feature_id, version), values in sorted(merged.items())]
        manager.bulk_create(rows, batch_size=500)
        written += len(rows)
    return written
