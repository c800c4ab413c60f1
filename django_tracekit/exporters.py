"""Span processors for the configured exporters: OTLP (http/grpc), console, none, or a factory.

Every exporter is wrapped so that (1) it is rebuilt in a forked child instead of reusing
the parent's sockets, and (2) its failures are logged (rate-limited) and never reach the
application.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from django_tracekit.conf import Config, Problem

logger = logging.getLogger("django_tracekit")

_OTLP_MODULES = {
    "http/protobuf": "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "grpc": "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
}
_LOG_EVERY_S = 60.0


class ExporterSetupError(Exception):
    """An exporter named in the settings cannot be built."""


def import_string(path: str) -> Any:
    """Import a dotted path; a clear error (like DRF's) when it cannot be."""
    module_path, _, attr = path.rpartition(".")
    try:
        module = importlib.import_module(module_path)
    except ImportError as exc:
        raise ExporterSetupError(f"could not import {path!r}: {exc}") from exc
    try:
        return getattr(module, attr)
    except AttributeError as exc:
        raise ExporterSetupError(
            f"could not import {path!r}: module {module_path!r} has no attribute {attr!r}"
        ) from exc


def _otlp_exporter_factory(config: Config) -> Callable[[], SpanExporter]:
    module_name = _OTLP_MODULES[config.otlp_protocol]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ExporterSetupError(
            f"the OTLP exporter for {config.otlp_protocol} is not installed ({exc.name}); "
            "install django-tracekit[otlp]"
        ) from exc
    exporter_class = module.OTLPSpanExporter
    endpoint, headers = config.otlp_endpoint, dict(config.otlp_headers)
    if config.otlp_protocol == "grpc":
        insecure = endpoint.startswith("http://")
        endpoint = endpoint.split("://", 1)[-1]
        return lambda: exporter_class(endpoint=endpoint, headers=headers, insecure=insecure)
    return lambda: exporter_class(endpoint=endpoint, headers=headers)


class GuardedExporter(SpanExporter):
    """Delegates to an exporter built per process; failures are contained and logged."""

    def __init__(self, factory: Callable[[], SpanExporter], label: str,
                 initial: SpanExporter | None = None) -> None:
        self._factory = factory
        self._label = label
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._inner: SpanExporter = initial if initial is not None else factory()
        self._last_log = 0.0
        self._failures = 0

    def _exporter(self) -> SpanExporter:
        if self._pid != os.getpid():  # forked: the parent's sockets/channels are not ours
            with self._lock:
                if self._pid != os.getpid():
                    self._inner = self._factory()
                    self._pid = os.getpid()
        return self._inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self._exporter().export(spans)
        except Exception as exc:
            self._report(f"raised {type(exc).__name__}: {exc}")
            return SpanExportResult.FAILURE
        if result is not SpanExportResult.SUCCESS:
            self._report("failed")
        return result

    def _report(self, what: str) -> None:
        self._failures += 1
        now = time.monotonic()
        if now - self._last_log >= _LOG_EVERY_S:
            self._last_log = now
            logger.warning("tracekit: %s exporter %s (%d failure(s) so far); spans dropped, "
                           "the application is not affected", self._label, what, self._failures)

    def shutdown(self) -> None:
        try:
            if self._pid == os.getpid():
                self._inner.shutdown()
        except Exception:
            logger.debug("tracekit: %s exporter shutdown failed", self._label, exc_info=True)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        try:
            return bool(self._exporter().force_flush(timeout_millis))
        except Exception:
            return False


def _factory_processor(path: str) -> SpanProcessor:
    factory = import_string(path)
    if not callable(factory):
        raise ExporterSetupError(f"{path!r} is not callable")
    product = factory()
    if isinstance(product, SpanProcessor):
        return product  # used as given: the factory chose its own processing
    if isinstance(product, SpanExporter):
        return BatchSpanProcessor(GuardedExporter(factory, path, initial=product))
    raise ExporterSetupError(
        f"{path!r} returned {type(product).__name__}, expected a SpanExporter or SpanProcessor"
    )


def build_processors(config: Config) -> tuple[list[SpanProcessor], list[str]]:
    """The processors for ``config.exporters`` and a list of reasons for those skipped."""
    processors: list[SpanProcessor] = []
    skipped: list[str] = []
    for name in config.exporters:
        try:
            if name == "none":
                continue
            if name == "otlp":
                processors.append(BatchSpanProcessor(GuardedExporter(
                    _otlp_exporter_factory(config), f"OTLP {config.otlp_protocol}")))
            elif name == "console":
                # Simple (synchronous) so output interleaves with the app's own prints.
                processors.append(SimpleSpanProcessor(GuardedExporter(ConsoleSpanExporter,
                                                                      "console")))
            else:
                processors.append(_factory_processor(name))
        except Exception as exc:
            skipped.append(f"{name}: {exc}")
    return processors, skipped


def check_exporters(config: Config) -> list[Problem]:
    """Import-time problems of the configured exporters, for the system checks."""
    problems: list[Problem] = []
    for name in config.exporters:
        if name == "otlp":
            try:
                importlib.import_module(_OTLP_MODULES[config.otlp_protocol])
            except ImportError:
                extra = "install django-tracekit[otlp]"
                if config.exporter_explicit:
                    problems.append(Problem(
                        "E014", "TRACEKIT['EXPORTER']",
                        f"'otlp' ({config.otlp_protocol}) is configured but its exporter is "
                        "not installed.", f"{extra}, or choose another exporter."))
                else:
                    problems.append(Problem(
                        "W002", "TRACEKIT['EXPORTER']",
                        "the default exporter 'otlp' is not installed: spans are not exported.",
                        f"{extra}, or set TRACEKIT['EXPORTER'] = 'none' to say so."))
        elif name not in ("none", "console"):
            try:
                factory = import_string(name)
            except ExporterSetupError as exc:
                problems.append(Problem("E005", "TRACEKIT['EXPORTER']", f"{exc}.",
                                        "Point to a callable returning a SpanExporter or "
                                        "SpanProcessor, e.g. 'myproject.tracing.exporter'."))
                continue
            if not callable(factory):
                problems.append(Problem("E005", "TRACEKIT['EXPORTER']",
                                        f"{name!r} is not callable.",
                                        "Point to a function or class, not a module attribute "
                                        "holding an instance."))
    return problems
