"""Entry and exit of auto-traced calls while something more than counting is needed.

Rewritten code counts inline while ``top()`` is None (no trace records) and calls
:func:`push`/:func:`pop` otherwise: inside a recorded trace (a pending frame per call) and
during start-up (a :class:`~django_tracekit.core.chain.Phase`: not counted at all). Outside
traces, a plain function's call reads the clock only when :func:`sample` says so.
"""

from __future__ import annotations

import functools
import inspect
import random
import sys
import types
from typing import Any

from django.apps import apps

from django_tracekit.core import spans
from django_tracekit.core.chain import (
    COUNTER,
    DONE,
    ERROR,
    PREV,
    ROOT,
    SPAN,
    STARTING,
    T0,
    T1,
    TOKEN,
    Frame,
    Node,
    Root,
    node_for,
)
from django_tracekit.core.chain import reset_top as _reset_top
from django_tracekit.core.chain import set_top as _set_top
from django_tracekit.core.chain import top as _get_top
from django_tracekit.core.clock import perf_counter_ns
from django_tracekit.core.context import real_runtime
from django_tracekit.core.errors import handle_escaping, is_error
from django_tracekit.sources.autotrace import wrappers
from django_tracekit.sources.autotrace.sites import SAMPLE_EVERY, Counter, names_a_site

_clock = spans.clock
_threshold = 0.001  # seconds; MIN_DURATION_MS / 1000


class Threshold:
    """The threshold as rewritten code reads it inline (``_tk_th.s``)."""

    __slots__ = ("s",)

    def __init__(self, seconds: float) -> None:
        self.s = seconds


THRESHOLD = Threshold(_threshold)

# Synchronous calls on the fast path that got a span while running (materialized), keyed
# by the very float object of their ``_tk_t`` (their start time): their exit must end it.
# Rewritten code tests ``_tk_live and _tk_t in _tk_live`` (an empty dict is one check).
live: dict[float, Frame[Any]] = {}

# id(code) -> (code, rewritten by tracekit); the code is kept so an id is never reused.
_codes: dict[int, tuple[types.CodeType, bool]] = {}


def set_threshold(seconds: float) -> None:
    global _threshold
    _threshold = seconds
    THRESHOLD.s = seconds


def threshold() -> float:
    return _threshold


# Its own generator: drawing from the ``random`` module's would shift the sequence a
# project seeded for itself. Windows of 0 to 2 * SAMPLE_EVERY - 1 unmeasured calls.
_window = functools.partial(random.Random().getrandbits, (2 * SAMPLE_EVERY - 1).bit_length())


def sample(c: Counter) -> int:
    """A plain call outside any recorded trace whose window of unmeasured calls is over
    (``c.q`` reached 0): it is measured (its start, in ns: :func:`pop` ends it) and a new
    window of random length starts (random, so a call pattern with a period cannot always
    put the same kind of call under the sample)."""
    window = _window()
    # No call from here to the return's clock read: atomic w.r.t. other threads (3.11+),
    # which may have counted down past 0 meanwhile (``w - q`` counts them all).
    c.u += c.w - c.q
    c.w = c.q = window
    return perf_counter_ns()


def push(c: Counter, node: Node, _depth: int = 2) -> Frame[Any] | float | None:
    """Entry of an auto-traced call when ``top()`` (``node``) is not None (a coroutine, a
    generator segment, or a call directly under the attached root)."""
    cls = node.__class__
    if cls is list:
        # Synchronous callers on the fast path between this call and ``node`` become
        # pending frames (spans only if needed), so this call's parent is its real caller.
        # ``_depth``: the caller of the function being entered.
        with spans.lock:
            node = pending_sync(sys._getframe(_depth), node)
        root = node[ROOT]
    elif cls is Root:
        # The attached span may already stand for this call (the middleware's view span,
        # the Celery task span, @traced around an auto-traced function): no second span of
        # the same name, no second count.
        name = node.name or node.span_name()
        if name == (c.name or c.load_name()):
            node.free = True  # seen: later calls under this root are other functions
            return None
        # The project's decorator around that function: counted, no frame, so the
        # function it calls is again directly under the span (wrappers.py).
        under = c.under
        if under[0] is not name:  # not the same span name object as last time
            under = _learn_wrapper(c, name, sys._getframe(1))
        if under[1]:
            t = node.t0 = _clock()  # started with the span: outside it for stack walks
            return t
        free = node.free
        if free is None:
            free = node.free = not names_a_site(name)
        if free:
            # The fast path from now on under this root: its list is the chain's top, so
            # plain calls push nothing (found by ``pending_sync``); a coroutine or a
            # generator segment still pushes its frame.
            # The caller's frame by identity, not the frame object: holding it would keep
            # it (and, as each returns, every frame above it with all their locals) alive
            # until the collector frees this root (it is in a cycle with its list).
            caller = sys._getframe(_depth)
            node.caller = (id(caller), caller.f_code)
            node = node.listed()
            _set_top(node)
            if not sys._getframe(_depth - 1).f_code.co_flags & _SUSPENDING:
                return _clock()
        root = node[ROOT] if node.__class__ is list else node
    else:
        return _during_startup(c, node)
    frame = [0.0, c, node, root, None, None, None, False, False, 0.0]
    frame[TOKEN] = _set_top(frame)
    frame[T0] = _clock()  # last: our own bookkeeping is not charged to the call
    return frame


_SUSPENDING = inspect.CO_COROUTINE | inspect.CO_GENERATOR | inspect.CO_ASYNC_GENERATOR

# (counter, span name) -> whether that function is a decorator's wrapper around the
# function the attached span stands for (see wrappers.py).
_wrappers: dict[tuple[Counter, str], bool] = {}
_MAX_WRAPPERS = 4096


def _learn_wrapper(c: Counter, name: str, frame: types.FrameType) -> tuple[str, bool]:
    """Whether the call starting in ``frame`` (the first auto-traced call under a span
    named ``name``) wraps the function that span stands for: learned once per pair, kept
    on the counter for the next call under the same span name."""
    key = (c, name)
    wraps = _wrappers.get(key)
    if wraps is None:
        wraps = wrappers.calls_through(frame, name)
        if len(_wrappers) >= _MAX_WRAPPERS:
            _wrappers.clear()  # span names made up at run time: relearn rather than grow
        _wrappers[key] = wraps
    under = c.under = (name, wraps)
    return under


def _during_startup(c: Counter, node: Node) -> float | None:
    """A call made while modules load or apps get ready: not usage (not counted), but the
    function ran (a middleware factory, a ``ready()`` helper): not unused code either."""
    if node is STARTING and apps.ready and not _in_module_body(sys._getframe(2)):
        _set_top(None)  # start-up is over in this context: count from this call on
        return _clock()
    c.site.ran_at_startup = True
    return None


def _in_module_body(frame: types.FrameType | None) -> bool:
    """Whether a module other than ``__main__`` is executing its body up the stack (a
    module that is not rewritten, e.g. ``wsgi.py`` building the application)."""
    while frame is not None:
        if frame.f_code.co_name == "<module>" and frame.f_globals.get("__name__") != "__main__":
            return True
        frame = frame.f_back
    return False


def pop(c: Counter, frame: Frame[Any] | int | None) -> None:
    """Exit of a call that started while recording (``None``: nothing to do), or of a
    sampled call outside any trace (an int: :func:`sample`)."""
    if frame is None:
        return
    if isinstance(frame, int):
        duration = (perf_counter_ns() - frame) * 1e-9
        c.n += 1
        c.t += duration
        if duration > c.m:
            c.m = duration
        c.sn += 1
        c.st += duration
        return
    t1 = _clock()
    duration = t1 - frame[T0]
    c.n += 1
    c.t += duration
    if duration > c.m:
        c.m = duration
    frame[T1] = t1
    if frame[SPAN] is not None or duration >= _threshold or frame[ERROR]:
        c.k += 1
        c.kt += duration
        try:
            spans.keep(frame)
        except Exception:
            spans.log_failure()
    frame[DONE] = True
    if _get_top() is frame:
        try:
            _reset_top(frame[TOKEN])
        except (ValueError, RuntimeError):  # resumed in another context: set, don't reset
            _set_top(frame[PREV])
    else:
        # A context was attached inside this call and not detached (attach in __enter__,
        # detach in __exit__): trust the attached context, not our chain.
        _set_top(node_for(real_runtime().get_current()))


_NO_CALLER: tuple[int, types.CodeType | None] = (0, None)


def pending_sync(start: types.FrameType | None, node: Frame[Any]) -> Frame[Any]:
    """Pending frames for the synchronous auto-traced calls running between the Python
    frame ``start`` and the chain's innermost frame ``node`` (they pushed nothing: the fast
    path). Found by walking the Python stack, only when a span is needed, up to the first
    auto-traced call that is not one of them (``node``'s own, a pushed one, the function
    the attached span stands for, or one that started before ``node``: outside it); linked
    outermost first onto ``node``, registered in :data:`live` and made the chain's top.
    Returns the innermost (``node`` itself if there is none, or if ``node`` is a pending
    call not on this stack, e.g. another task's coroutine). Call with ``spans.lock``
    held."""
    stop_t0 = node[T0]
    # Under the root's own list: nothing at or above the caller of its first fast call
    # (that frame's id and code: an id alone could be a later frame's at the same address).
    stop_id, stop_code = (node[ROOT].caller or _NO_CALLER) if node[COUNTER] is None else \
        _NO_CALLER
    found: list[tuple[float, Counter]] = []
    frame = start
    codes = _codes
    while frame is not None:
        code = frame.f_code
        if code is stop_code and id(frame) == stop_id:
            break
        entry = codes.get(id(code))
        if entry is None or entry[0] is not code:
            entry = codes[id(code)] = (code, "_tk_t" in code.co_varnames)
        if entry[1]:
            local = frame.f_locals
            t = local.get("_tk_t")
            # A pushed frame (``node``'s own call or one outside it), a call that stands
            # for the attached span (None), or one that started before ``node``: the end.
            if t.__class__ is not float or t <= stop_t0:
                break
            known = live.get(t)
            if known is not None and known[T0] is t:
                node = known  # linked already (below a coroutine or generator it called)
                break
            c = local.get("_tk_c")
            if c is not None:
                found.append((t, c))
        frame = frame.f_back
    else:
        if node[COUNTER] is not None:
            return node  # that pending call is not on this stack (another thread's)
    root = node[ROOT]
    prev = node
    for t, c in reversed(found):
        item = [t, c, prev, root, None, None, None, False, False, 0.0]
        live[t] = item
        prev = item
    if prev is not node:
        _set_top(prev)
    return prev


def exit_slow(c: Counter, t0: float, duration: float) -> None:
    """Exit of a synchronous call on the fast path (already counted) that took at least
    the threshold, or that got a span while running (it is in :data:`live`)."""
    frame = live.get(t0)
    if frame is not None and frame[T0] is t0:
        del live[t0]
        frame[T1] = t0 + duration
        if frame[SPAN] is not None or duration >= _threshold or frame[ERROR]:
            c.k += 1
            c.kt += duration
            try:
                spans.keep(frame)
            except Exception:
                spans.log_failure()
        frame[DONE] = True
        if _get_top() is frame:
            _set_top(frame[PREV])
        # else: a context attached inside this call is still attached; detach re-anchors.
        return
    if duration < _threshold:
        return
    node = _get_top()
    if node.__class__ is not list:
        return  # not recording
    if t0 <= node[ROOT].t0:
        return  # a decorator's wrapper around the span's function (or a call outside it)
    try:
        with spans.lock:
            parent = pending_sync(sys._getframe(2), node)
            c.k += 1
            c.kt += duration
            spans.keep_call(c, parent, t0, t0 + duration)
    except Exception:
        spans.log_failure()


def pause(c: Counter, state: Frame[Any] | float | None) -> None:
    """A generator suspends (yield): end the running segment; it counts as one call."""
    if state is None:
        return None
    if state.__class__ is float:
        duration = _clock() - state
        c.n += 1
        c.t += duration
        if duration > c.m:
            c.m = duration
        return None
    pop(c, state)  # type: ignore[arg-type]
    return None


def resume(c: Counter) -> Frame[Any] | float | None:
    """A generator resumes: a new segment starts."""
    node = _get_top()
    if node is None:
        return _clock()
    return push(c, node, 3)


def on_raise(c: Counter, state: Frame[Any] | float | int | None, exc: BaseException) -> None:
    """An exception escapes an auto-traced call: errors are kept and recorded (once)."""
    if state is None or state.__class__ is int:
        return  # outside any trace: only counted or sampled
    if state.__class__ is float and _get_top().__class__ is not list:
        return  # not recording
    if not is_error(exc) or isinstance(exc, (StopIteration, StopAsyncIteration)):
        return  # expected outcomes (Http404, ...) and iteration protocol are not errors
    if state.__class__ is float:
        _raise_fast(state, exc)
        return
    frame: Frame[Any] = state  # type: ignore[assignment]
    try:
        frame[ERROR] = True
        with spans.lock:
            spans.materialize(frame)
        # Innermost kept frame: the event with the full stack; outer ones: a reference.
        handle_escaping(exc, frame[SPAN])
    except Exception:
        spans.log_failure()


def _raise_fast(t0: float, exc: BaseException) -> None:
    """An error escapes a synchronous call on the fast path: it and its pending ancestors
    get spans now, while the stack is complete (the raising frame is two frames up)."""
    try:
        with spans.lock:
            frame = live.get(t0)
            if frame is None or frame[T0] is not t0:
                pending_sync(sys._getframe(2), _get_top())
                frame = live.get(t0)
                if frame is None or frame[T0] is not t0:
                    return  # not found on this stack: counted only
            frame[ERROR] = True
            spans.materialize(frame)
        handle_escaping(exc, frame[SPAN])
    except Exception:
        spans.log_failure()
