"""Calls counted outside spans, for the stats: a registry the counting source fills.

Auto-tracing counts every call of the project's functions inline (most never become a
span); the stats add those counts to the spans they count. The source registers its
counters here when it loads, so the stats read them without importing the source.
"""

from __future__ import annotations

from typing import Protocol

Counts = dict[str, tuple[int, int, int]]  # name -> (calls, total_ns, max_ns)


class CallCounter(Protocol):
    def site_count(self) -> int:
        """How many functions are instrumented in this process (only grows)."""

    def instrumented(self) -> list[tuple[str, str]]:
        """``(name, module)`` of every instrumented function that did not run at start-up
        (the "unused code" page)."""

    def drain_unspanned(self) -> Counts:
        """Counts of the calls that did not become spans since the last drain (zeroed)."""


_counter: CallCounter | None = None


def register(counter: CallCounter) -> None:
    global _counter
    _counter = counter


def registered() -> CallCounter | None:
    """The counter of this process, or ``None`` when nothing counts calls."""
    return _counter
