"""One trace as waterfall rows: every span, depth-first by parent (children by start time),
with its bar's offset and width as percentages of the trace's duration.

A span whose parent is not in the store (a part that was not kept, or dropped beyond the
cap) is shown at the top level and marked an orphan; a publish (PRODUCER) span with no task
run under it is marked too (its task's part is not in the store, see
docs/trace_explorer.md); an outgoing HTTP call shows its host beside its name ("GET" says
nothing alone); a cycle in corrupt data cannot hide a
span (whatever a walk from the roots does not reach is added at the top level too).
Attributes and events are parsed from their JSON text defensively: a row that does not
parse shows its raw text.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django_tracekit.core.errors import ERROR_SPAN_ID
from django_tracekit.core.vocabulary import LOG_EVENT, N_PLUS_ONE_COUNT, N_PLUS_ONE_EVENT
from django_tracekit.pages.traces import outcome
from django_tracekit.pages.traces.calls import http_host, mark_unconsumed
from django_tracekit.pages.traces.fold import QUERY_KEY, Group, fold, group_span

FIELDS = ("span_id", "parent_span_id", "name", "kind", "service", "start_us", "duration_us",
          "is_error", "status_message", "attributes", "events")


class Span(Protocol):
    """A ``TraceSpan`` row, or the same columns read as a named tuple (``values_list(*FIELDS,
    named=True)``: a third of the cost of model instances for 2,000 spans)."""

    @property
    def span_id(self) -> str: ...
    @property
    def parent_span_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def service(self) -> str: ...
    @property
    def start_us(self) -> int: ...
    @property
    def duration_us(self) -> int: ...
    @property
    def is_error(self) -> bool: ...
    @property
    def status_message(self) -> str: ...
    @property
    def attributes(self) -> str: ...
    @property
    def events(self) -> str: ...


EXCEPTION_EVENT = "exception"
# Log records as span events (django_tracekit/sources/logs/events.py): shown as a log line.
_LOG_SHOWN = frozenset(("log.message", "log.severity", "log.severity_number", "log.logger",
                        "code.file.path", "code.line.number", "code.function.name"))
SERVICE_COLOURS = 8  # CSS classes tk-svc-0 .. tk-svc-7
MAX_INDENT = 24  # deeper spans are indented no further (the depth is still shown)


@dataclass(slots=True)
class Event:
    name: str
    offset_ms: float  # from the span's start
    attributes: list[tuple[str, str]]
    kind: str = "event"  # "event", "log", "n_plus_one" or "exception"
    exception_type: str = ""
    exception_message: str = ""
    stacktrace: str = ""
    query: str = ""
    count: str = ""
    severity: str = ""  # a log record's: INFO, WARNING...
    message: str = ""
    source: str = ""  # logger · file:line in function


@dataclass(slots=True)
class Row:
    span: Span
    depth: int
    index: int  # position in the waterfall
    parent_index: int | None  # the row of its parent (None at the top level)
    orphan: bool  # has a parent id the store does not hold
    offset: float  # percent of the trace's duration
    width: float
    service_class: str
    attributes: list[tuple[str, str]]
    events: list[Event]
    raw_attributes: str = ""  # when the JSON text did not parse
    raw_events: str = ""
    children: int = 0
    stack_ref: str = ""  # ERROR_SPAN_ID: the span holding this error's stack
    stack_ref_found: bool = False
    has_stack: bool = False
    feature_url: str = ""
    open: bool = False  # rendered expanded (the first span holding a stack)
    indent: int = 0
    start_offset_us: int = 0  # from the trace's start
    n_plus_one: int = 0  # the largest count of its N+1 events
    state: str = ""  # celery.state
    retry_reason: str = ""  # celery.retry.reason of an attempt Celery retried
    attempt: int = 0  # celery.retries: 0 for the first run of a task
    wait_us: int = 0  # a task's queue wait: its publish span's end to its start
    wait_x: float = 0.0  # percent, where the wait starts
    wait_width: float = 0.0
    errors_below: int = 0  # error spans among its descendants (marked when collapsed)
    carries_name: str = ""  # the name of the span whose error it carries
    fold: Group | None = None  # a row of identical sibling statements
    fold_bars: list[tuple[str, str]] = field(default_factory=list)  # (x, width) per member
    fold_total_us: int = 0
    in_fold: bool = False  # a member of a fold (shown when the fold opens)
    unconsumed: bool = False  # a publish span with no task run (consumer) under it here
    host: str = ""  # an outgoing HTTP call's host (server.address, or url.full's)

    @property
    def bar_x(self) -> str:
        # SVG geometry attributes, not a style attribute: a Content-Security-Policy without
        # 'unsafe-inline' styles (django-csp's default) would drop the bars' positions.
        # Formatted here, not by a template filter: a localized "12,5%" is no length.
        return f"{self.offset:.3f}%"

    @property
    def bar_width(self) -> str:
        return f"{max(self.width, 0.2):.3f}%"  # a 0 µs span still shows as a sliver

    @property
    def duration_text(self) -> str:
        return format_us(self.fold_total_us if self.fold else self.span.duration_us)

    @property
    def label_at(self) -> tuple[str, str]:
        """Where the duration sits beside the bar: (x, text-anchor). After the bar when
        there is room, before it otherwise, inside a bar that fills the track."""
        end = self.offset + self.width
        before = self.wait_x if self.wait_us else self.offset  # not over a queue wait
        if end <= 82:
            return f"{end:.3f}%", "start"
        if before >= 18:
            return f"{before:.3f}%", "end"
        return f"{end:.3f}%", "inside"

    @property
    def wait_text(self) -> str:
        return format_us(self.wait_us)

    @property
    def start_text(self) -> str:
        return format_us(self.start_offset_us)


@dataclass
class Waterfall:
    rows: list[Row]
    start_us: int
    duration_us: int
    services: list[tuple[str, str]]  # (service, css class)
    ticks: list[tuple[int, str]] = field(default_factory=list)  # (percent, label)
    errors: int = 0
    orphans: int = 0
    outcome: outcome.Outcome = field(default_factory=outcome.Outcome)
    sql_count: int = 0
    sql_us: int = 0
    n_plus_one_spans: int = 0
    unconsumed: int = 0  # publish spans whose task's part is not in the store

    @property
    def sql_time(self) -> str:
        return format_us(self.sql_us)


def format_us(us: float) -> str:
    if us < 1000:
        return f"{us:.0f} µs"
    if us < 1_000_000:
        return f"{us / 1000:.3g} ms"
    if us < 60_000_000:
        return f"{us / 1_000_000:.3g} s"
    return f"{us / 60_000_000:.3g} min"


def service_classes(names: Iterable[str]) -> dict[str, str]:
    """A colour class per service, stable across pages (a hash of the name); services of one
    trace that would share a colour get the next free one."""
    taken: set[int] = set()
    result = {}
    for name in names:
        slot = zlib.crc32(name.encode()) % SERVICE_COLOURS
        for step in range(SERVICE_COLOURS):
            if (slot + step) % SERVICE_COLOURS not in taken:
                slot = (slot + step) % SERVICE_COLOURS
                break
        taken.add(slot)
        result[name] = f"tk-svc-{slot}"
    return result


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _attributes(raw: str) -> tuple[list[tuple[str, str]], str]:
    """Sorted (key, text) pairs, or the raw text when it is not a JSON object."""
    if not raw:
        return [], ""
    try:
        parsed = json.loads(raw)
    except ValueError:
        return [], raw
    if not isinstance(parsed, dict):
        return [], raw
    return sorted((str(k), _text(v)) for k, v in parsed.items()), ""


def _events(raw: str, span_start_us: int) -> tuple[list[Event], str]:
    if not raw:
        return [], ""
    try:
        parsed = json.loads(raw)
    except ValueError:
        return [], raw
    if not isinstance(parsed, list):
        return [], raw
    events = []
    skipped = False
    for item in parsed:
        if not isinstance(item, dict):
            skipped = True  # shown as text below the events that parsed
            continue
        attrs = item.get("attributes")
        attrs = attrs if isinstance(attrs, dict) else {}
        time_us = item.get("time_us")
        offset = ((time_us - span_start_us) / 1000
                  if isinstance(time_us, (int, float)) and not isinstance(time_us, bool)
                  else 0.0)
        name = _text(item.get("name", ""))
        event = Event(name, offset, sorted((str(k), _text(v)) for k, v in attrs.items()))
        if name == EXCEPTION_EVENT:
            event.kind = "exception"
            event.exception_type = _text(attrs.get("exception.type", ""))
            event.exception_message = _text(attrs.get("exception.message", ""))
            event.stacktrace = _text(attrs.get("exception.stacktrace", ""))
            event.attributes = [(k, v) for k, v in event.attributes
                                if k not in ("exception.type", "exception.message",
                                             "exception.stacktrace")]
        elif name == LOG_EVENT and "log.message" in attrs:
            event.kind = "log"
            event.severity = _text(attrs.get("log.severity", ""))
            event.message = _text(attrs["log.message"])
            path = _text(attrs.get("code.file.path", ""))
            where = f"{path.rsplit('/', 1)[-1]}:{_text(attrs.get('code.line.number', ''))}"
            function = _text(attrs.get("code.function.name", ""))
            event.source = " · ".join(p for p in (
                _text(attrs.get("log.logger", "")),
                f"{where} in {function}" if path and function else where if path else "")
                if p)
            event.attributes = [(k, v) for k, v in event.attributes if k not in _LOG_SHOWN]
        elif name == N_PLUS_ONE_EVENT:
            event.kind = "n_plus_one"
            event.query = _text(attrs.get("db.query.text", ""))
            event.count = _text(attrs.get(N_PLUS_ONE_COUNT, ""))
            event.attributes = [(k, v) for k, v in event.attributes
                                if k not in ("db.query.text", N_PLUS_ONE_COUNT)]
        events.append(event)
    return events, raw if skipped else ""


def _order(spans: Sequence[Span]) -> list[tuple[Span | Group, int, bool, int | None]]:
    """(span or fold group, depth, orphan, parent position) depth-first; a group is followed
    by its members; iterative (a 10,000-deep chain must not hit the recursion limit)."""
    by_id = {s.span_id: s for s in spans}
    children: dict[str, list[Span]] = {}
    roots: list[Span] = []
    for span in spans:
        parent = span.parent_span_id
        if parent and parent in by_id and parent != span.span_id:
            children.setdefault(parent, []).append(span)
        else:
            roots.append(span)

    def key(s: Span) -> tuple[int, str]:
        return s.start_us, s.span_id

    parents = set(children)
    folded: dict[str, list[Span | Group]] = {}
    for parent, siblings in children.items():
        siblings.sort(key=key)
        folded[parent] = fold(siblings, parents)
    ordered: list[tuple[Span | Group, int, bool, int | None]] = []
    seen: set[str] = set()

    def walk(top: Span, orphan: bool) -> None:
        stack: list[tuple[Span | Group, int, int | None]] = [(top, 0, None)]
        while stack:
            item, depth, parent_pos = stack.pop()
            if isinstance(item, Group):
                position = len(ordered)
                ordered.append((item, depth, False, parent_pos))
                for member in reversed(item.members):
                    stack.append((member, depth + 1, position))
                continue
            if item.span_id in seen:
                continue
            seen.add(item.span_id)
            position = len(ordered)
            ordered.append((item, depth, orphan and depth == 0, parent_pos))
            for child in reversed(folded.get(item.span_id, ())):
                stack.append((child, depth + 1, position))

    for root in sorted(roots, key=key):
        walk(root, bool(root.parent_span_id))
    for span in sorted(spans, key=key):  # in a cycle: unreachable from any root
        if span.span_id not in seen:
            walk(span, True)
    return ordered


def _number(value: str) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def _row(item: Span | Group, depth: int, orphan: bool, parent_pos: int | None, index: int,
         start: int, duration: int, classes: Mapping[str, str],
         feature_urls: Mapping[tuple[str, str], str]) -> Row:
    span: Span = group_span(item) if isinstance(item, Group) else item
    offset = min(max((span.start_us - start) / duration * 100, 0.0), 100.0)
    width = max(span.duration_us, 0) / duration * 100
    attributes, raw_attributes = _attributes(span.attributes)
    events, raw_events = _events(span.events, span.start_us)
    row = Row(span=span, depth=depth, index=index, parent_index=parent_pos,
              orphan=orphan, offset=round(offset, 3),
              width=round(min(width, 100.0 - offset), 3),
              service_class=classes[span.service], attributes=attributes,
              events=events, raw_attributes=raw_attributes, raw_events=raw_events,
              indent=min(depth, MAX_INDENT), start_offset_us=span.start_us - start,
              feature_url=feature_urls.get((span.name, span.service), ""))
    if isinstance(item, Group):
        row.fold = item
        row.fold_total_us = sum(max(m.duration_us, 0) for m in item.members)
        for member in item.members:
            x = min(max((member.start_us - start) / duration * 100, 0.0), 100.0)
            w = min(max(member.duration_us, 0) / duration * 100, 100.0 - x)
            row.fold_bars.append((f"{x:.3f}%", f"{max(w, 0.001):.3f}%"))
        return row
    row.has_stack = any(e.stacktrace for e in events)
    found = dict(attributes)
    row.stack_ref = found.get(ERROR_SPAN_ID, "")
    row.state = found.get(outcome.CELERY_STATE, "")
    row.retry_reason = found.get(outcome.RETRY_REASON, "")
    row.attempt = _number(found.get(outcome.CELERY_RETRIES, "0"))
    row.n_plus_one = max((_number(e.count) or 1 for e in events if e.kind == "n_plus_one"),
                         default=0)
    row.host = http_host(span.kind, found)
    if row.host and row.host in span.name:  # a name that already says it
        row.host = ""
    return row


def build(spans: Sequence[Span], trace_start_us: int, trace_end_us: int,
          feature_urls: Mapping[tuple[str, str], str] | None = None) -> Waterfall:
    """The waterfall of ``spans``; ``feature_urls`` maps (name, service) to a usage page."""
    start = min([trace_start_us, *(s.start_us for s in spans)])
    end = max([trace_end_us, *(s.start_us + s.duration_us for s in spans)])
    duration = max(end - start, 1)
    services = sorted({s.service for s in spans})
    classes = service_classes(services)
    feature_urls = feature_urls or {}
    rows: list[Row] = []
    for item, depth, orphan, parent_pos in _order(spans):
        row = _row(item, depth, orphan, parent_pos, len(rows), start, duration, classes,
                   feature_urls)
        if parent_pos is not None:
            parent = rows[parent_pos]
            parent.children += 1
            row.in_fold = parent.fold is not None
            if row.span.kind == "consumer" and parent.span.kind == "producer":
                published = parent.span.start_us + max(parent.span.duration_us, 0)
                if row.span.start_us > published:
                    row.wait_us = row.span.start_us - published
                    row.wait_x = round(min(max((published - start) / duration * 100, 0.0),
                                           100.0), 3)
                    row.wait_width = round(min(row.wait_us / duration * 100,
                                               100.0 - row.wait_x), 3)
        rows.append(row)
    _mark_errors(rows)
    mark_unconsumed(rows)
    first = next((r for r in rows if r.has_stack), None)
    if first is not None:
        first.open = True
        if first.in_fold and first.parent_index is not None:
            rows[first.parent_index].open = True
    spans_only = [r for r in rows if r.fold is None]
    sql = [r for r in spans_only if r.span.kind == "client"
           and any(k == QUERY_KEY for k, _v in r.attributes)]
    ticks = [(p, format_us(duration * p / 100) if p else "0") for p in (0, 25, 50, 75, 100)]
    return Waterfall(
        rows=rows, start_us=start, duration_us=duration,
        services=[(name, classes[name]) for name in services], ticks=ticks,
        errors=sum(s.is_error for s in spans), orphans=sum(r.orphan for r in rows),
        outcome=outcome.outcome(
            (outcome.ErrorSpan.of(r.span.span_id, r.span.parent_span_id, r.span.kind,
                                  r.stack_ref, r.state, r.span.status_message,
                                  r.span.service, r.span.start_us, r.span.duration_us)
             for r in spans_only if r.span.is_error),
            retries=sum(r.state == outcome.RETRY_STATE or bool(r.retry_reason)
                        for r in spans_only),
            n_plus_one=max((r.n_plus_one for r in spans_only), default=0)),
        sql_count=len(sql), sql_us=sum(max(r.span.duration_us, 0) for r in sql),
        n_plus_one_spans=sum(r.n_plus_one > 0 for r in spans_only),
        unconsumed=sum(r.unconsumed for r in spans_only))


def _mark_errors(rows: list[Row]) -> None:
    """Stack references resolved (the raising span's name) and, per row, how many error
    spans are below it (one pass from the end: children come after their parent)."""
    holders = {r.span.span_id: r.span.name for r in rows if r.has_stack}
    for row in rows:
        if row.stack_ref:
            row.stack_ref_found = row.stack_ref in holders
            row.carries_name = holders.get(row.stack_ref, "")
    for row in reversed(rows):
        if row.parent_index is not None:
            rows[row.parent_index].errors_below += row.errors_below + (
                row.span.is_error and row.fold is None)


def feature_keys(spans: Iterable[Span]) -> set[tuple[str, str]]:
    return {(s.name, s.service) for s in spans}
