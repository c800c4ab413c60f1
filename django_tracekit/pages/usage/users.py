"""Distinct users per feature: the users sketches of a window merged (HyperLogLog,
:mod:`django_tracekit.core.sketch`), and the 30/90-day presets' pre-merged unions
(``RangeUsers``, built daily by ``tracekit_prune``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import connections, router, transaction

from django_tracekit.core import sketch
from django_tracekit.pages.shared.usage_rows import per_point, rows_sql, stats_cover
from django_tracekit.pages.shared.window import Window, window_from
from django_tracekit.storage.usage_models import (
    DAY,
    RANGE_DAYS,
    SKETCH_RESOLUTIONS,
    FeatureStats,
    RangeUsers,
)


def users_by_feature(window: Window, feature_ids: Iterable[int] | None,
                     version: str | None = None) -> dict[int, int]:
    """Distinct users per feature over the whole window (its sketches merged: the coarsest
    buckets that add up to it, weeks included; for the 30/90-day presets the union of the
    whole days before today, when ``tracekit_prune`` built it today, and today's row)."""
    ids = None if feature_ids is None else list(feature_ids)
    unions = _user_unions(window, ids, version)
    return {fid: union.estimate() for fid, union in unions.items()}


def _user_unions(window: Window, ids: list[int] | None, version: str | None = None,
                 prebuilt: bool = True) -> dict[int, sketch.Union]:
    merged: dict[int, sketch.Union] = {}
    # A plain cursor: tens of thousands of small rows; the ORM's per-row work would double
    # the page time (the query is the one the ORM would build, see the index it uses).
    connection = connections[router.db_for_read(FeatureStats)]
    qn = connection.ops.quote_name
    chunks: list[list[int] | None] = [None] if ids is None else [
        ids[i:i + 500] for i in range(0, len(ids), 500)]

    def read(sql: str | None, where: str, params: list[Any]) -> None:
        """Rows of ``sql`` (or of ``tracekit_stats`` when None: :func:`rows_sql`)."""
        for chunk in chunks:
            query, values = where, list(params)
            if chunk is not None:
                if not chunk:
                    continue
                query += f" AND {qn('feature_id')} IN ({', '.join(['%s'] * len(chunk))})"
                values.extend(chunk)
            with connection.cursor() as cursor:
                cursor.execute(rows_sql(connection, f"{qn('feature_id')}, {qn('users')}", query,
                                        f"{qn('users')} <> %s")
                               if sql is None else f"{sql} WHERE {query}",
                               values if sql is not None else [*values, b""])
                for fid, data in cursor.fetchall():
                    if not data:
                        continue
                    union = merged.get(fid)
                    if union is None:
                        union = merged[fid] = sketch.Union()
                    union.add(data if isinstance(data, bytes) else bytes(data))

    spans = stats_cover(window.start, window.end, window.resolution, window.open_end,
                        SKETCH_RESOLUTIONS)
    preset = _preset_days(window)
    if prebuilt and version is None and preset is not None:
        days, today = preset
        ranges = RangeUsers.objects.filter(days=days, day_start=today)
        if ranges.exists():
            read(f"SELECT {qn('feature_id')}, {qn('sketch')} FROM "
                 f"{qn(RangeUsers._meta.db_table)}",
                 f"{qn('days')} = %s AND {qn('day_start')} = %s", [days, today])
            # Around the union: the hours before its first day (7 days: hour buckets)
            # and today.
            spans = [*stats_cover(window.start, _first_day(days, today), window.resolution,
                                  False, SKETCH_RESOLUTIONS),
                     *stats_cover(today, window.end, window.resolution, window.open_end,
                                  SKETCH_RESOLUTIONS)]
    # (Rows without a users sketch, most of them, are left out: rows_sql's test.)
    where = (f"{qn('resolution')} = %s AND {qn('bucket_start')} >= %s AND "
             f"{qn('bucket_start')} < %s")
    extra: list[Any] = []
    if version is not None:
        where += f" AND {qn('version')} = %s"
        extra.append(version)
    for resolution, start, end in spans:
        read(None, where, [resolution, start, end, *extra])
    return merged


def _preset_days(window: Window) -> tuple[int, int] | None:
    """(days, start of today) for the presets whose users are prebuilt (a range reaching
    now), else None. Their whole days before today are the same all day long."""
    days = (window.end - window.start) // DAY
    if window.open_end and days in RANGE_DAYS and window.key == f"{days}d" \
            and (window.end - window.start) % DAY == 0:
        last = window.end - 1  # in today (an hour-bucket window ends with the current hour)
        return days, last - last % DAY
    return None


def _first_day(days: int, today: int) -> int:
    """The first whole day of a ``days``-day preset that ends today."""
    return today - (days - 1) * DAY


def build_range_users(now: float | None = None) -> int:
    """Pre-merge, per feature, the users of the whole days the 7/30/90-day presets cover
    before today (run daily by ``tracekit_prune``); older builds are deleted."""
    written = 0
    for days in RANGE_DAYS:
        window = window_from({"range": f"{days}d"}, now=now)
        preset = _preset_days(window)
        assert preset is not None
        today = preset[1]
        closed = Window("custom", _first_day(days, today), today, DAY, "")
        unions = _user_unions(closed, None, prebuilt=False)
        rows = [RangeUsers(feature_id=fid, days=days, day_start=today, sketch=union.dumps())
                for fid, union in sorted(unions.items())]
        with transaction.atomic(using=router.db_for_write(RangeUsers)):
            RangeUsers.objects.filter(days=days).delete()
            RangeUsers.objects.bulk_create(rows, batch_size=500)
        written += len(rows)
    return written


def fill_users(window: Window, rows: list[dict[str, Any]]) -> None:
    todo = [r for r in rows if r["users"] is None]
    if not todo:
        return
    ids = None if len(todo) > 500 else [r["id"] for r in todo if r["calls"]]
    found = users_by_feature(window, ids) if ids is None or ids else {}
    for row in todo:
        row["users"] = found.get(row["id"], 0)


def users_over_time(window: Window, feature_id: int) -> list[tuple[int, int]]:
    """(bucket start, distinct users) for every bucket of the window."""
    merged: dict[int, sketch.Union] = defaultdict(sketch.Union)
    for rows in per_point(window):
        for start, data in rows.filter(feature_id=feature_id).exclude(users=b"").values_list(
                "bucket_start", "users"):
            merged[start - start % window.resolution].add(bytes(data))
    return [(t, merged[t].estimate() if t in merged else 0) for t in window.points]

