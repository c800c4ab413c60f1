"""Entry and exit of auto-traced calls while something more than counting is needed.

Rewritten code counts inline while ``top()`` is None (no trace records) and calls
:func:`push`/:func:`pop` otherwise: inside a recorded trace (a pending frame per call) and
during start-up (a :class:`~django_tracekit.autotrace.chain.Phase`: not counted at all).
"""

from __future__ import annotations

import sys
import types
from typing import Any

from django.apps import apps

from django_tracekit.autotrace import spans
from django_tracekit.autotrace.chain import (
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
from django_tracekit.autotrace.chain import reset_top as _reset_top
from django_tracekit.autotrace.chain import set_top as _set_top
from django_tracekit.autotrace.chain import top as _get_top
from django_tracekit.autotrace.context import real_runtime
from django_tracekit.autotrace.sites import Counter
from django_tracekit.errors import handle_escaping, is_error

_clock = spans.clock
_threshold = 0.001  # seconds; MIN_DURATION_MS / 1000


def set_threshold(seconds: float) -> None:
    global _threshold
    _threshold = seconds


def threshold() -> float:
    return _threshold


def push(c: Counter, node: Node) -> Frame[Any] | float | None:
    """Entry of an auto-traced call when ``top()`` (``node``) is not None."""
    cls = node.__class__
    if cls is list:
        root = node[ROOT]
    elif cls is Root:
        # The attached span may already stand for this call (the middleware's view span,
        # the Celery task span, @traced around an auto-traced function): no second span of
        # the same name, no second count.
        if (node.name or node.span_name()) == (c.name or c.load_name()):
            return None
        root = node
    else:
        return _during_startup(node)
    frame = [0.0, c, node, root, None, None, None, False, False, 0.0]
    frame[TOKEN] = _set_top(frame)
    frame[T0] = _clock()  # last: our own bookkeeping is not charged to the call
    return frame


def _during_startup(node: Node) -> float | None:
    """A call made while modules load or apps get ready: not usage (not counted)."""
    if node is STARTING and apps.ready and not _in_module_body(sys._getframe(2)):
        _set_top(None)  # start-up is over in this context: count from this call on
        return _clock()
    return None


def _in_module_body(frame: types.FrameType | None) -> bool:
    """Whether a module other than ``__main__`` is executing its body up the stack (a
    module that is not rewritten, e.g. ``wsgi.py`` building the application)."""
    while frame is not None:
        if frame.f_code.co_name == "<module>" and frame.f_globals.get("__name__") != "__main__":
            return True
        frame = frame.f_back
    return False


def pop(c: Counter, frame: Frame[Any] | None) -> None:
    """Exit of a call that started while recording (``None``: nothing to do)."""
    if frame is None:
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
    return push(c, node)


def on_raise(c: Counter, state: Frame[Any] | float | None, exc: BaseException) -> None:
    """An exception escapes an auto-traced call: errors are kept and recorded (once)."""
    if state is None or state.__class__ is float:
        return
    if not is_error(exc) or isinstance(exc, (StopIteration, StopAsyncIteration)):
        return  # expected outcomes (Http404, ...) and iteration protocol are not errors
    frame: Frame[Any] = state  # type: ignore[assignment]
    try:
        frame[ERROR] = True
        with spans.lock:
            spans.materialize(frame)
        # Innermost kept frame: the event with the full stack; outer ones: a reference.
        handle_escaping(exc, frame[SPAN])
    except Exception:
        spans.log_failure()
