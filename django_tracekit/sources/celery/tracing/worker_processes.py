"""The worker's processes: tracing set up in each pool child, flushed when a process exits
(so ``worker_max_tasks_per_child=1`` loses no span, contrib issue #4916), and a warning when
``CeleryInstrumentor`` traces every task a second time."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from django_tracekit.core import pipeline

logger = logging.getLogger("django_tracekit")

# A prefork child turns SIGTERM (revoke with terminate=True, hard time limit, shutdown) into
# SystemExit (billiard's _shutdown_cleanup), so Celery's `finally` still sends task_postrun
# and execution.postrun ends the span. With REMAP_SIGTERM children ignore SIGTERM instead,
# and the main process marks the task.
sigterm_handler_installed_in_children = not os.environ.get("REMAP_SIGTERM")


def worker_process_init(**kwargs: Any) -> None:
    """In each pool child (prefork) or the worker itself (solo): tracing is ready.

    A no-op when Django's ``ready()`` bootstrapped before the fork (the usual case): the
    bootstrap is fork-safe (batch thread restarted, exporters rebuilt per pid)."""
    pipeline.setup()


def worker_init(**kwargs: Any) -> None:
    _warn_if_contrib_instrumented()


def flush(**kwargs: Any) -> None:
    # The process is exiting (a pool child then leaves through os._exit, skipping atexit):
    # stats first, then export within the exit deadline.
    pipeline.shutdown()


def _warn_if_contrib_instrumented() -> None:
    module = sys.modules.get("opentelemetry.instrumentation.celery")
    instrumentor = getattr(module, "CeleryInstrumentor", None)
    if instrumentor is not None and getattr(instrumentor(), "is_instrumented_by_opentelemetry",
                                            False):
        logger.warning("tracekit: CeleryInstrumentor is active too: every task is traced twice. "
                       "Remove CeleryInstrumentor().instrument(); tracekit covers it.")
