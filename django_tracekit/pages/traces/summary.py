"""The trace list's status column for one page of traces: failed or handled error, incidents
counted once (not once per span they passed through), Celery retries, the N+1 badge, and
what failed (the status message of the earliest error span).

One query over the spans of the page's traces that matter here — error spans, retried
attempts, spans with an N+1 event — through the ``(trace, span_id)`` index; the attribute
and event texts are parsed only for those.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from django_tracekit.core.errors import ERROR_SPAN_ID
from django_tracekit.core.vocabulary import N_PLUS_ONE_COUNT, N_PLUS_ONE_EVENT
from django_tracekit.pages.traces import outcome
from django_tracekit.storage.trace_models import TraceSpan


@dataclass
class TraceSummary:
    outcome: outcome.Outcome = field(default_factory=outcome.Outcome)
    message: str = ""  # what failed: the earliest error span's status message


def _json(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def n_plus_one_count(events: str) -> int:
    """The largest N+1 count among a span's events (1 for a flag without a count)."""
    parsed = _json(events)
    best = 0
    for event in parsed if isinstance(parsed, list) else ():
        if isinstance(event, dict) and event.get("name") == N_PLUS_ONE_EVENT:
            attrs = event.get("attributes")
            count = attrs.get(N_PLUS_ONE_COUNT) if isinstance(attrs, dict) else None
            best = max(best, count if isinstance(count, int) and count > 0 else 1)
    return best


def of_traces(trace_pks: Sequence[int]) -> dict[int, TraceSummary]:
    if not trace_pks:
        return {}
    wanted = (Q(is_error=True) | Q(events__contains=f'"{N_PLUS_ONE_EVENT}"')
              | Q(attributes__contains=outcome.RETRY_REASON_JSON)
              | Q(attributes__contains=outcome.RETRY_STATE_JSON))
    errors: dict[int, list[outcome.ErrorSpan]] = {}
    retries: dict[int, int] = {}
    n_plus_one: dict[int, int] = {}
    messages: dict[int, str] = {}
    for (pk, sid, parent, kind, is_error, message, attributes, events, service, start,
         duration) in (
            TraceSpan.objects.filter(trace_id__in=trace_pks).filter(wanted)
            .order_by("start_us").values_list("trace_id", "span_id", "parent_span_id", "kind",
                                              "is_error", "status_message", "attributes",
                                              "events", "service", "start_us",
                                              "duration_us")):
        attrs = _json(attributes)
        attrs = attrs if isinstance(attrs, dict) else {}
        state = str(attrs.get(outcome.CELERY_STATE, ""))
        if state == outcome.RETRY_STATE or outcome.RETRY_REASON in attrs:
            retries[pk] = retries.get(pk, 0) + 1
        if f'"{N_PLUS_ONE_EVENT}"' in events:
            n_plus_one[pk] = max(n_plus_one.get(pk, 0), n_plus_one_count(events))
        if is_error:
            ref = str(attrs.get(ERROR_SPAN_ID, "") or "")
            errors.setdefault(pk, []).append(outcome.ErrorSpan.of(
                sid, parent, kind, ref, state, message, service, start, duration))
            if message:
                messages.setdefault(pk, message)
    return {pk: TraceSummary(outcome.outcome(errors.get(pk, ()), retries.get(pk, 0),
                                             n_plus_one.get(pk, 0)), messages.get(pk, ""))
            for pk in trace_pks}
