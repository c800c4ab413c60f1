"""Span processors for the configured exporters: OTLP (http/grpc), console, none, or a factory.

Every exporter is wrapped so that (1) it is rebuilt in a forked child instead of reusing
the parent's sockets, (2) its failures are logged (rate-limited, the SDK's own export
warnings included) and never reach the application, and (3) flushing and shutting it down
never take longer than the caller allows: the work runs on a daemon thread started ahead
of time (:class:`~django_tracekit.core.bounded.BoundedRunner`) that the caller waits for
until its deadline, then leaves behind (a collector that is down, black-holed or slow
costs a process exit at most that deadline; what did not go out is dropped and counted).
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from django.utils.module_loading import import_string as django_import_string
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from django_tracekit.conf import Config, Problem
from django_tracekit.core import exit as exiting
from django_tracekit.core import lifecycle
from django_tracekit.core.bounded import BoundedRunner
from django_tracekit.core.logonce import EXPORT_FAILING, RateLimitFilter, add_filters, allow
from django_tracekit.core.vocabulary import SUPPRESS_KEY
from django_tracekit.destinations.export import clean

logger = logging.getLogger("django_tracekit")

_OTLP_MODULES = {
    "http/protobuf": "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "grpc": "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
}
_LOG_EVERY_S = 60.0
# What an exit may wait (per process, every destination together: django_tracekit.core.exit).
EXIT_TIMEOUT_S = exiting.EXIT_TIMEOUT_S
# The SDK's and exporters' own loggers: with a collector down they log every retry and every
# dropped span; RateLimitFilter keeps one line per message a minute.
SDK_EXPORT_LOGGERS = (
    "opentelemetry.sdk._shared_internal",
    "opentelemetry.sdk.trace.export",
    "opentelemetry.exporter.otlp.common.http",
    "opentelemetry.exporter.otlp.proto.http._common",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
)


# Nothing is traced while it is set (django_tracekit.core.vocabulary).
SUPPRESS_INSTRUMENTATION_KEY = SUPPRESS_KEY


class ExporterSetupError(Exception):
    """An exporter named in the settings cannot be built."""


def import_string(path: str) -> Any:
    """Django's ``import_string``, failing with :class:`ExporterSetupError`."""
    try:
        return django_import_string(path)
    except ImportError as exc:
        raise ExporterSetupError(f"could not import {path!r}: {exc}") from exc


_rate_limit = RateLimitFilter()


def limit_sdk_export_logs() -> None:
    """Attach the rate limit to the SDK's export loggers (idempotent)."""
    add_filters(SDK_EXPORT_LOGGERS, _rate_limit)


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
        self.label = label
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._inner: SpanExporter = initial if initial is not None else factory()
        self._failures = 0
        self.spans_done = 0  # handed to the exporter and returned (sent or failed)

    def _exporter(self) -> SpanExporter:
        if self._pid != os.getpid():  # forked: the parent's sockets/channels are not ours
            with self._lock:
                if self._pid != os.getpid():
                    self._inner = self._factory()
                    self._failures = self.spans_done = 0
                    self._pid = os.getpid()
        return self._inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        # The exporter's own HTTP calls (requests, urllib3) are never spans, whichever
        # thread exports (the SDK's batch worker suppresses too; a flush or a factory's
        # processor may run here from a request's thread, inside its trace).
        token = otel_context.attach(otel_context.set_value(SUPPRESS_INSTRUMENTATION_KEY, True))
        try:
            # A lone surrogate in one span must not make the exporter drop the batch.
            result = self._exporter().export(clean.encodable(spans))
        except Exception as exc:
            self._report(f"raised {type(exc).__name__}: {exc}")
            result = SpanExportResult.FAILURE
        else:
            if result is not SpanExportResult.SUCCESS:
                self._report("failed")
        finally:
            otel_context.detach(token)
        self.spans_done += len(spans)  # one export at a time (the processor's lock)
        return result

    def _report(self, what: str) -> None:
        self._failures += 1
        # Once a minute per process family (a Celery pool's children share it).
        passed, held, _ = allow(EXPORT_FAILING, _LOG_EVERY_S)
        if passed:
            logger.warning("tracekit: %s exporter %s (%d failure(s) so far%s); spans dropped, "
                           "the application is not affected", self.label, what, self._failures,
                           f", {held} more not logged" if held else "")

    def shutdown(self) -> None:
        try:
            if self._pid == os.getpid():
                self._inner.shutdown()
        except Exception:
            logger.debug("tracekit: %s exporter shutdown failed", self.label, exc_info=True)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        try:
            return bool(self._exporter().force_flush(timeout_millis))
        except Exception:
            return False

    def stop_retrying(self) -> bool:
        """From now on one attempt per batch: a retry wait (1, 2, 4 s... for a collector
        that refuses connections) ends at once, while exports keep working. For the exit.

        No public seam: the OTLP exporters' own retry-abort event (set by their shutdown,
        which would also refuse every later batch) is used when present; ``False`` if not
        (the exit deadline still bounds the wait)."""
        if self._pid != os.getpid():
            return False
        inner = self._inner
        event = getattr(getattr(inner, "_client", None), "_shutdown_event", None)  # http
        if event is None:
            event = getattr(inner, "_shutdown_in_progress", None)  # grpc
        if isinstance(event, threading.Event):
            event.set()
            return True
        return False


class BoundedBatchSpanProcessor(BatchSpanProcessor):
    """The SDK's batch processor whose ``force_flush`` and ``shutdown`` return in time.

    The SDK's versions wait for the exporter, which retries for up to its timeout (10 s)
    per batch and ignores the flush timeout. Here they run on this processor's
    :class:`BoundedRunner`, waited for until the caller's deadline; the spans not exported
    by then are dropped (the runner goes on trying while the process lives) and counted by
    :meth:`unsent`.
    """

    def __init__(self, exporter: GuardedExporter, **options: Any) -> None:
        super().__init__(exporter, **options)
        self.exporter = exporter
        self.accepted = 0  # sampled spans queued in this process (approximate under races)
        self._runner = BoundedRunner("tracekit-export-exit")
        _bounded.add(self)

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is not None and span.context.trace_flags.sampled:
            self.accepted += 1
        super().on_end(span)

    @property
    def label(self) -> str:
        return self.exporter.label

    def unsent(self) -> int:
        """Spans accepted but not (yet) through the exporter: queued, in flight or dropped
        because the queue was full."""
        return max(0, self.accepted - self.exporter.spans_done)

    def force_flush(self, timeout_millis: int | None = None) -> bool:
        timeout_s = (30_000 if timeout_millis is None else timeout_millis) / 1000
        flush = super().force_flush
        result: list[bool] = []

        def work() -> None:
            try:
                result.append(flush())
            except Exception:
                logger.debug("tracekit: %s flush failed", self.exporter.label, exc_info=True)

        return self._runner.run(work, timeout_s) and result == [True]

    def shutdown(self, timeout_s: float | None = None) -> bool:  # type: ignore[override]
        """Stop; export what is queued within ``timeout_s`` (default: what is left of the
        exit's shared deadline), one attempt per batch."""
        done = self.begin_shutdown()
        timeout = exiting.remaining() if timeout_s is None else timeout_s
        return done is not None and done.wait(max(0.0, timeout))

    def begin_shutdown(self) -> threading.Event | None:
        """Start stopping (one attempt per batch) on this processor's runner; the event is
        set once done. The exit waits for it with the other destinations."""
        self.exporter.stop_retrying()
        stop = super().shutdown

        def work() -> None:
            try:
                stop()  # type: ignore[no-untyped-call]
            except Exception:
                logger.debug("tracekit: %s shutdown failed", self.exporter.label, exc_info=True)

        return self._runner.submit(work)

    def _after_fork_in_child(self) -> None:
        self.accepted = 0
        self._runner.start()


_bounded: weakref.WeakSet[BoundedBatchSpanProcessor] = weakref.WeakSet()


@lifecycle.after_fork_in_child
def _after_fork_in_child() -> None:
    for processor in list(_bounded):
        processor._after_fork_in_child()


def _factory_processor(path: str) -> SpanProcessor:
    factory = import_string(path)
    if not callable(factory):
        raise ExporterSetupError(f"{path!r} is not callable")
    product = factory()
    if isinstance(product, SpanProcessor):
        return product  # used as given: the factory chose its own processing
    if isinstance(product, SpanExporter):
        return BoundedBatchSpanProcessor(GuardedExporter(factory, path, initial=product))
    raise ExporterSetupError(
        f"{path!r} returned {type(product).__name__}, expected a SpanExporter or SpanProcessor"
    )


def describe(config: Config, name: str) -> str:
    """Where exporter ``name`` sends spans, for the startup line."""
    if name == "otlp":
        return f"{config.otlp_endpoint} (otlp {config.otlp_protocol})"
    if name == "console":
        return "the console"
    return name


def build_processors(config: Config) -> tuple[list[SpanProcessor], list[str]]:
    """The processors for ``config.exporters`` and a list of reasons for those skipped."""
    processors: list[SpanProcessor] = []
    skipped: list[str] = []
    for name in config.exporters:
        try:
            if name == "none":
                continue
            if name == "otlp":
                processors.append(BoundedBatchSpanProcessor(GuardedExporter(
                    _otlp_exporter_factory(config), f"OTLP {config.otlp_protocol}")))
            elif name == "console":
                # Simple (synchronous) so output interleaves with the app's own prints.
                processors.append(SimpleSpanProcessor(GuardedExporter(ConsoleSpanExporter,
                                                                      "console")))
            else:
                processors.append(_factory_processor(name))
        except Exception as exc:
            skipped.append(f"{name}: {exc}")
    if processors:
        limit_sdk_export_logs()
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
                else:  # the default, chosen because an OTLP endpoint is configured
                    problems.append(Problem(
                        "W002", "TRACEKIT['EXPORTER']",
                        f"an OTLP endpoint is configured ({config.otlp_endpoint}) but the "
                        "'otlp' exporter is not installed: spans are not exported.",
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
