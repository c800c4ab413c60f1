"""Put the execute wrapper on every connection of every alias, now and from now on.

Django keeps one connection object per alias *per thread* (and per async context); each
new one sends ``connection_created`` when it connects, before its first query runs, so
the receiver covers request threads, ``sync_to_async`` threads (the async ORM) and any
thread that opens its own connection. The connections of this thread that exist already
get it directly.

``connection.execute_wrapper()`` (public) is a context manager that appends to
``connection.execute_wrappers`` and pops the *last* entry on exit; a permanent wrapper
cannot stay inside it (it would pop an application's wrapper entered later), so the
wrapper is put first in that list itself (docs/PRIVATE_SEAMS.md): outermost, its span
covers the application's own wrappers, and it never shifts what they pop.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import connections
from django.db.backends.signals import connection_created

from django_tracekit.core.logonce import LogOnce
from django_tracekit.sources.db import wrapper

logger = logging.getLogger("django_tracekit")

_UID = "django_tracekit.sources.db"
_missing = LogOnce("a database connection has no execute_wrappers list; its queries are "
                   "not traced").failed


def attach(connection: Any) -> bool:
    """Put the wrapper on ``connection`` (idempotent); False if it cannot take one."""
    wrappers = getattr(connection, "execute_wrappers", None)
    if not isinstance(wrappers, list):
        _missing()
        return False
    if not any(isinstance(w, wrapper.QueryTracer) for w in wrappers):
        wrappers.insert(0, wrapper.QueryTracer())
    return True


def detach(connection: Any) -> None:
    wrappers = getattr(connection, "execute_wrappers", None)
    if isinstance(wrappers, list):
        wrappers[:] = [w for w in wrappers if not isinstance(w, wrapper.QueryTracer)]


def _on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    try:
        attach(connection)
    except Exception:
        _missing()


def install() -> None:
    """Trace every connection's queries (idempotent)."""
    wrapper.enabled = True
    connection_created.connect(_on_connection_created, dispatch_uid=_UID)
    for connection in connections.all(initialized_only=True):
        attach(connection)


def uninstall() -> None:
    """Stop tracing (tests): this thread's connections lose the wrapper; those of other
    threads keep an idle one."""
    wrapper.enabled = False
    connection_created.disconnect(dispatch_uid=_UID)
    for connection in connections.all(initialized_only=True):
        detach(connection)
