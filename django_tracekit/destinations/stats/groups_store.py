"""Writing error groups: increments from any number of processes, nothing lost or doubled.

One transaction per flush (a retried flush never counts twice), the same way as the usage
counters (``store.py``):

1. groups: one upsert per group that *adds* its count and keeps the earliest ``first_seen``
   and the latest ``last_seen`` (``MIN``/``MAX``, ``LEAST``/``GREATEST``); type and location
   never change (they make the fingerprint); file and line follow the latest write;
2. buckets (group x entry point x hour/day): summed in Python, sorted (every writer locks
   rows in the same order), upserted by ``count = count + excluded.count``;
3. examples: inserted (messages redacted like the trace store's), then trimmed to the newest
   :data:`EXAMPLES_KEPT` per group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Exists, F, OuterRef
from django.db.models.functions import Greatest, Least

from django_tracekit.core.redaction import redact_text
from django_tracekit.destinations.stats import store
from django_tracekit.destinations.stats.feature_ids import clip, forget, ids_for
from django_tracekit.destinations.stats.groups import GroupBatch
from django_tracekit.storage.usage_models import (
    GROUP_RESOLUTIONS,
    ErrorGroup,
    ErrorGroupBucket,
    ErrorGroupExample,
)
from django_tracekit.storage.writer import (
    TableCheck,
    bmp_only,
    check_rows,
    chunks,
    clean_text,
    orm_add,
    retrying,
    upsert,
    upsert_vendor,
)

EXAMPLES_KEPT = 5  # per group
# Long texts: capped in UTF-8 bytes too (a MySQL TEXT column holds 65,535 bytes).
MESSAGE_CHARS, MESSAGE_BYTES = 4096, 16_384
STACK_CHARS, STACK_BYTES = 32_768, 65_000
check_tables = TableCheck(lambda: (ErrorGroup._meta.db_table,))


def write(batch: GroupBatch, *, using: str | None = None, method: str = "auto") -> int:
    """Add ``batch`` (counts, groups, examples); returns the number of rows written."""
    alias = using or router.db_for_write(ErrorGroup)
    store.check_tables(alias)
    check_tables(alias)
    try:
        # One transaction, retried like the counters' (storage.writer.retrying).
        return retrying(alias, lambda: _write(alias, batch, method),
                        before_retry=forget)
    except Exception:
        check_tables.forget(alias)
        raise


def _write(alias: str, batch: GroupBatch, method: str) -> int:
    connection = connections[alias]
    bmp = bmp_only(connection)
    vendor = upsert_vendor(connection) if method == "auto" else "orm"
    features = {clip(f, k, s, bmp) for (_g, f, k, s, _m) in batch.counts}
    features.update(clip(e.feature, e.kind, e.service, bmp)
                    for e in batch.examples)
    feature_ids = ids_for(alias, features)

    # Per group: count and first/last seen of this batch.
    seen: dict[str, list[int]] = {}
    for (fingerprint, *_rest, minute), n in batch.counts.items():
        row = seen.get(fingerprint)
        if row is None:
            seen[fingerprint] = [n, minute * 60, minute * 60 + 59]
        else:
            row[0] += n
            row[1] = min(row[1], minute * 60)
            row[2] = max(row[2], minute * 60 + 59)
    group_rows = []
    for fingerprint in sorted(seen):
        group = batch.groups[fingerprint]
        n, first, last = seen[fingerprint]
        group_rows.append((fingerprint, clean_text(group.type, 255, bmp_only=bmp),
                           clean_text(group.location, 255, bmp_only=bmp),
                           clean_text(group.file_path, 500, bmp_only=bmp), group.line,
                           first, last, n))
    _upsert_groups(connection, vendor, alias, group_rows)
    group_ids = dict(ErrorGroup.objects.using(alias).filter(
        fingerprint__in=[r[0] for r in group_rows] + [e.fingerprint for e in batch.examples]
    ).values_list("fingerprint", "id"))

    buckets: dict[tuple[int, int, int, int], int] = {}
    for (fingerprint, feature, kind, service, minute), n in batch.counts.items():
        group_id = group_ids[fingerprint]
        feature_id = feature_ids[clip(feature, kind, service, bmp)]
        start = minute * 60
        for resolution in GROUP_RESOLUTIONS:
            key = (group_id, feature_id, resolution, start - start % resolution)
            buckets[key] = buckets.get(key, 0) + n
    rows = [(*key, n) for key, n in sorted(buckets.items())]
    check_rows(rows)
    key_columns = ("group_id", "feature_id", "resolution", "bucket_start")
    if vendor == "orm":
        orm_add(alias, ErrorGroupBucket, key_columns, ("count",), (), rows)
    else:
        upsert(connection, vendor, ErrorGroupBucket._meta.db_table,
                      key_columns, ("count",), (), rows)
    written = len(group_rows) + len(rows)
    examples = [e for e in batch.examples if e.fingerprint in group_ids]
    if examples:
        written += _store_examples(alias, examples, group_ids, feature_ids, bmp)
    return written


def _upsert_groups(connection: BaseDatabaseWrapper, vendor: str, alias: str,
                   rows: Sequence[tuple[Any, ...]]) -> None:
    if not rows:
        return
    columns = ("fingerprint", "type", "location", "file_path", "line", "first_seen",
               "last_seen", "count")
    if vendor == "orm":
        manager = ErrorGroup.objects.using(alias)
        for fingerprint, type_, location, path, line, first, last, n in rows:
            update = {"count": F("count") + n, "first_seen": Least(F("first_seen"), first),
                      "last_seen": Greatest(F("last_seen"), last), "file_path": path,
                      "line": line}
            if manager.filter(fingerprint=fingerprint).update(**update):
                continue
            try:
                with transaction.atomic(using=alias):
                    manager.create(fingerprint=fingerprint, type=type_, location=location,
                                   file_path=path, line=line, first_seen=first,
                                   last_seen=last, count=n)
            except IntegrityError:  # inserted concurrently: add to it
                manager.filter(fingerprint=fingerprint).update(**update)
        return
    qn = connection.ops.quote_name
    table = qn(ErrorGroup._meta.db_table)
    if vendor == "mysql":
        suffix = (f" ON DUPLICATE KEY UPDATE {qn('count')} = {qn('count')} + VALUES({qn('count')}),"
                  f" {qn('first_seen')} = LEAST({qn('first_seen')}, VALUES({qn('first_seen')})),"
                  f" {qn('last_seen')} = GREATEST({qn('last_seen')}, VALUES({qn('last_seen')})),"
                  f" {qn('file_path')} = VALUES({qn('file_path')}),"
                  f" {qn('line')} = VALUES({qn('line')})")
    else:
        least, greatest = ("MIN", "MAX") if vendor == "sqlite" else ("LEAST", "GREATEST")
        suffix = (f" ON CONFLICT ({qn('fingerprint')}) DO UPDATE SET"
                  f" {qn('count')} = {table}.{qn('count')} + excluded.{qn('count')},"
                  f" {qn('first_seen')} = {least}({table}.{qn('first_seen')},"
                  f" excluded.{qn('first_seen')}),"
                  f" {qn('last_seen')} = {greatest}({table}.{qn('last_seen')},"
                  f" excluded.{qn('last_seen')}),"
                  f" {qn('file_path')} = excluded.{qn('file_path')},"
                  f" {qn('line')} = excluded.{qn('line')}")
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    column_list = ", ".join(qn(c) for c in columns)
    with connection.cursor() as cursor:
        for chunk in chunks(rows, 100):
            cursor.execute(f"INSERT INTO {table} ({column_list}) VALUES "
                           + ", ".join([row_sql] * len(chunk)) + suffix,
                           [value for row in chunk for value in row])


def _store_examples(alias: str, examples: Sequence[Any], group_ids: dict[str, int],
                    feature_ids: dict[Any, int], bmp: bool) -> int:
    rows = []
    for example in examples:
        occurrence = example.occurrence
        rows.append(ErrorGroupExample(
            group_id=group_ids[example.fingerprint],
            feature_id=feature_ids[clip(example.feature, example.kind,
                                               example.service, bmp)],
            time=occurrence.time_ns // 1000,
            message=clean_text(redact_text(occurrence.message[:MESSAGE_CHARS * 2]), MESSAGE_CHARS,
                           MESSAGE_BYTES, bmp_only=bmp),
            stacktrace=clean_text(occurrence.stacktrace, STACK_CHARS, STACK_BYTES,
                                  bmp_only=bmp),
            trace_id=clean_text(occurrence.trace_id, 32),
            span_id=clean_text(occurrence.span_id, 16)))
    manager = ErrorGroupExample.objects.using(alias)
    manager.bulk_create(rows, batch_size=100)
    for group_id in sorted({row.group_id for row in rows}):
        stale = list(manager.filter(group_id=group_id).order_by("-time", "-id")
                     .values_list("id", flat=True)[EXAMPLES_KEPT:EXAMPLES_KEPT + 1000])
        if stale:
            manager.filter(id__in=stale).delete()
    return len(rows)


def prune(alias: str, day_cutoff: int, dry: bool) -> dict[str, int]:
    """Retention of what the buckets do not cover (``tracekit_prune``, after the buckets):
    examples older than ``day_cutoff`` (epoch seconds), groups with no count left."""
    old = ErrorGroupExample.objects.using(alias).filter(time__lt=day_cutoff * 1_000_000)
    gone = ErrorGroup.objects.using(alias).filter(
        ~Exists(ErrorGroupBucket.objects.using(alias).filter(group=OuterRef("pk"))),
        last_seen__lt=day_cutoff)
    return {"tracekit_error_group_example (old)": old.count() if dry else old.delete()[0],
            "tracekit_error_group (no count left)": gone.count() if dry else gone.delete()[0]}
