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

Before writing: the tables must exist. Until ``migrate`` created them, :func:`write` raises
:class:`TablesMissing` (the processor keeps its counts and waits, quietly) without opening
a connection that would create an SQLite file; the answer is remembered for
:data:`TABLE_CHECK_SECONDS` (forgotten when ``migrate`` finishes), so flushes do not hammer
a missing table.

Bad data: every text written is made storable on every backend (NUL removed, lone
surrogates replaced, 4-byte characters too on a MySQL ``utf8`` (utf8mb3) connection,
lengths capped in characters and, for long texts, in UTF-8 bytes). A
batch that still fails with a data error is isolated: the counters without the error
samples, then feature by feature, each in its own transaction; only what fails alone is
dropped, counted in :data:`rejected` and logged.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import (
    DataError,
    IntegrityError,
    OperationalError,
    connections,
    router,
    transaction,
)
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.db.models.signals import post_migrate

from django_tracekit.core.sketch import Users, loads
from django_tracekit.destinations.stats.records import (
    Entry,
    FeatureKey,
    Key,
    NotReady,
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

logger = logging.getLogger("django_tracekit")

ERRORS_KEPT = 20  # per feature
TABLE_CHECK_SECONDS = 30.0  # how long "the tables are not there" is believed
_ID_CACHE_SECONDS = 3600
_RETRIES = 3
# Long texts: capped in UTF-8 bytes too (a MySQL TEXT column holds 65,535 bytes).
MESSAGE_CHARS, MESSAGE_BYTES = 4096, 16_384
STACK_CHARS, STACK_BYTES = 32_768, 65_000

_feature_ids: dict[tuple[str, FeatureKey], int] = {}
_feature_ids_since = time.monotonic()
_tables_ok: set[str] = set()  # aliases whose tables were seen
_tables_missing_until: dict[str, float] = {}
# What isolation had to drop, since the process started: calls and error samples.
rejected: Counter[str] = Counter()


class TablesMissing(NotReady):
    """tracekit's tables are not in the database yet (``migrate`` not run)."""


def clear_cache() -> None:
    _feature_ids.clear()
    _restart_id_cache()
    _tables_ok.clear()
    _tables_missing_until.clear()


def _forget_missing_tables(**kwargs: object) -> None:
    _tables_missing_until.clear()


post_migrate.connect(_forget_missing_tables,
                     dispatch_uid="django_tracekit.destinations.stats.store")

_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
_BEYOND_BMP = re.compile(r"[\U00010000-\U0010ffff]")


def clean_text(value: str, max_chars: int, max_bytes: int | None = None, *,
               bmp_only: bool = False) -> str:
    """``value`` as every backend stores it: no NUL (PostgreSQL refuses it), lone
    surrogates replaced (not encodable in UTF-8), at most ``max_chars`` characters and
    ``max_bytes`` UTF-8 bytes (cut on a character boundary); ``bmp_only``: 4-byte
    characters replaced too (a MySQL connection in ``utf8``, i.e. utf8mb3, refuses them)."""
    if not value.isascii():
        value = _UNSTORABLE.sub(_replacement, value)
        if bmp_only:
            value = _BEYOND_BMP.sub("\ufffd", value)
    elif "\x00" in value:
        value = value.replace("\x00", "")
    value = value[:max_chars]
    if max_bytes is not None and len(value) * 4 > max_bytes:
        encoded = value.encode("utf-8")
        if len(encoded) > max_bytes:
            value = encoded[:max_bytes].decode("utf-8", "ignore")
    return value


def _replacement(match: re.Match[str]) -> str:
    return "" if match.group() == "\x00" else "\ufffd"


def _bmp_only(connection: BaseDatabaseWrapper) -> bool:
    # Django's MySQL backend connects in "utf8" (utf8mb3) unless OPTIONS say otherwise.
    if connection.vendor != "mysql":
        return False
    charset = str(connection.settings_dict.get("OPTIONS", {}).get("charset", "utf8"))
    return not charset.lower().startswith("utf8mb4")


def _clip(feature: str, kind: str, service: str, bmp_only: bool = False) -> FeatureKey:
    return (clean_text(feature, 255, bmp_only=bmp_only), clean_text(kind, 8),
            clean_text(service, 128, bmp_only=bmp_only))


def write(increments: Mapping[Key, Entry], errors: Sequence[ErrorSampleData] = (), *,
          using: str | None = None, method: str = "auto") -> int:
    """Add ``increments`` (and store ``errors``); returns the number of rows written.

    ``method``: "auto" (the vendor's upsert), or "orm" (the generic fallback).
    Raises :class:`TablesMissing` before ``migrate``; :class:`WriteIncomplete` when a
    connection failed after part of a batch was committed (what is left is in it).
    """
    alias = using or router.db_for_write(UsageBucket)
    if time.monotonic() - _feature_ids_since > _ID_CACHE_SECONDS:
        _feature_ids.clear()
        _restart_id_cache()
    timeouts.apply(connections[alias])
    _check_tables(alias)
    try:
        return _write_retrying(alias, increments, errors, method)
    except _DATA_ERRORS as exc:
        return _isolate(alias, increments, errors, method, exc)
    except Exception:
        _tables_ok.discard(alias)  # look again: the tables may have gone
        raise


def _restart_id_cache() -> None:
    global _feature_ids_since
    _feature_ids_since = time.monotonic()


# Errors about the data of a batch (not about the database being reachable or its schema):
# they come back on every retry, so the batch is split to find the rows that cause them.
_DATA_ERRORS = (DataError, IntegrityError, ValueError, OverflowError)
_USAGE_ADDS = ("calls", "errors", "duration_sum_us", "n_plus_one", "retries", "failed_attempts",
               "retried_tasks")
_BIGINT = 2 ** 63


def _check_tables(alias: str) -> None:
    if alias in _tables_ok:
        return
    if _tables_missing_until.get(alias, 0.0) > time.monotonic():
        raise TablesMissing(f"its tables are not in database {alias!r} yet: run migrate")
    connection = connections[alias]
    tables = {m._meta.db_table for m in (Feature, UsageBucket, LatencyBucket, ErrorSample,
                                         UserSketch, VersionUsage, VersionLatency,
                                         InstrumentedFunction)}
    if not (_sqlite_file_missing(connection)
            or not tables.issubset(connection.introspection.table_names())):
        _tables_ok.add(alias)
        return
    _tables_missing_until[alias] = time.monotonic() + TABLE_CHECK_SECONDS
    raise TablesMissing(f"its tables are not in database {alias!r} yet: run migrate")


def _sqlite_file_missing(connection: BaseDatabaseWrapper) -> bool:
    """Connecting would create the file (``manage.py check`` on a fresh checkout)."""
    if connection.vendor != "sqlite":
        return False
    name = str(connection.settings_dict["NAME"])
    if name == ":memory:" or name.startswith("file:"):  # in memory, or a URI: no file check
        return False
    return not os.path.exists(name)


def _write_retrying(alias: str, increments: Mapping[Key, Entry],
                    errors: Sequence[ErrorSampleData], method: str) -> int:
    attempt = 0
    while True:
        attempt += 1
        try:
            with transaction.atomic(using=alias):
                timeouts.statement_timeout(connections[alias])
                return _write(alias, increments, errors, method)
        except Exception as exc:
            # Ids cached by a rolled-back transaction name no row; a feature pruned while
            # its id was cached here (IntegrityError): look the ids up again either way.
            _feature_ids.clear()
            if attempt >= _RETRIES or not isinstance(exc, (IntegrityError, OperationalError)):
                raise
            if isinstance(exc, OperationalError):
                # Deadlock (MySQL 1213), lock wait or SQLite "database is locked": the
                # transaction rolled back whole, so trying again cannot count twice.
                time.sleep(0.05 * attempt)


def _isolate(alias: str, increments: Mapping[Key, Entry], errors: Sequence[ErrorSampleData],
             method: str, cause: Exception) -> int:
    """Write what can be written of a batch that failed with a data error, each part in
    its own transaction (so what is committed is never written again); drop what fails
    alone. A failure of another kind stops here: the rest is left for the next flush."""
    logger.warning("tracekit: a feature-usage batch failed (%s: %s); writing it in parts",
                   type(cause).__name__, str(cause).strip()[:300])
    written = 0
    left = dict(increments)
    samples_left = list(errors)
    try:
        try:
            written += _write_retrying(alias, left, (), method)
            left = {}
        except _DATA_ERRORS:
            parts: dict[FeatureKey, dict[Key, Entry]] = {}
            for key, entry in increments.items():
                parts.setdefault(_clip(*key[:3]), {})[key] = entry
            for feature, part in parts.items():
                try:
                    written += _write_retrying(alias, part, (), method)
                except _DATA_ERRORS as exc:
                    calls = sum(entry[0] for entry in part.values())
                    rejected["calls"] += calls
                    logger.warning("tracekit: dropped %d calls of feature %.200r: %s: %s",
                                   calls, feature, type(exc).__name__, str(exc).strip()[:300])
                for key in part:
                    del left[key]
        while samples_left:
            try:
                written += _write_retrying(alias, {}, samples_left[:1], method)
            except _DATA_ERRORS as exc:
                rejected["error_samples"] += 1
                logger.warning("tracekit: dropped an error sample of feature %.200r: %s: %s",
                               samples_left[0].feature, type(exc).__name__,
                               str(exc).strip()[:300])
            del samples_left[0]
    except Exception as exc:
        raise WriteIncomplete(left, samples_left) from exc
    return written


def _write(alias: str, increments: Mapping[Key, Entry], errors: Sequence[ErrorSampleData],
           method: str) -> int:
    connection = connections[alias]
    bmp = _bmp_only(connection)
    keys = {_clip(f, k, s, bmp) for (f, k, s, _) in increments}
    keys.update(_clip(e.feature, e.kind, e.service, bmp) for e in errors)
    ids = _ids_for(alias, keys)

    usage: dict[tuple[int, int, int], list[int]] = {}
    latency: dict[tuple[int, int, int, int], int] = {}
    by_version: dict[tuple[int, str, int, int], list[int]] = {}
    version_latency: dict[tuple[int, str, int, int, int], int] = {}
    users: dict[tuple[int, int, int, str], Users] = {}
    for (feature, kind, service, minute), entry in increments.items():
        feature_id = ids[_clip(feature, kind, service, bmp)]
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
    _check_range(usage_rows)
    _check_range(latency_rows)
    _check_range([(row[0], *row[2:]) for row in version_rows])
    _check_range([(row[0], *row[2:]) for row in version_latency_rows])

    vendor = _upsert_vendor(connection) if method == "auto" else "orm"
    version_key = ("feature_id", "version", "resolution", "bucket_start")
    if vendor == "orm":
        _orm_add(alias, UsageBucket, ("feature_id", "resolution", "bucket_start"),
                 _USAGE_ADDS, ("duration_max_us",),
                 usage_rows)
        _orm_add(alias, LatencyBucket, ("feature_id", "resolution", "bucket_start", "bin"),
                 ("n",), (), latency_rows)
        _orm_add(alias, VersionUsage, version_key, ("calls", "errors", "duration_sum_us"),
                 ("duration_max_us",), version_rows)
        _orm_add(alias, VersionLatency, (*version_key, "bin"), ("n",), (),
                 version_latency_rows)
    else:
        _upsert(connection, vendor, UsageBucket._meta.db_table,
                ("feature_id", "resolution", "bucket_start"),
                _USAGE_ADDS, ("duration_max_us",),
                usage_rows)
        _upsert(connection, vendor, LatencyBucket._meta.db_table,
                ("feature_id", "resolution", "bucket_start", "bin"), ("n",), (), latency_rows)
        _upsert(connection, vendor, VersionUsage._meta.db_table, version_key,
                ("calls", "errors", "duration_sum_us"), ("duration_max_us",), version_rows)
        _upsert(connection, vendor, VersionLatency._meta.db_table, (*version_key, "bin"),
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
        for chunk in _chunks(part, 400):
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


def _check_range(rows: Sequence[tuple[int, ...]]) -> None:
    # A bogus span end time or duration: refused here alike on every backend (PostgreSQL
    # would take it for a numeric and fail with a type error, not a data error).
    for row in rows:
        for value in row:
            if not -_BIGINT <= value < _BIGINT:
                raise OverflowError(f"{value} does not fit a 64-bit integer column")


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
        # MySQL's default collations compare case- and trailing-space-insensitively (and
        # some accent-insensitively): the row that exists may be spelled differently; it is
        # the same feature there. Whatever the collation, the database's own lookup says.
        pk = found.get(key) or folded.get(_fold(key))
        if pk is None:
            pk = manager.filter(name=key[0], kind=key[1], service=key[2]).order_by(
                "id").values_list("id", flat=True).first()
            if pk is None:  # the database stored something else than it was given
                raise ValueError(f"feature {key!r} not found after inserting it")
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
            rows: Sequence[tuple[int | str, ...]]) -> None:
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
             max_columns: Sequence[str], rows: Sequence[tuple[int | str, ...]]) -> None:
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
                  errors: Sequence[ErrorSampleData], bmp: bool) -> int:
    rows = [ErrorSample(
        feature_id=ids[_clip(e.feature, e.kind, e.service, bmp)], time=e.time_ns // 1000,
        type=clean_text(e.type, 255, bmp_only=bmp),
        message=clean_text(e.message, MESSAGE_CHARS, MESSAGE_BYTES, bmp_only=bmp),
        stacktrace=clean_text(e.stacktrace, STACK_CHARS, STACK_BYTES, bmp_only=bmp),
        trace_id=clean_text(e.trace_id, 32), span_id=clean_text(e.span_id, 16),
        stack_span_id=clean_text(e.stack_span_id, 16)) for e in errors]
    _check_range([(row.time,) for row in rows])
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
    _check_tables(alias)
    bmp = _bmp_only(connections[alias])
    stamp = int(time.time()) if now is None else now
    service = clean_text(service, 128, bmp_only=bmp)
    cleaned = sorted({clean_text(n, 255, bmp_only=bmp): clean_text(m, 255, bmp_only=bmp)
                      for n, m in functions}.items())
    manager = InstrumentedFunction.objects.using(alias)
    with transaction.atomic(using=alias):
        manager.bulk_create([InstrumentedFunction(name=n, module=m, service=service,
                                                  first_seen=stamp, last_seen=stamp)
                             for n, m in cleaned], ignore_conflicts=True, batch_size=500)
        for chunk in _chunks(cleaned, 500):
            manager.filter(service=service, name__in=[n for n, _ in chunk]).update(
                last_seen=stamp)
    return len(cleaned)
