"""Celery tasks traced end to end: from the code that sent them to the worker that ran them.

``install()`` connects Celery's signal handlers (idempotent, ``dispatch_uid``), one module
per side of a task's life:

- :mod:`.publish` (``before_task_publish``/``after_task_publish``): a PRODUCER span
  ``apply_async/{task name}`` (contrib's name, so existing queries keep working) whose
  context is injected into the message headers.
- :mod:`.execution` (``task_prerun``/``task_postrun``): a CONSUMER span named by the
  code-location convention after the task function (``shop/videos/tasks/process_video``),
  child of the publish span; a task terminated or past its hard time limit still gets an
  ended, marked span (billiard turns the child's SIGTERM into SystemExit; ``task_postrun``
  still fires and the span is ended, marked and flushed before the child dies).
- :mod:`.outcomes` (``task_failure``, ``task_retry``, ``task_revoked``, ``task_unknown``):
  errors, retries, and a span for tasks that never reach ``task_postrun`` (revoked or expired
  before they ran, lost with the child).
- :mod:`.worker_processes` (``worker_init``, ``worker_process_init``,
  ``worker_process_shutdown``/``worker_shutdown``): bootstrap in each child, flush at exit.
- :mod:`.task_spans`: what the execution and outcome sides share (the consumer span's name,
  parent and attributes, the spans running in this process); :mod:`.attributes`: the keys.

Why not ``opentelemetry-instrumentation-celery``: its consumer span is ``run/{task name}``
and errors use ``span.record_exception`` (no callers, no chain policy); its publish span
for an unregistered task is started and attached but never ended or detached (#609), and
nothing ends a span for revoked/killed tasks. Its attribute keys are kept here.
"""

from __future__ import annotations

import threading

from celery import signals

from django_tracekit.sources.celery.tracing import (
    execution,
    outcomes,
    publish,
    worker_processes,
)

configure = execution.configure

_UID = "django_tracekit.sources.celery"

_HANDLERS = (
    (signals.before_task_publish, publish.before_publish),
    (signals.after_task_publish, publish.after_publish),
    (signals.task_prerun, execution.prerun),
    (signals.task_postrun, execution.postrun),
    (signals.task_failure, outcomes.failure),
    (signals.task_retry, outcomes.retry),
    (signals.task_revoked, outcomes.revoked),
    (signals.task_unknown, outcomes.unknown),
    (signals.worker_init, worker_processes.worker_init),
    (signals.worker_process_init, worker_processes.worker_process_init),
    (signals.worker_process_shutdown, worker_processes.flush),
    (signals.worker_shutdown, worker_processes.flush),
)

_installed = False
_install_lock = threading.Lock()


def _uid(handler: object) -> str:
    return f"{_UID}._{getattr(handler, '__name__', '')}"  # the uids of the single-module days


def install() -> None:
    """Connect the signal handlers (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        for sig, handler in _HANDLERS:
            sig.connect(handler, weak=False, dispatch_uid=_uid(handler))
        _installed = True


def uninstall() -> None:
    """Disconnect the handlers (tests, benchmarks)."""
    global _installed
    with _install_lock:
        for sig, handler in _HANDLERS:
            sig.disconnect(handler, dispatch_uid=_uid(handler))
        _installed = False


__all__ = ["configure", "install", "uninstall"]
