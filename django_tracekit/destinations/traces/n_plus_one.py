"""The store's side of the ``n_plus_one`` rule (:mod:`.keep`): of the traces kept for an
N+1 alone, one per feature (the row's root name) and 10-minute window over every process.

Each process keeps the first root of a feature per window that ran an N+1
(:class:`~.keep.NPlusOneRule`); with several processes, each of them would keep one. At a
write, inside the writer's transaction, a part kept for ``n_plus_one`` whose feature
already has an ``n_plus_one`` trace in the store for that window (by the part's first
span) loses the reason; a part left with no reason is written only if another process kept
its trace (it joins it, as any part with no reason of its own). Two processes writing the
same window at the same moment can both keep theirs: the bound is one per process at most,
and one in the usual case.
"""

from __future__ import annotations

from dataclasses import replace

from django_tracekit.destinations.traces.keep import WINDOW_US
from django_tracekit.destinations.traces.records import Part, join_reasons
from django_tracekit.storage.trace_models import Trace

REASON = "n_plus_one"


def first_per_window(alias: str, parts: list[Part]) -> list[Part]:
    """``parts``, with ``n_plus_one`` taken off those whose feature and window have an
    ``n_plus_one`` trace already (stored, or earlier in ``parts``)."""
    taken: set[tuple[str, int]] = set()
    out = []
    for part in parts:
        if REASON in part.reasons and part.spans:
            name = part.root_name or part.local_root_name
            first = min(span.start_us for span in part.spans)
            window = first - first % WINDOW_US
            if (name, window) in taken or _stored(alias, part.trace_id, name, window):
                part = replace(part, reasons=join_reasons(
                    *(r for r in part.reasons.split(",") if r != REASON)))
            else:
                taken.add((name, window))
        out.append(part)
    return out


def _stored(alias: str, trace_id: str, name: str, window: int) -> bool:
    """Whether another trace of feature ``name`` starting in the window is kept for an
    N+1 (the ``start_us`` index bounds the rows read to that window)."""
    return bool(Trace.objects.using(alias).filter(
        start_us__gte=window, start_us__lt=window + WINDOW_US, root_name=name,
        reasons__contains=REASON).exclude(trace_id=trace_id).exists())
