"""Process-wide OpenTelemetry setup from the validated settings: once per process.

- No provider yet: build ours (resource, parent-based ratio sampler, export processors).
- An SDK provider already set by the application (``opentelemetry-instrument``, custom
  code): attach tracekit's processors to it instead of replacing it. Its sampler, resource
  and exporters stay in charge; ours are added only if ``TRACEKIT['EXPORTER']`` is explicit,
  so spans are not exported twice.
- Fork: the SDK's batch processors restart their thread in the child and the exporters are
  rebuilt per process (``exporters.GuardedExporter``), so a preloaded gunicorn app or a
  Celery prefork pool is safe.
- Shutdown: our provider flushes at exit (SDK atexit hook); :func:`flush` is for the
  integrations that know better (Celery ``worker_process_shutdown``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from opentelemetry import trace
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased

from django_tracekit import tracer as tracer_module
from django_tracekit.conf import Config
from django_tracekit.exporters import build_processors

logger = logging.getLogger("django_tracekit")

# Integrations (stats, Sentry) contribute processors that run whatever the exporter is.
ProcessorFactory = Callable[[Config], SpanProcessor | None]
processor_factories: list[ProcessorFactory] = []
# Integrations that must see sampled-out spans (stats: exact counts) wrap our sampler.
SamplerWrapper = Callable[[Sampler, Config], Sampler]
sampler_wrappers: list[SamplerWrapper] = []


@dataclass
class State:
    """What the bootstrap did in this process."""

    provider: TracerProvider | None = None
    owns_provider: bool = False
    processors: list[SpanProcessor] = field(default_factory=list)
    disabled_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.provider is not None


_lock = threading.Lock()
_state: State | None = None


def state() -> State | None:
    return _state


def _resource(config: Config) -> Resource:
    attributes: dict[str, str] = {}
    detected = OTELResourceDetector().detect().attributes
    # OTEL_RESOURCE_ATTRIBUTES may name the service; only an explicit name overrides it.
    if config.service_name_explicit or "service.name" not in detected:
        attributes["service.name"] = config.service_name
    if config.service_version:
        attributes["service.version"] = config.service_version
    if config.environment:
        # Both keys: semconv renamed it in 1.27; backends still read the old one.
        attributes["deployment.environment.name"] = config.environment
        attributes["deployment.environment"] = config.environment
    return Resource.create(attributes)


def setup(config: Config) -> State:
    """Set up tracing for this process from ``config``; later calls return the same state."""
    global _state
    with _lock:
        if _state is not None:
            return _state
        _state = _setup(config)
        return _state


def _setup(config: Config) -> State:
    from django_tracekit import __version__

    if not config.enabled:
        return State(disabled_reason="TRACEKIT['ENABLED'] is False or OTEL_SDK_DISABLED is set")
    if config.errors:
        ids = ", ".join(sorted({f"django_tracekit.{p.id}" for p in config.errors}))
        reason = f"invalid settings ({ids}); run `manage.py check` for details"
        logger.error("tracekit: tracing is off: %s", reason)
        return State(disabled_reason=reason)

    current = trace.get_tracer_provider()
    attach = isinstance(current, TracerProvider)
    if not attach and not isinstance(current, trace.ProxyTracerProvider):
        reason = (f"the application set a non-SDK TracerProvider ({type(current).__name__}); "
                  "tracekit cannot add processors to it")
        logger.warning("tracekit: tracing is off: %s", reason)
        return State(disabled_reason=reason)

    processors: list[SpanProcessor] = []
    if not attach or config.exporter_explicit:
        exporters, skipped = build_processors(config)
        processors.extend(exporters)
        for reason in skipped:
            logger.warning("tracekit: exporter skipped: %s", reason)
    for factory in processor_factories:
        processor = factory(config)
        if processor is not None:
            processors.append(processor)

    if attach:
        provider = current
        assert isinstance(provider, TracerProvider)
        logger.info("tracekit: using the TracerProvider the application already set; adding "
                    "%d processor(s) to it (its sampler and resource stay in charge)",
                    len(processors))
    else:
        sampler: Sampler = ParentBased(TraceIdRatioBased(config.sample_rate))
        for wrap in sampler_wrappers:
            sampler = wrap(sampler, config)
        provider = TracerProvider(resource=_resource(config), sampler=sampler)
        trace.set_tracer_provider(provider)
    for processor in processors:
        provider.add_span_processor(processor)
    tracer_module.set_tracer(provider.get_tracer(tracer_module.INSTRUMENTATION_NAME, __version__))
    return State(provider=provider, owns_provider=not attach, processors=processors)


def flush(timeout_millis: int = 5_000) -> bool:
    """Export what is buffered now (before a process exits). Never raises."""
    current = _state
    if current is None or current.provider is None:
        return True
    try:
        if current.owns_provider:
            return bool(current.provider.force_flush(timeout_millis))
        return all(p.force_flush(timeout_millis) for p in current.processors)
    except Exception:
        logger.warning("tracekit: flush failed", exc_info=True)
        return False

