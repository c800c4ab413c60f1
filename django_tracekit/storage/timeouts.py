"""Timeouts for tracekit's own writes (the stats and trace store flusher threads).

A database that is black-holed (a connect that never completes, a statement never
answered) must hold up only tracekit's flusher thread, and that for a bounded time:

- PostgreSQL: ``connect_timeout`` on the flusher thread's connection, and
  ``statement_timeout`` for each write transaction (``set_config(..., true)``, i.e.
  ``SET LOCAL``: the connection's setting is untouched after it);
- MySQL / MariaDB: ``connect_timeout``, ``read_timeout`` and ``write_timeout`` of the
  driver (mysqlclient and PyMySQL both take them);
- SQLite: the busy timeout (``timeout``), when the project did not set one.

Only the flusher threads' own connections are changed (Django gives each thread its own
connection object; its ``settings_dict`` is replaced on that object before it connects),
never the application's.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

logger = logging.getLogger("django_tracekit")

CONNECT_TIMEOUT_S = 3  # libpq's minimum is 2 s
STATEMENT_TIMEOUT_S = 15
SQLITE_BUSY_TIMEOUT_S = 10.0

_marked = threading.local()


def mark_writer_thread() -> None:
    """This thread writes tracekit's data: its connections get the timeouts."""
    _marked.on = True


def is_writer_thread() -> bool:
    return bool(getattr(_marked, "on", False))


def options(vendor: str, given: dict[str, Any]) -> dict[str, Any]:
    """``given`` (a connection's ``OPTIONS``) with tracekit's write timeouts added; a
    timeout the project set is kept when it is shorter."""
    extra: dict[str, Any] = {}
    if vendor == "postgresql":
        extra["connect_timeout"] = CONNECT_TIMEOUT_S
    elif vendor == "mysql":
        extra.update(connect_timeout=CONNECT_TIMEOUT_S, read_timeout=STATEMENT_TIMEOUT_S,
                     write_timeout=STATEMENT_TIMEOUT_S)
    elif vendor == "sqlite":
        extra["timeout"] = SQLITE_BUSY_TIMEOUT_S
    merged = dict(given)
    for key, value in extra.items():
        current = merged.get(key)
        try:
            shorter = current is not None and 0 < float(current) <= value
        except (TypeError, ValueError):
            shorter = False
        if not shorter:
            merged[key] = value
    return merged


def apply(connection: BaseDatabaseWrapper) -> None:
    """Give ``connection`` (not yet connected, of a writer thread) the timeouts."""
    if not is_writer_thread() or connection.connection is not None:
        return
    settings = connection.settings_dict
    if settings.get("_tracekit_timeouts"):
        return
    try:
        given = dict(settings.get("OPTIONS") or {})
        # A copy for this thread's connection object only (Django shares the dict).
        connection.settings_dict = {**settings, "OPTIONS": options(connection.vendor, given),
                                    "_tracekit_timeouts": True}
    except Exception:
        logger.debug("tracekit: could not set the write timeouts", exc_info=True)


def statement_timeout(connection: BaseDatabaseWrapper) -> None:
    """Inside a write transaction: its statements end after :data:`STATEMENT_TIMEOUT_S`
    (PostgreSQL; the other vendors' timeouts are the driver's, set at connect)."""
    if connection.vendor != "postgresql" or not is_writer_thread():
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, true)",
                       [f"{STATEMENT_TIMEOUT_S * 1000}"])
