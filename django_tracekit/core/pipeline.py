"""What a source may ask of the whole pipeline without importing it: set tracing up in a new
process, flush, shut down, and write the counts now (a task about to be killed).

The bootstrap provides the first three and the stats destination the last, when they are
imported; a source calls them here, so sources never import the bootstrap or a destination.
Before anything is provided each call does nothing (tracing is off in this process).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger("django_tracekit")

_setup: Callable[[], object] | None = None
_flush: Callable[[int], bool] | None = None
_shutdown: Callable[[], None] | None = None
_flush_counts: Callable[[], bool] | None = None
_when_committed: Callable[[Callable[[], None]], None] | None = None


def provide(*, setup: Callable[[], object], flush: Callable[[int], bool],
            shutdown: Callable[[], None]) -> None:
    """The bootstrap's part."""
    global _setup, _flush, _shutdown
    _setup, _flush, _shutdown = setup, flush, shutdown


def provide_counts(flush_counts: Callable[[], bool],
                   when_committed: Callable[[Callable[[], None]], None]) -> None:
    """The stats destination's part: write this process's pending counts now; call back
    once what is counted so far is committed."""
    global _flush_counts, _when_committed
    _flush_counts, _when_committed = flush_counts, when_committed


def setup() -> None:
    """Tracing is ready in this process (a Celery pool child). Never raises."""
    if _setup is not None:
        try:
            _setup()
        except Exception:
            logger.warning("tracekit: process setup failed", exc_info=True)


def flush(timeout_millis: int = 5_000) -> bool:
    """Local destinations first, then the exporters, waiting at most ``timeout_millis``."""
    return True if _flush is None else _flush(timeout_millis)


def shutdown() -> None:
    """The process is exiting: every destination within the shared exit deadline."""
    if _shutdown is not None:
        _shutdown()


def flush_counts() -> bool:
    """Write the pending feature-usage counts now; ``False`` if they were not written."""
    return True if _flush_counts is None else _flush_counts()


def when_counts_committed(callback: Callable[[], None]) -> None:
    """``callback()`` once every count of this process so far is committed, by whichever
    write commits it (now, if nothing is pending or no stats run here)."""
    if _when_committed is None:
        callback()
    else:
        _when_committed(callback)
