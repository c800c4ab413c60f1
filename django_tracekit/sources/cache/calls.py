"""One cache backend instance's methods as CLIENT spans.

Each method of :data:`METHODS` (and its ``a*`` twin) is replaced *on the instance* by a
wrapper that, while a span is recording, runs the original inside a ``cache.<method>`` span.
Calls the backend makes to itself (``BaseCache.get_many`` calling ``get`` per key,
``aget`` running ``get`` in a thread, ``get_or_set`` calling ``get`` and ``add``) are
folded into the outer span: the application's call is what the trace shows. CLIENT, as
semconv makes database and cache calls and OpenTelemetry's Redis and memcached
instrumentations do (ddtrace gives Django cache spans a service of their own): the cache is
a store the code calls; an INTERNAL span from tracekit's tracer would also count as a
feature in the stats.

A failure of tracekit's own code is logged once and the call runs as if untraced; the
backend's own exception propagates unchanged, recorded on the span.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span

from django_tracekit.core import cache_keys as keys
from django_tracekit.core import client_spans
from django_tracekit.core.errors import handle_client_error
from django_tracekit.core.logonce import LogOnce
from django_tracekit.core.vocabulary import SUPPRESS_KEY as SUPPRESS_INSTRUMENTATION_KEY

#: The methods traced, by how they take their keys.
SINGLE_KEY = ("get", "set", "add", "delete", "incr", "decr", "touch", "has_key", "get_or_set")
MANY_KEYS = ("get_many", "delete_many")
MAPPING = ("set_many",)
NO_KEY = ("clear",)
METHODS = (*SINGLE_KEY, *MANY_KEYS, *MAPPING, *NO_KEY)
#: Reads: their spans say whether the cache had the value (``cache.hit``).
READS = frozenset({"get", "get_many", "has_key", "get_or_set"})

MARKER = "_tracekit_cache_traced"
_MISSING = object()


class _Call:
    """The cache call being traced in this context (nested calls of its backend fold in)."""

    __slots__ = ("backend", "hit")

    def __init__(self, backend: object) -> None:
        self.backend = backend
        self.hit: bool | None = None  # what a folded-in ``get`` found (for get_or_set)


_active: ContextVar[_Call | None] = ContextVar("tracekit_cache_call", default=None)
_failed = LogOnce("tracing a cache call failed; the call ran untraced")


def backend_attributes(backend: object, alias: str, location: Any) -> dict[str, Any]:
    """What every span of one backend carries: alias, class, system and server."""
    cls = type(backend)
    path = f"{cls.__module__}.{cls.__qualname__}"
    attributes: dict[str, Any] = {"cache.alias": alias, "cache.backend": path}
    module = cls.__module__.lower()  # django_redis.cache, ...backends.memcached
    system = "redis" if "redis" in module else "memcached" if "memcached" in module else None
    if system is None:
        return attributes
    attributes["db.system.name"] = system
    first = location[0] if isinstance(location, (list, tuple)) and location else location
    if isinstance(first, str) and first and not first.startswith("unix:"):
        try:  # host and port only: a redis URL may hold a password
            parts = urlsplit(first if "://" in first else f"//{first}")
            if parts.hostname:
                attributes["server.address"] = parts.hostname
            if parts.port:
                attributes["server.port"] = parts.port
        except ValueError:
            pass
    return attributes


def _argument(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, _MISSING)


def _key_attributes(method: str, args: tuple[Any, ...],
                    kwargs: Mapping[str, Any]) -> dict[str, Any]:
    if method in SINGLE_KEY:
        key = _argument(args, kwargs, 0, "key")
        return {} if key is _MISSING else {"cache.key": keys.render(key)}
    if method in NO_KEY:
        return {}
    many = _argument(args, kwargs, 0, "data" if method in MAPPING else "keys")
    if many is _MISSING:
        return {}
    if method not in MAPPING and isinstance(many, (str, bytes)):
        many = [many]  # a backend would iterate the characters; show what was passed
    shown, count = keys.render_many(many)
    return {"cache.keys": shown, "cache.key.count": count}


def _outcome(span: Span, method: str, call: _Call, result: Any, args: tuple[Any, ...],
             kwargs: Mapping[str, Any]) -> None:
    """The attributes a read's result gives its span."""
    if method == "get":
        default = _argument(args, kwargs, 1, "default")
        span.set_attribute("cache.hit", result is not (None if default is _MISSING else default))
    elif method == "get_many":
        hits = len(result) if isinstance(result, Mapping) else 0
        span.set_attribute("cache.hit", hits > 0)
        span.set_attribute("cache.hit.count", hits)
    elif method == "has_key":
        span.set_attribute("cache.hit", bool(result))
    elif method == "get_or_set" and call.hit is not None:
        span.set_attribute("cache.hit", call.hit)


def _nested_get(outer: _Call, method: str, result: Any, args: tuple[Any, ...],
                kwargs: Mapping[str, Any]) -> None:
    """A ``get`` folded into an outer call: the first one tells get_or_set's hit."""
    if method == "get" and outer.hit is None:
        default = _argument(args, kwargs, 1, "default")
        outer.hit = result is not (None if default is _MISSING else default)


def _outside_call(default: Callable[[], Any]) -> Callable[[], Any]:
    """get_or_set's callable default runs as the application's code: its own cache calls
    are spans again (children of the get_or_set span), not folded in."""
    @functools.wraps(default)
    def run() -> Any:
        __traceback_hide__ = True  # tracekit's frame: not in Django's error pages
        token = _active.set(None)
        try:
            return default()
        finally:
            _active.reset(token)
    return run


def _prepare(method: str, args: tuple[Any, ...],
             kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if method == "get_or_set":
        default = _argument(args, kwargs, 1, "default")
        if callable(default):
            if len(args) > 1:
                args = (args[0], _outside_call(default), *args[2:])
            else:
                kwargs = {**kwargs, "default": _outside_call(default)}
    return args, kwargs


def _is_outcome(method: str, exc: BaseException) -> bool:
    """incr/decr of a missing key raise ValueError by contract: a miss, not an error."""
    return method in ("incr", "decr") and type(exc) is ValueError


class _Traced:
    """The bookkeeping of one traced call: its span, context tokens and outcome."""

    __slots__ = ("call", "method", "span", "tokens")

    def __init__(self, backend: object, method: str, static: Mapping[str, Any],
                 args: tuple[Any, ...], kwargs: Mapping[str, Any],
                 parent_context: otel_context.Context, parent: Span) -> None:
        attributes = dict(static)
        attributes.update(_key_attributes(method, args, kwargs))
        self.method = method
        self.call = _Call(backend)
        # Current while the backend runs: a get_or_set default's own calls are its children.
        self.span = client_spans.start(f"cache.{method}", parent_context, parent, attributes)
        self.tokens = (otel_context.attach(trace.set_span_in_context(self.span)),
                       _active.set(self.call))

    def succeeded(self, result: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        try:
            if self.method in READS:
                _outcome(self.span, self.method, self.call, result, args, kwargs)
        except Exception:
            _failed.failed()

    def raised(self, exc: BaseException) -> None:
        try:
            if _is_outcome(self.method, exc):
                self.span.set_attribute("cache.hit", False)
            else:  # the error convention; never an exit or cancellation
                handle_client_error(exc, self.span)
        except Exception:
            _failed.failed()

    def close(self) -> None:
        try:
            _active.reset(self.tokens[1])
            otel_context.detach(self.tokens[0])
            self.span.end()
        except Exception:
            _failed.failed()


def _start(backend: object, method: str, static: Mapping[str, Any], args: tuple[Any, ...],
           kwargs: Mapping[str, Any]) -> _Traced | None:
    """A span for this call, or None: nested, nothing recording, suppressed, or failed."""
    try:
        parent_context = otel_context.get_current()
        parent = trace.get_current_span(parent_context)
        if not parent.is_recording():
            return None
        if otel_context.get_value(SUPPRESS_INSTRUMENTATION_KEY, parent_context):
            return None
        return _Traced(backend, method, static, args, kwargs, parent_context, parent)
    except Exception:
        _failed.failed()
        return None


# The wrappers are plain closures (no functools.wraps): an ASGI application gets new
# backend instances per request context, each instrumented when created.
def _sync_wrapper(backend: object, method: str, original: Callable[..., Any],
                  static: Mapping[str, Any]) -> Callable[..., Any]:
    def traced(*args: Any, **kwargs: Any) -> Any:
        __traceback_hide__ = True  # tracekit's frame: not in Django's error pages
        outer = _active.get()
        if outer is not None and outer.backend is backend:
            result = original(*args, **kwargs)
            _nested_get(outer, method, result, args, kwargs)
            return result
        traced_call = _start(backend, method, static, args, kwargs)
        if traced_call is None:
            return original(*args, **kwargs)
        try:
            call_args, call_kwargs = _prepare(method, args, kwargs)
            result = original(*call_args, **call_kwargs)
        except BaseException as exc:
            traced_call.raised(exc)
            traced_call.close()
            raise
        traced_call.succeeded(result, args, kwargs)
        traced_call.close()
        return result
    return _like_bound(traced, original)


def _async_wrapper(backend: object, method: str, original: Callable[..., Any],
                   static: Mapping[str, Any]) -> Callable[..., Any]:
    async def traced(*args: Any, **kwargs: Any) -> Any:
        __traceback_hide__ = True  # tracekit's frame: not in Django's error pages
        outer = _active.get()
        if outer is not None and outer.backend is backend:
            result = await original(*args, **kwargs)
            _nested_get(outer, method, result, args, kwargs)
            return result
        traced_call = _start(backend, method, static, args, kwargs)
        if traced_call is None:
            return await original(*args, **kwargs)
        try:
            call_args, call_kwargs = _prepare(method, args, kwargs)
            result = await original(*call_args, **call_kwargs)
        except BaseException as exc:
            traced_call.raised(exc)
            traced_call.close()
            raise
        traced_call.succeeded(result, args, kwargs)
        traced_call.close()
        return result
    return _like_bound(traced, original)


def _like_bound(traced: Callable[..., Any], original: Callable[..., Any]) -> Callable[..., Any]:
    """Give the wrapper the bound method's ``__func__``/``__self__``: Django reads them
    (6.1's ``BaseCache.aget_many`` compares ``self.get_many.__func__`` with
    ``BaseCache.get_many`` to pick its path), so the backend behaves as untraced."""
    traced.__wrapped__ = original  # type: ignore[attr-defined]
    for name in ("__func__", "__self__"):
        if hasattr(original, name):
            setattr(traced, name, getattr(original, name))
    return traced


def instrument(backend: object, alias: str, location: Any = None) -> bool:
    """Trace ``backend``'s cache methods (idempotent). ``False`` if it was already traced."""
    if getattr(backend, MARKER, False):
        return False
    static = backend_attributes(backend, alias, location)
    for method in METHODS:
        original = getattr(backend, method, None)
        if callable(original):
            setattr(backend, method, _sync_wrapper(backend, method, original, static))
        async_original = getattr(backend, "a" + method, None)
        if callable(async_original):
            # The a* twin has the sync method's name on its span: the same operation.
            setattr(backend, "a" + method,
                    _async_wrapper(backend, method, async_original, static))
    setattr(backend, MARKER, True)
    return True
