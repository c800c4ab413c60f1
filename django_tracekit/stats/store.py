"""Writing increments: many processes on many hosts add to the same rows, nothing lost.

Each flush is one transaction (all or nothing, so a retried flush never counts twice):

1. features: ``bulk_create(ignore_conflicts=True)`` then a lookup of the ids (cached per
   process for an hour);
2. counters at minute, hour and day resolution (the rollup happens here, at write time):
   duplicate keys are summed in Python first (an upsert statement must not touch a row
   twice), rows are sorted by key (every writer locks rows in the same order: no deadlock
   between two flushes), and written in chunks by an upsert that *adds*:

   PostgreSQL / SQLite (3.24+)::

       INSERT INTO tracekit_usage (feature_id, resolution, bucket_start, calls, ...)
       VALUES (...), (...)
       ON CONFLICT (feature_id, resolution, bucket_start) DO UPDATE SET
         calls = tracekit_usage.calls + excluded.calls, ...,
         duration_max_us = GREATEST(tracekit_usage.duration_max_us, excluded.duration_max_us)
         -- SQLite: MAX(a, b)

   MySQL / MariaDB::

       INSERT INTO tracekit_usage (...) VALUES (...), (...)
       ON DUPLICATE KEY UPDATE calls = calls + VALUES(calls), ...,
         duration_max_us = GREATEST(duration_max_us, VALUES(duration_max_us))

   Other backends: per row ``UPDATE ... SET calls = calls + %s`` (atomic in every
   database), and ``INSERT`` in a savepoint when no row exists yet (a concurrent insert's
   IntegrityError falls back to the UPDATE).
   The histogram (``tracekit_latency``) is one row per non-empty bucket, merged the same way.
3. recent errors: inserted, then trimmed to the newest :data:`ERRORS_KEPT` per feature.

Django's ``bulk_create(update_conflicts=True)`` cannot express ``n = n + excluded.n``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import IntegrityError, OperationalError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Value
from django.db.models.functions import Greatest

from django_tracekit.models import (
    DAY,
    HOUR,
    MINUTE,
    ErrorSample,
    Feature,
    LatencyBucket,
    UsageBucket,
)
from django_tracekit.stats.processor import Entry, Key
from django_tracekit.stats.processor import ErrorSample as ErrorSampleData

ERRORS_KEPT = 20  # per feature
_ID_CACHE_SECONDS = 3600
_RETRIES = 3

FeatureKey = tuple[str, str, str]
_feature_ids: dict[tuple[str, FeatureKey], int] = {}
_feature_ids_since = time.monotonic()


def clear_cache() -> None:
    global _feature_ids_since
    _feature_ids.clear()
    _feature_ids_since = time.monotonic()


def _clip(feature: str, kind: str, service: str) -> FeatureKey:
    return feature[:255], kind, service[:128]


def write(increments: Mapping[Key, Entry], errors: Sequence[ErrorSampleData] = (), *,
          using: str | None = None, method: str = "auto") -> int:
    """Add ``increments`` (and store ``errors``); returns the number of rows written.

    ``method``: "auto" (the vendor's upsert), or "orm" (the generic fallback).
    """
    alias = using or router.db_for_write(UsageBucket)
    if time.monotonic() - _feature_ids_since > _ID_CACHE_SECONDS:
        clear_cache()
    attempt = 0
    while True:
        attempt += 1
        try:
            with transaction.atomic(using=alias):
                return _write(alias, increments, errors, method)
        except IntegrityError:
            # A feature pruned while its id was cached here: look the ids up again.
            clear_cache()
            if attempt >= _RETRIES:
                raise
        except OperationalError:
            # Deadlock (MySQL 1213), lock wait or SQLite "database is locked": the
            # transaction rolled back whole, so trying again cannot count twice.
            if attempt >= _RETRIES:
                raise
            time.sleep(0.05 * attempt)


def _write(alias: str, increments: Mapping[Key, Entry], errors: Sequence[ErrorSampleData],
           method: str) -> int:
    keys = {_clip(f, k, s) for (f, k, s, _) in increments}
    keys.update(_clip(e.feature, e.kind, e.service) for e in errors)
    ids = _ids_for(alias, keys)

    usage: dict[tuple[int, int, int], list[int]] = {}
    latency: dict[tuple[int, int, int, int], int] = {}
    for (feature, kind, service, minute), entry in increments.items():
        feature_id = ids[_clip(feature, kind, service)]
        start = minute * 60
        calls, errs, sum_ns, max_ns, hist = entry
        for resolution in (MINUTE, HOUR, DAY):
            bucket = start - start % resolution
            row = usage.get((feature_id, resolution, bucket))
            if row is None:
                usage[(feature_id, resolution, bucket)] = [calls, errs, sum_ns, max_ns]
            else:
                row[0] += calls
                row[1] += errs
                row[2] += sum_ns
                row[3] = max(row[3], max_ns)
            for index, n in hist.items():
                lkey = (feature_id, resolution, bucket, index)
                latency[lkey] = latency.get(lkey, 0) + n
    usage_rows = [(*key, v[0], v[1], v[2] // 1000, v[3] // 1000)
                  for key, v in sorted(usage.items())]
    latency_rows = [(*key, n) for key, n in sorted(latency.items())]

    connection = connections[alias]
    vendor = _upsert_vendor(connection) if method == "auto" else "orm"
    if vendor == "orm":
        _orm_add(alias, UsageBucket, ("feature_id", "resolution", "bucket_start"),
                 ("calls", "errors", "duration_sum_us"), ("duration_max_us",), usage_rows)
        _orm_add(alias, LatencyBucket, ("feature_id", "resolution", "bucket_start", "bin"),
                 ("n",), (), latency_rows)
    else:
        _upsert(connection, vendor, UsageBucket._meta.db_table,
                ("feature_id", "resolution", "bucket_start"),
                ("calls", "errors", "duration_sum_us"), ("duration_max_us",), usage_rows)
        _upsert(connection, vendor, LatencyBucket._meta.db_table,
                ("feature_id", "resolution", "bucket_start", "bin"), ("n",), (), latency_rows)
    written = len(usage_rows) + len(latency_rows)
    if errors:
        written += _store_errors(alias, ids, errors)
    return written


def _upsert_vendor(connection: BaseDatabaseWrapper) -> str:
    vendor = connection.vendor
    if vendor == "sqlite" and sqlite3.sqlite_version_info < (3, 24):
        return "orm"
    return vendor if vendor in ("postgresql", "sqlite", "mysql") else "orm"


def _ids_for(alias: str, keys: Iterable[FeatureKey]) -> dict[FeatureKey, int]:
    ids: dict[FeatureKey, int] = {}
    missing: list[FeatureKey] = []
    for key in keys:
        cached = _feature_ids.get((alias, key))
        if cached is None:
            missing.append(key)
        else:
            ids[key] = cached
    if not missing:
        return ids
    missing.sort()
    manager = Feature.objects.using(alias)
    manager.bulk_create([Feature(name=n, kind=k, service=s) for n, k, s in missing],
                        ignore_conflicts=True, batch_size=500)
    found: dict[FeatureKey, int] = {}
    folded: dict[FeatureKey, int] = {}
    for start in range(0, len(missing), 500):
        names = {n for n, _, _ in missing[start:start + 500]}
        for pk, name, kind, service in manager.filter(name__in=names).values_list(
                "id", "name", "kind", "service"):
            found[(name, kind, service)] = pk
            folded[_fold((name, kind, service))] = pk
    for key in missing:
        # MySQL's default collations compare case- and trailing-space-insensitively: the
        # row that exists may be spelled differently; it is the same feature there.
        pk = found.get(key) or folded[_fold(key)]
        ids[key] = pk
        _feature_ids[(alias, key)] = pk
    return ids


def _fold(key: FeatureKey) -> FeatureKey:
    return key[0].casefold().rstrip(), key[1], key[2].casefold().rstrip()


def _chunks(rows: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _upsert(connection: BaseDatabaseWrapper, vendor: str, table: str, key_columns: Sequence[str],
            add_columns: Sequence[str], max_columns: Sequence[str],
            rows: Sequence[tuple[int, ...]]) -> None:
    if not rows:
        return
    qn = connection.ops.quote_name
    t = qn(table)
    columns = [*key_columns, *add_columns, *max_columns]
    column_list = ", ".join(qn(c) for c in columns)
    if vendor == "mysql":
        sets = [f"{qn(c)} = {qn(c)} + VALUES({qn(c)})" for c in add_columns]
        sets += [f"{qn(c)} = GREATEST({qn(c)}, VALUES({qn(c)}))" for c in max_columns]
        suffix = " ON DUPLICATE KEY UPDATE " + ", ".join(sets)
    else:
        greatest = "MAX" if vendor == "sqlite" else "GREATEST"
        sets = [f"{qn(c)} = {t}.{qn(c)} + excluded.{qn(c)}" for c in add_columns]
        sets += [f"{qn(c)} = {greatest}({t}.{qn(c)}, excluded.{qn(c)})" for c in max_columns]
        conflict = ", ".join(qn(c) for c in key_columns)
        suffix = f" ON CONFLICT ({conflict}) DO UPDATE SET " + ", ".join(sets)
    # SQLite builds before 3.32 allow 999 parameters per statement.
    size = max(1, 999 // len(columns)) if vendor == "sqlite" else 500
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, size):
            sql = (f"INSERT INTO {t} ({column_list}) VALUES "
                   + ", ".join([row_sql] * len(chunk)) + suffix)
            cursor.execute(sql, [value for row in chunk for value in row])


def _orm_add(alias: str, model: Any, key_columns: Sequence[str], add_columns: Sequence[str],
             max_columns: Sequence[str], rows: Sequence[tuple[int, ...]]) -> None:
    """The portable fallback: an atomic ``UPDATE ... SET n = n + %s``, else an INSERT."""
    manager = model._default_manager.using(alias)
    for row in rows:
        key = dict(zip(key_columns, row[:len(key_columns)], strict=True))
        values = row[len(key_columns):]
        adds = dict(zip(add_columns, values[:len(add_columns)], strict=True))
        maxes = dict(zip(max_columns, values[len(add_columns):], strict=True))
        update: dict[str, Any] = {c: F(c) + v for c, v in adds.items()}
        update.update({c: Greatest(F(c), Value(v)) for c, v in maxes.items()})
        if manager.filter(**key).update(**update):
            continue
        try:
            with transaction.atomic(using=alias):
                manager.create(**key, **adds, **maxes)
        except IntegrityError:  # another process inserted it first: add to theirs
            manager.filter(**key).update(**update)


def _store_errors(alias: str, ids: Mapping[FeatureKey, int],
                  errors: Sequence[ErrorSampleData]) -> int:
    rows = [ErrorSample(
        feature_id=ids[_clip(e.feature, e.kind, e.service)], time=e.time_ns // 1000,
        type=e.type[:255], message=e.message, stacktrace=e.stacktrace, trace_id=e.trace_id[:32],
        span_id=e.span_id[:16], stack_span_id=e.stack_span_id[:16]) for e in errors]
    manager = ErrorSample.objects.using(alias)
    manager.bulk_create(rows, batch_size=100)
    for feature_id in sorted({row.feature_id for row in rows}):
        stale = list(manager.filter(feature_id=feature_id).order_by("-time", "-id")
                     .values_list("id", flat=True)[ERRORS_KEPT:ERRORS_KEPT + 1000])
        if stale:
            manager.filter(id__in=stale).delete()
    return len(rows)
