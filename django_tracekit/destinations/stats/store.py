"""Writing increments: many processes on many hosts add to the same rows, nothing lost.

Each flush is one transaction (all or nothing, so a retried flush never counts twice):

1. features: ``bulk_create(ignore_conflicts=True)`` then a lookup of the ids (cached per
   process for an hour);
2. counters at minute, hour, day and week resolution (the rollup happens here, at write time):
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

The skeleton is :mod:`django_tracekit.storage.writer`'s: before writing the tables must exist
(until ``migrate`` :func:`write` raises :class:`TablesMissing`, quietly waited out); a
transaction that rolled back because of another writer (deadlock, lock wait) or of a stale
cached feature id (``IntegrityError``) is tried again whole; every text is made storable
on every backend. A batch that still fails with a data error is isolated: the counters
without the error samples, then feature by feature, then sample by sample, each in its own
transaction; only what fails alone is dropped, counted in :data:`rejected` and logged.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence

from django.db import IntegrityError, connections, router, transaction

from django_tracekit.core.sketch import Users, loads
from django_tracekit.destinations.stats import feature_ids
from django_tracekit.destinations.stats.records import (
    Entry,
    FeatureKey,
    Key,
    WriteIncomplete,
)
from django_tracekit.destinations.stats.records import ErrorSample as ErrorSampleData
from django_tracekit.storage import timeouts
from django_tracekit.storage.usage_models import (
    RESOLUTIONS,
    SKETCH_RESOLUTIONS,
    VERSION_RESOLUTIONS,
    ErrorSample,
    Feature,
    InstrumentedFunction,
    LatencyBucket,
    UsageBucket,
    UserSketch,
    VersionLatency,
    VersionUsage,
)
from django_tracekit.storage.writer import (
    DATA_ERRORS,
    Stopped,
    TableCheck,
    TablesMissing,
    batch_failed,
    bmp_only,
    check_rows,
    chunks,
    clean_text,
    isolate,
    orm_add,
    rejected_one,
    retrying,
    upsert,
    upsert_vendor,
)

logger = logging.getLogger("django_tracekit")

__all__ = ["TablesMissing", "clean_text"]  # re-exported for the stats' callers

ERRORS_KEPT = 20  # per feature
# Long texts: capped in UTF-8 bytes too (a MySQL TEXT column holds 65,535 bytes).
MESSAGE_CHARS, MESSAGE_BYTES = 4096, 16_384
STACK_CHARS, STACK_BYTES = 32_768, 65_000

# What isolation had to drop, since the process started: calls and error samples.
rejected: Counter[str] = Counter()


def clear_cache() -> None:
    feature_ids.clear_cache()
    check_tables.clear()




def write(increments: Mapping[Key, Entry], errors: Sequence[ErrorSampleData] = (), *,
          using: str | None = None, method: str = "auto") -> int:
    """Add ``increments`` (and store ``errors``); returns the number of rows written.

    ``method``: "auto" (the vendor's upsert), or "orm" (the generic fallback).
    Raises :class:`TablesMissing` before ``migrate``; :class:`WriteIncomplete` when a
    connection failed after part of a batch was committed (what is left is in it).
    """
    alias = using or router.db_for_write(UsageBucket)
    feature_ids.expire()
    timeouts.apply(connections[alias])
    check_tables(alias)
    try:
        return _write_retrying(alias, increments, errors, method)
    except DATA_ERRORS as exc:
        return _isolate(alias, increments, errors, method, exc)
    except Exception:
        check_tables.forget(alias)  # look again: the tables may have gone
        raise


_USAGE_ADDS = ("calls", "errors", "duration_sum_us", "n_plus_one", "retries", "failed_attempts",
               "retried_tasks")
check_tables = TableCheck(lambda: (m._meta.db_table for m in (
    Feature, UsageBucket, LatencyBucket, ErrorSample, UserSketch, VersionUsage, VersionLatency,
    InstrumentedFunction)))


def _write_retrying(alias: str, increments: Mapping[Key, Entry],
                    errors: Sequence[ErrorSampleData], method: str) -> int:
    # Ids cached by a rolled-back transaction name no row; a feature pruned while its id
    # was cached here (IntegrityError): look the ids up again either way.
    return retrying(alias, lambda: _write(alias, increments, errors, method),
                    before_retry=feature_ids.forget)


def _isolate(alias: str, increments: Mapping[Key, Entry], errors: Sequence[ErrorSampleData],
             method: str, cause: Exception) -> int:
    """Write what can be written of a batch that failed with a data error: the counters
    alone, else feature by feature; then the error samples one by one. A failure of
    another kind stops here: what is left is in :class:`WriteIncomplete`."""
    batch_failed("feature-usage stats", cause)
    left = dict(increments)
    samples_left = list(errors)
    written = 0
    try:
        try:
            written += _write_retrying(alias, left, (), method)
            left = {}
        except DATA_ERRORS:
            parts: dict[FeatureKey, dict[Key, Entry]] = {}
            for key, entry in increments.items():
                parts.setdefault(feature_ids.clip(*key[:3]), {})[key] = entry

            def write_part(item: tuple[FeatureKey, dict[Key, Entry]]) -> int:
                n = _write_retrying(alias, item[1], (), method)
                for key in item[1]:
                    del left[key]
                return n

            def drop_part(item: tuple[FeatureKey, dict[Key, Entry]], exc: Exception) -> None:
                calls = sum(entry[0] for entry in item[1].values())
                rejected_one(rejected, "calls", calls,
                             f"{calls} calls of feature {item[0]!r:.200}", exc)
                for key in item[1]:
                    del left[key]

            written += isolate(list(parts.items()), write_part, drop_part)

        def write_sample(sample: ErrorSampleData) -> int:
            return _write_retrying(alias, {}, [sample], method)

        def drop_sample(sample: ErrorSampleData, exc: Exception) -> None:
            rejected_one(rejected, "error_samples", 1,
                         f"an error sample of feature {sample.feature!r:.200}", exc)

        try:
            written += isolate(samples_left, write_sample, drop_sample)
        except Stopped as stop:
            samples_left = samples_left[stop.done:]
            raise
    except Exception as exc:
        cause_of = exc.__cause__ if isinstance(exc, Stopped) and exc.__cause__ else exc
        raise WriteIncomplete(left, samples_left) from cause_of
    return written


def _write(alias: str, increments: Mapping[Key, Entry], errors: Sequence[ErrorSampleData],
           method: str) -> int:
    connection = connections[alias]
    bmp = bmp_only(connection)
    keys = {feature_ids.clip(f, k, s, bmp) for (f, k, s, _) in increments}
    keys.update(feature_ids.clip(e.feature, e.kind, e.service, bmp) for e in errors)
    ids = feature_ids.ids_for(alias, keys)

    usage: dict[tuple[int, int, int], list[int]] = {}
    latency: dict[tuple[int, int, int, int], int] = {}
    by_version: dict[tuple[int, str, int, int], list[int]] = {}
    version_latency: dict[tuple[int, str, int, int, int], int] = {}
    users: dict[tuple[int, int, int, str], Users] = {}
    for (feature, kind, service, minute), entry in increments.items():
        feature_id = ids[feature_ids.clip(feature, kind, service, bmp)]
        start = minute * 60
        calls, errs, sum_ns, max_ns, hist = entry[:5]
        n_plus_one = entry[5] if len(entry) > 5 else 0
        entry_users = entry[6] if len(entry) > 6 else None
        version = clean_text(entry[7], 64, bmp_only=bmp) if len(entry) > 7 else ""
        retries, failed, retried = (entry[8], entry[9], entry[10]) if len(entry) > 10 \
            else (0, 0, 0)
        for resolution in RESOLUTIONS:
            bucket = start - start % resolution
            row = usage.get((feature_id, resolution, bucket))
            if row is None:
                usage[(feature_id, resolution, bucket)] = [calls, errs, sum_ns, max_ns, n_plus_one,
                                                           retries, failed, retried]
            else:
                row[0] += calls
                row[1] += errs
                row[2] += sum_ns
                row[3] = max(row[3], max_ns)
                row[4] += n_plus_one
                row[5] += retries
                row[6] += failed
                row[7] += retried
            for index, n in hist.items():
                lkey = (feature_id, resolution, bucket, index)
                latency[lkey] = latency.get(lkey, 0) + n
        if version:
            for resolution in VERSION_RESOLUTIONS:
                bucket = start - start % resolution
                vrow = by_version.setdefault((feature_id, version, resolution, bucket),
                                             [0, 0, 0, 0])
                vrow[0] += calls
                vrow[1] += errs
                vrow[2] += sum_ns
                vrow[3] = max(vrow[3], max_ns)
                for index, n in hist.items():
                    vkey = (feature_id, version, resolution, bucket, index)
                    version_latency[vkey] = version_latency.get(vkey, 0) + n
        if entry_users is not None:
            for resolution in SKETCH_RESOLUTIONS:
                ukey = (feature_id, resolution, start - start % resolution, version)
                merged = users.get(ukey)
                if merged is None:
                    merged = users[ukey] = Users()
                merged.update(entry_users)
    usage_rows = [(*key, v[0], v[1], v[2] // 1000, v[4], v[5], v[6], v[7], v[3] // 1000)
                  for key, v in sorted(usage.items())]
    latency_rows = [(*key, n) for key, n in sorted(latency.items())]
    version_rows = [(key[0], key[1], key[2], key[3], v[0], v[1], v[2] // 1000, v[3] // 1000)
                    for key, v in sorted(by_version.items())]
    version_latency_rows = [(*key, n) for key, n in sorted(version_latency.items())]
    check_rows(usage_rows)
    check_rows(latency_rows)
    check_rows(version_rows)
    check_rows(version_latency_rows)

    vendor = upsert_vendor(connection) if method == "auto" else "orm"
    version_key = ("feature_id", "version", "resolution", "bucket_start")
    if vendor == "orm":
        orm_add(alias, UsageBucket, ("feature_id", "resolution", "bucket_start"),
                 _USAGE_ADDS, ("duration_max_us",),
                 usage_rows)
        orm_add(alias, LatencyBucket, ("feature_id", "resolution", "bucket_start", "bin"),
                 ("n",), (), latency_rows)
        orm_add(alias, VersionUsage, version_key, ("calls", "errors", "duration_sum_us"),
                 ("duration_max_us",), version_rows)
        orm_add(alias, VersionLatency, (*version_key, "bin"), ("n",), (),
                 version_latency_rows)
    else:
        upsert(connection, vendor, UsageBucket._meta.db_table,
                ("feature_id", "resolution", "bucket_start"),
                _USAGE_ADDS, ("duration_max_us",),
                usage_rows)
        upsert(connection, vendor, LatencyBucket._meta.db_table,
                ("feature_id", "resolution", "bucket_start", "bin"), ("n",), (), latency_rows)
        upsert(connection, vendor, VersionUsage._meta.db_table, version_key,
                ("calls", "errors", "duration_sum_us"), ("duration_max_us",), version_rows)
        upsert(connection, vendor, VersionLatency._meta.db_table, (*version_key, "bin"),
                ("n",), (), version_latency_rows)
    written = len(usage_rows) + len(latency_rows) + len(version_rows)
    written += len(version_latency_rows)
    if users:
        written += _merge_users(alias, users)
    if errors:
        written += _store_errors(alias, ids, errors, bmp)
    return written


def _merge_users(alias: str, users: Mapping[tuple[int, int, int, str], Users]) -> int:
    """Merge sketches into their rows: read-modify-write under row locks, in key order.

    Rows are first created empty where missing (``ignore_conflicts``: a concurrent insert
    waits for the other transaction, then does nothing), then locked (``SELECT ... FOR
    UPDATE``; SQLite: this transaction already holds the write lock), merged and updated
    only where the sketch changed (returning users change nothing). Merging is a
    register-wise max, so a retried flush never counts a user twice."""
    manager = UserSketch.objects.using(alias)
    keys = sorted(users)
    empty = [UserSketch(feature_id=f, resolution=r, bucket_start=b, version=v)
             for f, r, b, v in keys]
    if connections[alias].features.supports_ignore_conflicts:
        manager.bulk_create(empty, ignore_conflicts=True, batch_size=500)
    else:  # e.g. Oracle: one savepoint per missing row
        for row in empty:
            try:
                with transaction.atomic(using=alias):
                    manager.get_or_create(feature_id=row.feature_id, resolution=row.resolution,
                                          bucket_start=row.bucket_start, version=row.version)
            except IntegrityError:
                pass  # inserted concurrently: it exists, which is all this needs
    changed: list[tuple[bytes, int]] = []
    by_resolution: dict[int, list[tuple[int, int, int, str]]] = {}
    for key in keys:
        by_resolution.setdefault(key[1], []).append(key)
    for resolution, part in sorted(by_resolution.items()):
        for chunk in chunks(part, 400):
            wanted = set(chunk)
            rows = (manager.select_for_update()
                    .filter(resolution=resolution,
                            feature_id__in={k[0] for k in chunk},
                            bucket_start__in={k[2] for k in chunk},
                            version__in={k[3] for k in chunk})
                    .order_by("feature_id", "resolution", "bucket_start", "version")
                    .values_list("id", "feature_id", "bucket_start", "version", "sketch"))
            for pk, feature_id, bucket, version, stored in rows:
                key = (feature_id, resolution, bucket, version)
                if key not in wanted:
                    continue
                before = bytes(stored or b"")
                try:
                    merged = loads(before)
                except ValueError:  # unreadable: replaced (users undercounted, never a 500)
                    merged = Users()
                merged.update(users[key])
                after = merged.dumps()
                if after != before:
                    changed.append((after, pk))
    if changed:
        table = connections[alias].ops.quote_name(UserSketch._meta.db_table)
        with connections[alias].cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET sketch = %s WHERE id = %s", changed)
    return len(changed)


def _store_errors(alias: str, ids: Mapping[FeatureKey, int],
                  errors: Sequence[ErrorSampleData], bmp: bool) -> int:
    rows = [ErrorSample(
        feature_id=ids[feature_ids.clip(e.feature, e.kind, e.service, bmp)], time=e.time_ns // 1000,
        type=clean_text(e.type, 255, bmp_only=bmp),
        message=clean_text(e.message, MESSAGE_CHARS, MESSAGE_BYTES, bmp_only=bmp),
        stacktrace=clean_text(e.stacktrace, STACK_CHARS, STACK_BYTES, bmp_only=bmp),
        trace_id=clean_text(e.trace_id, 32), span_id=clean_text(e.span_id, 16),
        stack_span_id=clean_text(e.stack_span_id, 16)) for e in errors]
    check_rows([(row.time,) for row in rows])
    manager = ErrorSample.objects.using(alias)
    manager.bulk_create(rows, batch_size=100)
    for feature_id in sorted({row.feature_id for row in rows}):
        stale = list(manager.filter(feature_id=feature_id).order_by("-time", "-id")
                     .values_list("id", flat=True)[ERRORS_KEPT:ERRORS_KEPT + 1000])
        if stale:
            manager.filter(id__in=stale).delete()
    return len(rows)


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
