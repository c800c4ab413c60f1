"""Feature-usage analytics computed from spans (``TRACEKIT['STATS']``): the write side.

The registry entry (:class:`~django_tracekit.destinations.stats.integration.StatsIntegration`, a
local
destination) adds a :class:`~django_tracekit.destinations.stats.processor.StatsProcessor` flushing
every
``FLUSH_INTERVAL_S`` from a daemon thread and first at every exit, before and independently
of export (``bootstrap.shutdown``), and wraps the sampler
(:class:`~django_tracekit.core.sampling.RecordSampledOut`): spans the trace sampler
drops are
still *recorded* (never exported), so counts are exact whatever ``SAMPLE_RATE``. Only when
tracekit owns the TracerProvider; an application-provided provider keeps its sampler, and
then only sampled spans are counted. The admin's read side is :mod:`django_tracekit.pages`.

:func:`flush` writes what is pending now.
"""

from __future__ import annotations

import atexit
import logging
import sys

from django_tracekit.core import pipeline

logger = logging.getLogger("django_tracekit")

# tracekit's own data code: its queries never become spans (core.vocabulary.OWN_DATA_MARKER).
__tracekit_own_data__ = True

__all__ = ["flush"]


def flush() -> bool:
    """Write the pending feature-usage counts of this process now. Never raises.

    Returns ``False`` if a write failed (the counts stay in a bounded backlog).
    """
    processor = sys.modules.get("django_tracekit.destinations.stats.processor")
    if processor is None:  # no processor was ever made: nothing is pending
        return True
    try:
        # Looked up, not imported: the processor's writer needs the models, and this
        # package is imported (through its registry entry) before the app registry is ready.
        return bool(processor.flush_all())
    except Exception:
        logger.warning("tracekit: stats flush failed", exc_info=True)
        return False


def hand_over(path: str) -> bool:
    """This process's pending counts in the file ``path``, for another process of its
    family (``handover.py``). Never raises."""
    from django_tracekit.destinations.stats import handover

    try:
        return handover.hand_over(path)
    except Exception:
        logger.warning("tracekit: could not hand the counts over", exc_info=True)
        return False


def adopt(path: str) -> bool:
    """Whether counts were handed over at ``path``; this process writes them. Never raises."""
    from django_tracekit.destinations.stats import handover

    try:
        return handover.adopt(path)
    except Exception:
        logger.warning("tracekit: could not take the counts handed over", exc_info=True)
        return True


# bootstrap.shutdown (registered later, so run earlier: atexit is LIFO) flushes the stats
# first at exit; this catches spans that end after it, and processes that never set up.
atexit.register(flush)
pipeline.provide_counts(flush, hand_over, adopt)
