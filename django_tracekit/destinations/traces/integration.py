"""The trace store as an integration: a local destination of finished spans."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.sampling import Sampler

from django_tracekit.integrations.base import Integration


class TracesIntegration(Integration):
    identifier = "traces"
    role = "destination"
    local = True

    def refusal(self) -> str | None:
        if not self.config.traces.enabled:
            return "TRACEKIT['TRACES']['ENABLED'] is False"
        return super().refusal()

    def processors(self, owns_provider: bool) -> Sequence[SpanProcessor]:
        from django_tracekit.destinations.traces.processor import TraceStoreProcessor

        traces = self.config.traces
        return [TraceStoreProcessor(flush_interval_s=self.config.stats.flush_interval_s,
                                    sample_rate=traces.sample_rate,
                                    max_spans_per_trace=traces.max_spans_per_trace,
                                    max_traces=traces.max_traces)]

    def wrap_sampler(self, sampler: Sampler) -> Sampler:
        # Error traces kept whole at any SAMPLE_RATE: sampled-out spans recorded, never
        # exported (the stats' wrapper, extended to every span kind).
        from django_tracekit.core.sampling import RecordEverySampledOut

        return RecordEverySampledOut(sampler)
