"""The seam: ``BaseCommand.execute`` wrapped once, at setup.

Django sends no signal around a management command. ``BaseCommand.execute`` is the one
documented method every way of running a command goes through (``manage.py``,
``django-admin``, ``call_command()``), with the command object in hand, around the system
checks and ``handle()``; ``run_from_argv`` would miss ``call_command`` and a wrapper
around ``handle`` would have to be installed per command class. The wrapper is installed
once (idempotent), calls the original unchanged, never raises into the command because of
tracing, and is removed by :func:`uninstall` only if nobody wrapped it since. If
``BaseCommand.execute`` is missing (a Django that renamed it), commands run untraced and
one warning says so (docs/PRIVATE_SEAMS.md).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span

from django_tracekit.core import chain
from django_tracekit.core.logonce import LogOnce
from django_tracekit.sources.commands import tracing

logger = logging.getLogger("django_tracekit")

_ORIGINAL = "__tracekit_original__"
_lock = threading.Lock()
_failures = LogOnce("tracing a management command failed")

Execute = Callable[..., Any]


def install() -> bool:
    """Wrap ``BaseCommand.execute`` (idempotent); False if there is nothing to wrap."""
    with _lock:
        current = BaseCommand.__dict__.get("execute")
        if current is None or not callable(current):
            logger.warning("tracekit: django.core.management.base.BaseCommand has no execute() "
                           "method; management commands are not traced")
            return False
        if getattr(current, _ORIGINAL, None) is not None:
            return True
        BaseCommand.execute = _wrap(current)  # type: ignore[method-assign]
        return True


def uninstall() -> None:
    """Restore the original ``execute`` (if ours is still the one installed)."""
    with _lock:
        current = BaseCommand.__dict__.get("execute")
        original = getattr(current, _ORIGINAL, None)
        if original is not None:
            BaseCommand.execute = original  # type: ignore[method-assign]


def installed() -> bool:
    return getattr(BaseCommand.__dict__.get("execute"), _ORIGINAL, None) is not None


def _wrap(original: Execute) -> Execute:
    @functools.wraps(original)
    def execute(self: BaseCommand, *args: Any, **options: Any) -> Any:
        __traceback_hide__ = True  # tracekit's frame: not in Django's error pages
        started = _start(self)
        if started is None:
            if _not_usage(self):
                with chain.not_usage():  # auto-traced calls: neither counted nor traced
                    return original(self, *args, **options)
            return original(self, *args, **options)
        span, token, top_level = started
        checks = _time_checks(self)
        try:
            output = original(self, *args, **options)
        except BaseException as exc:
            _untime_checks(self, checks)
            _end(span, token, exc, top_level, options)
            raise
        _untime_checks(self, checks)
        _end(span, token, None, top_level, options)
        return output

    setattr(execute, _ORIGINAL, original)
    return execute


def _start(command: BaseCommand) -> tuple[Span, object, bool] | None:
    try:
        meta = tracing.traced(type(command))
        if meta is None:
            return None
        # The command the process runs is the root of its trace; call_command() from code
        # that is already traced (a view, a task, another command) is a child span.
        root = not trace.get_current_span().get_span_context().is_valid
        top_level = root and tracing.is_process_command(meta)
        span = tracing.start(meta, top_level, root)
        token = otel_context.attach(trace.set_span_in_context(span))
        return span, token, top_level
    except Exception:
        _failures.failed()
        return None


def _not_usage(command: BaseCommand) -> bool:
    try:
        return tracing.not_usage(type(command))
    except Exception:
        _failures.failed()
        return False


def _time_checks(command: BaseCommand) -> bool:
    """Run this command's system checks (``execute`` calls ``self.check``) in a child span:
    they load every URLconf and view module, seconds in a big project (pontoon: 4 of a
    6 s ``collect_insights``), and were blank time in the command's waterfall."""
    try:
        if "check" in vars(command) or not callable(getattr(command, "check", None)):
            return False  # the command set its own: leave it alone
        command.check = tracing.timed_checks(command.check)  # type: ignore[method-assign]
        return True
    except Exception:
        _failures.failed()
        return False


def _untime_checks(command: BaseCommand, timed: bool) -> None:
    if timed:
        try:
            del command.check
        except Exception:
            _failures.failed()


def _end(span: Span, token: object, exc: BaseException | None, top_level: bool,
         options: dict[str, Any]) -> None:
    try:
        tracing.finish(span, exc, top_level, bool(options.get("traceback")))
    except Exception:
        _failures.failed()
    try:
        otel_context.detach(token)  # type: ignore[arg-type]
    except Exception:
        _failures.failed()
    try:
        span.end()
    except Exception:
        _failures.failed()
