"""The trace store's state for ``manage.py tracekit_status``: its rules and caps (from the
settings) and, on request, what the database holds."""

from __future__ import annotations

import time

from django.db.models import Count, Min

from django_tracekit.conf import TracesSettings
from django_tracekit.destinations.traces import keep, store
from django_tracekit.destinations.traces.processor import BUFFER_S
from django_tracekit.storage.trace_models import Trace, TraceSpan
from django_tracekit.storage.trace_queries import entry_failed


def describe(traces: TracesSettings, count: bool = False) -> list[str]:
    lines = [
        f"trace store:   keeps every error trace, the slowest per feature (the "
        f"{keep.SLOW_PER_WINDOW} slowest per {keep.WINDOW_NS // 60_000_000_000} min over all "
        f"processes), one trace per feature and {keep.WINDOW_NS // 60_000_000_000} min "
        f"that ran an N+1, and {traces.sample_rate:.2%} of traces by id",
        f"               at most {traces.max_traces:,} traces, {traces.retention_hours:g} h "
        f"(manage.py tracekit_prune), {traces.max_spans_per_trace:,} spans per trace; "
        f"parts of other processes joined for {BUFFER_S:g} s",
        f"               (a task's part: until its {keep.WINDOW_NS // 60_000_000_000} min "
        f"window ends + {BUFFER_S:g} s, for a parent kept as slow then)",
    ]
    if count:
        lines.append(f"               {_stored()}")
    return lines


def _stored() -> str:
    try:
        store.check_tables(store.database_alias(None))
        summary = Trace.objects.aggregate(n=Count("id"), oldest=Min("start_us"))
        if not summary["n"]:
            return "stored: no traces yet"
        age_h = (time.time() * 1e6 - summary["oldest"]) / 3.6e9
        errors = Trace.objects.filter(error_count__gt=0)
        failed = errors.filter(entry_failed()).count()
        handled = errors.count() - failed
        return (f"stored: {summary['n']:,} traces ({failed:,} failed, {handled:,} with a "
                f"handled error only), "
                f"{TraceSpan.objects.count():,} spans, the oldest {age_h:.1f} h old")
    except Exception as exc:  # tables missing, database down: say so, never a traceback
        return f"stored: unknown ({type(exc).__name__}: {str(exc).strip()[:200]})"
