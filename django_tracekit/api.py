"""The public API: ``span()``, ``traced``, ``no_autotrace`` (``record_error`` lives in errors).

Spans are named by the code-location convention unless a name is given, and carry the
semconv ``code.*`` attributes. Exceptions escaping a span follow the error convention.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from contextvars import Token
from types import TracebackType
from typing import Any, TypeVar, cast, overload

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind

from django_tracekit.core import naming
from django_tracekit.core.errors import handle_escaping
from django_tracekit.core.sdk_attributes import set_known
from django_tracekit.core.tracer import get_tracer
from django_tracekit.core.vocabulary import NO_AUTOTRACE_ATTR, is_no_autotrace  # noqa: F401

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
Attributes = Mapping[str, Any]


def _start_span(name: str, kind: SpanKind, known: Mapping[str, Any],
                extra: Attributes | None, parent: Context) -> Span:
    """A span with the ``code.*`` attributes tracekit computed (``known``: valid by
    construction, set without the SDK's per-value validation where it can) and the caller's
    ``extra`` ones (validated by the SDK; they win over ``known``), child of ``parent`` (the
    current context, read once by the caller: the SDK and its sampler would each read it
    again)."""
    current = get_tracer().start_span(name, context=parent, kind=kind,
                                      attributes=extra or None)
    if extra:
        set_known(current, {k: v for k, v in known.items() if k not in extra})
    else:  # a CodeLocation's: str, str, int
        set_known(current, known, scalars=True)
    return current


class span:
    """A span named after the enclosing function's code location (or ``name``).

    As a context manager it yields the OpenTelemetry span; as a decorator
    (``@tracekit.span()``) it behaves like :func:`traced`. With the default name, inside a
    function that already has its span (view, task, ``@traced``, auto-traced call), it is
    that span: ``attributes`` are added to it and no second span of the same name is made.
    """

    __slots__ = ("_attributes", "_kind", "_location", "_name", "_span", "_token")

    def __init__(self, name: str | None = None, *, attributes: Attributes | None = None,
                 kind: SpanKind = SpanKind.INTERNAL) -> None:
        # The frame of the function containing the `with` (or the decorator line).
        self._location = naming.caller_location(1)
        self._name = name
        self._attributes = attributes
        self._kind = kind
        self._token: Token[Context] | None = None

    def __enter__(self) -> Span:
        location = self._location
        parent = otel_context.get_current()
        if self._name is None:
            # The span that already stands for the enclosing function (its view, task,
            # @traced or auto-traced span) is this span: one span, counted once.
            current = trace.get_current_span(parent)
            if current.is_recording() and getattr(current, "name", None) == location.name:
                if self._attributes:
                    current.set_attributes(self._attributes)
                self._span = current
                self._token = None
                return current
        current = _start_span(self._name or location.name, self._kind, location.attributes,
                              self._attributes, parent)
        self._span = current
        self._token = otel_context.attach(trace.set_span_in_context(current, parent))
        return current

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        token = self._token
        if token is not None:
            otel_context.detach(token)
        if exc is not None:
            handle_escaping(exc, self._span)
        if token is not None:  # a span of our own (not the function's: its owner ends it)
            self._span.end()

    def __call__(self, func: F) -> F:
        return _traced(func, self._name, self._attributes, self._kind)


@overload
def traced(func: F, /) -> F: ...
@overload
def traced(*, name: str | None = ..., attributes: Attributes | None = ...,
           kind: SpanKind = ...) -> Callable[[F], F]: ...
def traced(func: F | None = None, /, *, name: str | None = None,
           attributes: Attributes | None = None,
           kind: SpanKind = SpanKind.INTERNAL) -> F | Callable[[F], F]:
    """Decorate a function (sync, async, generator or async generator) to run in a span.

    The name and ``code.*`` attributes are computed once, at decoration time.
    """
    if func is None:
        return lambda f: _traced(f, name, attributes, kind)
    return _traced(func, name, attributes, kind)


def _traced(func: F, name: str | None, attributes: Attributes | None, kind: SpanKind) -> F:
    if isinstance(func, (staticmethod, classmethod)):
        return type(func)(_traced(func.__func__, name, attributes, kind))
    location = naming.location_for(func)
    span_name = name or location.name
    start = functools.partial(_start, span_name, location.attributes, attributes, kind)

    if inspect.isasyncgenfunction(func):
        # A plain function returning the driver: there is no `yield from` for async generators
        # and the driver must see the consumer's asend()/athrow() values.
        @functools.wraps(func)
        def traced_async_gen(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
            __traceback_hide__ = True  # tracekit's frame: not in Django's error pages
            return _drive_async_generator(func(*args, **kwargs), start)
        return traced_async_gen  # type: ignore[return-value]

    if inspect.isgeneratorfunction(func):
        @functools.wraps(func)
        def traced_gen(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
            __traceback_hide__ = True  # tracekit's frame: not in Django's error pages
            return (yield from _drive_generator(func(*args, **kwargs), start))
        return traced_gen  # type: ignore[return-value]

    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def traced_coroutine(*args: Any, **kwargs: Any) -> Any:
            __traceback_hide__ = True  # tracekit's frame: not in Django's error pages
            # A coroutine runs in one task's context, so attach/detach across awaits is safe.
            current, token = start()
            try:
                return await func(*args, **kwargs)
            except BaseException as exc:
                handle_escaping(exc, current)
                raise
            finally:
                otel_context.detach(token)
                current.end()
        return traced_coroutine  # type: ignore[return-value]

    @functools.wraps(func)
    def traced_function(*args: Any, **kwargs: Any) -> Any:
        __traceback_hide__ = True  # tracekit's frame: not in Django's error pages
        current, token = start()
        try:
            return func(*args, **kwargs)
        except BaseException as exc:
            handle_escaping(exc, current)
            raise
        finally:
            otel_context.detach(token)
            current.end()
    return traced_function  # type: ignore[return-value]


def _start(name: str, known: Mapping[str, Any], extra: Attributes | None,
           kind: SpanKind) -> tuple[Span, Token[Context]]:
    parent = otel_context.get_current()
    current = _start_span(name, kind, known, extra, parent)
    return current, otel_context.attach(trace.set_span_in_context(current, parent))


def _drive_generator(gen: Generator[Any, Any, Any],
                     start: Callable[[], tuple[Span, Token[Context]]]) -> Generator[Any, Any, Any]:
    """Run ``gen`` in one span that is current only while ``gen`` runs, never across yields.

    ``yield from`` would keep the span attached while the consumer runs between items,
    leaking it into the consumer's context; so the generator is driven by hand.
    """
    __traceback_hide__ = True  # tracekit's frame: not in Django's error pages
    current: Span | None = None
    ctx: Context | None = None
    method: Callable[..., Any] = gen.send
    arg: Any = None
    try:
        while True:
            if current is None:
                current, token = start()
                ctx = otel_context.get_current()
            else:
                token = otel_context.attach(cast(Context, ctx))
            try:
                item = method(arg)
            except StopIteration as stop:
                return stop.value
            except BaseException as exc:
                handle_escaping(exc, current)
                raise
            finally:
                otel_context.detach(token)
            try:
                arg, method = (yield item), gen.send
            except GeneratorExit:
                gen.close()
                raise
            except BaseException as exc:  # thrown in by the consumer: pass it on
                arg, method = exc, gen.throw
    finally:
        if current is not None:
            current.end()


async def _drive_async_generator(agen: AsyncGenerator[Any, Any],
                                 start: Callable[[], tuple[Span, Token[Context]]]
                                 ) -> AsyncGenerator[Any, Any]:
    """The async twin of :func:`_drive_generator` (``asend``/``athrow``)."""
    __traceback_hide__ = True  # tracekit's frame: not in Django's error pages
    current: Span | None = None
    ctx: Context | None = None
    arg: Any = None
    throw: BaseException | None = None
    try:
        while True:
            if current is None:
                current, token = start()
                ctx = otel_context.get_current()
            else:
                token = otel_context.attach(cast(Context, ctx))
            try:
                item = await (agen.athrow(throw) if throw is not None else agen.asend(arg))
            except StopAsyncIteration:
                return
            except BaseException as exc:
                handle_escaping(exc, current)
                raise
            finally:
                otel_context.detach(token)
            throw = None
            try:
                arg = yield item
            except GeneratorExit:
                await agen.aclose()
                raise
            except BaseException as exc:
                throw = exc
    finally:
        if current is not None:
            current.end()


def no_autotrace(obj: T) -> T:
    """Pull a function, method or whole class back out of auto-tracing."""
    target = obj.__func__ if isinstance(obj, (staticmethod, classmethod)) else obj
    setattr(target, NO_AUTOTRACE_ATTR, True)
    return obj

