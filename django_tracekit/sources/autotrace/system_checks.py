"""Django's system checks are not usage: their auto-traced calls are neither counted nor
traced.

The checks (``manage.py check``, the ones every command and ``runserver`` run first, the
ones Celery's worker runs as it starts) call the project's check functions and what they
call. Counted, they made check helpers used functions of every service that ran a command
or a worker (the wger trial: its settings check, a used function of ``wger-worker``).

Every check run asks the registry for its checks (``CheckRegistry.get_checks``, looked up
on the class at each run; ``run_checks`` itself is not wrapped: ``django.core.checks``
binds it to the registry at import, before tracekit loads). The checks it returns run in
:func:`~django_tracekit.core.chain.not_usage`. A span a check starts itself still counts
what runs under it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from django_tracekit.core import chain

_ORIGINAL = "__tracekit_original__"
_lock = threading.Lock()


def install() -> bool:
    """Wrap ``CheckRegistry.get_checks`` once (idempotent); False if it is not there."""
    from django.core.checks.registry import CheckRegistry

    with _lock:
        current = CheckRegistry.__dict__.get("get_checks")
        if not callable(current):
            return False
        if getattr(current, _ORIGINAL, None) is None:
            CheckRegistry.get_checks = _wrap(current)  # type: ignore[method-assign]
    return True


def uninstall() -> None:
    """Restore Django's ``get_checks`` (if ours is the one installed)."""
    from django.core.checks.registry import CheckRegistry

    with _lock:
        original = getattr(CheckRegistry.__dict__.get("get_checks"), _ORIGINAL, None)
        if original is not None:
            CheckRegistry.get_checks = original  # type: ignore[method-assign]


def _wrap(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def get_checks(self: Any, *args: Any, **kwargs: Any) -> Any:
        checks = original(self, *args, **kwargs)
        try:
            return [_not_usage(check) for check in checks]
        except Exception:  # an unexpected shape: Django's own list, counted as before
            return checks

    setattr(get_checks, _ORIGINAL, original)
    return get_checks


def _not_usage(check: Callable[..., Any]) -> Callable[..., Any]:
    """``check`` run as not usage; its ``tags`` and name kept (``run_checks`` filters and
    reports by them)."""
    @functools.wraps(check)
    def run(*args: Any, **kwargs: Any) -> Any:
        with chain.not_usage():
            return check(*args, **kwargs)

    return run
