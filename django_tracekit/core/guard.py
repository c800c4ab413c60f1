"""tracekit's own formatting never re-enters tracing.

Rendering a value (a local's repr, an exception's ``str``, a log message's ``%s``) runs the
application's ``__repr__``/``__str__``: auto-traced code, which may query the database or
raise. Inside :func:`formatting` that code runs untraced: no auto-trace frame or count (the
chain's top is a ``formatting`` phase), no SQL/cache/HTTP-client span (OpenTelemetry's
suppress-instrumentation key), no error recorded and no log event. Without it a raising
``__repr__`` in a captured local recursed ``safe_repr -> __repr__ -> record_error ->
safe_repr`` until the worker was killed (issue 21).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from opentelemetry import context as otel_context

from django_tracekit.core import chain, context
from django_tracekit.core.vocabulary import SUPPRESS_KEY

# The key OpenTelemetry instrumentations (and tracekit's SQL and cache sources) honour.
_SUPPRESS_KEY = SUPPRESS_KEY
# The chain's phase while tracekit formats: calls in it are neither counted nor traced.
_FORMATTING = chain.Phase("formatting")
_active: contextvars.ContextVar[bool] = contextvars.ContextVar("tracekit_formatting",
                                                               default=False)


def active() -> bool:
    """Whether tracekit is formatting in this context (nothing may be traced or recorded)."""
    return _active.get()


@contextlib.contextmanager
def formatting() -> Iterator[None]:
    """Run tracekit's own formatting of application objects untraced (re-entrant)."""
    if _active.get():
        yield
        return
    token = _active.set(True)
    # The context as it is, without making spans of pending auto-traced calls (the hooked
    # get_current would); attached first: the hook resets the chain's top on attach.
    current = context.real_runtime().get_current()
    attached = otel_context.attach(otel_context.set_value(_SUPPRESS_KEY, True, current))
    top = chain.set_top(_FORMATTING)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError, RuntimeError):
            chain.reset_top(top)
        with contextlib.suppress(Exception):
            otel_context.detach(attached)
        _active.reset(token)


__all__ = ["active", "formatting"]
