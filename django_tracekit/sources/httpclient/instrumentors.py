"""Turning the contrib instrumentors on, once, with tracekit's provider and hooks.

For each client library that is installed: its instrumentor from the ``http`` extra,
unless the application instrumented it already (``opentelemetry-instrument``, its own
code: theirs stays in charge, tracekit adds nothing twice). A library the process has not
imported yet is instrumented right after its first import (status "on first import" until
then): importing requests, httpx and their instrumentors up front would cost every worker
~10 MB for clients it may never use. urllib.request, which Django itself imports, gets its
instrumentor (with wrapt and packaging under it, ~2.7 MB) at its first ``open`` (status "on
first use" until then); requests and urllib3 likewise at their first call (``Session.send``,
``HTTPConnectionPool.urlopen``) unless their instrumentor is loaded already: Django REST
framework imports requests in every process, most of which never call out.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import sys
import threading
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace

from django_tracekit.core.first_import import OnFirstImport
from django_tracekit.integrations.base import importable
from django_tracekit.sources.httpclient.provider import InTraceProvider

logger = logging.getLogger("django_tracekit")


@dataclass(frozen=True)
class Client:
    """One client library and the contrib instrumentor that traces it."""

    library: str  # the module whose presence means the library is installed
    module: str
    instrumentor: str


CLIENTS = (
    Client("requests", "opentelemetry.instrumentation.requests", "RequestsInstrumentor"),
    Client("httpx", "opentelemetry.instrumentation.httpx", "HTTPXClientInstrumentor"),
    Client("urllib3", "opentelemetry.instrumentation.urllib3", "URLLib3Instrumentor"),
    Client("urllib.request", "opentelemetry.instrumentation.urllib", "URLLibInstrumentor"),
)
MODULES = tuple(client.module for client in CLIENTS)

_lock = threading.RLock()  # a library's first import may come while instrumenting another
#: library -> "tracekit" | "application" (instrumented before tracekit) | why not
status: dict[str, str] = {}


def install(provider: trace.TracerProvider | None = None) -> dict[str, str]:
    """Instrument every installed client library (idempotent); what happened to each."""
    with _lock:
        if status:
            return dict(status)
        wrapped = InTraceProvider(provider or trace.get_tracer_provider())
        pending: dict[str, Callable[[], None]] = {}
        for client in CLIENTS:
            if not importable(client.library):
                status[client.library] = "not installed"
            elif client.library == "urllib.request" and client.library in sys.modules:
                _on_first_open(_later(client, wrapped))
            elif client.library == "urllib.request":
                status[client.library] = PENDING
                pending[client.library] = functools.partial(_on_first_open,
                                                            _later(client, wrapped))
            elif client.library in sys.modules:
                _now_or_on_first_call(client, wrapped)
            else:
                status[client.library] = PENDING
                pending[client.library] = functools.partial(_now_or_on_first_call, client,
                                                            wrapped)
        if pending:
            sys.meta_path.insert(0, OnFirstImport(pending))
        return dict(status)


PENDING = "on first import"
FIRST_USE = "on first use"


def _on_first_open(instrument: Callable[[], None]) -> None:
    # From sys.modules: called right after the module's first import, before ``import``
    # binds it to its package.
    status["urllib.request"] = FIRST_USE
    opener = sys.modules["urllib.request"].OpenerDirector
    original = opener.__dict__["open"]

    def open(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            if opener.__dict__.get("open") is open:
                opener.open = original
                instrument()  # wraps OpenerDirector._open, which ``original`` calls
        return original(self, *args, **kwargs)

    opener.open = open


# library -> (module, class, method) its instrumentor wraps: a call there instruments it first
FIRST_CALL = {"requests": ("requests.sessions", "Session", "send"),
              "urllib3": ("urllib3.connectionpool", "HTTPConnectionPool", "urlopen")}


def _now_or_on_first_call(client: Client, provider: InTraceProvider) -> None:
    """Instrument ``client`` now if its instrumentor is loaded (the application may have
    instrumented it: theirs stays in charge), else at the first call of the method it wraps."""
    where = FIRST_CALL.get(client.library)
    owner = getattr(sys.modules.get(where[0]), where[1], None) if where else None
    if owner is None or client.module in sys.modules or not isinstance(
            owner.__dict__.get(where[2]), types.FunctionType):  # type: ignore[index]
        status[client.library] = _instrument(client, provider)
        return
    assert where is not None
    method = where[2]
    original = owner.__dict__[method]
    instrument = _later(client, provider)

    done: list[bool] = []  # tracekit instrumented it, here

    def first_call(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            if owner.__dict__.get(method) is first_call:
                setattr(owner, method, original)
                instrument()
                done.append(True)
            elif not done:  # the application's instrumentor wrapped this shim: theirs runs
                status[client.library] = "application"
        # The method as instrumented now, bound to this instance (a subclass's override
        # calling super() lands here: ``self.<method>`` would call the override again).
        target = owner.__dict__[method] if done else original
        return target.__get__(self, type(self))(*args, **kwargs)

    status[client.library] = FIRST_USE
    setattr(owner, method, first_call)


def _later(client: Client, provider: InTraceProvider) -> Callable[[], None]:
    def instrument() -> None:
        with _lock:
            status[client.library] = _instrument(client, provider)
    return instrument


def _instrument(client: Client, provider: InTraceProvider) -> str:
    # Imported with the first client library instrumented: a process that makes no
    # outgoing calls never loads it (docs/PERFORMANCE.md, "Memory").
    from django_tracekit.sources.httpclient import redaction

    try:
        instrumentor = getattr(importlib.import_module(client.module), client.instrumentor)()
        if instrumentor.is_instrumented_by_opentelemetry:
            return "application"
        # httpx's AsyncClient awaits its hooks: Hooks.kwargs() has async twins for it.
        instrumentor.instrument(tracer_provider=provider,
                                **redaction.Hooks.from_env(os.environ).kwargs())
        if not instrumentor.is_instrumented_by_opentelemetry:
            # The instrumentor refused (a version outside its range; it logged why).
            return "refused by its instrumentor"
    except Exception as exc:
        logger.warning("tracekit: outgoing %s calls are not traced: %s", client.library, exc,
                       exc_info=True)
        return f"failed: {exc}"
    return "tracekit"
