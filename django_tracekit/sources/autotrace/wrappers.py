"""Decorators of the project between a span and the function that span stands for.

The middleware's view span (and the Celery task span, ``@traced``) stands for the view
function: the auto-traced view function gets no second span and no second count. When the
project's own decorator wraps the view (``@my_login_required``, or
``@method_decorator(my_decorator)`` on a class-based view's handler or its ``dispatch``),
its auto-traced wrapper runs first, between the span and the view function. Such a wrapper
is counted (it is the team's code and runs once per request) but gets no frame: the span
stands for the decorated call, so the view function it calls is again directly under the
span and is neither counted nor given a span of its own (counted once, not twice).

A wrapper is recognized by what it calls: a callable among its locals at entry (its
arguments and closure: ``func``, ``view_func``) that is the span's function (by the naming
convention, through ``functools.wraps``/``partial``/bound methods) or a bound method of an
instance of the span's class (``dispatch`` of the view instance). Learned once per
(function, span name) by ``calls.push``.
"""

from __future__ import annotations

import functools
import types
from typing import Any

from django_tracekit.core import naming

MAX_UNWRAP = 8


def calls_through(frame: types.FrameType, name: str) -> bool:
    """Whether the function running in ``frame`` holds a callable leading to ``name``."""
    try:
        values = list(frame.f_locals.values())
    except Exception:  # an exotic frame: not a wrapper (counted as before)
        return False
    return any(callable(value) and leads_to(value, name) for value in values)


def _name_of(obj: Any) -> str | None:
    try:
        return naming.name_for(obj)
    except Exception:  # an object naming cannot name is not the span's function
        return None


def leads_to(value: Any, name: str) -> bool:
    """Whether calling ``value`` runs the function named ``name`` (or, for ``Class/handler``
    names, a method of an instance of that class: a class-based view's ``dispatch``)."""
    for _ in range(MAX_UNWRAP):
        if value is None:
            return False
        if _name_of(value) == name:
            return True
        owner = getattr(value, "__self__", None) if isinstance(value, types.MethodType) else None
        if owner is not None and not isinstance(owner, type):
            owner_name = _name_of(type(owner))
            if owner_name and name.startswith(owner_name + "/"):
                return True
        if isinstance(value, functools.partial):
            value = value.func
        elif isinstance(value, types.MethodType):
            value = value.__func__
        else:
            value = getattr(value, "__wrapped__", None)
    return False
