"""Error traces kept whole at any ``SAMPLE_RATE``: every span of a sampled-out trace is
recorded (never exported), SQL, cache, HTTP-client and Celery publish spans included.

:class:`~django_tracekit.destinations.stats.sampler.RecordSampledOut` (the stats' wrapper) records
only
the kinds the stats count (server, consumer, internal); a kept trace needs the others too:
an error trace without its queries, or a worker part whose parent (the publish span) is
missing, is not whole. Same mechanism (``DROP`` -> ``RECORD_ONLY``, the unsampled flag
kept, so exporters and downstream services see what they saw before), every kind.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Decision, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from django_tracekit.destinations.stats.sampler import RecordSampledOut


class RecordEverySampledOut(RecordSampledOut):
    """Delegate to ``sampler``; record (without sampling) every span it would drop."""

    def should_sample(self, parent_context: Context | None, trace_id: int, name: str,
                      kind: SpanKind | None = None, attributes: Attributes = None,
                      links: Sequence[Link] | None = None,
                      trace_state: TraceState | None = None) -> SamplingResult:
        result = self.sampler.should_sample(parent_context, trace_id, name, kind, attributes,
                                            links, trace_state)
        if result.decision is Decision.DROP:
            return SamplingResult(Decision.RECORD_ONLY, attributes, result.trace_state)
        return result

    def get_description(self) -> str:
        return f"RecordEverySampledOut{{{self.sampler.get_description()}}}"
