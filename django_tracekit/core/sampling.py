"""Samplers that record what the configured sampler drops: exact counts and whole error
traces whatever the sample rate (sampled-out spans are recorded, never exported).

The SDK ends a sampled-out span without calling any processor (it is a NonRecordingSpan),
so a processor alone cannot count it. :class:`RecordSampledOut` wraps the configured
sampler and turns its ``DROP`` into ``RECORD_ONLY``: the span records (processors see
``on_end``) but keeps the *unsampled* trace flag, so exporters (``BatchSpanProcessor``,
``SimpleSpanProcessor`` export only sampled spans) and downstream services (``traceparent``
flag ``00``) see exactly what they saw before. The SDK's own ``AlwaysRecordSampler`` (1.36+)
does the same but drops the span's start attributes (``code.*``, ``messaging.system``),
because a ``DROP`` result carries none; this one keeps them.

:class:`RecordEverySampledOut` (the trace store's) records every kind: an error trace
without its queries, or a worker part whose parent (the publish span) is missing, is not
whole. Here in the core because the sources' span shortcut must recognise both wrappers.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

# Kinds the stats count (CLIENT/PRODUCER spans stay cheap non-recording spans).
_COUNTED_KINDS = frozenset({SpanKind.SERVER, SpanKind.CONSUMER, SpanKind.INTERNAL, None})


class RecordSampledOut(Sampler):
    """Delegate to ``sampler``; record (without sampling) what it would drop."""

    def __init__(self, sampler: Sampler) -> None:
        self.sampler = sampler

    def should_sample(self, parent_context: Context | None, trace_id: int, name: str,
                      kind: SpanKind | None = None, attributes: Attributes = None,
                      links: Sequence[Link] | None = None,
                      trace_state: TraceState | None = None) -> SamplingResult:
        result = self.sampler.should_sample(parent_context, trace_id, name, kind, attributes,
                                            links, trace_state)
        if result.decision is Decision.DROP and kind in _COUNTED_KINDS:
            return SamplingResult(Decision.RECORD_ONLY, attributes, result.trace_state)
        return result

    def get_description(self) -> str:
        return f"RecordSampledOut{{{self.sampler.get_description()}}}"


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
