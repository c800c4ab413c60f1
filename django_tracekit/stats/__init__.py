"""Feature-usage analytics computed from spans (``TRACEKIT['STATS']``).

``install()`` (called from ``TracekitConfig.ready()`` before the bootstrap) registers:

- a local destination (``bootstrap.register_local``): a
  :class:`~django_tracekit.stats.processor.StatsProcessor` when ``STATS['ENABLED']``,
  flushing every ``FLUSH_INTERVAL_S`` from a daemon thread, and at every exit first,
  before and independently of export (``bootstrap.shutdown``);
- a sampler wrapper (:class:`~django_tracekit.stats.sampler.RecordSampledOut`): spans the
  trace sampler drops are still *recorded* (never exported), so counts are exact whatever
  ``SAMPLE_RATE``. Only when tracekit owns the TracerProvider; an application-provided
  provider keeps its sampler, and then only sampled spans are counted.

:func:`flush` writes what is pending now. Exits are covered by ``bootstrap.shutdown``
(atexit, which gunicorn workers run; Celery ``worker_process_shutdown`` before billiard's
``os._exit``).
"""

from __future__ import annotations

import atexit
import logging

from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.sampling import Sampler

from django_tracekit.conf import Config

logger = logging.getLogger("django_tracekit")

__all__ = ["flush", "install", "processor_factory", "wrap_sampler"]


def processor_factory(config: Config) -> SpanProcessor | None:
    if not config.stats.get("ENABLED", True):
        return None
    from django_tracekit.stats.processor import StatsProcessor

    return StatsProcessor(flush_interval_s=float(config.stats["FLUSH_INTERVAL_S"]),
                          service=config.service_name)


def wrap_sampler(sampler: Sampler, config: Config) -> Sampler:
    if not config.stats.get("ENABLED", True):
        return sampler
    from django_tracekit.stats.sampler import RecordSampledOut

    return RecordSampledOut(sampler)


def install() -> None:
    """Register the stats processor and sampler wrapper with the bootstrap (idempotent)."""
    from django_tracekit import bootstrap

    bootstrap.register_local("stats", processor_factory)
    if wrap_sampler not in bootstrap.sampler_wrappers:
        bootstrap.sampler_wrappers.append(wrap_sampler)


def flush() -> bool:
    """Write the pending feature-usage counts of this process now. Never raises.

    Returns ``False`` if a write failed (the counts stay in a bounded backlog).
    """
    try:
        from django_tracekit.stats.processor import flush_all

        return flush_all()
    except Exception:
        logger.warning("tracekit: stats flush failed", exc_info=True)
        return False


# bootstrap.shutdown (registered later, so run earlier: atexit is LIFO) flushes the stats
# first at exit; this catches spans that end after it, and processes that never set up.
atexit.register(flush)
