"""Process lifecycle in one place: what must be reset in a forked child, and what runs once.

Modules register their after-fork reset here instead of calling ``os.register_at_fork``
themselves, so one hook runs them in a known order (registration order) and a test can
run the same resets a fork would.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable

_before: list[Callable[[], None]] = []
_in_child: list[Callable[[], None]] = []


def before_fork(callback: Callable[[], None]) -> Callable[[], None]:
    """Run ``callback`` in the parent just before it forks (usable as a decorator)."""
    _before.append(callback)
    return callback


def after_fork_in_child(callback: Callable[[], None]) -> Callable[[], None]:
    """Run ``callback`` in every forked child, before any other code (usable as a decorator)."""
    _in_child.append(callback)
    return callback


def _run(callbacks: list[Callable[[], None]]) -> None:
    for callback in list(callbacks):
        # A reset that fails must not stop the others or the child.
        with contextlib.suppress(Exception):
            callback()


def run_before_fork() -> None:
    _run(_before)


def run_after_fork_in_child() -> None:
    _run(_in_child)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=run_before_fork, after_in_child=run_after_fork_in_child)


class Once:
    """A guard that lets one caller through per process (and again in a forked child
    when ``per_process`` is true): ``if guard.claim(): set_up()``."""

    def __init__(self, *, per_process: bool = False) -> None:
        self._lock = threading.Lock()
        self._done = False
        if per_process:
            after_fork_in_child(self.reset)

    def claim(self) -> bool:
        with self._lock:
            if self._done:
                return False
            self._done = True
            return True

    @property
    def done(self) -> bool:
        return self._done

    def reset(self) -> None:
        self._lock = threading.Lock()
        self._done = False
