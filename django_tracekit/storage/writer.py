"""The database writer skeleton of the local destinations (stats, trace store), written once.

- :class:`TableCheck`: are the destination's tables there? Until ``migrate`` created them
  the check raises :class:`TablesMissing` (the processor keeps what it has and waits,
  quietly) without opening a connection that would create an SQLite file; the answer is
  remembered for :data:`TABLE_CHECK_SECONDS` (forgotten when ``migrate`` finishes).
- :func:`retrying`: one transaction, tried again when it rolled back whole because of
  another writer (deadlock, lock wait, SQLite "database is locked": ``OperationalError``)
  or of a state that a retry sees anew (``IntegrityError``: e.g. an id cached by this
  process whose row was pruned). Whole-transaction retries never write anything twice.
- :func:`isolate`: a batch that fails with a data error is written in parts, each in its
  own transaction; what fails alone is dropped and counted.
- :func:`clean_text`, :func:`bmp_only`, :func:`check_range`, :func:`chunks`: what makes a
  value storable on every backend.
- :func:`upsert_vendor`, :func:`upsert`, :func:`orm_add`: rows that *add* to what is
  there (``n = n + excluded.n``), which Django's ``bulk_create(update_conflicts=True)``
  cannot express.

Every access goes through the ``alias`` the caller gives (``STATS["DATABASE"]``), never
``django.db.connection``.
"""

from __future__ import annotations

import logging
import os
import random
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from django.db import DataError, IntegrityError, OperationalError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.db.models.signals import post_migrate

from django_tracekit.storage import timeouts

logger = logging.getLogger("django_tracekit")

T = TypeVar("T")
P = TypeVar("P")

TABLE_CHECK_SECONDS = 30.0  # how long "the tables are not there" is believed
# Deadlocks between writers of the same rows (MariaDB's gap locks make them common under
# four concurrent writers): tried again later, at a random offset so writers fall out of step.
RETRIES = 6
# Errors about the data of a batch (not about the database being reachable or its schema):
# they come back on every retry, so the batch is split to find the rows that cause them.
DATA_ERRORS: tuple[type[Exception], ...] = (DataError, IntegrityError, ValueError,
                                            OverflowError)
_BIGINT = 2 ** 63


class NotReady(Exception):
    """The writer cannot write yet (e.g. ``migrate`` has not created its tables); the
    processor keeps what it has, quietly, and tries again at the next flush."""


class TablesMissing(NotReady):
    """tracekit's tables are not in the database yet (``migrate`` not run)."""


class TableCheck:
    """Whether ``tables()`` exist in a database, remembered per alias."""

    def __init__(self, tables: Callable[[], Iterable[str]]) -> None:
        self._tables = tables
        self._ok: set[str] = set()  # aliases whose tables were seen
        self._missing_until: dict[str, float] = {}
        _checks.append(self)

    def __call__(self, alias: str) -> None:
        """Raise :class:`TablesMissing` unless the tables are there."""
        if alias in self._ok:
            return
        if self._missing_until.get(alias, 0.0) > time.monotonic():
            raise TablesMissing(f"its tables are not in database {alias!r} yet: run migrate")
        connection = connections[alias]
        if not (sqlite_file_missing(connection)
                or not set(self._tables()).issubset(connection.introspection.table_names())):
            self._ok.add(alias)
            return
        self._missing_until[alias] = time.monotonic() + TABLE_CHECK_SECONDS
        raise TablesMissing(f"its tables are not in database {alias!r} yet: run migrate")

    def forget(self, alias: str) -> None:
        """Look again next time (a write failed: the tables may have gone)."""
        self._ok.discard(alias)

    def clear(self) -> None:
        self._ok.clear()
        self._missing_until.clear()

    def forget_missing(self) -> None:
        self._missing_until.clear()


_checks: list[TableCheck] = []


def _forget_missing_tables(**kwargs: object) -> None:
    for check in _checks:
        check.forget_missing()


post_migrate.connect(_forget_missing_tables, dispatch_uid="django_tracekit.storage.writer")


def sqlite_file_missing(connection: BaseDatabaseWrapper) -> bool:
    """Connecting would create the file (``manage.py check`` on a fresh checkout)."""
    if connection.vendor != "sqlite":
        return False
    name = str(connection.settings_dict["NAME"])
    if name == ":memory:" or name.startswith("file:"):  # in memory, or a URI: no file check
        return False
    return not os.path.exists(name)


def retrying(alias: str, work: Callable[[], T], *,
             before_retry: Callable[[], None] | None = None, retries: int = RETRIES) -> T:
    """``work()`` in one transaction (with the statement timeout). Tried again, up to
    ``retries`` attempts in all, on ``OperationalError`` (deadlock, lock wait, "database is
    locked", after a jittered pause), and once on ``IntegrityError`` (a state this process
    cached, gone meanwhile; a second one is the data's fault: the caller isolates it).
    ``before_retry`` runs after every failed attempt (e.g. forget cached ids)."""
    attempt = 0
    integrity_retried = False
    while True:
        attempt += 1
        try:
            with transaction.atomic(using=alias):
                timeouts.statement_timeout(connections[alias])
                return work()
        except Exception as exc:
            if before_retry is not None:
                before_retry()
            if attempt >= retries:
                raise
            if isinstance(exc, IntegrityError):
                if integrity_retried:
                    raise
                integrity_retried = True
            elif isinstance(exc, OperationalError):
                time.sleep(0.05 * attempt * (1 + random.random()))
            else:
                raise


def isolate(parts: Sequence[P], write: Callable[[P], int],
            on_rejected: Callable[[P, Exception], None]) -> int:
    """Write ``parts`` one by one, each in its own transaction (``write`` makes it), after
    their batch failed with a data error: so what is committed is never written again.
    ``on_rejected`` is told each part that fails alone with a data error (it is dropped).
    A failure of another kind stops here: :class:`Stopped` says how many parts were done
    (the rest is left for the next flush)."""
    written = 0
    for done, part in enumerate(parts):
        try:
            written += write(part)
        except DATA_ERRORS as exc:
            on_rejected(part, exc)
        except Exception as exc:
            raise Stopped(done) from exc
    return written


class Stopped(Exception):
    """:func:`isolate` stopped before part ``done`` (its ``__cause__`` says why)."""

    def __init__(self, done: int) -> None:
        super().__init__(done)
        self.done = done


def batch_failed(what: str, cause: Exception) -> None:
    logger.warning("tracekit: a batch of %s failed (%s: %s); writing it in parts",
                   what, type(cause).__name__, str(cause).strip()[:300])


def rejected_one(rejected: Counter[str], key: str, n: int, description: str,
                 exc: Exception) -> None:
    """Count and log what isolation dropped."""
    rejected[key] += n
    logger.warning("tracekit: dropped %s: %s: %s", description, type(exc).__name__,
                   str(exc).strip()[:300])


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


def bmp_only(connection: BaseDatabaseWrapper) -> bool:
    """The connection refuses 4-byte UTF-8 characters."""
    # Django's MySQL backend connects in "utf8" (utf8mb3) unless OPTIONS say otherwise.
    if connection.vendor != "mysql":
        return False
    charset = str(connection.settings_dict.get("OPTIONS", {}).get("charset", "utf8"))
    return not charset.lower().startswith("utf8mb4")


def check_range(values: Iterable[int]) -> None:
    """A bogus span end time or duration: refused here alike on every backend (PostgreSQL
    would take it for a numeric and fail with a type error, not a data error)."""
    items = values if isinstance(values, (list, tuple)) else list(values)
    if items and min(items) >= -_BIGINT and max(items) < _BIGINT:
        return  # the common case, without a Python loop
    for value in items:
        if not -_BIGINT <= value < _BIGINT:
            raise OverflowError(f"{value} does not fit a 64-bit integer column")


def check_rows(rows: Iterable[Sequence[Any]]) -> None:
    """:func:`check_range` over the integers of every row."""
    for row in rows:
        check_range(v for v in row if type(v) is int)


def chunks(rows: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def upsert_vendor(connection: BaseDatabaseWrapper) -> str:
    """Which upsert statement the database takes: its vendor, or "orm" (the fallback)."""
    vendor = connection.vendor
    if vendor == "sqlite" and sqlite3.sqlite_version_info < (3, 24):
        return "orm"
    return vendor if vendor in ("postgresql", "sqlite", "mysql") else "orm"


def upsert(connection: BaseDatabaseWrapper, vendor: str, table: str, key_columns: Sequence[str],
           add_columns: Sequence[str], max_columns: Sequence[str],
           rows: Sequence[Sequence[Any]]) -> None:
    """Insert ``rows`` (key, adds, maxes in that order); on a conflict add to the existing
    row and keep the greater of the ``max_columns``. Rows must be sorted by key (every
    writer locks rows in the same order: no deadlock between two flushes)."""
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
        for chunk in chunks(rows, size):
            sql = (f"INSERT INTO {t} ({column_list}) VALUES "
                   + ", ".join([row_sql] * len(chunk)) + suffix)
            cursor.execute(sql, [value for row in chunk for value in row])


def orm_add(alias: str, model: Any, key_columns: Sequence[str], add_columns: Sequence[str],
            max_columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """The portable fallback of :func:`upsert`: an atomic ``UPDATE ... SET n = n + %s``,
    else an INSERT in a savepoint (a concurrent insert's IntegrityError falls back to the
    UPDATE)."""
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
