"""The stats rows a window covers, and their totals per feature (every usage page reads them).

Minute and hour rows of :class:`~django_tracekit.storage.usage_models.FeatureStats` are
written by every flush; day and week rows are built from closed hours and days
(:mod:`django_tracekit.destinations.stats.compaction`) up to their watermark
(:class:`~django_tracekit.storage.usage_models.StatsCompacted`): past it a window is read
from the hours. Per bucket (charts) the window's own resolution (hours where days are not
built yet); for totals and percentiles the coarsest rows that add up to the whole window,
one query per span (each one index range: an OR of ranges makes PostgreSQL scan the table).
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator
from typing import Any, cast

from django.db import connections, router
from django.db.models import Max, Min, QuerySet, Sum

from django_tracekit.core import histogram
from django_tracekit.pages.shared.window import Window, cover
from django_tracekit.storage.usage_models import (
    DAY,
    HOUR,
    MINUTE,
    OPEN_DAY,
    RESOLUTIONS,
    WEEK,
    Feature,
    FeatureStats,
    StatsCompacted,
    split_hours,
)


def watermarks() -> tuple[int, int]:
    """(days built before, weeks built before): epoch seconds, 0 when none."""
    found = marks()
    return found.get(DAY, 0), found.get(WEEK, 0)


def marks() -> dict[int, int]:
    """{resolution: through} of every watermark (days and weeks built, minutes merged
    into their hours' rows)."""
    return {int(r): int(t) for r, t in StatsCompacted.objects.values_list(
        "resolution", "through")}


def widen_version_spans(rows: QuerySet[FeatureStats], resolution: int,
                        into: dict[str, tuple[int, int]]) -> None:
    """Widen ``into[version]`` to the first and last bucket ``rows`` hold of each version,
    floored to ``resolution`` (rows of finer buckets count as the bucket they fall in)."""
    for version, lo, hi in rows.values("version").annotate(
            lo=Min("bucket_start"), hi=Max("bucket_start")).values_list("version", "lo", "hi"):
        lo, hi = lo - lo % resolution, hi - hi % resolution
        before = into.get(version)
        into[version] = (lo, hi) if before is None else (min(before[0], lo), max(before[1], hi))


def stats_cover(start: int, end: int, finest: int, open_end: bool,
                resolutions: tuple[int, ...] = RESOLUTIONS) -> list[tuple[int, int, int]]:
    """Like :func:`django_tracekit.pages.shared.window.cover`, with days and weeks only where
    they are built."""
    if start >= end:
        return []
    found = marks()
    day_through = found.get(DAY, 0)
    # Today's row holds its closed hours (OPEN_DAY): read as one row where the range
    # covers them all.
    open_mark = found.get(OPEN_DAY, 0)
    open_day = open_mark - open_mark % DAY
    if DAY in resolutions and max(start, day_through) <= open_day < open_mark <= end:
        hours = tuple(r for r in resolutions if r in (MINUTE, HOUR))
        return split_hours([*_spans(start, open_day, finest, False, resolutions, found),
                            (DAY, open_day, open_day + DAY),
                            *_spans(open_mark, end, finest, open_end, hours, found)],
                           found.get(MINUTE, 0))
    return split_hours(_spans(start, end, finest, open_end, resolutions, found),
                       found.get(MINUTE, 0))


def _spans(start: int, end: int, finest: int, open_end: bool, resolutions: tuple[int, ...],
           found: dict[int, int]) -> list[tuple[int, int, int]]:
    """:func:`stats_cover` before :func:`split_hours`, without the open day's row."""
    day_through, week_through = found.get(DAY, 0), found.get(WEEK, 0)
    cut_weeks = min(max(start, week_through), end)
    cut_days = min(max(cut_weeks, day_through), end)
    spans: list[tuple[int, int, int]] = []
    pieces = ((start, cut_weeks, resolutions),
              (cut_weeks, cut_days, tuple(r for r in resolutions if r != WEEK)),
              (cut_days, end, tuple(r for r in resolutions if r in (MINUTE, HOUR))))
    for first, last, allowed in pieces:
        if first < last and allowed:
            finest_here = min(finest, max(allowed)) if finest not in allowed else finest
            spans += cover(first, last, finest_here, open_end and last == end, allowed)
    return spans


def covering_rows(window: Window, resolutions: tuple[int, ...] = RESOLUTIONS,
                  ) -> Iterator[QuerySet[FeatureStats]]:
    """Rows that add up to the whole window, the coarsest there are (totals, percentiles)."""
    for resolution, first, last in stats_cover(window.start, window.end, window.resolution,
                                               window.open_end, resolutions):
        yield cast("QuerySet[FeatureStats]", FeatureStats.objects.filter(
            resolution=resolution, bucket_start__gte=first, bucket_start__lt=last))


def point_spans(window: Window) -> list[tuple[int, int, int]]:
    """``(resolution, start, end)`` of the rows whose ``bucket_start`` (rounded down to the
    window's resolution) is a point of the window: the window's own rows, and hours for
    the days not built yet (and, for hours, the minutes not in them yet:
    :func:`~django_tracekit.storage.usage_models.split_hours`)."""
    found = marks()
    if window.resolution != DAY:
        return split_hours([(window.resolution, window.start, window.end)],
                           found.get(MINUTE, 0))
    cut = min(max(window.start, found.get(DAY, 0)), window.end)
    return split_hours([span for span in ((DAY, window.start, cut), (HOUR, cut, window.end))
                        if span[1] < span[2]], found.get(MINUTE, 0))


def per_point(window: Window) -> Iterator[QuerySet[FeatureStats]]:
    """The rows of :func:`point_spans`."""
    for resolution, first, last in point_spans(window):
        yield cast("QuerySet[FeatureStats]", FeatureStats.objects.filter(
            resolution=resolution, bucket_start__gte=first, bucket_start__lt=last))


FEW_FEATURES = 100


def point_sums(window: Window, features: QuerySet[Feature] | None,
               ) -> Iterator[tuple[int, int, int]]:
    """``(bucket start, calls, errors)`` summed per stored bucket of :func:`point_spans`
    (of ``features``). On SQLite, for more than :data:`FEW_FEATURES`, the feature test is
    kept off the indexes (``+``): else it reads every row through the unique index and the
    table, not the range of the covering index alone (twice the time of a 7-day chart of
    hundreds of features; for a few, the unique index is the shorter way)."""
    alias = router.db_for_read(FeatureStats)
    connection = connections[alias]
    qn = connection.ops.quote_name
    sql = (f"SELECT {qn('bucket_start')}, SUM({qn('calls')}), SUM({qn('errors')}) FROM "
           f"{qn(FeatureStats._meta.db_table)} WHERE {qn('resolution')} = %s AND "
           f"{qn('bucket_start')} >= %s AND {qn('bucket_start')} < %s")
    extra: list[Any] = []
    if features is not None:
        sub_sql, sub_params = features.values("id").query.get_compiler(using=alias).as_sql()
        plus = "+" if connection.vendor == "sqlite" and features.count() > FEW_FEATURES \
            else ""
        sql += f" AND {plus}{qn('feature_id')} IN ({sub_sql})"
        extra.extend(sub_params)
    sql += f" GROUP BY {qn('bucket_start')}"
    for resolution, first, last in point_spans(window):
        with connection.cursor() as cursor:
            cursor.execute(sql, [resolution, first, last, *extra])
            yield from cursor.fetchall()


def merged(rows: Iterable[tuple[Any, bytes | memoryview | None]],
           ) -> dict[Any, histogram.Merged]:
    """``(key, packed latency)`` rows merged per key (several rows of one key and bucket
    too: a write path may keep one per process until they are merged)."""
    return histogram.merge_rows(rows)


def merged_latency(rows: Iterable[tuple[Any, bytes | memoryview | None]],
                   ) -> dict[Any, list[tuple[int, int]]]:
    """{key: [(bucket, count), ...]} of ``(key, packed latency)`` rows, merged per key."""
    return {key: hist.sparse() for key, hist in merged(rows).items()}


def rows_sql(connection: Any, columns: str, where: str, *after: str) -> str:
    """``SELECT columns FROM tracekit_stats WHERE where [AND after...]`` (``after``: tests
    of columns no index has, placeholders after those of ``where``). On SQLite the rows
    are found first (their ids, from an index alone) and then read in table order: the
    columns the covering index lacks (histograms, sketches) cost a table lookup per row, a
    third less in order than in the index's (bucket, feature) order."""
    qn = connection.ops.quote_name
    table = qn(FeatureStats._meta.db_table)
    tests = "".join(f" AND {test}" for test in after)
    if connection.vendor == "sqlite":
        return (f"SELECT {columns} FROM {table} WHERE {qn('id')} IN "
                f"(SELECT {qn('id')} FROM {table} WHERE {where}){tests}")
    return f"SELECT {columns} FROM {table} WHERE {where}{tests}"


COUNTERS = ("calls", "errors", "duration_sum_us", "duration_max_us", "n_plus_one", "retries",
            "failed_attempts", "retried_tasks")


def raw_rows(window: Window, columns: tuple[str, ...], ids: list[int] | None = None,
             resolutions: tuple[int, ...] = RESOLUTIONS, table_order: bool = True,
             ) -> Iterator[tuple[Any, ...]]:
    """``(feature id, *columns)`` of the rows that add up to the whole window (those of
    ``ids`` only, when given), through a plain cursor: tens of thousands of small rows,
    where the ORM's per-row work would be most of the page's time. ``table_order``: read
    as :func:`rows_sql` does (for columns the covering index lacks); else a plain read."""
    connection = connections[router.db_for_read(FeatureStats)]
    qn = connection.ops.quote_name
    selected = ", ".join(qn(c) for c in ("feature_id", *columns))
    table = qn(FeatureStats._meta.db_table)
    where = f"{qn('resolution')} = %s AND {qn('bucket_start')} >= %s AND {qn('bucket_start')} < %s"
    chunks: list[list[int] | None] = [None] if ids is None else [
        ids[i:i + 500] for i in range(0, len(ids), 500)]
    for resolution, first, last in stats_cover(window.start, window.end, window.resolution,
                                               window.open_end, resolutions):
        for chunk in chunks:
            query, values = where, [resolution, first, last]
            if chunk is not None:
                query += f" AND {qn('feature_id')} IN ({', '.join(['%s'] * len(chunk))})"
                values.extend(chunk)
            with connection.cursor() as cursor:
                cursor.execute(rows_sql(connection, selected, query) if table_order else
                               f"SELECT {selected} FROM {table} WHERE {query}", values)
                yield from cursor.fetchall()


def totals_and_latency(window: Window, wanted: Container[int] | None = None,
                       ) -> tuple[dict[int, tuple[int, ...]], dict[int, histogram.Merged]]:
    """:func:`window_totals` of every feature and the merged latency of those ``wanted``
    (all: ``None``) in one pass over the window's rows (when every listed feature's
    percentiles are wanted: one read of each row, summed here, instead of a grouped query
    and a second read)."""
    sums: dict[int, list[int]] = {}
    latency: list[tuple[int, bytes]] = []
    for fid, c, e, s, m, n, r, f, t, data in raw_rows(window, (*COUNTERS, "latency")):
        into = sums.get(fid)  # _sum_rows inlined (its latency aside): tens of thousands
        if into is None:
            sums[fid] = [c, e, s, m, n, r, f, t]
        else:
            into[0] += c
            into[1] += e
            into[2] += s
            if m > into[3]:
                into[3] = m
            into[4] += n
            into[5] += r
            into[6] += f
            into[7] += t
        if c and data and (wanted is None or fid in wanted):
            latency.append((fid, data))
    return {fid: tuple(v) for fid, v in sums.items()}, histogram.merge_rows(latency)


def window_totals(window: Window, features: QuerySet[Feature] | None,
                  ) -> dict[int, tuple[int, ...]]:
    """{feature id: (calls, errors, duration sum, max, N+1, retries, failed attempts, retried
    tasks)} over the window."""
    if features is None and connections[router.db_for_read(FeatureStats)].vendor == "sqlite":
        # SQLite groups by feature through a sort of every row (or a table read per row):
        # the covering index read in order and summed here costs about a third less.
        return _sum_rows(raw_rows(window, COUNTERS, table_order=False))
    totals: dict[int, tuple[int, ...]] = {}
    for usage in covering_rows(window):
        if features is not None:
            usage = usage.filter(feature__in=features)
        for fid, c, e, s, m, n, r, f, t in usage.values("feature_id").annotate(
                c=Sum("calls"), e=Sum("errors"), s=Sum("duration_sum_us"),
                m=Max("duration_max_us"), n=Sum("n_plus_one"), r=Sum("retries"),
                f=Sum("failed_attempts"), t=Sum("retried_tasks")).values_list(
                "feature_id", "c", "e", "s", "m", "n", "r", "f", "t"):
            before = totals.get(fid)
            totals[fid] = (c, e, s, m, n, r, f, t) if before is None else (
                before[0] + c, before[1] + e, before[2] + s, max(before[3], m), before[4] + n,
                before[5] + r, before[6] + f, before[7] + t)
    return totals


def _sum_rows(rows: Iterable[Any]) -> dict[int, tuple[int, ...]]:
    """``(feature id, *COUNTERS)`` rows summed per feature (the maximum of the maxima)."""
    sums: dict[int, list[int]] = {}
    for fid, c, e, s, m, n, r, f, t in rows:
        into = sums.get(fid)
        if into is None:
            sums[fid] = [c, e, s, m, n, r, f, t]
            continue
        into[0] += c
        into[1] += e
        into[2] += s
        if m > into[3]:
            into[3] = m
        into[4] += n
        into[5] += r
        into[6] += f
        into[7] += t
    return {fid: tuple(v) for fid, v in sums.items()}
