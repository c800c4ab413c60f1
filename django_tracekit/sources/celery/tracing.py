"""Celery tasks traced end to end: from the code that sent them to the worker that ran them.

``install()`` connects Celery's signal handlers (idempotent, ``dispatch_uid``):

- ``before_task_publish``/``after_task_publish``: a PRODUCER span ``apply_async/{task name}``
  (contrib's name, so existing queries keep working) whose context is injected into the
  message headers. It works from the message alone (id and name from the headers), so
  ``send_task`` to a task not registered locally, signatures, chains, groups, chords,
  retries and ETA tasks are all traced, and the caller's context is never touched.
- ``task_prerun``/``task_postrun``: a CONSUMER span named by the code-location convention
  after the task function (``shop/videos/tasks/process_video``), child of the publish span.
- ``task_failure``: the error convention (one exception event, full stack), except for
  ``Retry``/``Ignore``/``Reject`` and the task's ``throws``; ``task_retry``: the reason.
- Tasks that never reach ``task_postrun`` still get an ended, marked span: revoked or
  expired before they ran (main process), terminated or past their hard time limit
  (billiard turns the child's SIGTERM into SystemExit; ``task_postrun`` still fires and the
  span is ended, marked and flushed before the child dies), or lost with the child
  (``WorkerLostError`` after SIGKILL, main process; not when the child exited normally
  before its result was read: it ended that span itself).
- ``worker_process_init``: bootstrap (a no-op when Django's ``ready()`` did it before the
  fork; the bootstrap is fork-safe). ``worker_process_shutdown``/``worker_shutdown``:
  flush, so ``worker_max_tasks_per_child=1`` loses no span (contrib issue #4916).

Why not ``opentelemetry-instrumentation-celery``: its consumer span is ``run/{task name}``
and errors use ``span.record_exception`` (no callers, no chain policy); its publish span
for an unregistered task is started and attached but never ended or detached (#609), and
nothing ends a span for revoked/killed tasks. Its attribute keys are kept here.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Mapping
from contextvars import Token
from typing import Any

from billiard.pool import EX_OK, EX_RECYCLE  # type: ignore[import-untyped]
from celery import signals
from celery.exceptions import Retry, TimeLimitExceeded, WorkerLostError
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from django_tracekit import bootstrap
from django_tracekit.conf import get_config
from django_tracekit.conf.celery import CelerySettings
from django_tracekit.core import errors, naming, producers
from django_tracekit.core.redaction import redact_text
from django_tracekit.core.tracer import get_tracer
from django_tracekit.destinations import stats
from django_tracekit.sources.celery import fallback

logger = logging.getLogger("django_tracekit")

# Attribute keys: OTel messaging semconv (1.27+) and opentelemetry-instrumentation-celery's.
MESSAGING_SYSTEM = "messaging.system"
MESSAGING_OPERATION_TYPE = "messaging.operation.type"
MESSAGING_OPERATION_NAME = "messaging.operation.name"
MESSAGING_DESTINATION_NAME = "messaging.destination.name"
MESSAGING_MESSAGE_ID = "messaging.message.id"
CELERY_ACTION = "celery.action"
CELERY_TASK_NAME = "celery.task_name"
CELERY_STATE = "celery.state"
CELERY_RETRIES = "celery.retries"
CELERY_HOSTNAME = "celery.hostname"
CELERY_ETA = "celery.eta"
CELERY_RETRY_REASON = "celery.retry.reason"
CELERY_RETRY_EXCEPTION_TYPE = "celery.retry.exception.type"  # the exception that caused it
CELERY_REVOKED_REASON = "celery.revoked.reason"
CELERY_TERMINATED_SIGNAL = "celery.terminated.signal"
CELERY_EXCEPTION_TYPE = "celery.exception.type"  # an exception listed in task.throws
CELERY_TIME_LIMIT = "celery.time_limit"
CELERY_ARGS = "celery.args"
CELERY_KWARGS = "celery.kwargs"

SYSTEM = "celery"
_UID = "django_tracekit.sources.celery"


class _RequestGetter(Getter[Any]):
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


_getter = _RequestGetter()


class _Running:
    __slots__ = ("hard_limit", "span", "started", "token")

    def __init__(self, span: Span, token: Token[Context], hard_limit: float | None) -> None:
        self.span = span
        self.token = token
        self.started = time.monotonic()
        self.hard_limit = hard_limit


# Consumer spans running in this process, by task id: a stack, because an eager retry
# runs the same task id again inside the current attempt.
_running: dict[str, list[_Running]] = {}
# Publish spans between before_ and after_task_publish, per thread (publishing is synchronous).
_publishing = threading.local()
# Per task name: (span name, base attributes), computed once.
_task_meta: dict[str, tuple[str, dict[str, Any]]] = {}

_installed = False
_install_lock = threading.Lock()


# --- helpers --------------------------------------------------------------------------------


#: ``TRACEKIT['CELERY']``, handed over by the integration (``configure``); read per task.
_settings = CelerySettings()


def configure(settings: CelerySettings) -> None:
    global _settings
    _settings = settings

def _consumer_meta(task: Any) -> tuple[str, dict[str, Any]]:
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


def _parent_from(request: Any) -> Context | None:
    """The sender's context from the request headers; None (= current) if there is none."""
    if request is None:
        return None
    parent = propagate.extract(request, getter=_getter)
    if trace.get_current_span(parent).get_span_context().is_valid:
        return parent
    return None  # eager call or an untraced sender: continue the current context


def _type_summary(args: Any, kwargs: Any) -> dict[str, str]:
    """Argument types and keyword names, never values (``TRACEKIT['CELERY']['ARGS_SUMMARY']``)."""
    summary: dict[str, str] = {}
    if isinstance(args, (list, tuple)):
        summary[CELERY_ARGS] = "(" + ", ".join(type(a).__name__ for a in args) + ")"
    if isinstance(kwargs, Mapping):
        summary[CELERY_KWARGS] = "{" + ", ".join(
            f"{k}: {type(v).__name__}" for k, v in kwargs.items()) + "}"
    return summary


def _request_attributes(span: Span, request: Any, task_id: str) -> None:
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


def _hard_limit(task: Any, request: Any) -> float | None:
    limits = getattr(request, "timelimit", None)
    if isinstance(limits, (list, tuple)) and limits and limits[0]:
        return float(limits[0])
    limit = getattr(task, "time_limit", None) or getattr(
        getattr(task, "app", None) and task.app.conf, "task_time_limit", None)
    return float(limit) if isinstance(limit, (int, float)) and limit else None


def _current(task_id: str | None) -> _Running | None:
    if task_id is None:
        return None
    stack = _running.get(task_id)
    return stack[-1] if stack else None


def _end_outside_worker_child(task: Any, request: Any, task_id: str,
                              attributes: Mapping[str, Any],
                              error: BaseException | None = None) -> None:
    """A span for a task whose execution span cannot exist (revoked before it ran, expired,
    or lost with its pool child): ended at once, in the sender's trace, marked."""
    name, base = _consumer_meta(task)
    span = get_tracer().start_span(name, context=_parent_from(request), kind=SpanKind.CONSUMER,
                                   attributes=base)
    if span.is_recording():
        _request_attributes(span, request, task_id)
        span.set_attributes(attributes)
    if error is not None:
        errors.record_error(error, span)
    span.end()


# --- publish ----------------------------------------------------------------------------


def _pending() -> dict[str, Span]:
    pending: dict[str, Span] | None = getattr(_publishing, "spans", None)
    if pending is None:
        pending = _publishing.spans = {}
    return pending


def _before_publish(sender: Any = None, body: Any = None, exchange: Any = None,
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


def _after_publish(sender: Any = None, body: Any = None, headers: Any = None,
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
        running = _current(task_id)
        producer = (producers.from_attributes(getattr(running.span, "attributes", None))
                    if running is not None else producers.current())
        if producer is not None:
            headers[producers.HEADER] = producers.encode(producer)
    except Exception:  # the publish goes on without it: that task is not counted per producer
        logger.debug("tracekit: could not name the producer of a Celery task", exc_info=True)


# --- execution --------------------------------------------------------------------------


def _prerun(sender: Any = None, task_id: str | None = None, task: Any = None, args: Any = None,
            kwargs: Any = None, **extra: Any) -> None:
    if task is None or task_id is None:
        return
    try:
        name, attributes = _consumer_meta(task)
        request = task.request
        parent = _parent_from(request)
        span = get_tracer().start_span(name, context=parent, kind=SpanKind.CONSUMER,
                                       attributes=attributes)
        if span.is_recording():
            _request_attributes(span, request, task_id)
            header = _getter.get(request, producers.HEADER)
            producer = producers.decode(header[0]) if header else None
            if producer is not None:
                span.set_attributes(producers.attributes(producer))
            if _settings.args_summary:
                span.set_attributes(_type_summary(args, kwargs))
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        _running.setdefault(task_id, []).append(
            _Running(span, token, _hard_limit(task, request)))
    except Exception:
        logger.warning("tracekit: could not start a Celery task span", exc_info=True)


def _postrun(sender: Any = None, task_id: str | None = None, task: Any = None,
             state: str | None = None, **extra: Any) -> None:
    if task_id is None:
        return
    stack = _running.get(task_id)
    if not stack:
        return
    running = stack.pop()
    if not stack:
        del _running[task_id]
    otel_context.detach(running.token)  # logs (never raises) if already detached
    span = running.span
    if state is None:
        exc = sys.exc_info()[1]
        if isinstance(exc, Exception) and errors.is_error(exc):
            _internal_error(span, exc)
        else:
            _interrupted(running, task_id)
        return
    if span.is_recording():
        span.set_attribute(CELERY_STATE, state)
    span.end()


def _child_pid(task_id: str) -> int | None:
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


def _failure(sender: Any = None, task_id: str | None = None, exception: Any = None,
             **extra: Any) -> None:
    if not isinstance(exception, BaseException):
        return
    try:
        running = _current(task_id)
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
                    _end_outside_worker_child(sender, request, task_id,
                                              {CELERY_STATE: "FAILURE"}, exception)
            elif isinstance(exception, TimeLimitExceeded):
                # Sent before the child is killed: count it here only if the child could not.
                fallback.count_unless_counted(task_id, lambda: _end_outside_worker_child(
                    sender, request, task_id, {CELERY_STATE: "FAILURE", CELERY_TIME_LIMIT: "hard"},
                    exception), child_pid=_child_pid(task_id))
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


def _sigterm_covered(message: str) -> bool:
    return _sigterm_handler_installed_in_children and "SIGTERM" in message


# billiard's "Worker exited prematurely: exitcode 155 Job: 12." for a child that left through
# its normal exit (EX_OK: shutdown; EX_RECYCLE: max_tasks_per_child) while the main process
# had not read the result it sent yet (a busy machine; celery#1703, #3085). A child only
# exits so between tasks, after task_postrun ended that task's span and the exit flush
# exported it: a span from here would be a second one, a FAILURE the task never had.
# A death by a signal reads "signal 9 (SIGKILL)", any other exit "exitcode N".
_CLEAN_EXIT = re.compile(rf"\bexitcode ({EX_OK}|{EX_RECYCLE})\b")


def _exited_cleanly(message: str) -> bool:
    return _CLEAN_EXIT.search(message) is not None


def _retry(sender: Any = None, request: Any = None, reason: Any = None, **extra: Any) -> None:
    """The attempt will run again: ``celery.retry.reason`` is the exception text that caused
    it (redacted like any message), else Celery's own ("Retry in 5s"); the exception's type
    too when there was one (the stats count that attempt as failed)."""
    try:
        running = _current(getattr(request, "id", None))
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


def _revoked(sender: Any = None, request: Any = None, terminated: bool = False,
             signum: Any = None, expired: bool = False, **extra: Any) -> None:
    task_id = getattr(request, "id", None)
    if sender is None or task_id is None:
        return
    try:
        reason = "expired" if expired else ("terminated" if terminated else "revoked")
        attributes: dict[str, Any] = {CELERY_STATE: "REVOKED", CELERY_REVOKED_REASON: reason}
        running = _current(task_id)
        if running is not None:  # revoked while running in this very process
            if running.span.is_recording():
                running.span.set_attributes(attributes)
            return
        if terminated:
            if _signal_name(signum) == "SIGTERM" and _sigterm_handler_installed_in_children:
                return  # the pool child unwound (SystemExit) and ended its span itself
            attributes[CELERY_TERMINATED_SIGNAL] = _signal_name(signum)
        _end_outside_worker_child(sender, request, task_id, attributes)
    except Exception:
        logger.warning("tracekit: could not trace a revoked Celery task", exc_info=True)


def _signal_name(signum: Any) -> str:
    try:
        return signal.Signals(int(signum)).name
    except (TypeError, ValueError):
        return str(signum)


def _unknown(sender: Any = None, name: Any = None, id: Any = None, message: Any = None,
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


# --- worker processes --------------------------------------------------------------------

# A prefork child turns SIGTERM (revoke with terminate=True, hard time limit, shutdown) into
# SystemExit (billiard's _shutdown_cleanup), so Celery's `finally` still sends task_postrun
# and _postrun ends the span. With REMAP_SIGTERM children ignore SIGTERM instead, and the
# main process marks the task.
_sigterm_handler_installed_in_children = not os.environ.get("REMAP_SIGTERM")


def _internal_error(span: Span, exc: Exception) -> None:
    """Celery's own work around the task raised (its result backend failed to read or store
    the state, an ``on_retry`` handler raised): Celery reports an internal error and marks
    the task FAILURE; task_failure may never come (storing the failure can fail the same
    way), so the error is recorded here, with its stack."""
    if span.is_recording():
        span.set_attribute(CELERY_STATE, "FAILURE")
    errors.record_error(exc, span)
    span.end()


def _interrupted(running: _Running, task_id: str) -> None:
    """The task did not finish: a BaseException (SystemExit from a signal) is unwinding it.

    Called from task_postrun, inside Celery's ``finally``, so ``sys.exc_info()`` is that
    exception and its traceback shows where the task was. The process is about to exit
    (billiard sends SIGKILL 0.1 s after SIGTERM on a hard time limit): flush right away,
    stats first (``bootstrap.flush`` writes local destinations before exporting).
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
                                 CELERY_TERMINATED_SIGNAL: _signal_name(signum)})
    elif exc is not None:
        span.set_status(Status(StatusCode.ERROR, f"interrupted by {type(exc).__name__}"))
        span.set_attribute("error.type", errors.qualified_type_name(type(exc)))
    span.end()
    if running.hard_limit is not None:
        # Stats first: once written, the main process must not count it too (fallback.py).
        if stats.flush():
            fallback.mark_counted(task_id)
    elif signum is None:
        # The task's own SystemExit or KeyboardInterrupt: billiard reports it as the job's
        # result, Celery's main process as a lost worker (task_failure, WorkerLostError
        # "exitcode 3"): this span is the task's one, the main process must not add one.
        fallback.mark_counted(task_id)
    bootstrap.flush(timeout_millis=80)


def _worker_process_init(**kwargs: Any) -> None:
    """In each pool child (prefork) or the worker itself (solo): tracing is ready.

    A no-op when Django's ``ready()`` bootstrapped before the fork (the usual case): the
    bootstrap is fork-safe (batch thread restarted, exporters rebuilt per pid)."""
    try:
        bootstrap.setup(get_config())
    except Exception:
        logger.warning("tracekit: Celery worker process setup failed", exc_info=True)


def _worker_init(**kwargs: Any) -> None:
    _warn_if_contrib_instrumented()


def _flush(**kwargs: Any) -> None:
    # The process is exiting (a pool child then leaves through os._exit, skipping atexit):
    # stats first, then export within the exit deadline.
    bootstrap.shutdown()


def _warn_if_contrib_instrumented() -> None:
    import sys

    module = sys.modules.get("opentelemetry.instrumentation.celery")
    instrumentor = getattr(module, "CeleryInstrumentor", None)
    if instrumentor is not None and getattr(instrumentor(), "is_instrumented_by_opentelemetry",
                                            False):
        logger.warning("tracekit: CeleryInstrumentor is active too: every task is traced twice. "
                       "Remove CeleryInstrumentor().instrument(); tracekit covers it.")


# --- installation --------------------------------------------------------------------------

_HANDLERS = (
    (signals.before_task_publish, _before_publish),
    (signals.after_task_publish, _after_publish),
    (signals.task_prerun, _prerun),
    (signals.task_postrun, _postrun),
    (signals.task_failure, _failure),
    (signals.task_retry, _retry),
    (signals.task_revoked, _revoked),
    (signals.task_unknown, _unknown),
    (signals.worker_init, _worker_init),
    (signals.worker_process_init, _worker_process_init),
    (signals.worker_process_shutdown, _flush),
    (signals.worker_shutdown, _flush),
)


def install() -> None:
    """Connect the signal handlers (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        for sig, handler in _HANDLERS:
            sig.connect(handler, weak=False, dispatch_uid=f"{_UID}.{handler.__name__}")
        _installed = True


def uninstall() -> None:
    """Disconnect the handlers (tests, benchmarks)."""
    global _installed
    with _install_lock:
        for sig, handler in _HANDLERS:
            sig.disconnect(handler, dispatch_uid=f"{_UID}.{handler.__name__}")
        _installed = False


__all__ = ["install", "uninstall"]
