"""How a task attempt ended other than by returning: failed, retried, revoked, unknown to the
worker, or lost with its pool child.

``task_failure`` follows the error convention (one exception event, full stack), except for
``Retry``/``Ignore``/``Reject`` and the task's ``throws``; ``task_retry`` records the reason.
In the worker's main process, where the task's span does not live, a task revoked or expired
before it ran, or lost with its child (``WorkerLostError`` after SIGKILL; not when the child
exited normally before its result was read: it ended that span itself), gets an ended,
marked span of its own.
"""

from __future__ import annotations

import logging
import re
import signal
from collections.abc import Mapping
from typing import Any

from celery.exceptions import Retry, TimeLimitExceeded, WorkerLostError
from opentelemetry import propagate
from opentelemetry.trace import SpanKind

from django_tracekit.core import errors
from django_tracekit.core.redaction import redact_text
from django_tracekit.core.tracer import get_tracer
from django_tracekit.sources.celery import fallback
from django_tracekit.sources.celery.tracing.attributes import (
    CELERY_EXCEPTION_TYPE,
    CELERY_RETRY_EXCEPTION_TYPE,
    CELERY_RETRY_REASON,
    CELERY_REVOKED_REASON,
    CELERY_STATE,
    CELERY_TASK_NAME,
    CELERY_TERMINATED_SIGNAL,
    CELERY_TIME_LIMIT,
    MESSAGING_MESSAGE_ID,
    MESSAGING_OPERATION_TYPE,
    MESSAGING_SYSTEM,
    SYSTEM,
)
from django_tracekit.sources.celery.tracing.task_spans import current, end_outside_worker_child
from django_tracekit.sources.celery.tracing.worker_processes import (
    sigterm_handler_installed_in_children,
)

logger = logging.getLogger("django_tracekit")


def failure(sender: Any = None, task_id: str | None = None, exception: Any = None,
            **extra: Any) -> None:
    if not isinstance(exception, BaseException):
        return
    try:
        running = current(task_id)
        if running is None:
            # The main worker process: the task's span lived in a pool child. Only a lost
            # child (killed by anything but SIGTERM, which the child's handler covers) leaves
            # no span behind; hard time limits are ended by that handler too.
            if sender is None or task_id is None:
                return
            request = getattr(sender, "request", None)  # pushed for this signal only
            if isinstance(exception, WorkerLostError):
                message = str(exception)
                # A child that ended the span itself: its SIGTERM handler, a job's own
                # SystemExit reported as lost (it left a marker), or a clean exit.
                if not (_sigterm_covered(message) or fallback.take_counted(task_id)
                        or _exited_cleanly(message)):
                    end_outside_worker_child(sender, request, task_id,
                                             {CELERY_STATE: "FAILURE"}, exception)
            elif isinstance(exception, TimeLimitExceeded):
                # Sent before the child is killed: count it here only if the child could not.
                fallback.count_unless_counted(task_id, lambda: end_outside_worker_child(
                    sender, request, task_id, {CELERY_STATE: "FAILURE", CELERY_TIME_LIMIT: "hard"},
                    exception), child_pid=child_pid(task_id))
            return
        span = running.span
        throws = getattr(sender, "throws", ()) or ()
        if throws and isinstance(exception, throws):
            # Declared as an expected outcome of this task: visible, but not an error.
            if span.is_recording():
                span.set_attribute(CELERY_EXCEPTION_TYPE,
                                   errors.qualified_type_name(type(exception)))
            return
        if errors.is_error(exception):
            errors.record_error(exception, span)
    except Exception:
        logger.warning("tracekit: could not record a Celery task failure", exc_info=True)


def child_pid(task_id: str) -> int | None:
    """The pool child running ``task_id``, from the worker's active requests (private:
    ``celery.worker.state.active_requests``, ``Request.worker_pid``; docs/PRIVATE_SEAMS.md);
    ``None`` when Celery no longer has them."""
    try:
        from celery.worker import state

        for request in list(state.active_requests):
            if getattr(request, "id", None) == task_id:
                pid = getattr(request, "worker_pid", None)
                return pid if isinstance(pid, int) else None
    except Exception:
        logger.debug("tracekit: the pool child of a task is unknown", exc_info=True)
    return None


def _sigterm_covered(message: str) -> bool:
    return sigterm_handler_installed_in_children and "SIGTERM" in message


# billiard's "Worker exited prematurely: exitcode 155 Job: 12." for a child that left through
# its normal exit (EX_OK: shutdown; EX_RECYCLE: max_tasks_per_child) while the main process
# had not read the result it sent yet (a busy machine; celery#1703, #3085). A child only
# exits so between tasks, after task_postrun ended that task's span and the exit flush
# exported it: a span from here would be a second one, a FAILURE the task never had.
# A death by a signal reads "signal 9 (SIGKILL)", any other exit "exitcode N".
# billiard.pool is imported here, not at start-up: only a worker's main process (which has
# it already) loses children; a web process publishing tasks need not load it.
_clean_exit: re.Pattern[str] | None = None


def _exited_cleanly(message: str) -> bool:
    global _clean_exit
    if _clean_exit is None:
        from billiard.pool import EX_OK, EX_RECYCLE  # type: ignore[import-untyped]

        _clean_exit = re.compile(rf"\bexitcode ({EX_OK}|{EX_RECYCLE})\b")
    return _clean_exit.search(message) is not None


def retry(sender: Any = None, request: Any = None, reason: Any = None, **extra: Any) -> None:
    """The attempt will run again: ``celery.retry.reason`` is the exception text that caused
    it (redacted like any message), else Celery's own ("Retry in 5s"); the exception's type
    too when there was one (the stats count that attempt as failed)."""
    try:
        running = current(getattr(request, "id", None))
        if running is None or not running.span.is_recording():
            return
        cause = getattr(reason, "exc", None)  # Retry(exc=...): autoretry_for, self.retry(exc=)
        if not isinstance(cause, BaseException) and isinstance(reason, BaseException) \
                and not isinstance(reason, Retry):
            cause = reason
        text = f"{type(cause).__name__}: {cause}" if isinstance(cause, BaseException) \
            else str(reason)
        running.span.set_attribute(CELERY_RETRY_REASON, redact_text(text[:2048])[:1024])
        if isinstance(cause, BaseException):
            running.span.set_attribute(CELERY_RETRY_EXCEPTION_TYPE,
                                       errors.qualified_type_name(type(cause)))
    except Exception:
        logger.warning("tracekit: could not trace a Celery retry", exc_info=True)


def revoked(sender: Any = None, request: Any = None, terminated: bool = False,
            signum: Any = None, expired: bool = False, **extra: Any) -> None:
    task_id = getattr(request, "id", None)
    if sender is None or task_id is None:
        return
    try:
        reason = "expired" if expired else ("terminated" if terminated else "revoked")
        attributes: dict[str, Any] = {CELERY_STATE: "REVOKED", CELERY_REVOKED_REASON: reason}
        running = current(task_id)
        if running is not None:  # revoked while running in this very process
            if running.span.is_recording():
                running.span.set_attributes(attributes)
            return
        if terminated:
            if signal_name(signum) == "SIGTERM" and sigterm_handler_installed_in_children:
                # The pool child unwound (SystemExit) and ended its span itself; a task with
                # a hard time limit hands its counts to this process (fallback.py).
                fallback.count_unless_counted(task_id, None, child_pid=child_pid(task_id))
                return
            attributes[CELERY_TERMINATED_SIGNAL] = signal_name(signum)
        end_outside_worker_child(sender, request, task_id, attributes)
    except Exception:
        logger.warning("tracekit: could not trace a revoked Celery task", exc_info=True)


def signal_name(signum: Any) -> str:
    try:
        return signal.Signals(int(signum)).name
    except (TypeError, ValueError):
        return str(signum)


def unknown(sender: Any = None, name: Any = None, id: Any = None, message: Any = None,
            exc: Any = None, **extra: Any) -> None:
    """A message for a task this worker does not know (a typo in ``send_task``)."""
    try:
        headers = getattr(message, "headers", None) or {}
        parent = propagate.extract(headers) if isinstance(headers, Mapping) else None
        span = get_tracer().start_span(str(name), context=parent, kind=SpanKind.CONSUMER,
                                       attributes={MESSAGING_SYSTEM: SYSTEM,
                                                   MESSAGING_OPERATION_TYPE: "process",
                                                   CELERY_TASK_NAME: str(name),
                                                   MESSAGING_MESSAGE_ID: str(id),
                                                   CELERY_STATE: "REJECTED"})
        if isinstance(exc, BaseException):
            errors.record_error(exc, span)
        span.end()
    except Exception:
        logger.warning("tracekit: could not trace an unknown Celery task", exc_info=True)
