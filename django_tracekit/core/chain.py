"""The pending-frame chain: what the innermost auto-traced call of this context is.

``top()`` (a ``ContextVar``) holds one of:

- ``None``: no trace records here; rewritten code only counts;
- a :class:`Root`: the attached OpenTelemetry context, while its span is recording, until
  the first auto-traced call under it that is not the function the span stands for;
- a list (see the indices below): a pending frame (an auto-traced call that started while
  recording and has no span yet; ``frame[PREV]`` links to the enclosing frame or Root), or
  the Root's own list (:meth:`Root.listed`: the attached span as a frame that has its span
  already). Under a list, synchronous auto-traced calls take the fast path (nothing pushed);

- a :class:`Phase`: start-up is running here (a module body, app loading): calls are
  neither counted nor traced.

Frames form an immutable linked list, so asyncio tasks and ``copy_context()`` threads each
see their own chain and share only their (real) ancestors.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanContext

from django_tracekit.core.clock import perf_counter


class Root:
    """The attached OpenTelemetry context, while its span is recording.

    ``t0``: when it was attached (the clock of auto-traced calls): a synchronous call on the
    fast path that started later runs under it, one that started earlier (or at the same
    time: a decorator's wrapper, see ``calls.push``) runs outside. ``free``: whether calls
    under it may take the fast path (``None``: not decided yet): once the function the
    span stands for has been seen, or when no instrumented function bears the span's name.
    """

    __slots__ = ("as_list", "caller", "ctx", "free", "name", "sc", "t0")

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.sc: SpanContext | None = None  # its span's context, when first needed
        self.name: str | None = None  # its span's name, when first needed
        self.t0 = perf_counter()
        self.free: bool | None = None
        self.as_list: list[Any] | None = None
        # The caller of the first call that took the fast path under it, as (id of its
        # frame, its code): no call at or above that Python frame runs inside this root,
        # so stack walks end there. Not the frame object: see ``calls.push``.
        self.caller: tuple[int, Any] | None = None

    def listed(self) -> list[Any]:
        """This root as a frame that already has its span (the attached one): the chain's
        top once calls under it take the fast path."""
        frame = self.as_list
        if frame is None:
            frame = self.as_list = [self.t0, None, self, self, None,
                                    trace.get_current_span(self.ctx), self.ctx, False, False,
                                    0.0]
        return frame

    def span_name(self) -> str:
        name = self.name
        if name is None:
            name = self.name = str(getattr(trace.get_current_span(self.ctx), "name", "") or "")
        return name

    def span_context(self) -> SpanContext:
        if self.sc is None:
            self.sc = trace.get_current_span(self.ctx).get_span_context()
        return self.sc


class Phase:
    """Start-up code runs in this context: its calls are not usage (not counted, no span).

    ``IMPORTING`` is set while a rewritten module's body executes; ``STARTING`` from the
    hook's installation (during ``django.setup()``) until the first call made once the app
    registry is ready (``ready()`` methods included)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<autotrace phase {self.name}>"


IMPORTING = Phase("importing")
STARTING = Phase("starting")
#: Runs of the project's code that are not its use (Django's system checks, an excluded
#: request, a deploy command): its calls are neither counted nor traced; they ran, so they
#: are not unused code either.
NOT_USAGE = Phase("not usage")


@contextlib.contextmanager
def not_usage() -> Iterator[None]:
    """Calls made inside the block (in this context) are not usage (:data:`NOT_USAGE`)."""
    token = _top.set(NOT_USAGE)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError, RuntimeError):  # reset from another context
            _top.reset(token)

# A pending frame is a plain list (a list literal is ~4x cheaper to build than a __slots__
# object with as many fields); these are its indices.
T0, COUNTER, PREV, ROOT, TOKEN, SPAN, CTX, DONE, ERROR, T1 = range(10)
Frame = list  # [t0, counter, prev (Frame | Root), root, token, span, ctx, done, error, t1]
Node = Any  # Frame | Root | Phase | None

_top: contextvars.ContextVar[Node] = contextvars.ContextVar("tracekit_autotrace_top",
                                                             default=None)
top = _top.get
set_top = _top.set
reset_top = _top.reset


def node_for(ctx: Context) -> Root | None:
    """The boundary for calls entered while ``ctx`` is attached (None: not recording)."""
    return Root(ctx) if trace.get_current_span(ctx).is_recording() else None
