"""A feature page's SQL, ranked by total time, with the span each statement ran inside.

From the kept sample: the most recent :data:`MAX_TRACES` traces of the trace store in which
the feature's span ran (every error trace, the slowest and a sample of the rest: not every
call). In each, the query spans below the feature's span (in its own service) are grouped by
statement (``db.query.text``, already without literal values) and by the span they ran inside
(its name is the code location: ``shop/videos/services/channel_names``, or the view). The
stats cannot say it exactly and cheaply (they count per feature, not per statement), so the
page says the sample it is from.

A statement is marked N+1 where it was flagged: a ``tracekit.n_plus_one`` event for that
statement (its ``db.query.text``) on the span it ran inside or on a span above it, up to the
feature's span (:mod:`django_tracekit.sources.db.nplusone` puts the event on the parent, or
on the view or task when the repeats were spread over per-item calls). The row says the
largest count an event recorded (``N+1 x k`` on the page, with a multiplication sign) and
in how many of the traces it was flagged.

Statements are trace content (SQL): shown to users holding ``django_tracekit.view_trace``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from django.db.models import Max
from django.http import HttpRequest
from django.utils.formats import number_format

from django_tracekit.core.features import span_name
from django_tracekit.core.vocabulary import N_PLUS_ONE_COUNT, N_PLUS_ONE_EVENT
from django_tracekit.storage.trace_models import Trace, TraceSpan
from django_tracekit.storage.usage_models import Feature

MAX_TRACES = 50
TOP = 10
QUERY_TEXT = "db.query.text"
_MAX_DEPTH = 256  # a parent chain longer than this is not followed (a corrupt row)


def _format_us(us: float) -> str:
    if us < 1000:
        return f"{us:.0f} µs"
    if us < 1_000_000:
        return f"{us / 1000:.3g} ms"
    return f"{us / 1_000_000:.3g} s"


def ranked(feature: Feature, max_traces: int = MAX_TRACES) -> dict[str, Any]:
    """``{"traces": n looked at, "queries": n, "rows": [{statement, location, count,
    total_us, traces, n_plus_one, n_plus_one_traces}, ...]}``, the rows by total time, the
    top :data:`TOP`; ``n_plus_one``: the largest count of an N+1 event for the statement
    above its queries (0: never flagged), ``n_plus_one_traces``: in how many traces."""
    name = span_name(feature.name)
    recent = (TraceSpan.objects.filter(name=name, service=feature.service)
              .values("trace_id").annotate(latest=Max("start_us")).order_by("-latest")
              .values_list("trace_id", flat=True)[:max_traces])
    trace_ids = list(recent)
    # (statement, location) -> [count, total µs, trace pks, largest N+1 count, N+1 trace pks]
    groups: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, 0, set(), 0, set()])
    flagged = _flagged(trace_ids)
    queries = 0
    by_trace: dict[int, list[tuple[str, str, str, str, int, str]]] = defaultdict(list)
    for row in TraceSpan.objects.filter(trace_id__in=trace_ids).values_list(
            "trace_id", "span_id", "parent_span_id", "name", "kind", "duration_us",
            "attributes").iterator(chunk_size=2000):
        trace_id, *rest = row
        by_trace[trace_id].append(tuple(rest))
    for trace_id, spans in by_trace.items():
        parents = {s[0]: s[1] for s in spans}
        names = {s[0]: s[2] for s in spans}
        roots = {s[0] for s in spans if s[2] == name}
        events = flagged.get(trace_id, {})
        for span_id, parent, _name, kind, duration, attributes in spans:
            if kind != "client" or QUERY_TEXT not in attributes:
                continue
            chain = _chain(span_id, parents, roots)
            if chain is None:
                continue
            try:
                text = str(json.loads(attributes).get(QUERY_TEXT) or "")
            except (ValueError, AttributeError):
                continue
            if not text:
                continue
            queries += 1
            group = groups[(text, names.get(parent, ""))]
            group[0] += 1
            group[1] += int(duration)
            group[2].add(trace_id)
            n_plus_one = max((events.get(s, {}).get(text, 0) for s in chain), default=0)
            if n_plus_one:
                group[3] = max(group[3], n_plus_one)
                group[4].add(trace_id)
    rows = sorted(({"statement": text, "location": location, "count": g[0],
                    "total_us": g[1], "traces": len(g[2]), "n_plus_one": g[3],
                    "n_plus_one_traces": len(g[4])}
                   for (text, location), g in groups.items()),
                  key=lambda r: (-r["total_us"], -r["count"], r["statement"]))[:TOP]
    return {"traces": len(trace_ids), "queries": queries, "rows": rows}


def _chain(span_id: str, parents: dict[str, str], roots: set[str]) -> list[str] | None:
    """The spans above ``span_id`` up to the nearest feature span (included), or None when
    it is not below one."""
    chain = []
    current = parents.get(span_id, "")
    for _ in range(_MAX_DEPTH):
        if not current:
            return None
        chain.append(current)
        if current in roots:
            return chain
        current = parents.get(current, "")
    return None


def _flagged(trace_ids: list[int]) -> dict[int, dict[str, dict[str, int]]]:
    """Per trace, per span id: the statements its N+1 events flagged, with their largest
    count (only the spans that have such an event are read)."""
    found: dict[int, dict[str, dict[str, int]]] = defaultdict(dict)
    for trace_id, span_id, events in TraceSpan.objects.filter(
            trace_id__in=trace_ids, events__contains=f'"{N_PLUS_ONE_EVENT}"').values_list(
                "trace_id", "span_id", "events").iterator(chunk_size=500):
        try:
            parsed = json.loads(events)
        except ValueError:
            continue
        statements: dict[str, int] = {}
        for event in parsed if isinstance(parsed, list) else ():
            if not isinstance(event, dict) or event.get("name") != N_PLUS_ONE_EVENT:
                continue
            attributes = event.get("attributes")
            if not isinstance(attributes, dict):
                continue
            text = attributes.get(QUERY_TEXT)
            count = attributes.get(N_PLUS_ONE_COUNT)
            if isinstance(text, str) and text:
                n = count if isinstance(count, int) and count > 0 else 1
                statements[text] = max(statements.get(text, 0), n)
        if statements:
            found[trace_id][span_id] = statements
    return found


def section(request: HttpRequest, feature: Feature) -> dict[str, Any] | None:
    """The feature page's "Statements" context; None without ``view_trace`` or when no
    trace of the feature was kept (nothing to say it from)."""
    if not request.user.has_perm("django_tracekit.view_trace"):
        return None
    if not Trace.objects.exists():
        return None
    result = ranked(feature)
    if not result["traces"]:  # none of this feature's traces was kept: nothing to say
        return None
    for row in result["rows"]:
        row["count_text"] = number_format(row["count"], force_grouping=True)
        row["total_text"] = _format_us(row["total_us"])
        row["avg_text"] = _format_us(row["total_us"] / row["count"])
        row["per_trace"] = f"{row['count'] / row['traces']:.3g}" if row["traces"] else "0"
        row["n_plus_one_text"] = number_format(row["n_plus_one"], force_grouping=True)
    return result
