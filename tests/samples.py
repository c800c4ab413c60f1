"""Code whose names and spans the tests check (line numbers matter to some tests)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import django_tracekit as tracekit


def plain() -> str:
    with tracekit.span():
        return "plain"


class Checkout:
    def run(self) -> str:
        with tracekit.span():
            return "run"

    @staticmethod
    def static() -> None:
        pass

    @classmethod
    def klass(cls) -> None:
        pass

    @property
    def total(self) -> int:
        return 1

    class Inner:
        def deep(self) -> None:
            pass


def outer() -> Callable[[], Any]:
    def inner() -> Any:
        with tracekit.span() as current:
            return current
    return inner


square = lambda x: x * x  # noqa: E731


def logged(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)
    return wrapper


@logged
def decorated() -> None:
    pass


def level(n: int) -> None:
    if n == 0:
        raise ValueError("deep failure")
    level(n - 1)


def catch_and_record(depth: int) -> None:
    try:
        level(depth)
    except ValueError as exc:
        tracekit.record_error(exc)


def caller_of_recording(depth: int) -> None:
    with tracekit.span():
        catch_and_record(depth)
