"""The store's side of the ``slow`` rule (:mod:`.keep`): per feature and 10-minute window,
the :data:`~.keep.SLOW_PER_WINDOW` slowest traces over every process keep ``slow``; the
faster ones lose it.

A trace kept as slow carries the mark (``"tracekit.keep": "slow"``) on the root span it
was kept for; the feature's slow traces of a window are found by that span's name (the
``(name, trace)`` index) and start, and ranked by its duration. A trace that loses
``slow`` and has no other reason is deleted, unless another process may still add a part
to it (it has a publish/consume span or a remote parent): then it keeps its row with no
reason, so that a later failing part still finds it (kept whole), and an unreasoned row
older than two windows is deleted. Runs inside the writer's transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence

from django.db import router, transaction
from django.db.models import Sum

from django_tracekit.core.features import UNMATCHED
from django_tracekit.destinations.traces.keep import (
    SLOW_MARK,
    SLOW_PER_WINDOW,
    WINDOW_US,
    at_or_above_p90,
    marked,
    slowest,
)
from django_tracekit.destinations.traces.records import Part, join_reasons
from django_tracekit.storage.trace_models import Trace, TraceSpan

logger = logging.getLogger("django_tracekit")

SWEEP_BATCH = 500


def windows(parts: Iterable[Part]) -> set[tuple[str, int]]:
    """(span name, window start µs) of the parts' spans kept as slow."""
    return {(span.name, span.start_us - span.start_us % WINDOW_US)
            for part in parts if "slow" in part.reasons
            for span in part.spans if SLOW_MARK in span.attributes}


def rank(alias: str, keys: Iterable[tuple[str, int]], k: int = SLOW_PER_WINDOW,
         ended: bool = False) -> None:
    """Keep ``slow`` on the ``k`` slowest traces of each (feature span name, window);
    ``ended`` windows: at most as many as the feature's roots over every process (counted
    by the stats) put at or above their p90."""
    spans = TraceSpan.objects.using(alias)
    for name, start in sorted(keys):
        allowed = k
        if ended:
            counted = roots_counted(name, start)
            if counted:
                allowed = min(k, at_or_above_p90(counted))
        found: dict[int, int] = {}
        for pk, duration, attributes in spans.filter(
                name=name, start_us__gte=start, start_us__lt=start + WINDOW_US,
                trace__reasons__contains="slow").values_list(
                    "trace_id", "duration_us", "attributes"):
            if SLOW_MARK in attributes:
                found[pk] = max(found.get(pk, 0), duration)
        demote(alias, slowest(found, allowed))


def demote(alias: str, pks: list[int]) -> None:
    """Take ``slow`` off these traces (see the module's docstring for what is deleted)."""
    if not pks:
        return
    traces = Trace.objects.using(alias)
    gone = []
    # In trace id order, as a write locks them: writers and rankers never wait on each other
    # in opposite orders.
    for pk, reasons in traces.filter(pk__in=pks).order_by("trace_id").values_list(
            "id", "reasons"):
        left = join_reasons(*(r for r in reasons.split(",") if r != "slow"))
        if left or _joinable(alias, pk):
            traces.filter(pk=pk).update(reasons=left)
        else:
            gone.append(pk)
    _delete(alias, gone)


def settle_changes(alias: str, demoted: list[str],
                   promoted: Sequence[tuple[str, str]] = ()) -> set[tuple[str, int]]:
    """A process's changes at a flush: ``promoted`` (trace id, root span id), written
    before (an error) and found slow, get ``slow`` and the mark; ``demoted`` trace ids lose
    ``slow``. The promoted windows, for :func:`settle_rank` once this is committed."""
    traces = Trace.objects.using(alias)
    promoted_windows = promote(alias, promoted)
    for start in range(0, len(demoted), 500):
        demote(alias, list(traces.filter(trace_id__in=demoted[start:start + 500],
                                         reasons__contains="slow").values_list("id", flat=True)))
    return promoted_windows


def settle_rank(alias: str, promoted_windows: Iterable[tuple[str, int]],
                keys: Iterable[tuple[str, int]]) -> None:
    """Rank the promoted windows, and the ended windows ``keys`` again (two processes that
    wrote at once both counted); sweep traces left without a reason."""
    traces = Trace.objects.using(alias)
    rank(alias, promoted_windows)
    rank(alias, keys, ended=True)
    cutoff = int(time.time() * 1_000_000) - 2 * WINDOW_US
    _delete(alias, list(traces.filter(reasons="", start_us__lt=cutoff).values_list(
        "id", flat=True)[:SWEEP_BATCH]))


def promote(alias: str, promoted: Sequence[tuple[str, str]]) -> set[tuple[str, int]]:
    """Label these written traces slow, marking their root span; their windows."""
    keys = set()
    spans = TraceSpan.objects.using(alias)
    for trace_id, span_id in promoted:
        row = Trace.objects.using(alias).filter(trace_id=trace_id).values_list(
            "id", "reasons").first()
        span = spans.filter(trace_id=row[0], span_id=span_id).values_list(
            "id", "name", "start_us", "attributes").first() if row else None
        if row is None or span is None:
            continue  # pruned meanwhile
        pk, name, start, attributes = span
        spans.filter(pk=pk).update(attributes=marked(attributes))
        Trace.objects.using(alias).filter(pk=row[0]).update(
            reasons=join_reasons(row[1], "slow"))
        keys.add((name, start - start % WINDOW_US))
    return keys


def roots_counted(name: str, start_us: int) -> int:
    """The feature's calls in the window over every process and service, as the stats
    counted them (0 when the stats are off or have not written them)."""
    try:
        from django_tracekit.storage.usage_models import MINUTE, FeatureStats

        stats_alias = router.db_for_read(FeatureStats)
        first = start_us // 1_000_000
        with transaction.atomic(using=stats_alias):  # a savepoint: a failure stays here
            total = FeatureStats.objects.using(stats_alias).filter(
                feature__name__in=(name, name + UNMATCHED),
                feature__kind__in=("request", "task", "command"), resolution=MINUTE,
                bucket_start__gte=first, bucket_start__lt=first + WINDOW_US // 1_000_000,
            ).aggregate(n=Sum("calls"))["n"]
    except Exception:
        logger.debug("tracekit: the stats could not count a feature's roots", exc_info=True)
        return 0
    return int(total or 0)


def _joinable(alias: str, pk: int) -> bool:
    rows = list(TraceSpan.objects.using(alias).filter(trace_id=pk).values_list(
        "span_id", "parent_span_id", "kind"))
    ids = {span_id for span_id, _parent, _kind in rows}
    return any(kind in ("producer", "consumer") or (parent and parent not in ids)
               for _span_id, parent, kind in rows)


def _delete(alias: str, pks: list[int]) -> None:
    if pks:
        TraceSpan.objects.using(alias).filter(trace_id__in=pks).delete()
        Trace.objects.using(alias).filter(id__in=pks).delete()
