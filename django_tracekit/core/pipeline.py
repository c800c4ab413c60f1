"""What a source may ask of the whole pipeline without importing it: set tracing up in a new
process, flush, shut down, write the counts now, and hand them to another process of the
family (a task about to be killed) or take them from one.

The bootstrap provides the first three and the stats destination the last, when they are
imported; a source calls them here, so sources never import the bootstrap or a destination.
Before anything is provided each call does nothing (tracing is off in this process).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

logger = logging.getLogger("django_tracekit")

_setup: Callable[[], object] | None = None
_flush: Callable[[int], bool] | None = None
_shutdown: Callable[[], None] | None = None
_flush_counts: Callable[[], bool] | None = None
_hand_over: Callable[[str], bool] | None = None
_adopt: Callable[[str], bool] | None = None


def provide(*, setup: Callable[[], object], flush: Callable[[int], bool],
            shutdown: Callable[[], None]) -> None:
    """The bootstrap's part."""
    global _setup, _flush, _shutdown
    _setup, _flush, _shutdown = setup, flush, shutdown


def provide_counts(flush_counts: Callable[[], bool], hand_over: Callable[[str], bool],
                   adopt: Callable[[str], bool]) -> None:
    """The stats destination's part: write this process's pending counts now; hand them
    over in a file; take over the counts handed over in a file."""
    global _flush_counts, _hand_over, _adopt
    _flush_counts, _hand_over, _adopt = flush_counts, hand_over, adopt


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


def hand_over_counts(path: str) -> bool:
    """This process's pending counts, taken out, in the new file ``path`` (written whole or
    not at all; empty when nothing counts here). ``False``: not written, the counts kept."""
    if _hand_over is None:
        return _empty_file(path)
    return _hand_over(path)


def adopt_counts(path: str) -> bool:
    """Whether counts were handed over at ``path``; they are this process's to write now."""
    if _adopt is None:
        try:
            os.unlink(path)
        except OSError:
            return False
        return True
    return _adopt(path)


def _empty_file(path: str) -> bool:
    try:
        with open(path, "wb"):
            return True
    except OSError:
        logger.debug("tracekit: could not create %s", path, exc_info=True)
        return False
