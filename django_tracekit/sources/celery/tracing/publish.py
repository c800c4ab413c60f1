"""The publish side: a PRODUCER span ``apply_async/{task name}`` per message sent.

It works from the message alone (id and name from the headers), so ``send_task`` to a task
not registered locally, signatures, chains, groups, chords, retries and ETA tasks are all
traced; the span's context is injected into the message headers, and the caller's context
is never touched.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from django_tracekit.core import producers
from django_tracekit.core.tracer import get_tracer
from django_tracekit.sources.celery.tracing.attributes import (
    CELERY_ACTION,
    CELERY_ETA,
    CELERY_RETRIES,
    CELERY_TASK_NAME,
    MESSAGING_DESTINATION_NAME,
    MESSAGING_MESSAGE_ID,
    MESSAGING_OPERATION_NAME,
    MESSAGING_OPERATION_TYPE,
    MESSAGING_SYSTEM,
    SYSTEM,
)
from django_tracekit.sources.celery.tracing.task_spans import current

logger = logging.getLogger("django_tracekit")

# Publish spans between before_ and after_task_publish, per thread (publishing is synchronous).
_publishing = threading.local()


def _pending() -> dict[str, Span]:
    pending: dict[str, Span] | None = getattr(_publishing, "spans", None)
    if pending is None:
        pending = _publishing.spans = {}
    return pending


def before_publish(sender: Any = None, body: Any = None, exchange: Any = None,
                   routing_key: Any = None, headers: Any = None, **kwargs: Any) -> None:
    try:
        if not isinstance(headers, dict):
            return
        task_id = headers.get("id")
        task_name = headers.get("task")
        if task_id is None and isinstance(body, Mapping):  # task protocol 1
            task_id, task_name = body.get("id"), body.get("task")
        if task_id is None:
            return
        task_name = str(task_name or sender)
        pending = _pending()
        if pending:
            # The previous publish in this thread raised (no after_task_publish): end it.
            for stale in pending.values():
                stale.set_status(Status(StatusCode.ERROR, "publish did not complete"))
                stale.end()
            pending.clear()
        attributes: dict[str, Any] = {
            MESSAGING_SYSTEM: SYSTEM,
            MESSAGING_OPERATION_TYPE: "send",
            MESSAGING_OPERATION_NAME: "apply_async",
            CELERY_ACTION: "apply_async",
            CELERY_TASK_NAME: task_name,
            MESSAGING_MESSAGE_ID: str(task_id),
        }
        if routing_key:
            attributes[MESSAGING_DESTINATION_NAME] = str(routing_key)
        if headers.get("eta"):
            attributes[CELERY_ETA] = str(headers["eta"])
        retries = headers.get("retries")
        if isinstance(retries, int) and retries:
            attributes[CELERY_RETRIES] = retries
        span = get_tracer().start_span(f"apply_async/{task_name}", kind=SpanKind.PRODUCER,
                                       attributes=attributes)
        # Injected explicitly: the caller's context is never attached, so nothing can leak
        # into it if the publish fails.
        propagate.inject(headers, context=trace.set_span_in_context(span))
        pending[str(task_id)] = span
        _mark_producer(headers, str(task_id))
    except Exception:
        logger.warning("tracekit: could not trace a Celery publish", exc_info=True)


def after_publish(sender: Any = None, body: Any = None, headers: Any = None,
                  **kwargs: Any) -> None:
    task_id = headers.get("id") if isinstance(headers, Mapping) else None
    if task_id is None and isinstance(body, Mapping):
        task_id = body.get("id")
    if task_id is None:
        return
    span = _pending().pop(str(task_id), None)
    if span is not None:
        span.end()


def _mark_producer(headers: dict[str, Any], task_id: str) -> None:
    """The entry point that enqueues the task, on the message (stats/edges.py): a retry
    keeps the producer of the attempt that retries it."""
    try:
        if producers.HEADER in headers:
            return
        running = current(task_id)
        producer = (producers.from_attributes(getattr(running.span, "attributes", None))
                    if running is not None else producers.current())
        if producer is not None:
            headers[producers.HEADER] = producers.encode(producer)
    except Exception:  # the publish goes on without it: that task is not counted per producer
        logger.debug("tracekit: could not name the producer of a Celery task", exc_info=True)
