"""``django.tasks`` traced through its public signals (Django 6.0+).

- ``task_enqueued``: a PRODUCER span ``enqueue/{module path}`` (child of the code that
  enqueued), ended at once: the backend has recorded the task. Its context is kept, by
  task result id, for the run.
- ``task_started``: a CONSUMER span named by the code-location convention after the task
  function (``shop/emails/tasks/send_welcome``), child of the PRODUCER span, attached while
  the task runs: the task function's own calls, SQL and logs are under it, and an
  auto-traced task function gets no second span (the span stands for it).
- ``task_finished``: the final status; a FAILED task's exception is recorded by the error
  convention (one event, full stack: the signal is sent inside the backend's ``except``,
  where ``sys.exc_info()`` holds it; otherwise from the backend's ``TaskError``).

Propagation: ``TaskResult`` has no field for metadata (no headers, unlike a Celery message)
and the arguments are the function's own, so the sender's context reaches the run only
within a process (``ImmediateBackend``; kept for at most :data:`MAX_PENDING` results, so a
``DummyBackend`` that never runs them cannot grow it). A backend running tasks in another
process (a database or queue worker) gets a CONSUMER span that starts a trace of its own,
with ``messaging.message.id`` = the result id to find its PRODUCER span.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from contextvars import Token
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanContext, SpanKind, Status, StatusCode

from django_tracekit.core import errors, lifecycle, naming
from django_tracekit.core.logonce import LogOnce
from django_tracekit.core.tracer import get_tracer

SYSTEM = "django.tasks"
MESSAGING_SYSTEM = "messaging.system"
MESSAGING_OPERATION_TYPE = "messaging.operation.type"
MESSAGING_OPERATION_NAME = "messaging.operation.name"
MESSAGING_DESTINATION_NAME = "messaging.destination.name"
MESSAGING_MESSAGE_ID = "messaging.message.id"
TASK_BACKEND = "django.tasks.backend"
TASK_PRIORITY = "django.tasks.priority"
TASK_STATUS = "django.tasks.status"
TASK_ATTEMPT = "django.tasks.attempt"
TASK_PATH = "django.tasks.module_path"

MAX_PENDING = 10_000
_UID = "django_tracekit.sources.django_tasks"

_failures = LogOnce("tracing a django.tasks task failed")
_lock = threading.Lock()
# PRODUCER span contexts of tasks enqueued in this process and not yet started, oldest first.
_pending: OrderedDict[str, SpanContext] = OrderedDict()
# CONSUMER spans running in this process, by result id.
_running: dict[str, list[tuple[Span, Token[Context]]]] = {}
# Per task function: (span name, code.* attributes), computed once.
_meta: dict[Any, tuple[str, dict[str, Any]]] = {}
_installed = lifecycle.Once()


def _consumer_meta(task: Any) -> tuple[str, dict[str, Any]]:
    func = task.func
    meta = _meta.get(func)
    if meta is None:
        location = naming.location_for(func)
        meta = (location.name, dict(location.attributes))
        if len(_meta) < MAX_PENDING:
            _meta[func] = meta
    return meta


def _base_attributes(task_result: Any, operation: str, name: str) -> dict[str, Any]:
    task = task_result.task
    return {
        MESSAGING_SYSTEM: SYSTEM,
        MESSAGING_OPERATION_TYPE: operation,
        MESSAGING_OPERATION_NAME: name,
        MESSAGING_MESSAGE_ID: str(task_result.id),
        MESSAGING_DESTINATION_NAME: str(task.queue_name),
        TASK_BACKEND: str(task_result.backend),
        TASK_PRIORITY: int(task.priority),
        TASK_PATH: str(task.module_path),
    }


def _remember(result_id: str, context: SpanContext) -> None:
    with _lock:
        _pending[result_id] = context
        while len(_pending) > MAX_PENDING:
            _pending.popitem(last=False)


def _enqueued(sender: Any = None, task_result: Any = None, **kwargs: Any) -> None:
    if task_result is None:
        return
    try:
        span = get_tracer().start_span(
            f"enqueue/{task_result.task.module_path}", kind=SpanKind.PRODUCER,
            attributes=_base_attributes(task_result, "send", "enqueue"))
        span.end()
        _remember(str(task_result.id), span.get_span_context())
    except Exception:
        _failures.failed()


def _started(sender: Any = None, task_result: Any = None, **kwargs: Any) -> None:
    if task_result is None:
        return
    try:
        result_id = str(task_result.id)
        with _lock:
            producer = _pending.pop(result_id, None)
        parent = (trace.set_span_in_context(trace.NonRecordingSpan(producer))
                  if producer is not None else None)
        name, code = _consumer_meta(task_result.task)
        attributes = {**_base_attributes(task_result, "process", "run"), **code}
        attempt = getattr(task_result, "attempts", None)
        if isinstance(attempt, int):
            attributes[TASK_ATTEMPT] = attempt
        span = get_tracer().start_span(name, context=parent, kind=SpanKind.CONSUMER,
                                       attributes=attributes)
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        with _lock:
            _running.setdefault(result_id, []).append((span, token))
    except Exception:
        _failures.failed()


def _finished(sender: Any = None, task_result: Any = None, **kwargs: Any) -> None:
    if task_result is None:
        return
    result_id = str(task_result.id)
    with _lock:
        stack = _running.get(result_id)
        if not stack:
            return
        span, token = stack.pop()
        if not stack:
            del _running[result_id]
    try:
        status = str(getattr(task_result, "status", ""))
        if span.is_recording():
            span.set_attribute(TASK_STATUS, status)
        if status == "FAILED":
            _record_failure(span, task_result)
    except Exception:
        _failures.failed()
    finally:
        try:
            otel_context.detach(token)
        finally:
            span.end()


def _record_failure(span: Span, task_result: Any) -> None:
    exc = sys.exc_info()[1]
    if exc is not None:
        errors.record_error(exc, span)
        return
    # A backend that reports the failure outside its except block: what it stored.
    task_errors = getattr(task_result, "errors", None) or []
    last = task_errors[-1] if task_errors else None
    error_type = str(getattr(last, "exception_class_path", "") or "error")
    span.set_status(Status(StatusCode.ERROR, error_type))
    span.set_attribute("error.type", error_type)
    if last is not None:
        span.add_event("exception", {"exception.type": error_type,
                                     "exception.stacktrace": str(last.traceback)[-32_768:]})


_HANDLERS = (("task_enqueued", _enqueued), ("task_started", _started),
             ("task_finished", _finished))


def install() -> None:
    """Connect the signal handlers (idempotent)."""
    from django.tasks import signals

    if not _installed.claim():
        return
    for name, handler in _HANDLERS:
        getattr(signals, name).connect(handler, weak=False,
                                       dispatch_uid=f"{_UID}.{handler.__name__}")


def uninstall() -> None:
    """Disconnect the handlers (tests)."""
    from django.tasks import signals

    for name, handler in _HANDLERS:
        getattr(signals, name).disconnect(dispatch_uid=f"{_UID}.{handler.__name__}")
    _installed.reset()


__all__ = ["install", "uninstall"]
