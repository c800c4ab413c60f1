"""Per-feature metrics as an integration: a destination of finished spans (not local: it
exports, within the exporters' shared exit deadline)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.sampling import Sampler

from django_tracekit.conf.metrics import metrics_endpoint
from django_tracekit.integrations.base import Integration, importable

if TYPE_CHECKING:  # the SDK's metrics are imported only when METRICS is on
    from opentelemetry.sdk.metrics.export import MetricExporter


class MetricsIntegration(Integration):
    identifier = "metrics"
    role = "destination"
    requires = ("opentelemetry.sdk.metrics",)

    def _protocol(self) -> str:
        return os.environ.get("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL") or self.config.otlp_protocol

    def refusal(self) -> str | None:
        settings = self.config.metrics
        if not settings.enabled:
            return "TRACEKIT['METRICS']['ENABLED'] is False"
        if settings.exporter == "prometheus_remote_write":
            if not importable("cramjam"):
                return "cramjam not installed (pip install 'django-tracekit[prometheus]')"
            if not settings.remote_write_url:
                return "TRACEKIT['METRICS']['REMOTE_WRITE_URL'] is not set"
        else:
            module = ("opentelemetry.exporter.otlp.proto.grpc" if self._protocol() == "grpc"
                      else "opentelemetry.exporter.otlp.proto.http")
            if not importable(module):
                return f"{module} not installed (pip install 'django-tracekit[otlp]')"
        return super().refusal()

    def exporter(self) -> MetricExporter:
        """A new metric exporter (one per process: made after a fork, never inherited)."""
        settings = self.config.metrics
        if settings.exporter == "prometheus_remote_write":
            from django_tracekit.destinations.metrics.remote_write import RemoteWriteExporter

            assert settings.remote_write_url is not None
            return RemoteWriteExporter(settings.remote_write_url)
        env = os.environ
        protocol = self._protocol()
        # OTEL_EXPORTER_OTLP_METRICS_{ENDPOINT,HEADERS,TEMPORALITY_PREFERENCE} are read by
        # the exporter itself when we pass nothing for them.
        endpoint = None if env.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") else \
            metrics_endpoint(self.config.otlp_endpoint, protocol)
        headers = None if env.get("OTEL_EXPORTER_OTLP_METRICS_HEADERS") else \
            (dict(self.config.otlp_headers) or None)
        if protocol == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
                OTLPMetricExporter as GrpcExporter,
            )

            return GrpcExporter(endpoint=endpoint, headers=headers)
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        return OTLPMetricExporter(endpoint=endpoint, headers=headers)

    def processors(self, owns_provider: bool) -> Sequence[SpanProcessor]:
        from django_tracekit.destinations.metrics.processor import (
            MetricsProcessor,
            periodic_readers,
        )

        settings = self.config.metrics
        return [MetricsProcessor(periodic_readers(self.exporter, settings.export_interval_s),
                                 settings.kinds)]

    def wrap_sampler(self, sampler: Sampler) -> Sampler:
        # Counted before sampling: the stats' wrapper (idempotent when both are on).
        from django_tracekit.core.sampling import RecordSampledOut

        if isinstance(sampler, RecordSampledOut):
            return sampler
        return RecordSampledOut(sampler)
