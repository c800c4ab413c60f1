"""One deadline for everything a process does at exit.

Every destination (the stats and trace store writers, the exporters, Sentry) works on a
thread of its own started ahead of time; the exiting thread starts them all at once and
waits for them together until one shared deadline (:data:`EXIT_TIMEOUT_S` after the exit
began), never one budget each. What did not finish by then is said in one line per kind.

:func:`begin` starts the deadline (once per process: a forked child starts its own);
:func:`remaining` is what is left of it for the destination asking.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable

logger = logging.getLogger("django_tracekit")

# What an exit may wait, per process, for every destination together.
EXIT_TIMEOUT_S = 1.0

_lock = threading.Lock()
_deadline: tuple[int, float] | None = None  # (pid, time.monotonic() deadline)


def begin(timeout_s: float = EXIT_TIMEOUT_S) -> float:
    """The exit has begun: the shared deadline (``time.monotonic()``), set by the first
    caller in this process; later callers get the same one."""
    global _deadline
    with _lock:
        pid = os.getpid()
        if _deadline is None or _deadline[0] != pid:
            _deadline = (pid, time.monotonic() + max(0.0, timeout_s))
        return _deadline[1]


def started() -> bool:
    """Has this process begun its exit?"""
    current = _deadline
    return current is not None and current[0] == os.getpid()


def remaining(default_s: float = EXIT_TIMEOUT_S) -> float:
    """Seconds left of the shared deadline (``default_s`` before the exit began)."""
    current = _deadline
    if current is None or current[0] != os.getpid():
        return default_s
    return max(0.0, current[1] - time.monotonic())


def reset() -> None:
    """Forget the deadline (tests that run several exits in one process)."""
    global _deadline
    with _lock:
        _deadline = None


# --- participants --------------------------------------------------------------------------
# Destinations outside the bootstrap's processors (Sentry) that have work to finish at exit:
# each is called from the exiting thread with the shared deadline and must return by then.
_participants: dict[str, Callable[[float], None]] = {}


def add_participant(name: str, at_exit: Callable[[float], None]) -> None:
    _participants[name] = at_exit


def remove_participant(name: str) -> None:
    _participants.pop(name, None)


def run_participants(deadline: float) -> None:
    """Each participant in turn, each given what is left of ``deadline``. Never raises."""
    for name, at_exit in list(_participants.items()):
        if time.monotonic() >= deadline:
            return
        try:
            at_exit(deadline)
        except Exception:
            logger.debug("tracekit: exit of %s failed", name, exc_info=True)


def wait_all(events: Iterable[threading.Event], deadline: float) -> bool:
    """Wait for every event until ``deadline``; ``True`` if all were set in time."""
    ok = True
    for event in events:
        ok = event.wait(max(0.0, deadline - time.monotonic())) and ok
    return ok
