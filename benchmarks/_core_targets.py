"""Functions whose code-location name bench_core derives, in an ordinary importable module
(not ``__main__``, whose name needs extra resolution) backed by a real source file (so
``inspect.stack()`` reads real source lines, as it would in an application)."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import TypeVar

from django_tracekit.core import naming

T = TypeVar("T")


def empty() -> str:
    """Harness overhead: a call that derives nothing."""
    return ""


def name_cached() -> str:
    """tracekit: the caller's code object -> cached CodeLocation (what ``span()`` does)."""
    return naming.caller_location(0).name


def name_getframe_uncached() -> str:
    """``sys._getframe()`` + ``co_qualname``, convention string rebuilt on every call."""
    frame = sys._getframe()
    return naming.convention_name(frame.f_globals["__name__"], frame.f_code.co_qualname)


def name_inspect_stack() -> str:
    """The classic approach: ``inspect.stack()`` (one context line per frame, the default)."""
    frame = inspect.stack()[0].frame
    try:
        return naming.convention_name(frame.f_globals["__name__"], frame.f_code.co_qualname)
    finally:
        del frame


def name_inspect_stack0() -> str:
    """``inspect.stack(0)``: the same walk without reading source lines."""
    frame = inspect.stack(0)[0].frame
    try:
        return naming.convention_name(frame.f_globals["__name__"], frame.f_code.co_qualname)
    finally:
        del frame


def at_depth(depth: int, thunk: Callable[[], T]) -> T:
    """Call ``thunk`` with the stack ``depth`` frames deeper than here."""
    if depth <= 0:
        return thunk()
    return at_depth(depth - 1, thunk)


def stack_depth() -> int:
    """Frames above the caller of this function."""
    frame = sys._getframe(1)
    depth = 0
    while frame is not None:
        depth += 1
        frame = frame.f_back
    return depth
