"""CLIENT spans (a SQL query, a cache call) through auto-tracing's SDK shortcut where the SDK
would decide the same.

Such a span has a local parent (the current span) and no children of its own making: the
case auto-tracing's shortcut covers (:mod:`django_tracekit.core.spans`): where the SDK's
sampler would give a child of that parent the same decision (the default configuration
included), the span is handed to the provider's processors as a ``ReadableSpan`` when it
ends, skipping the SDK's per-span sampler call, locks and attribute validation and copies
(benchmarks/bench_db.py, bench_cache.py). Anywhere else (a provider the application set,
another sampler) the SDK makes it. The attributes given are used as they are: valid values
only.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind

from django_tracekit.core import clock as real_clock
from django_tracekit.core.sampling import RecordEverySampledOut
from django_tracekit.core.spans import AutoSpan, child_context, shortcut
from django_tracekit.core.tracer import get_tracer


class ClientSpan(AutoSpan):
    """An :class:`~django_tracekit.core.spans.AutoSpan` of kind CLIENT."""

    __slots__ = ()
    _KIND = SpanKind.CLIENT


_every: list[Any] = [None, False]  # [tracer, its sampler records every unsampled kind]


def _records_every_kind_unsampled() -> bool:
    """Under an unsampled parent the shortcut records a child the way auto-traced (INTERNAL)
    spans are recorded; a CLIENT child is recorded only under the trace store's wrapper
    (the stats' records server, consumer and internal kinds only): else the SDK decides."""
    tracer = get_tracer()
    if _every[0] is not tracer:
        _every[:] = [tracer, isinstance(getattr(tracer, "sampler", None), RecordEverySampledOut)]
    return bool(_every[1])


def start(name: str, parent_context: Context, parent: Span,
          attributes: dict[str, Any]) -> Span:
    """A CLIENT span child of ``parent`` (the span current in ``parent_context``)."""
    parent_sc = parent.get_span_context()
    # ``parent_sc[3] & 1``: its trace flags' sampled bit, read by index (the layout the
    # shortcut checked before applying: no two property calls per span).
    if shortcut.applies(parent_sc) and (parent_sc[3] & 1 or _records_every_kind_unsampled()):
        return ClientSpan(name, child_context(parent_sc), parent_sc, attributes,
                          real_clock.time_ns())
    return get_tracer().start_span(name, context=parent_context, kind=SpanKind.CLIENT,
                                   attributes=attributes)


__all__ = ["ClientSpan", "start"]
