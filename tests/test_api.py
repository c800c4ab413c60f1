"""The public API: span(), traced, no_autotrace, name_for, record_error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

import django_tracekit as tracekit
from django_tracekit.api import is_no_autotrace
from tests import samples
from tests.conftest import Spans

MODULE = "tests/test_api"


def current_name() -> str | None:
    return getattr(trace.get_current_span(), "name", None)


def test_span_is_named_after_the_enclosing_function(spans: Spans) -> None:
    samples.plain()
    samples.Checkout().run()
    span = spans.named("tests/samples/Checkout/run")
    assert span.attributes["code.function.name"] == "tests.samples.Checkout.run"
    assert span.attributes["code.file.path"] == samples.__file__
    assert span.attributes["code.line.number"] == samples.Checkout.run.__code__.co_firstlineno
    assert spans.names() == ["tests/samples/plain", "tests/samples/Checkout/run"]


def test_span_in_nested_function_and_explicit_name(spans: Spans) -> None:
    samples.outer()()
    with tracekit.span("checkout", attributes={"order.items": 3}) as current:
        assert current.is_recording()
    assert spans.names() == ["tests/samples/outer/inner", "checkout"]
    assert spans.named("checkout").attributes["order.items"] == 3


def test_span_parentage(spans: Spans) -> None:
    with tracekit.span("parent"):
        samples.plain()
    parent, child = spans.named("parent"), spans.named("tests/samples/plain")
    assert child.parent is not None and child.parent.span_id == parent.context.span_id
    assert child.context.trace_id == parent.context.trace_id


def test_default_span_inside_the_function_of_the_current_span_is_that_span(
        spans: Spans) -> None:
    """The span standing for a function (here @traced; the view, task or auto-traced span
    likewise) is what ``span()`` with the default name means inside it: one span."""
    @tracekit.traced
    def handler(fail: bool) -> None:
        with tracekit.span(attributes={"order.items": 2}) as current:
            assert current is trace.get_current_span()
            if fail:
                raise ValueError("boom")

    handler(False)
    test = f"{MODULE}/test_default_span_inside_the_function_of_the_current_span_is_that_span"
    name = f"{test}/handler"
    assert spans.names() == [name]
    assert spans.named(name).attributes["order.items"] == 2
    with pytest.raises(ValueError):
        handler(True)
    failed = spans.all()[-1]
    assert spans.names() == [name, name]
    assert [e.name for e in failed.events] == ["exception"]  # recorded once
    assert failed.status.status_code is StatusCode.ERROR
    with tracekit.span("outer"), tracekit.span() as own:  # another name: its own span
        assert own.is_recording()
    assert spans.names()[-2:] == [test, "outer"]


def test_span_as_decorator_names_the_decorated_function(spans: Spans) -> None:
    @tracekit.span()
    def decorated_by_span() -> int:
        return 1

    assert decorated_by_span() == 1
    assert spans.names() == [f"{MODULE}/test_span_as_decorator_names_the_decorated_function/"
                             "decorated_by_span"]


def test_traced_plain_and_with_arguments(spans: Spans) -> None:
    @tracekit.traced
    def add(a: int, b: int) -> int:
        return a + b

    @tracekit.traced(attributes={"feature": "x"})
    def sub(a: int, b: int) -> int:
        return a - b

    assert (add(1, 2), sub(3, 1)) == (3, 2)
    assert add.__name__ == "add"  # functools.wraps
    prefix = f"{MODULE}/test_traced_plain_and_with_arguments"
    assert spans.names() == [f"{prefix}/add", f"{prefix}/sub"]
    assert spans.named(f"{prefix}/sub").attributes["feature"] == "x"


def test_traced_error_follows_the_convention(spans: Spans) -> None:
    @tracekit.traced
    def fails() -> None:
        raise ValueError("bad")

    with pytest.raises(ValueError):
        fails()
    (span,) = spans.all()
    assert span.status.status_code is StatusCode.ERROR
    assert [e.name for e in span.events] == ["exception"]


def test_traced_methods(spans: Spans) -> None:
    class Service:
        @tracekit.traced
        def method(self) -> str:
            return "m"

        @tracekit.traced
        @staticmethod
        def static() -> str:
            return "s"

        @classmethod
        @tracekit.traced
        def klass(cls) -> str:
            return "c"

    assert (Service().method(), Service.static(), Service.klass()) == ("m", "s", "c")
    prefix = f"{MODULE}/test_traced_methods/Service"
    assert spans.names() == [f"{prefix}/method", f"{prefix}/static", f"{prefix}/klass"]


def test_traced_coroutine(spans: Spans) -> None:
    @tracekit.traced
    async def fetch() -> str | None:
        await asyncio.sleep(0)
        return current_name()

    name = asyncio.run(fetch())
    assert name == f"{MODULE}/test_traced_coroutine/fetch"
    assert spans.names() == [name]


def test_traced_generator_is_current_only_while_running(spans: Spans) -> None:
    @tracekit.traced
    def numbers() -> Iterator[str | None]:
        yield current_name()
        received = yield current_name()
        yield f"{received}:{current_name()}"

    gen = numbers()
    inside = next(gen)
    between = current_name()  # the consumer must not see the generator's span
    assert gen.send(None) == inside
    assert gen.send("hi") == f"hi:{inside}"
    assert spans.all() == []  # not ended yet: still iterating
    with pytest.raises(StopIteration):
        next(gen)
    assert inside == f"{MODULE}/test_traced_generator_is_current_only_while_running/numbers"
    assert between != inside
    assert spans.names() == [inside]


def test_traced_generator_closed_early_ends_span_without_error(spans: Spans) -> None:
    @tracekit.traced
    def forever() -> Iterator[int]:
        n = 0
        while True:
            yield n
            n += 1

    gen = forever()
    assert [next(gen) for _ in range(3)] == [0, 1, 2]
    gen.close()
    (span,) = spans.all()
    assert span.status.status_code is StatusCode.UNSET


def test_traced_generator_throw_is_passed_in(spans: Spans) -> None:
    @tracekit.traced
    def guarded() -> Iterator[str]:
        try:
            yield "ready"
        except KeyError:
            yield "caught"

    gen = guarded()
    next(gen)
    assert gen.throw(KeyError("k")) == "caught"


def test_traced_async_generator(spans: Spans) -> None:
    @tracekit.traced
    async def ticks() -> AsyncIterator[str | None]:
        for _ in range(2):
            await asyncio.sleep(0)
            yield current_name()

    async def consume() -> tuple[list[str | None], str | None]:
        seen = []
        async for item in ticks():
            seen.append(item)
            assert current_name() != item  # not leaked into the consumer
        return seen, current_name()

    seen, after = asyncio.run(consume())
    name = f"{MODULE}/test_traced_async_generator/ticks"
    assert seen == [name, name]
    assert after != name
    assert spans.names() == [name]


def test_no_autotrace_marks_functions_and_classes() -> None:
    @tracekit.no_autotrace
    def hot() -> None:
        pass

    @tracekit.no_autotrace
    class Hot:
        @tracekit.no_autotrace
        @staticmethod
        def helper() -> None:
            pass

    assert is_no_autotrace(hot) and is_no_autotrace(Hot)
    assert is_no_autotrace(Hot.helper)
    assert not is_no_autotrace(samples.plain)


def test_public_names() -> None:
    assert set(tracekit.__all__) >= {"span", "traced", "record_error", "no_autotrace", "name_for"}


def test_code_attributes_are_set_and_the_callers_win(spans: Spans) -> None:
    """The ``code.*`` attributes skip the SDK's validation (core/sdk_attributes.py) but end
    up as the SDK would store them; attributes the caller gives are validated and win."""
    with tracekit.span("plain"):
        pass
    with tracekit.span("given", attributes={"code.line.number": 7, "tags": ["a", "b"]}):
        pass
    plain, given = spans.named("plain").attributes, spans.named("given").attributes
    assert set(plain) == {"code.function.name", "code.file.path", "code.line.number"}
    assert plain["code.function.name"].endswith(
        "test_code_attributes_are_set_and_the_callers_win")
    assert given["code.line.number"] == 7 and given["tags"] == ("a", "b")  # SDK: a tuple
    assert given["code.file.path"] == plain["code.file.path"]
