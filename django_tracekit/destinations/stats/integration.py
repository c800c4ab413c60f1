"""Feature-usage statistics as an integration: a local destination of finished spans."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.sampling import Sampler

from django_tracekit.integrations.base import Integration


class StatsIntegration(Integration):
    identifier = "stats"
    role = "destination"
    local = True

    def refusal(self) -> str | None:
        if not self.config.stats.enabled:
            return "TRACEKIT['STATS']['ENABLED'] is False"
        return super().refusal()

    def processors(self, owns_provider: bool) -> Sequence[SpanProcessor]:
        from django_tracekit.destinations.stats.processor import StatsProcessor

        return [StatsProcessor(flush_interval_s=self.config.stats.flush_interval_s,
                               service=self.config.service_name,
                               kinds=self.config.stats.kinds)]

    def wrap_sampler(self, sampler: Sampler) -> Sampler:
        # Exact counts at any SAMPLE_RATE: sampled-out spans are recorded, never exported.
        from django_tracekit.core.sampling import RecordSampledOut

        return RecordSampledOut(sampler)
