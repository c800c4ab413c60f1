"""What rewritten functions call at run time: the names the rewriter binds in a module.

The rewriter (``rewrite.py``) turns every coroutine and generator into the shape below
(plain functions get the fast path described further down, ``rewrite._SYNC_TEMPLATE``)::

    def f(...):
        _tk_t = _tk_top()
        _tk_t = _tk_clock() if _tk_t is None else _tk_push(_tk_cI, _tk_t)
        try:
            ...original body...
        except BaseException as _tk_e:
            _tk_raise(_tk_cI, _tk_t, _tk_e)
            raise
        finally:
            if _tk_t.__class__ is float:          # not recording: count, inline
                _tk_t = _tk_clock() - _tk_t
                _tk_cI.n += 1
                _tk_cI.t += _tk_t
                if _tk_t > _tk_cI.m:
                    _tk_cI.m = _tk_t
            else:                                  # recording: a pending Frame
                _tk_pop(_tk_cI, _tk_t)

Why this shape (measured, see docs/autotrace.md): the clock is the dominant cost (a clock
read costs about a Python call), so the not-recording path makes no Python call: in a
plain function, one ``ContextVar.get`` (C) and a countdown on its counter, with one call in
about 16 timed (``calls.sample``); in a coroutine or generator, two clock reads and three
slot updates (the shape above). The counter update
sequence contains no call and no backward jump, so on CPython 3.11+ (eval-breaker checks only
at calls, resumes and backward jumps) no thread switch can interleave it: counts are exact.

During start-up (a module body executing, apps loading) ``_tk_top()`` returns a
:class:`Phase` marker and ``_tk_push`` returns None: the call is neither counted nor traced,
at no cost to the counting path (see ``chain.py``).

While a trace is recording, ``_tk_top()`` returns the innermost *node* of this execution
context: a :class:`Root` (set by the hooked OpenTelemetry runtime context whenever a context
whose span is recording is attached) or a pending :class:`Frame` (an auto-traced call that
has started and has no span yet). Frames form an immutable linked list held in a
``ContextVar``, so asyncio tasks and ``copy_context()`` threads each see their own chain
and share only their ancestors (which are their real ancestors).

No span exists for a pending frame. At exit a frame becomes a span only if it took at least
``MIN_DURATION_MS``, raised an error, or was *materialized* earlier: something needed it as
a parent (a kept descendant, or another instrumentation reading the current context via
``opentelemetry.context.get_current()`` -- e.g. a DB-query span or ``tracekit.span()``).
Materializing walks the chain down to the attached context (O(pending frames)) and creates
the missing spans with their real start times, so every kept span's parent is its nearest
kept ancestor.

The fast path (plain functions, see ``rewrite._SYNC_TEMPLATE``): a plain call made while
the innermost node is already a pending frame pushes nothing; it counts inline and calls
``_tk_exit`` only if it was slow or got a span meanwhile (``calls.live``). Its pending
ancestors are found by walking the Python stack (``calls.pending_sync``) only when a span is
needed, so the per-call cost is the counting path's plus one comparison, at any depth.

Where each part lives: ``sites`` (functions and counters), ``chain`` (the pending-frame
chain and start-up phases), ``calls`` (entry/exit while recording), ``spans`` (retroactive
spans and the SDK shortcut), ``context`` (the OpenTelemetry context hook).

Spans are built as :class:`AutoSpan` objects and handed to the provider's span processors
as ``ReadableSpan``s on end: ``tracer.start_span()`` + ``end()`` costs ~0.75x
``start_as_current_span`` (sampler, locks, attribute validation, ``_readable_span`` copy),
which cannot meet the 0.25x goal. The shortcut is taken only when the SDK would make the
same decision (SDK tracer, ``ParentBased`` sampler -- wrapped in the stats'
``RecordSampledOut`` by default -- and a parent it follows); otherwise the SDK path is
used. Processors see these spans in ``on_end`` only (not ``on_start``): they are created
when their call has already finished.
"""

from __future__ import annotations

from django_tracekit.core.chain import IMPORTING, STARTING, Phase, Root, top
from django_tracekit.core.spans import AutoSpan, clock
from django_tracekit.sources.autotrace.calls import (
    THRESHOLD,
    exit_slow,
    live,
    on_raise,
    pause,
    pop,
    push,
    resume,
    sample,
    set_threshold,
    threshold,
)
from django_tracekit.sources.autotrace.context import hook_context, unhook_context
from django_tracekit.sources.autotrace.sites import Counter, Site, iter_counts, new_site

__all__ = ["IMPORTING", "STARTING", "THRESHOLD", "AutoSpan", "Counter", "Phase", "Root", "Site",
           "clock", "exit_slow", "hook_context", "iter_counts", "live", "new_site", "on_raise",
           "pause", "pop", "push", "resume", "sample", "set_threshold", "threshold", "top",
           "unhook_context"]
