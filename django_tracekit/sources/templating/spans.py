"""A Django template's render as a span, so what runs inside it points at the template.

The seam: ``django.template.base.Template.render`` (every render goes through it: a
``TemplateResponse``, ``render()``, ``render_to_string()``, ``{% include %}``; ``{% extends %}``
renders its parent's blocks inside the same call), patched once at setup.

A span named ``template {template name}`` (``template recipes/ingredient_overview.html``),
INTERNAL, marked ``tracekit.feature.kind = "none"`` (a template is not a feature), with
``tracekit.template.name`` and ``code.file.path`` (the template's file). It exists only under
a recording span and is *kept* (handed to the processors) only when:

- something happened inside it: a child span (a SQL query, a cache or HTTP call, a kept
  auto-traced call, an included template that was kept), an event (N+1, a log record, an
  error); or
- it is the top-level render of a response (not an ``{% include %}``) and took at least
  ``AUTOTRACE['MIN_DURATION_MS']``.

Otherwise it is dropped when it ends: a form of 30 widgets (each one a template render) adds
no span. An ``{% include %}`` inside a ``{% for %}`` gets no span of its own: what it runs
belongs to the enclosing template's span, so a loop of 500 includes is not 500 spans, and
the query each one repeats is one N+1 there, not one query under each of 500 siblings. At
most :data:`MAX_INCLUDES` include spans per template render (``only`` includes in a loop).

Made like auto-traced spans (``core.spans.AutoSpan``: handed to the processors when it
ends) where the SDK would decide the same; elsewhere (a provider or sampler the application
set) only top-level renders get a span, from the SDK, always kept.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanContext, Status, StatusCode

from django_tracekit.core import clock as real_clock
from django_tracekit.core.errors import handle_escaping
from django_tracekit.core.features import FEATURE_KIND, NO_FEATURE
from django_tracekit.core.logonce import LogOnce
from django_tracekit.core.spans import AutoSpan, child_context, shortcut
from django_tracekit.core.tracer import get_tracer

TEMPLATE_NAME = "tracekit.template.name"
CODE_FILE_PATH = "code.file.path"
SPAN_PREFIX = "template "
UNNAMED = "(string)"  # Template("...") built from a string has no name
MAX_INCLUDES = 20  # include spans under one template render

_failed = LogOnce("tracing a template render failed").failed
#: AUTOTRACE['MIN_DURATION_MS'] in ns, handed over by the integration (``configure``): a
#: quicker render with nothing kept inside is no span, as a quick auto-traced call.
_min_ns = 1_000_000


def configure(min_duration_ms: float) -> None:
    global _min_ns
    _min_ns = int(min_duration_ms * 1e6)
_patch_lock = threading.Lock()
_ORIGINAL = "__tracekit_original__"


class TemplateSpan(AutoSpan):
    """A template render's span, handed to the processors only if it is worth keeping."""

    __slots__ = ("_includes", "_kept", "_min_ns", "_outer")

    def __init__(self, name: str, context: SpanContext, parent: SpanContext,
                 attributes: dict[str, Any], start: int, outer: TemplateSpan | None,
                 min_ns: int | None) -> None:
        super().__init__(name, context, parent, attributes, start)
        self._kept = False
        self._outer = outer  # the enclosing template's span: kept when this one is
        self._min_ns = min_ns  # kept when at least this long (None: an include, never)
        self._includes = 0  # include spans made under this one

    def get_span_context(self) -> SpanContext:
        # Asked for by a child being made (the SDK, a query span, N+1's tally): keep.
        self._kept = True
        return self._context

    def add_event(self, name: str, attributes: Any = None,
                  timestamp: int | None = None) -> None:
        self._kept = True
        super().add_event(name, attributes, timestamp)

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        code = status if isinstance(status, StatusCode) else status.status_code
        if code is StatusCode.ERROR:
            self._kept = True
        super().set_status(status, description)

    def end(self, end_time: int | None = None) -> None:
        if self._end is not None:
            return
        end = end_time if end_time is not None else real_clock.time_ns()
        kept = self._kept or (self._min_ns is not None and end - self._start >= self._min_ns)
        if not kept:
            self._end = end  # dropped: nothing happened inside, and quick
            return
        if self._outer is not None:
            self._outer._kept = True  # the parent of a kept span is kept
        super().end(end)


def _attributes(template: Any, name: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {FEATURE_KIND: NO_FEATURE, TEMPLATE_NAME: name}
    origin = getattr(getattr(template, "origin", None), "name", None)
    if isinstance(origin, str) and origin.startswith("/"):
        attributes[CODE_FILE_PATH] = origin
    return attributes


def _start(template: Any, context: Any) -> tuple[Span, object] | None:
    """The render's span made current, or None (nothing records here, or an include that
    belongs to the enclosing template's span)."""
    top = getattr(context, "template", None) is None
    if not top and "forloop" in context:
        return None
    parent_ctx = otel_context.get_current()
    parent = trace.get_current_span(parent_ctx)
    if not parent.is_recording():
        return None
    if not top and isinstance(parent, TemplateSpan):
        if parent._includes >= MAX_INCLUDES:
            return None
        parent._includes += 1
    name = str(getattr(template, "name", None) or UNNAMED)
    span_name = SPAN_PREFIX + name
    parent_sc = parent._context if isinstance(parent, TemplateSpan) else (
        parent.get_span_context())
    span: Span
    if shortcut.applies(parent_sc):
        min_ns = _min_ns if top else None
        outer = parent if isinstance(parent, TemplateSpan) else None
        span = TemplateSpan(span_name, child_context(parent_sc), parent_sc,
                            _attributes(template, name), real_clock.time_ns(), outer, min_ns)
    elif top:
        span = get_tracer().start_span(span_name, context=parent_ctx,
                                       attributes=_attributes(template, name))
    else:
        return None
    return span, otel_context.attach(trace.set_span_in_context(span, parent_ctx))


def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def render(self: Any, context: Any) -> Any:
        __traceback_hide__ = True  # tracekit's frame: not in Django's error pages
        try:
            started = _start(self, context)
        except Exception:
            _failed()
            started = None
        if started is None:
            return original(self, context)
        span, token = started
        try:
            return original(self, context)
        except BaseException as exc:
            try:
                handle_escaping(exc, span)
            except Exception:
                _failed()
            raise
        finally:
            try:
                otel_context.detach(token)  # type: ignore[arg-type]
                span.end()
            except Exception:
                _failed()

    setattr(render, _ORIGINAL, original)
    return render


def install() -> None:
    """Patch ``Template.render`` once (idempotent)."""
    from django.template.base import Template

    with _patch_lock:
        current = Template.__dict__.get("render")
        if current is None or getattr(current, _ORIGINAL, None) is not None:
            return
        Template.render = wrap(current)  # type: ignore[method-assign]


def uninstall() -> None:
    from django.template.base import Template

    with _patch_lock:
        original = getattr(Template.__dict__.get("render"), _ORIGINAL, None)
        if original is not None:
            Template.render = original  # type: ignore[method-assign]
