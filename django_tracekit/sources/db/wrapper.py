"""The execute wrapper: each query and ``executemany`` as a CLIENT span.

Installed through Django's public ``connection.execute_wrapper`` seam (``install.py``).
Outside a recording span the cost is one context read and one check. Inside one, the span
is a child of the current span: reading it through OpenTelemetry's context materializes
pending auto-traced calls (``core/context.py``), so the function that ran the query
becomes a kept span and the chain view -> function -> query stays whole.

Never parameter values: ``db.query.text`` is the statement with literals replaced
(``core/sql_text.py``). The query's own exception is recorded on its span by the error
convention (once: enclosing spans get a reference) and re-raised unchanged; a failure of
tracekit's own code is logged once and the query runs as if untraced. Error listeners
(Sentry) hear of a query's exception only once it escapes into code that records it: a
handled ``IntegrityError`` (``get_or_create``'s race) is a failed query in the trace, not an
error report (``errors.handle_client_error``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span

from django_tracekit.conf.db import DbSettings
from django_tracekit.core import sql_text as statements
from django_tracekit.core.context import real_runtime
from django_tracekit.core.errors import handle_client_error
from django_tracekit.core.logonce import LogOnce
from django_tracekit.core.vocabulary import SUPPRESS_KEY
from django_tracekit.sources.db import nplusone, quiet, spans

_SUPPRESS_KEY = SUPPRESS_KEY
_get_current_span = trace.get_current_span
_failed = LogOnce("tracing a database query failed; the query ran untraced").failed

#: connection.vendor -> db.system.name (semconv)
SYSTEMS = {"postgresql": "postgresql", "mysql": "mysql", "sqlite": "sqlite",
           "oracle": "oracle.db"}

Executor = Callable[[Any, Any, bool, Mapping[str, Any]], Any]

enabled = True  # False once uninstalled: wrappers left on other threads' connections idle
#: ``TRACEKIT['DB']``, handed over by the integration (``configure``); read per query.
settings = DbSettings()


def configure(db: DbSettings) -> None:
    """Use ``db`` (its ENABLED switch and N+1 threshold) from the next query on."""
    global settings
    settings = db


def connection_attributes(connection: Any) -> dict[str, Any]:
    """What every span of one connection carries: system, database, server."""
    vendor = str(getattr(connection, "vendor", "") or "")
    system = SYSTEMS.get(vendor, "other_sql")
    if vendor == "mysql" and _is_mariadb(connection):
        system = "mariadb"
    attributes: dict[str, Any] = {"db.system.name": system}
    settings = getattr(connection, "settings_dict", None) or {}
    name = settings.get("NAME")
    if name:
        attributes["db.namespace"] = str(name)[:256]
    host = settings.get("HOST")
    if host and isinstance(host, str):
        attributes["server.address"] = host[:256]
    port = settings.get("PORT")
    try:
        if port:
            attributes["server.port"] = int(port)
    except (TypeError, ValueError):
        pass
    return attributes


def _is_mariadb(connection: Any) -> bool:
    # Django's own ``mysql_is_mariadb`` runs a query when not cached yet (inside this
    # wrapper: a query within a query); the open driver connection knows without one.
    known = connection.__dict__.get("mysql_is_mariadb")
    if isinstance(known, bool):
        return known
    raw = getattr(connection, "connection", None)
    info = getattr(raw, "get_server_info", None)
    if callable(info):
        try:
            return "mariadb" in str(info()).lower()
        except Exception:
            return False
    return False


class QueryTracer:
    """One connection's execute wrapper (``connection.execute_wrappers`` holds it)."""

    __slots__ = ("attributes", "mysql")

    def __init__(self) -> None:
        self.attributes: dict[str, Any] | None = None  # on the first traced query
        self.mysql = False

    def __call__(self, execute: Executor, sql: Any, params: Any, many: bool,
                 context: Mapping[str, Any]) -> Any:
        __traceback_hide__ = True  # tracekit's frame: not in Django's error pages
        current = real_runtime().get_current()
        if (not _get_current_span(current).is_recording() or current.get(_SUPPRESS_KEY)
                or not enabled):
            return execute(sql, params, many, context)
        try:
            span = self._start(sql, params, many, context)
        except Exception:
            _failed()
            span = None
        if span is None:
            return execute(sql, params, many, context)
        try:
            return execute(sql, params, many, context)
        except BaseException as exc:
            try:
                handle_client_error(exc, span)
            except Exception:
                _failed()
            raise
        finally:
            try:
                span.end()
            except Exception:
                _failed()

    def _start(self, sql: Any, params: Any, many: bool,
               context: Mapping[str, Any]) -> Span | None:
        config = settings
        if not config.enabled or quiet.caller_is_quiet():
            return None
        attributes = self.attributes
        if attributes is None:
            connection = context["connection"]
            self.mysql = getattr(connection, "vendor", None) == "mysql"
            attributes = self.attributes = connection_attributes(connection)
        statement = statements.parse(sql, self.mysql)
        if statement.own:
            return None
        attributes = dict(attributes)
        attributes["db.query.text"] = statement.text
        name = statement.name
        operation = statement.operation
        if statement.collection is not None:
            attributes["db.collection.name"] = statement.collection
        if many:
            size = _batch_size(params)
            if size is not None and size != 1:
                attributes["db.operation.batch.size"] = size
                operation = f"BATCH {operation}" if operation else "BATCH"
                name = f"BATCH {name}"
        if operation is not None:
            attributes["db.operation.name"] = operation
        parent_context = otel_context.get_current()  # pending auto-traced calls become spans
        parent = _get_current_span(parent_context)
        if parent.is_recording() and not nplusone.count(parent, statement.key, statement.text,
                                                        config.n_plus_one):
            return None  # beyond the spans one parent gets: counted only
        return spans.start(name, parent_context, parent, attributes)


def _batch_size(params: Any) -> int | None:
    """How many parameter sets ``executemany`` got, without iterating them (an iterator or
    generator has no length: none is shown rather than consuming it)."""
    try:
        return len(params) if params is not None else 0
    except TypeError:
        return None
