"""Finished spans -> the spanmetrics connector's two instruments, before sampling.

The span processor classifies a span once (:mod:`django_tracekit.core.features`, the same
feature names as the stats) and appends its duration to the pending list of its series,
under a lock held for that append only: the hot path costs a dict lookup. At each
collection (the reader's thread, every ``EXPORT_INTERVAL_S``; a flush; the exit) an
observable instrument's callback, which the SDK runs before it reads its storage, hands the
pending spans to ``traces.span.metrics.calls`` (one ``add`` per series) and
``traces.span.metrics.duration`` (ms); the SDK's own per-measurement work (attribute
cleaning and hashing, ~10x the lookup) stays off the request path. Sampled-out
spans reach ``on_end`` because the sampler is wrapped like the stats' one
(:class:`~django_tracekit.core.sampling.RecordSampledOut`).

One series set per process: the MeterProvider is made at the first span of a process, with
the span's resource plus a fresh ``service.instance.id``. A forked child (gunicorn worker,
Celery prefork child) never restarts or exports the parent's inherited provider (its reader
stays stopped, :class:`_PerProcessReader`) and makes its own at its first span, so no count
is exported twice. Exit: :meth:`MetricsProcessor.shutdown` exports what is left within
``EXIT_TIMEOUT_S`` (the bootstrap runs it with the exporters' shared deadline).
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Counter, Histogram, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from django_tracekit.core.exit import EXIT_TIMEOUT_S
from django_tracekit.core.features import OTHER_FEATURE, TASK, feature_kind, feature_name
from django_tracekit.destinations.metrics import CALLS, DURATION, DURATION_BOUNDS_MS

try:  # exemplars (SDK 1.28+): off, tracekit's metrics carry no trace ids
    from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter
except ImportError:  # SDK 1.27: no exemplars at all
    AlwaysOffExemplarFilter = None  # type: ignore[assignment,misc]

logger = logging.getLogger("django_tracekit")

MAX_FEATURES = 2_000  # distinct features per process; beyond: "(other)" (bounded series)
# Spans counted but not yet handed to the SDK; past this, the span that reaches it drains
# them (a burst between two exports never grows memory without bound).
MAX_PENDING = 50_000
FEATURE_KIND = "tracekit.feature.kind"
_STATUS = {StatusCode.UNSET: "STATUS_CODE_UNSET", StatusCode.OK: "STATUS_CODE_OK",
           StatusCode.ERROR: "STATUS_CODE_ERROR"}
_KIND = {k: f"SPAN_KIND_{k.name}" for k in SpanKind}
# A Celery attempt that will be retried is not a call (as in the stats): the final one is.
_CELERY_STATE, _RETRY = "celery.state", "RETRY"

ReaderFactory = Callable[[], Sequence[MetricReader]]


class _PerProcessReader(PeriodicExportingMetricReader):
    """The SDK restarts a reader's thread in a forked child, which would export the parent's
    inherited counts a second time; this one stays stopped there (the child makes its own)."""

    def _at_fork_reinit(self) -> None:
        self._daemon_thread = None


def periodic_readers(exporter_factory: Callable[[], MetricExporter],
                     interval_s: float) -> ReaderFactory:
    """A factory of one periodic reader around a new exporter (one per process)."""
    def make() -> Sequence[MetricReader]:
        return [_PerProcessReader(exporter_factory(),
                                  export_interval_millis=interval_s * 1000)]
    return make


class MetricsProcessor(SpanProcessor):
    def __init__(self, readers: ReaderFactory, kinds: Sequence[str],
                 max_features: int = MAX_FEATURES) -> None:
        self._readers = readers
        self.kinds = frozenset(kinds)
        self.max_features = max_features
        self._lock = threading.Lock()
        self._pid: int | None = None
        self.provider: MeterProvider | None = None
        self._calls: Counter | None = None
        self._duration: Histogram | None = None
        self._attributes: dict[tuple[str, str, SpanKind, StatusCode], dict[str, str]] = {}
        self._service = "unknown_service"
        self._shut_down = False
        self._pending: dict[int, tuple[dict[str, str], list[float]]] = {}
        self._pending_n = 0

    # -- per process -----------------------------------------------------------------------
    def _start(self, resource: Resource) -> None:
        """A new provider for this process (the first span, or the first after a fork)."""
        self._attributes = {}
        self._pending = {}  # a forked child drops the parent's (the parent exports them)
        self._pending_n = 0
        self._service = str(resource.attributes.get("service.name", "unknown_service"))
        own = Resource.create({**resource.attributes,
                               "service.instance.id": str(uuid.uuid4())})
        extra: dict[str, Any] = ({} if AlwaysOffExemplarFilter is None
                                 else {"exemplar_filter": AlwaysOffExemplarFilter()})
        provider = MeterProvider(
            metric_readers=list(self._readers()), resource=own, shutdown_on_exit=False,
            views=[View(instrument_name=DURATION, aggregation=ExplicitBucketHistogramAggregation(
                DURATION_BOUNDS_MS))], **extra)
        meter = provider.get_meter("django_tracekit.destinations.metrics")
        self._calls = meter.create_counter(CALLS, description="Spans of a feature, counted "
                                           "before sampling")
        self._duration = meter.create_histogram(DURATION, unit="ms",
                                                description="Duration of a feature's spans")
        # Reports nothing itself: its callback drains the pending spans before each read.
        meter.create_observable_gauge("tracekit.metrics.pending", callbacks=[self._drain])
        self.provider = provider
        self._pid = os.getpid()

    # -- hot path --------------------------------------------------------------------------
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        try:
            scope = span.instrumentation_scope
            attributes = span.attributes
            kind = feature_kind(span.kind, scope.name if scope is not None else None, attributes)
            if kind is None or kind not in self.kinds or self._shut_down:
                return
            if kind == TASK and attributes and attributes.get(_CELERY_STATE) == _RETRY:
                return
            if self._pid != os.getpid():
                with self._lock:
                    if self._pid != os.getpid():
                        self._start(span.resource)
            end = span.end_time or 0
            duration_ms = max(0, end - (span.start_time or end)) / 1e6
            key = (feature_name(span.name, kind, attributes), kind, span.kind,
                   span.status.status_code)
            labels = self._attributes.get(key)
            if labels is None:
                labels = self._labels(key)
            with self._lock:
                pending = self._pending.get(id(labels))
                if pending is None:
                    pending = self._pending[id(labels)] = (labels, [])
                pending[1].append(duration_ms)
                self._pending_n += 1
                full = self._pending_n >= MAX_PENDING
            if full:
                self._drain()
        except Exception:  # never into the application
            logger.debug("tracekit: metrics could not count a span", exc_info=True)

    def _labels(self, key: tuple[str, str, SpanKind, StatusCode]) -> dict[str, str]:
        _, kind, span_kind, status = key
        with self._lock:
            if len(self._attributes) >= self.max_features:  # bounded cardinality
                other = (OTHER_FEATURE, kind, span_kind, status)
                labels = self._attributes.get(other)
                if labels is None:
                    labels = self._attributes[other] = self._make_labels(other)
                return labels
            labels = self._attributes[key] = self._make_labels(key)
            return labels

    def _make_labels(self, key: tuple[str, str, SpanKind, StatusCode]) -> dict[str, str]:
        feature, kind, span_kind, status = key
        return {"service.name": self._service, "span.name": feature,
                "span.kind": _KIND.get(span_kind, "SPAN_KIND_UNSPECIFIED"),
                "status.code": _STATUS[status], FEATURE_KIND: kind}

    def _drain(self, options: CallbackOptions | None = None) -> list[Observation]:
        """Hand the pending spans to the SDK's instruments (see the module docstring)."""
        with self._lock:
            pending, self._pending = self._pending, {}
            self._pending_n = 0
        calls, duration = self._calls, self._duration
        if calls is None or duration is None:
            return []
        for labels, durations in pending.values():
            calls.add(len(durations), labels)
            for ms in durations:
                duration.record(ms, labels)
        return []

    # -- flushing --------------------------------------------------------------------------
    def _own_provider(self) -> MeterProvider | None:
        return self.provider if self._pid == os.getpid() else None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        provider = self._own_provider()
        if provider is None:
            return True
        try:
            return bool(provider.force_flush(timeout_millis))
        except Exception:
            logger.debug("tracekit: metrics flush failed", exc_info=True)
            return False

    def shutdown(self) -> None:
        """Export what is left, within ``EXIT_TIMEOUT_S``; never waits longer."""
        self._shut_down = True
        provider = self._own_provider()
        if provider is None:
            return
        try:
            provider.shutdown(timeout_millis=EXIT_TIMEOUT_S * 1000)
        except Exception:
            logger.debug("tracekit: metrics shutdown failed", exc_info=True)
