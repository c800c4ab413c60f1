"""Turning the contrib instrumentors on, once, with tracekit's provider and hooks.

For each client library that is installed: its instrumentor from the ``http`` extra,
unless the application instrumented it already (``opentelemetry-instrument``, its own
code: theirs stays in charge, tracekit adds nothing twice).
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from dataclasses import dataclass

from opentelemetry import trace

from django_tracekit.integrations.base import importable
from django_tracekit.sources.httpclient import redaction
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

_lock = threading.Lock()
#: library -> "tracekit" | "application" (instrumented before tracekit) | why not
status: dict[str, str] = {}


def install(provider: trace.TracerProvider | None = None) -> dict[str, str]:
    """Instrument every installed client library (idempotent); what happened to each."""
    with _lock:
        if status:
            return dict(status)
        wrapped = InTraceProvider(provider or trace.get_tracer_provider())
        for client in CLIENTS:
            status[client.library] = _instrument(client, wrapped)
        return dict(status)


def _instrument(client: Client, provider: InTraceProvider) -> str:
    if not importable(client.library):
        return "not installed"
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
