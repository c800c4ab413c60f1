"""Writing :class:`~django_tracekit.storage.usage_models.FeatureStats` rows: one row holds a
feature's counters, latency histogram and users sketch for one bucket and version, merged
into by every process.

Inside the caller's transaction, in key order (every writer locks rows in the same order:
no deadlock between two flushes):

1. the rows that exist are read and locked (``SELECT ... FOR UPDATE``; SQLite: the writer
   holds the database, a concurrent one fails with "database is locked" and is retried);
2. the missing ones are inserted with this flush's values (``ON CONFLICT DO NOTHING
   RETURNING``: PostgreSQL, SQLite 3.35+); a row another process inserted meanwhile is then
   read, locked and merged like an existing one (MySQL and others: inserted empty first);
3. every locked row is updated once with the sum of its counters and the merge of its
   sketches (one statement per 500 rows on PostgreSQL).

So a flush touches each of its rows once (twice for a row that is new on MySQL) and counts
stay exact: a row is changed only while locked, and a failed transaction is retried whole.

A process's own rows (``writer`` not 0, :mod:`.own_rows`) take no lock (nobody else writes
them) and are not read first: a row the process remembers is set, by id, to what it
remembers plus the increments (PostgreSQL; a row gone — deleted, rolled back — is then
inserted with the increments only); the others are inserted, and one that was there after
all (the insert conflicts) is read back and merged as in step 3.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connections

from django_tracekit.core import histogram
from django_tracekit.core.sketch import Users, loads
from django_tracekit.storage.usage_models import FeatureStats
from django_tracekit.storage.writer import check_range, chunks

RowKey = tuple[int, int, int, str]  # feature id, resolution, bucket start, version
# [calls, errors, sum us, max us, n+1, retries, failed attempts, retried tasks,
#  {histogram bucket: n}, Users | None]
Values = list[Any]
COUNTERS = ("calls", "errors", "duration_sum_us", "duration_max_us", "n_plus_one", "retries",
            "failed_attempts", "retried_tasks")
_MAX = 3  # duration_max_us: the greater, not the sum
_KEY = ("feature_id", "resolution", "bucket_start", "version")


def new_values() -> Values:
    return [0, 0, 0, 0, 0, 0, 0, 0, {}, None]


def add(into: Values, counters: Sequence[int], hist: Mapping[int, int],
        users: Users | None) -> None:
    # Unrolled: called for every feature and resolution of every flush.
    c0, c1, c2, c3, c4, c5, c6, c7 = counters
    into[0] += c0
    into[1] += c1
    into[2] += c2
    if c3 > into[_MAX]:
        into[_MAX] = c3
    into[4] += c4
    into[5] += c5
    into[6] += c6
    into[7] += c7
    if into[8]:
        histogram.add(into[8], hist)
    else:
        into[8].update(hist)
    if users is not None:
        if into[9] is None:
            into[9] = Users()
        into[9].update(users)


def write(alias: str, rows: Mapping[RowKey, Values], generic: bool = False, *,
          writer: int = 0, known: Mapping[RowKey, Values] | None = None,
          out: dict[RowKey, Values] | None = None) -> int:
    """Merge ``rows`` into the table (inside the caller's transaction); the rows written.
    ``generic``: the statements every backend has (what MySQL and others run).

    ``writer`` not 0: the rows of that process, unlocked; ``known`` what it wrote into them
    before, with the row's id last (a row's stored values are read only when it is not
    there); ``out`` receives each row's values as written, its id last."""
    if not rows:
        return 0
    for values in rows.values():
        check_range(values[:8])
    connection = connections[alias]
    keys = sorted(rows)
    count = len(keys)
    if writer and known and connection.vendor == "postgresql" and not generic:
        done = _update_known(connection, keys, rows, known, writer, out)
        keys = [k for k in keys if k not in done]  # the rest: gone, or not remembered
        if not keys:
            return count
    # A process's rows not remembered are almost always new: inserted straight away; one
    # that is there after all conflicts and is read back and merged below.
    locked = {} if writer else _lock(alias, keys, generic, writer)
    existed = set(locked)
    missing = [k for k in keys if k not in locked]
    if missing:
        inserted = _insert_new(alias, missing, rows, generic, writer)
        if out is not None:
            out.update((k, [*rows[k][:10], pk]) for k, pk in inserted.items())
        late = [k for k in missing if k not in inserted]
        if late:
            locked.update(_lock(alias, late, generic, writer))
    updates = []
    for key in keys:
        row = locked.get(key)
        if row is None:
            continue  # inserted with its values above
        pk, stored, latency, users = row
        values = rows[key]
        if writer:
            updates.append(_own_update(pk, stored, latency, users, values, out,
                                       known.get(key) if known and key in existed else None,
                                       key))
            continue
        counters = [stored[i] + values[i] if i != _MAX else max(stored[i], values[i])
                    for i in range(8)]
        merged_hist = histogram.unpack(latency)
        histogram.add(merged_hist, values[8])
        users_bytes = bytes(users or b"")
        if values[9] is not None:
            try:
                merged_users = loads(users_bytes) if users_bytes else Users()
            except ValueError:  # unreadable: replaced (users undercounted, never a 500)
                merged_users = Users()
            merged_users.update(values[9])
            users_bytes = merged_users.dumps()
        updates.append((*counters, histogram.pack(merged_hist), users_bytes, pk))
    if updates:
        _update(connection, updates, generic)
    return count


def _update_known(connection: Any, keys: Sequence[RowKey], rows: Mapping[RowKey, Values],
                  known: Mapping[RowKey, Values], writer: int,
                  out: dict[RowKey, Values] | None) -> set[RowKey]:
    """Set the remembered rows of ``keys`` to what they held plus ``rows``, by id (no
    read): the keys whose row was there. Only the columns some row changes are sent
    (a flush without errors, N+1, retries or users sends 4 or 5 arrays, not 11: less to
    format here and to parse in the backend)."""
    merged_rows, by_id = [], {}
    changed = [False] * 10  # the 8 counters, latency, users
    for key in keys:
        base = known.get(key)
        if base is None or len(base) < 11:
            continue
        values = rows[key]
        merged = _merged(base, values)
        for i in (0, 1, 2, 4, 5, 6, 7):
            if values[i]:
                changed[i] = True
        if merged[_MAX] != base[_MAX]:
            changed[_MAX] = True
        if values[8]:
            changed[8] = True
        if values[9] is not None:
            changed[9] = True
        merged.append(base[10])
        by_id[base[10]] = (key, merged)
        merged_rows.append(merged)
    if not merged_rows:
        return set()
    changed[0] = changed[0] or not any(changed)  # a statement sets something
    columns = [i for i in range(10) if changed[i]]
    updates = []
    for merged in merged_rows:
        update: list[Any] = [merged[i] for i in columns if i < 8]
        if changed[8]:
            update.append(histogram.pack(merged[8]))
        if changed[9]:
            update.append(merged[9].dumps() if merged[9] is not None else b"")
        update.append(merged[10])
        updates.append(update)
    updated = _update(connection, updates, False, writer, columns)
    done = set()
    for pk in updated:
        key, merged = by_id[pk]
        done.add(key)
        if out is not None:
            out[key] = merged
    return done


def _merged(base: Values, values: Values) -> Values:
    """``base`` plus ``values``, new (neither is changed: ``base`` is what the process
    remembers until the transaction commits)."""
    b0, b1, b2, b3, b4, b5, b6, b7, base_hist, base_users = base[:10]
    v0, v1, v2, v3, v4, v5, v6, v7, hist_in, users_in = values[:10]
    hist = dict(base_hist)
    for index, n in hist_in.items():
        hist[index] = hist.get(index, 0) + n
    users = None
    if base_users is not None or users_in is not None:
        users = Users()
        for part in (base_users, users_in):
            if part is not None:
                users.update(part)
    return [b0 + v0, b1 + v1, b2 + v2, b3 if b3 >= v3 else v3, b4 + v4, b5 + v5, b6 + v6,
            b7 + v7, hist, users]


def _own_update(pk: int, stored: list[int], latency: Any, users: Any, values: Values,
                out: dict[RowKey, Values] | None, base: Values | None,
                key: RowKey) -> tuple[Any, ...]:
    """The update of a process's own row: what it wrote before (``base``; else what is
    stored) plus ``values``."""
    if base is None:
        base = [*stored, histogram.unpack(latency), users_of(users)]
    merged = _merged(base, values)
    if out is not None:
        out[key] = [*merged, pk]
    return (*merged[:8], histogram.pack(merged[8]),
            merged[9].dumps() if merged[9] is not None else b"", pk)


def users_of(data: Any) -> Users | None:
    raw = bytes(data or b"")
    if not raw:
        return None
    try:
        return loads(raw)
    except ValueError:  # unreadable: replaced (users undercounted, never a 500)
        return None


def _lock(alias: str, keys: Sequence[RowKey], generic: bool, writer: int = 0,
          ) -> dict[RowKey, tuple[int, list[int], Any, Any]]:
    """The rows of ``keys`` that exist, locked (a process's own rows: not locked):
    {key: (id, counters, latency, users)}."""
    connection = connections[alias]
    manager = FeatureStats.objects.using(alias)
    groups: dict[tuple[int, int, str], list[int]] = {}
    for feature_id, resolution, bucket, version in keys:
        groups.setdefault((resolution, bucket, version), []).append(feature_id)
    found: dict[RowKey, tuple[int, list[int], Any, Any]] = {}
    if connection.vendor == "postgresql" and not generic:
        # One statement per bucket with the ids as one array parameter: a query with
        # thousands of placeholders costs more to prepare on the client than to run.
        qn = connection.ops.quote_name
        columns = ", ".join(qn(c) for c in ("id", "feature_id", *COUNTERS, "latency", "users"))
        with connection.cursor() as cursor:
            for (resolution, bucket, version), feature_ids in sorted(groups.items()):
                cursor.execute(
                    f"SELECT {columns} FROM {qn(FeatureStats._meta.db_table)} WHERE "
                    f"{qn('resolution')} = %s AND {qn('bucket_start')} = %s AND "
                    f"{qn('version')} = %s AND {qn('writer')} = %s AND "
                    f"{qn('feature_id')} = ANY(%s::bigint[]) ORDER BY {qn('feature_id')}"
                    + ("" if writer else " FOR UPDATE"),
                    [resolution, bucket, version, writer, sorted(feature_ids)])
                for pk, feature_id, *rest in cursor.fetchall():
                    found[(feature_id, resolution, bucket, version)] = (
                        pk, [int(v) for v in rest[:8]], rest[8], rest[9])
        return found
    for (resolution, bucket, version), feature_ids in sorted(groups.items()):
        for chunk in chunks(feature_ids, 500):
            query = manager.filter(resolution=resolution, bucket_start=bucket, version=version,
                                   writer=writer, feature_id__in=chunk).order_by("feature_id")
            if connection.features.has_select_for_update and not writer:
                query = query.select_for_update()
            for pk, feature_id, *rest in query.values_list("id", "feature_id", *COUNTERS,
                                                           "latency", "users"):
                found[(feature_id, resolution, bucket, version)] = (
                    pk, [int(v) for v in rest[:8]], rest[8], rest[9])
    return found


def _returning(connection: Any) -> bool:
    if connection.vendor == "postgresql":
        return True
    return connection.vendor == "sqlite" and sqlite3.sqlite_version_info >= (3, 35)


def _insert_new(alias: str, keys: Sequence[RowKey], rows: Mapping[RowKey, Values],
                generic: bool, writer: int = 0) -> dict[RowKey, int]:
    """Insert the rows of ``keys`` that still do not exist; {key: id} of those inserted
    with their values (the others are merged by the caller)."""
    connection = connections[alias]
    if generic or not _returning(connection):
        # No way to learn which rows this statement inserted: insert them empty, then
        # merge into them like into every other row.
        FeatureStats.objects.using(alias).bulk_create(
            [FeatureStats(feature_id=f, resolution=r, bucket_start=b, version=v, writer=writer)
             for f, r, b, v in keys], ignore_conflicts=True, batch_size=500)
        return {}
    qn = connection.ops.quote_name
    columns = [*_KEY, *COUNTERS, "latency", "users", "writer"]
    if connection.vendor == "postgresql":
        return _insert_new_postgresql(connection, keys, rows, writer)
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    size = max(1, 999 // len(columns)) if connection.vendor == "sqlite" else 500
    inserted: dict[RowKey, int] = {}
    with connection.cursor() as cursor:
        for chunk in chunks(keys, size):
            params: list[Any] = []
            for key in chunk:
                values = rows[key]
                users = values[9].dumps() if values[9] is not None else b""
                params.extend((*key, *values[:8], histogram.pack(values[8]), users, writer))
            cursor.execute(
                f"INSERT INTO {qn(FeatureStats._meta.db_table)} "
                f"({', '.join(qn(c) for c in columns)}) VALUES "
                + ", ".join([row_sql] * len(chunk))
                + " ON CONFLICT DO NOTHING RETURNING "
                + ", ".join(qn(c) for c in ("id", *_KEY)), params)
            inserted.update(((int(f), int(r), int(b), str(v)), int(pk))
                            for pk, f, r, b, v in cursor.fetchall())
    return inserted


def _arrays(rows: Sequence[Sequence[Any]], types: Sequence[str]) -> list[Any]:
    """One array parameter per column. Numbers and bytes as PostgreSQL array literals
    (one string: psycopg adapts a list element by element, which costs more than the
    statement)."""
    params: list[Any] = []
    for i, kind in enumerate(types):
        column = [row[i] for row in rows]
        if kind in ("bigint", "int"):
            params.append("{" + ",".join(map(str, map(int, column))) + "}")
        elif kind == "bytea":
            params.append("{" + ",".join(['"\\\\x' + bytes(b).hex() + '"'
                                          for b in column]) + "}")
        else:
            params.append(column)
    return params


def _insert_new_postgresql(connection: Any, keys: Sequence[RowKey],
                           rows: Mapping[RowKey, Values], writer: int) -> dict[RowKey, int]:
    qn = connection.ops.quote_name
    columns = [*_KEY, *COUNTERS, "latency", "users", "writer"]
    types = ["bigint", "int", "bigint", "text", *["bigint"] * len(COUNTERS), "bytea", "bytea",
             "bigint"]
    values = []
    for key in keys:
        value = rows[key]
        values.append((*key, *value[:8], histogram.pack(value[8]),
                       value[9].dumps() if value[9] is not None else b"", writer))
    unnest = ", ".join(f"%s::{t}[]" for t in types)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(FeatureStats._meta.db_table)} "
            f"({', '.join(qn(c) for c in columns)}) SELECT * FROM unnest({unnest}) "
            f"ON CONFLICT DO NOTHING RETURNING {', '.join(qn(c) for c in ('id', *_KEY))}",
            _arrays(values, types))
        return {(int(f), int(r), int(b), str(v)): int(pk)
                for pk, f, r, b, v in cursor.fetchall()}


def _update(connection: Any, updates: Sequence[Sequence[Any]], generic: bool,
            writer: int | None = None, only: Sequence[int] | None = None) -> list[int]:
    """Set the rows by id; PostgreSQL: the ids updated (``writer``: only rows still
    that process's). ``only``: the columns the updates hold (indexes into the 8 counters,
    latency, users; default all), the id last."""
    qn = connection.ops.quote_name
    table = qn(FeatureStats._meta.db_table)
    every = [*COUNTERS, "latency", "users"]
    columns = every if only is None else [every[i] for i in only]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not generic:
            # The whole batch as one array per column (see _lock).
            types = [*["bigint" if c in COUNTERS else "bytea" for c in columns], "bigint"]
            unnest = ", ".join(f"%s::{t}[]" for t in types)
            names = ", ".join(f"v{i}" for i in range(len(columns))) + ", id"
            sets = ", ".join(f"{qn(c)} = v.v{i}" for i, c in enumerate(columns))
            own = "" if writer is None else f" AND t.{qn('writer')} = {int(writer)}"
            cursor.execute(
                f"UPDATE {table} AS t SET {sets} FROM unnest({unnest}) AS v({names}) "
                f"WHERE t.{qn('id')} = v.id{own} RETURNING t.{qn('id')}",
                _arrays(updates, types))
            return [int(pk) for (pk,) in cursor.fetchall()]
        sets = ", ".join(f"{qn(c)} = %s" for c in columns)
        cursor.executemany(f"UPDATE {table} SET {sets} WHERE {qn('id')} = %s", list(updates))
        return []
