"""Writing kept traces: parts of one trace from any number of processes end in one
``Trace`` row whose summary covers them all.

One flush is one transaction (retried whole on a lock or deadlock error, or once on an
``IntegrityError``: :func:`django_tracekit.storage.writer.retrying`):

1. ``Trace`` rows of the parts this process keeps are inserted if missing
   (``bulk_create(ignore_conflicts=True)``: ``ON CONFLICT DO NOTHING`` / ``INSERT IGNORE``);
2. the rows of every part are read, locked (``SELECT ... FOR UPDATE`` where the database
   has it; SQLite serialises writers) in trace-id order (no deadlock between two flushes);
   a part joining a trace whose row is gone (pruned) is dropped;
3. spans are inserted, duplicates ignored (unique ``(trace, span_id)``), at most
   ``MAX_SPANS_PER_TRACE`` per trace (the rest counted in ``dropped_spans``);
4. each row's summary is recomputed from its spans (count, errors, first start, last end,
   services) and its reasons, root name and user id merged: whichever process writes last
   sees every committed part, so the row never loses another process's part.

Before ``migrate``: :class:`TablesMissing` (the processor waits quietly), without creating
an SQLite file. Bad data: texts are cleaned before (:mod:`.rows`); a batch that still fails
with a data error is written trace by trace, then span by span, each in its own
transaction; what fails alone is dropped, counted in :data:`rejected` and logged.

:func:`trim` deletes the oldest traces beyond ``MAX_TRACES`` in batches;
:func:`prune` applies ``RETENTION_HOURS`` (``manage.py tracekit_prune``).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from django.db import connections, router, transaction
from django.db.models import Count, F, Max, Min, Q

from django_tracekit.destinations.traces import n_plus_one, slow
from django_tracekit.destinations.traces.records import Part, PartsLeft, SpanRow, join_reasons
from django_tracekit.storage import timeouts
from django_tracekit.storage.trace_models import Trace, TraceSpan
from django_tracekit.storage.writer import (
    DATA_ERRORS,
    Stopped,
    TableCheck,
    batch_failed,
    bmp_only,
    check_range,
    chunks,
    clean_text,
    isolate,
    rejected_one,
    retrying,
)

logger = logging.getLogger("django_tracekit")

BATCH = 500  # trace ids per query
TRIM_BATCH = 500  # traces deleted per statement
_JSON_CHARS = 1_000_000  # JSON is capped when encoded (.rows); never cut here

rejected: Counter[str] = Counter()  # spans / traces dropped by isolation, since start


check_tables = TableCheck(lambda: (Trace._meta.db_table, TraceSpan._meta.db_table))


def clear_cache() -> None:
    check_tables.clear()


def database_alias(using: str | None) -> str:
    """The database the trace store writes to."""
    return using or router.db_for_write(Trace)


def _check_tables(alias: str) -> None:
    timeouts.apply(connections[alias])  # a flusher thread's writes end in bounded time
    check_tables(alias)


def kept(trace_ids: list[str], using: str | None = None) -> set[str]:
    """Which of ``trace_ids`` have a ``Trace`` row (one indexed query per 500 ids)."""
    alias = database_alias(using)
    _check_tables(alias)
    found: set[str] = set()
    manager = Trace.objects.using(alias)
    try:
        for chunk in chunks(sorted(set(trace_ids)), BATCH):
            found.update(manager.filter(trace_id__in=chunk).values_list("trace_id", flat=True))
    except Exception:
        check_tables.forget(alias)
        raise
    return found


def write(parts: list[Part], max_spans_per_trace: int = 10_000,
          using: str | None = None) -> int:
    """Write ``parts`` (merged per trace id first); the number of span rows written.
    Raises :class:`TablesMissing` before ``migrate``, :class:`PartsLeft` when a connection
    failed after some parts were committed (the rest is in it)."""
    alias = database_alias(using)
    _check_tables(alias)
    merged: dict[str, Part] = {}
    for part in parts:
        into = merged.get(part.trace_id)
        if into is None:
            merged[part.trace_id] = Part(part.trace_id, part.reasons, list(part.spans),
                                         part.dropped, part.root_name, part.local_root_name,
                                         part.user_id)
        else:
            into.merge(part)
    batch = [merged[t] for t in sorted(merged)]
    try:
        return _write_retrying(alias, batch, max_spans_per_trace)
    except DATA_ERRORS as exc:
        return _isolate(alias, batch, max_spans_per_trace, exc)
    except Exception:
        check_tables.forget(alias)
        raise


def _write_retrying(alias: str, parts: list[Part], max_spans: int) -> int:
    written = retrying(alias, lambda: _write(alias, parts, max_spans))
    # Ranked after the commit, in a transaction of its own: each writer ranks what every
    # committed writer wrote, so the last of two processes writing one window at once sees
    # both (ranked inside the write, each saw only its own rows and both kept theirs).
    keys = slow.windows(parts)
    if keys:
        _write_retrying_call(alias, lambda: slow.rank(alias, keys))
    return written


def _write_retrying_call(alias: str, work: Callable[[], object]) -> None:
    """``work`` in one transaction, retried like a flush on a lock or deadlock error."""
    retrying(alias, work)


def _isolate(alias: str, parts: list[Part], max_spans: int, cause: Exception) -> int:
    """Write trace by trace, each in its own transaction; a trace that fails alone with a
    data error span by span. A failure of another kind: the rest is in :class:`PartsLeft`."""
    batch_failed("kept traces", cause)

    def write_part(part: Part) -> int:
        try:
            return _write_retrying(alias, [part], max_spans)
        except DATA_ERRORS:
            return _isolate_spans(alias, part, max_spans)

    try:
        return isolate(parts, write_part, lambda part, exc: None)
    except Stopped as stop:
        raise PartsLeft(parts[stop.done:]) from stop.__cause__


def _isolate_spans(alias: str, part: Part, max_spans: int) -> int:
    """A trace that fails alone: each span on its own (the first that succeeds makes the
    row), then its count of dropped spans."""
    written = 0
    pieces = [Part(part.trace_id, part.reasons, [span], 0, part.root_name,
                   part.local_root_name, part.user_id) for span in part.spans]
    if part.dropped:
        pieces.append(Part(part.trace_id, part.reasons, [], part.dropped, part.root_name,
                           part.local_root_name, part.user_id))
    for piece in pieces:
        try:
            written += _write_retrying(alias, [piece], max_spans)
        except DATA_ERRORS as exc:
            what = f"span {piece.spans[0].span_id}" if piece.spans else "the row"
            rejected_one(rejected, "spans" if piece.spans else "traces", 1,
                         f"{what} of trace {part.trace_id}", exc)
    return written


def _services(names: Iterable[str]) -> str:
    joined = ""
    for name in sorted(set(names)):
        candidate = f"{joined},{name}" if joined else name
        if len(candidate) > 255:
            break
        joined = candidate
    return joined


def _write(alias: str, parts: list[Part], max_spans: int) -> int:
    connection = connections[alias]
    bmp = bmp_only(connection)
    manager = Trace.objects.using(alias)
    parts = n_plus_one.first_per_window(alias, parts)  # one per feature and window
    for part in parts:
        for span in part.spans:
            check_range((span.start_us, span.duration_us, span.start_us + span.duration_us))
    new = [part for part in parts if part.reasons and part.spans]
    if new:
        manager.bulk_create([_new_row(part, bmp) for part in new], ignore_conflicts=True,
                            batch_size=BATCH)
    ids = [part.trace_id for part in parts]
    rows: dict[str, tuple[int, int, str, str, str]] = {}
    query = manager.filter(trace_id__in=ids).order_by("trace_id")
    if connection.features.has_select_for_update:
        query = query.select_for_update()
    for chunk in chunks(ids, BATCH):
        for pk, trace_id, count, reasons, root_name, user_id in query.filter(
                trace_id__in=chunk).values_list("id", "trace_id", "span_count", "reasons",
                                                 "root_name", "user_id"):
            rows[trace_id] = (pk, count, reasons, root_name, user_id)
    spans: list[TraceSpan] = []
    dropped: dict[int, int] = {}
    for part in parts:
        row = rows.get(part.trace_id)
        if row is None:  # a part joining a trace pruned meanwhile
            continue
        pk, count = row[0], row[1]
        room = max(0, max_spans - count)
        dropped[pk] = part.dropped + max(0, len(part.spans) - room)
        spans.extend(_span(pk, span, bmp) for span in part.spans[:room])
    TraceSpan.objects.using(alias).bulk_create(spans, ignore_conflicts=True, batch_size=BATCH)
    _update_summaries(alias, parts, rows, dropped, bmp)
    return len(spans)


def _new_row(part: Part, bmp: bool) -> Trace:
    first = min(s.start_us for s in part.spans)
    last = max(s.start_us + s.duration_us for s in part.spans)
    return Trace(trace_id=part.trace_id, start_us=first, end_us=last,
                 root_name=clean_text(part.root_name or part.local_root_name, 255,
                                      bmp_only=bmp),
                 services=_services(clean_text(s.service, 128, bmp_only=bmp)
                                    for s in part.spans),
                 reasons=part.reasons, user_id=clean_text(part.user_id, 255, bmp_only=bmp))


def _span(pk: int, span: SpanRow, bmp: bool) -> TraceSpan:
    def text(value: str, chars: int) -> str:
        return clean_text(value, chars, bmp_only=bmp)

    # Rows made by .rows are clean already (and their JSON ASCII): this is the backstop
    # for any writer's input, and MySQL utf8's 4-byte characters.
    return TraceSpan(trace_id=pk, span_id=text(span.span_id, 16),
                     parent_span_id=text(span.parent_span_id, 16), name=text(span.name, 255),
                     kind=text(span.kind, 8), service=text(span.service, 128),
                     start_us=span.start_us, duration_us=span.duration_us,
                     is_error=span.is_error, status_message=text(span.status_message, 4096),
                     attributes=text(span.attributes, _JSON_CHARS),
                     events=text(span.events, _JSON_CHARS))


def _update_summaries(alias: str, parts: list[Part],
                      rows: dict[str, tuple[int, int, str, str, str]],
                      dropped: dict[int, int], bmp: bool) -> None:
    pks = [rows[p.trace_id][0] for p in parts if p.trace_id in rows]
    if not pks:
        return
    spans = TraceSpan.objects.using(alias)
    summary: dict[int, dict[str, int]] = {}
    services: dict[int, list[str]] = {}
    for start in range(0, len(pks), BATCH):
        chunk = pks[start:start + BATCH]
        for row in spans.filter(trace_id__in=chunk).values("trace_id").annotate(
                n=Count("id"), errors=Count("id", filter=Q(is_error=True)),
                first=Min("start_us"), last=Max(F("start_us") + F("duration_us"))):
            summary[row["trace_id"]] = row
        for pk, service in spans.filter(trace_id__in=chunk).values_list(
                "trace_id", "service").distinct():
            services.setdefault(pk, []).append(service)
    manager = Trace.objects.using(alias)
    for part in parts:
        row = rows.get(part.trace_id)
        if row is None:
            continue
        pk, _count, reasons, root_name, user_id = row
        found = summary.get(pk)
        update: dict[str, object] = {
            "reasons": join_reasons(reasons, part.reasons),
            "dropped_spans": F("dropped_spans") + dropped.get(pk, 0),
        }
        if found is not None:
            update.update(span_count=found["n"], error_count=found["errors"],
                          start_us=found["first"], end_us=found["last"],
                          services=_services(services.get(pk, ())))
        if part.root_name:
            update["root_name"] = clean_text(part.root_name, 255, bmp_only=bmp)
        elif not root_name and part.local_root_name:
            update["root_name"] = clean_text(part.local_root_name, 255, bmp_only=bmp)
        if not user_id and part.user_id:
            update["user_id"] = clean_text(part.user_id, 255, bmp_only=bmp)
        manager.filter(pk=pk).update(**update)


def trim(max_traces: int, using: str | None = None, batch: int = TRIM_BATCH) -> int:
    """Delete up to ``batch`` of the oldest traces beyond the newest ``max_traces``."""
    alias = database_alias(using)
    _check_tables(alias)
    manager = Trace.objects.using(alias)
    stale = list(manager.order_by("-start_us", "-id").values_list("id", flat=True)
                 [max_traces:max_traces + batch])
    if not stale:
        return 0
    return _delete(alias, stale)


def _delete(alias: str, ids: list[int]) -> int:
    with transaction.atomic(using=alias):
        TraceSpan.objects.using(alias).filter(trace_id__in=ids).delete()
        deleted: int = Trace.objects.using(alias).filter(id__in=ids).delete()[0]
    return deleted


def prune(retention_hours: float, max_traces: int, using: str | None = None,
          dry_run: bool = False, batch: int = 2_000) -> tuple[int, int]:
    """Traces older than ``retention_hours`` (by their end) and the oldest beyond
    ``max_traces``, deleted in batches: (deleted for age, deleted for the cap)."""
    alias = database_alias(using)
    manager = Trace.objects.using(alias)
    cutoff = int((time.time() - retention_hours * 3600) * 1_000_000)
    old = manager.filter(end_us__lt=cutoff)
    if dry_run:
        aged = old.count()
        return aged, max(0, manager.count() - aged - max_traces)
    aged = 0
    while True:
        ids = list(old.values_list("id", flat=True)[:batch])
        if not ids:
            break
        aged += _delete(alias, ids)
    capped = 0
    while True:
        stale = list(manager.order_by("-start_us", "-id").values_list("id", flat=True)
                     [max_traces:max_traces + batch])
        if not stale:
            break
        capped += _delete(alias, stale)
    return aged, capped


class DatabaseWriter:
    """The processor's default writer: the database the router chooses for ``Trace``."""

    def kept(self, trace_ids: list[str]) -> set[str]:
        return kept(trace_ids)

    def write(self, parts: list[Part], max_spans_per_trace: int) -> int:
        return write(parts, max_spans_per_trace)

    def trim(self, max_traces: int) -> int:
        return trim(max_traces)

    def settle_slow(self, demoted: list[str], windows: list[tuple[str, int]],
                    promoted: Sequence[tuple[str, str]] = ()) -> None:
        alias = database_alias(None)
        _check_tables(alias)
        # Two transactions, like a write: the changes committed first, then ranked with what
        # every other process committed (see _write_retrying).
        promoted_windows: set[tuple[str, int]] = set()
        _write_retrying_call(alias, lambda: promoted_windows.update(
            slow.settle_changes(alias, demoted, promoted)))
        _write_retrying_call(alias, lambda: slow.settle_rank(alias, promoted_windows, windows))


database = DatabaseWriter()
