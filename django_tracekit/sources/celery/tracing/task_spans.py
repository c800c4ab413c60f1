"""A task's CONSUMER span: its name and attributes, its parent (the sender's context from the
message headers), and the spans running in this process by task id."""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextvars import Token
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import Span, SpanKind

from django_tracekit.core import errors, naming
from django_tracekit.core.tracer import get_tracer
from django_tracekit.sources.celery.tracing.attributes import (
    CELERY_ACTION,
    CELERY_ETA,
    CELERY_HOSTNAME,
    CELERY_RETRIES,
    CELERY_TASK_NAME,
    MESSAGING_DESTINATION_NAME,
    MESSAGING_MESSAGE_ID,
    MESSAGING_OPERATION_NAME,
    MESSAGING_OPERATION_TYPE,
    MESSAGING_SYSTEM,
    SYSTEM,
)


class RequestGetter(Getter[Any]):
    """Reads ``traceparent``/``tracestate``/``baggage`` from a task request (Celery Context).

    Celery copies message headers onto the request as attributes; headers given to
    ``apply_async(headers=...)`` may also arrive nested under ``request.headers``.
    """

    def get(self, carrier: Any, key: str) -> list[str] | None:
        value = getattr(carrier, key, None)
        if value is None:
            nested = getattr(carrier, "headers", None)
            if isinstance(nested, Mapping):
                value = nested.get(key)
        if isinstance(value, str):
            return [value]
        return None

    def keys(self, carrier: Any) -> list[str]:
        return []


request_getter = RequestGetter()


class Running:
    """A task's span while it runs here, with what ending it needs."""

    __slots__ = ("hard_limit", "span", "started", "token")

    def __init__(self, span: Span, token: Token[Context], hard_limit: float | None) -> None:
        self.span = span
        self.token = token
        self.started = time.monotonic()
        self.hard_limit = hard_limit


# Consumer spans running in this process, by task id: a stack, because an eager retry
# runs the same task id again inside the current attempt.
running_tasks: dict[str, list[Running]] = {}
# Per task name: (span name, base attributes), computed once.
_task_meta: dict[str, tuple[str, dict[str, Any]]] = {}


def current(task_id: str | None) -> Running | None:
    """The innermost span of ``task_id`` running in this process."""
    if task_id is None:
        return None
    stack = running_tasks.get(task_id)
    return stack[-1] if stack else None


def consumer_meta(task: Any) -> tuple[str, dict[str, Any]]:
    """The span name (the code location of the task function) and base attributes."""
    meta = _task_meta.get(task.name)
    if meta is None:
        attributes: dict[str, Any] = {
            MESSAGING_SYSTEM: SYSTEM,
            MESSAGING_OPERATION_TYPE: "process",
            MESSAGING_OPERATION_NAME: "run",
            CELERY_ACTION: "run",
            CELERY_TASK_NAME: task.name,
        }
        try:
            location = naming.location_for(task.run)
        except (TypeError, AttributeError):
            name = str(task.name)
        else:
            name = location.name
            attributes.update(location.attributes)
        meta = _task_meta[task.name] = (name, attributes)
    return meta


def parent_from(request: Any) -> Context | None:
    """The sender's context from the request headers; None (= current) if there is none."""
    if request is None:
        return None
    parent = propagate.extract(request, getter=request_getter)
    if trace.get_current_span(parent).get_span_context().is_valid:
        return parent
    return None  # eager call or an untraced sender: continue the current context


def set_request_attributes(span: Span, request: Any, task_id: str) -> None:
    span.set_attribute(MESSAGING_MESSAGE_ID, task_id)
    delivery = getattr(request, "delivery_info", None)
    if isinstance(delivery, Mapping):
        queue = delivery.get("routing_key")
        if queue:
            span.set_attribute(MESSAGING_DESTINATION_NAME, str(queue))
    retries = getattr(request, "retries", 0)
    if isinstance(retries, int) and retries:
        span.set_attribute(CELERY_RETRIES, retries)
    hostname = getattr(request, "hostname", None)
    if isinstance(hostname, str):
        span.set_attribute(CELERY_HOSTNAME, hostname)
    eta = getattr(request, "eta", None)
    if eta:
        span.set_attribute(CELERY_ETA, str(eta))


def end_outside_worker_child(task: Any, request: Any, task_id: str,
                             attributes: Mapping[str, Any],
                             error: BaseException | None = None) -> None:
    """A span for a task whose execution span cannot exist (revoked before it ran, expired,
    or lost with its pool child): ended at once, in the sender's trace, marked."""
    name, base = consumer_meta(task)
    span = get_tracer().start_span(name, context=parent_from(request), kind=SpanKind.CONSUMER,
                                   attributes=base)
    if span.is_recording():
        set_request_attributes(span, request, task_id)
        span.set_attributes(attributes)
    if error is not None:
        errors.record_error(error, span)
    span.end()
