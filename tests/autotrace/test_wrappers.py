"""What counts as a decorator's wrapper around the function a span stands for."""

from __future__ import annotations

import functools
import sys

from django_tracekit.core import naming
from django_tracekit.sources.autotrace import wrappers


def view(request: object) -> str:
    return "ok"


class Handler:
    def get(self, request: object) -> str:
        return "ok"

    def dispatch(self, request: object) -> str:
        return self.get(request)


def helper(x: int) -> int:
    return x


VIEW = naming.name_for(view)
GET = naming.name_for(Handler.get)


def test_what_leads_to_the_spans_function() -> None:
    assert wrappers.leads_to(view, VIEW)
    assert wrappers.leads_to(functools.wraps(view)(lambda r: view(r)), VIEW)
    # method_decorator's shape: wraps(method)(partial(method.__get__(self, type(self)))).
    instance = Handler()
    bound = functools.wraps(Handler.get)(functools.partial(Handler.get.__get__(instance)))
    assert wrappers.leads_to(bound, GET)
    # ... on dispatch (name="dispatch"): a bound method of an instance of the span's class.
    assert wrappers.leads_to(functools.partial(instance.dispatch), GET)


def test_what_does_not() -> None:
    assert not wrappers.leads_to(helper, VIEW)
    assert not wrappers.leads_to(Handler, GET)  # the class itself is not a call of its get
    assert not wrappers.leads_to(functools.partial(helper, 1), VIEW)
    assert not wrappers.leads_to(Handler().dispatch, VIEW)  # another span's name


def test_a_wrapper_is_recognized_by_its_closure() -> None:
    seen: list[bool] = []

    def decorator(func):  # type: ignore[no-untyped-def]
        @functools.wraps(func)
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            seen.append(wrappers.calls_through(sys._getframe(), VIEW))
            return func(*args, **kwargs)
        return wrapper

    def not_a_wrapper(request: object) -> None:
        seen.append(wrappers.calls_through(sys._getframe(), VIEW))

    decorator(view)(None)
    not_a_wrapper(None)
    assert seen == [True, False]
