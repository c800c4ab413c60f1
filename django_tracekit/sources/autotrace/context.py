"""The hooked OpenTelemetry runtime context: pending frames become real parents.

OpenTelemetry has no public seam to observe ``attach``/``get_current`` (``OTEL_PYTHON_CONTEXT``
only selects an implementation when ``opentelemetry.context`` is first imported), so the
private ``opentelemetry.context._RUNTIME_CONTEXT`` is wrapped; :func:`hook_context` checks
it is there and leaves everything alone (auto-tracing then only counts) when it is not.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.context import Context

from django_tracekit.core import spans
from django_tracekit.core.chain import (
    DONE,
    PREV,
    ROOT,
    Node,
    Phase,
    Root,
    node_for,
)
from django_tracekit.core.chain import reset_top as _reset_top
from django_tracekit.core.chain import set_top as _set_top
from django_tracekit.core.chain import top as _get_top
from django_tracekit.core.context import RUNTIME_ATTRIBUTE, WrappedRuntime
from django_tracekit.sources.autotrace import calls

logger = logging.getLogger("django_tracekit")

_ATTRIBUTE = RUNTIME_ATTRIBUTE


class HookedRuntimeContext(WrappedRuntime):
    """Wraps OpenTelemetry's runtime context so pending frames become real parents.

    ``attach`` marks the boundary (a :class:`Root`) for frames entered afterwards;
    ``get_current`` materializes the pending frames above the attached context and returns
    a context whose current span is the innermost one.
    """

    def __init__(self, real: Any) -> None:
        self.real = real
        self._tokens: dict[int, tuple[object, contextvars.Token[Node]]] = {}

    def attach(self, context: Context) -> object:
        token = self.real.attach(context)
        ours = _set_top(node_for(context))
        self._tokens[id(token)] = (token, ours)
        return token

    def detach(self, token: object) -> None:
        self.real.detach(token)
        entry = self._tokens.pop(id(token), None)
        if entry is not None and entry[0] is token:
            try:  # noqa: SIM105 - contextlib.suppress costs three Python calls per detach
                _reset_top(entry[1])
            except (ValueError, RuntimeError):
                pass
        # Validate: skip frames that already returned, and re-anchor on the real context.
        node = _get_top()
        if node.__class__ is Phase:
            return  # start-up code (a module body) attached and detached a context
        while node.__class__ is list and node[DONE]:
            node = node[PREV]
        current = self.real.get_current()
        if node is None or (node if node.__class__ is Root else node[ROOT]).ctx is not current:
            node = node_for(current)
        if node is not _get_top():
            _set_top(node)

    def get_current(self) -> Context:
        node = _get_top()
        current: Context = self.real.get_current()
        if node.__class__ is not list or node[ROOT].ctx is not current:
            return current
        try:
            with spans.lock:
                # Synchronous calls above ``node`` pushed nothing: find them now.
                node = calls.pending_sync(sys._getframe(1), node)
                spans.materialize(node)
            return spans.context_of(node)
        except Exception:
            spans.log_failure()
            return self.real.get_current()  # type: ignore[no-any-return]


def hook_context() -> bool:
    """Install the hook (idempotent); False if this OpenTelemetry has no such seam."""
    runtime: Any = getattr(otel_context, _ATTRIBUTE, None)
    if isinstance(runtime, HookedRuntimeContext):
        return True
    if not all(callable(getattr(runtime, m, None)) for m in ("attach", "detach", "get_current")):
        logger.warning("tracekit: this OpenTelemetry version has no %s; auto-traced calls "
                       "are counted but never become spans", _ATTRIBUTE)
        return False
    setattr(otel_context, _ATTRIBUTE, HookedRuntimeContext(runtime))
    # The context current now (this thread) becomes the first boundary, unless start-up
    # code is running here.
    if _get_top().__class__ is not Phase:
        _set_top(node_for(runtime.get_current()))
    return True


def unhook_context() -> None:
    runtime: Any = getattr(otel_context, _ATTRIBUTE, None)
    if isinstance(runtime, HookedRuntimeContext):
        setattr(otel_context, _ATTRIBUTE, runtime.real)
    _set_top(None)
