"""The execution side: a task's CONSUMER span from ``task_prerun`` to ``task_postrun``, child
of the publish span, current while the task runs; and how it ends when the task did not
finish (an internal Celery error, or a SystemExit from a signal or a hard time limit)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping
from typing import Any

from celery.exceptions import TimeLimitExceeded
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from django_tracekit.conf.celery import CelerySettings
from django_tracekit.core import errors, pipeline, producers
from django_tracekit.core.tracer import get_tracer
from django_tracekit.sources.celery import fallback
from django_tracekit.sources.celery.tracing.attributes import (
    CELERY_ARGS,
    CELERY_KWARGS,
    CELERY_REVOKED_REASON,
    CELERY_STATE,
    CELERY_TERMINATED_SIGNAL,
    CELERY_TIME_LIMIT,
)
from django_tracekit.sources.celery.tracing.outcomes import signal_name
from django_tracekit.sources.celery.tracing.task_spans import (
    Running,
    consumer_meta,
    parent_from,
    request_getter,
    running_tasks,
    set_request_attributes,
)

logger = logging.getLogger("django_tracekit")


#: ``TRACEKIT['CELERY']``, handed over by the integration (``configure``); read per task.
_settings = CelerySettings()


def configure(settings: CelerySettings) -> None:
    global _settings
    _settings = settings


def prerun(sender: Any = None, task_id: str | None = None, task: Any = None, args: Any = None,
           kwargs: Any = None, **extra: Any) -> None:
    if task is None or task_id is None:
        return
    try:
        name, attributes = consumer_meta(task)
        request = task.request
        parent = parent_from(request)
        span = get_tracer().start_span(name, context=parent, kind=SpanKind.CONSUMER,
                                       attributes=attributes)
        if span.is_recording():
            set_request_attributes(span, request, task_id)
            header = request_getter.get(request, producers.HEADER)
            producer = producers.decode(header[0]) if header else None
            if producer is not None:
                span.set_attributes(producers.attributes(producer))
            if _settings.args_summary:
                span.set_attributes(_type_summary(args, kwargs))
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        running_tasks.setdefault(task_id, []).append(
            Running(span, token, _hard_limit(task, request)))
    except Exception:
        logger.warning("tracekit: could not start a Celery task span", exc_info=True)


def postrun(sender: Any = None, task_id: str | None = None, task: Any = None,
            state: str | None = None, **extra: Any) -> None:
    if task_id is None:
        return
    stack = running_tasks.get(task_id)
    if not stack:
        return
    running = stack.pop()
    if not stack:
        del running_tasks[task_id]
    otel_context.detach(running.token)  # logs (never raises) if already detached
    span = running.span
    if state is None:
        exc = sys.exc_info()[1]
        if isinstance(exc, Exception) and errors.is_error(exc):
            _internal_error(span, exc, task)
        else:
            _interrupted(running, task_id, task)
        return
    if span.is_recording():
        span.set_attribute(CELERY_STATE, state)
    span.end()


def _type_summary(args: Any, kwargs: Any) -> dict[str, str]:
    """Argument types and keyword names, never values (``TRACEKIT['CELERY']['ARGS_SUMMARY']``)."""
    summary: dict[str, str] = {}
    if isinstance(args, (list, tuple)):
        summary[CELERY_ARGS] = "(" + ", ".join(type(a).__name__ for a in args) + ")"
    if isinstance(kwargs, Mapping):
        summary[CELERY_KWARGS] = "{" + ", ".join(
            f"{k}: {type(v).__name__}" for k, v in kwargs.items()) + "}"
    return summary


def _hard_limit(task: Any, request: Any) -> float | None:
    limits = getattr(request, "timelimit", None)
    if isinstance(limits, (list, tuple)) and limits and limits[0]:
        return float(limits[0])
    limit = getattr(task, "time_limit", None) or getattr(
        getattr(task, "app", None) and task.app.conf, "task_time_limit", None)
    return float(limit) if isinstance(limit, (int, float)) and limit else None


def _internal_error(span: Span, exc: Exception, task: Any) -> None:
    """Celery's own work around the task raised (its result backend failed to read or store
    the state, an ``on_retry`` handler raised): Celery reports an internal error and marks
    the task FAILURE; task_failure may never come (storing the failure can fail the same
    way), so the error is recorded here, with its stack. When an ``on_failure`` handler
    raised, the task's own exception (the context of the handler's) never reached
    task_failure: it is recorded first, so both are incidents."""
    if span.is_recording():
        span.set_attribute(CELERY_STATE, "FAILURE")
    cause = exc.__context__
    if (isinstance(cause, Exception) and cause is not exc and errors.is_error(cause)
            and not isinstance(cause, tuple(getattr(task, "throws", None) or ()))
            and _escaped_task(cause, task)):
        errors.record_error(cause, span)
    errors.record_error(exc, span)
    span.end()


def _escaped_task(exc: BaseException, task: Any) -> bool:
    """Whether ``exc`` came out of the task's own function (its frame is in the traceback),
    not out of Celery's bookkeeping before or after it."""
    run = getattr(task, "run", None)
    code = getattr(getattr(run, "__func__", run), "__code__", None)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is code:
            return True
        tb = tb.tb_next
    return False


def _interrupted(running: Running, task_id: str, task: Any) -> None:
    """The task did not finish: a BaseException (SystemExit from a signal) is unwinding it.

    Called from task_postrun, inside Celery's ``finally``, so ``sys.exc_info()`` is that
    exception and its traceback shows where the task was. The process is about to exit
    (billiard sends SIGKILL 0.1 s after SIGTERM on a hard time limit): flush right away,
    stats first (``pipeline.flush`` writes local destinations before exporting).
    """
    span = running.span
    _, exc, tb = sys.exc_info()
    elapsed = time.monotonic() - running.started
    signum = 256 + exc.code if (isinstance(exc, SystemExit) and isinstance(exc.code, int)
                                and -255 < exc.code < 0) else None
    limit_hit = running.hard_limit is not None and elapsed >= running.hard_limit * 0.95
    if limit_hit:
        limit = TimeLimitExceeded(running.hard_limit)
        limit.__traceback__ = tb  # the stack is where the task was when the limit hit
        if span.is_recording():
            span.set_attributes({CELERY_STATE: "FAILURE", CELERY_TIME_LIMIT: "hard"})
        errors.record_error(limit, span)
    elif signum is not None:
        if span.is_recording():
            span.set_attributes({CELERY_STATE: "REVOKED", CELERY_REVOKED_REASON: "terminated",
                                 CELERY_TERMINATED_SIGNAL: signal_name(signum)})
    elif exc is not None:
        span.set_status(Status(StatusCode.ERROR, f"interrupted by {type(exc).__name__}"))
        span.set_attribute("error.type", errors.qualified_type_name(type(exc)))
    span.end()
    if running.hard_limit is not None and fallback.main_process_counts(task):
        # A hard limit (or a revoke): the main process counts the task unless it finds the
        # counts handed over, which go to it, not to the database, so SIGKILL cannot fall
        # between two writes (fallback.py).
        fallback.hand_over(task_id)
    elif running.hard_limit is not None:
        pipeline.flush_counts()  # stats first: SIGKILL may follow in 0.1 s
    elif signum is None:
        # The task's own SystemExit or KeyboardInterrupt: billiard reports it as the job's
        # result, Celery's main process as a lost worker (task_failure, WorkerLostError
        # "exitcode 3"): this span is the task's one, the main process must not add one.
        fallback.mark_counted(task_id)
    pipeline.flush(timeout_millis=80)
