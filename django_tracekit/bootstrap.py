"""Process-wide OpenTelemetry setup from the validated settings: once per process.

- The integrations (:data:`django_tracekit.integrations.REGISTRY`) that are on contribute
  their span processors, sampler wrappers, hooks (``setup_once``), expected exceptions and
  error listeners, in registry order; one that fails is logged and left out.
- No provider yet: build ours (resource, parent-based ratio sampler, the processors).
- An SDK provider already set by the application (``opentelemetry-instrument``, custom
  code): attach tracekit's processors to it instead of replacing it. Its sampler, resource
  and exporters stay in charge; ours are added only if ``TRACEKIT['EXPORTER']`` is explicit,
  so spans are not exported twice.
- Fork: the SDK's batch processors restart their thread in the child and the exporters are
  rebuilt per process (the export destination's ``GuardedExporter``), so a preloaded
  gunicorn app or a Celery prefork pool is safe.
- Exit (:func:`shutdown`: atexit, Celery ``worker_process_shutdown``): the local
  destinations (stats, and later the trace store) are flushed first, in the exiting
  thread, independently of export; then every export processor gets one shared deadline
  (:data:`~django_tracekit.core.exit.EXIT_TIMEOUT_S`), so a collector that is down,
  black-holed or slow adds at most that to the exit; unsent spans are dropped and counted
  in one log line. Our provider does not register the SDK's own unbounded atexit hook.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased

from django_tracekit import conf, integrations
from django_tracekit.conf import Config
from django_tracekit.core import clock, errors, lifecycle, pipeline
from django_tracekit.core import exit as exiting
from django_tracekit.core import tracer as tracer_module
from django_tracekit.core.bounded import BoundedExport, BoundedRunner
from django_tracekit.core.exit import EXIT_TIMEOUT_S
from django_tracekit.core.logonce import EXPORT_FAILING, allow
from django_tracekit.integrations.base import Integration

logger = logging.getLogger("django_tracekit")


@dataclass
class State:
    """What the bootstrap did in this process."""

    provider: TracerProvider | None = None
    owns_provider: bool = False
    exporters: list[SpanProcessor] = field(default_factory=list)
    local: list[SpanProcessor] = field(default_factory=list)
    integrations: list[Integration] = field(default_factory=list)  # the ones that are on
    disabled_reason: str | None = None
    shut_down_pid: int | None = None  # the process that ran shutdown() (a fork has not)

    @property
    def active(self) -> bool:
        return self.provider is not None

    @property
    def processors(self) -> list[SpanProcessor]:
        return [*self.exporters, *self.local]


_lock = threading.Lock()
_state: State | None = None
_runner: BoundedRunner | None = None


def _exit_runner() -> BoundedRunner:
    """The thread that runs what the exit waits on with a deadline (foreign processors, the
    provider's shutdown). Started by the setup, not at exit (see BoundedRunner)."""
    global _runner
    if _runner is None:
        _runner = BoundedRunner("tracekit-exit")
    return _runner


@lifecycle.after_fork_in_child
def _restart_exit_runner_in_child() -> None:
    if _runner is not None:
        _runner.start()


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

    clock.shield_sdk()  # spans on the real clock, even under freezegun (core/clock.py)
    current = trace.get_tracer_provider()
    attach = isinstance(current, TracerProvider)
    if not attach and not isinstance(current, trace.ProxyTracerProvider):
        reason = (f"the application set a non-SDK TracerProvider ({type(current).__name__}); "
                  "tracekit cannot add processors to it")
        logger.warning("tracekit: tracing is off: %s", reason)
        return State(disabled_reason=reason)

    active = integrations.enabled(config)
    exporters: list[SpanProcessor] = []
    local: list[SpanProcessor] = []
    local_names: list[str] = []
    for integration in active:
        processors = _contribute(integration, "processors", not attach) or ()
        (local if integration.local else exporters).extend(processors)
        if integration.local and processors:
            local_names.append(integration.identifier)

    if attach:
        provider = current
        assert isinstance(provider, TracerProvider)
        logger.info("tracekit: using the TracerProvider the application already set; adding "
                    "%d processor(s) to it (its sampler and resource stay in charge)",
                    len(exporters) + len(local))
    else:
        sampler: Sampler = ParentBased(TraceIdRatioBased(config.sample_rate))
        for integration in active:
            sampler = _contribute(integration, "wrap_sampler", sampler) or sampler
        # shutdown_on_exit=False: the SDK's hook would wait on the exporter without bound
        # and before the stats; our own hook (below) does it in order, within a deadline.
        provider = TracerProvider(resource=_resource(config), sampler=sampler,
                                  shutdown_on_exit=False)
        trace.set_tracer_provider(provider)
    for processor in [*exporters, *local]:
        provider.add_span_processor(processor)
    tracer_module.set_tracer(provider.get_tracer(tracer_module.INSTRUMENTATION_NAME, __version__))
    _configure_core(config)
    for integration in active:
        if integration.phase == "ready":  # "import" ones ran from AppConfig.__init__
            _contribute(integration, "setup_once")
        _contribute(integration, "configure")
        errors.register_expected(*(_contribute(integration, "expected_exceptions") or ()))
        if type(integration).on_error is not Integration.on_error:
            errors.add_listener(integration.on_error)
    _announce(config, active, exporters, local_names, attach)
    _exit_runner()  # now: no thread can be started once the interpreter is exiting
    # Registered after the application's provider (if any) and after stats' own hook:
    # atexit is LIFO, so this runs before both.
    atexit.register(shutdown)
    conf.on_change(_reconfigure)
    return State(provider=provider, owns_provider=not attach, exporters=exporters, local=local,
                 integrations=active)


def _configure_core(config: Config) -> None:
    """What the core reads per call, from the config (the core does not import conf)."""
    errors.configure(max_frames=config.max_frames, max_length=config.max_length,
                     capture_locals=config.capture_locals)


def _reconfigure(config: Config) -> None:
    """The settings changed (``override_settings``): the core and every integration that is
    on get the new config; what is on stays on (the setup is once per process)."""
    current = _state
    if current is None or current.provider is None:
        return
    _configure_core(config)
    for integration in current.integrations:
        _contribute(integration, "reconfigure", config)


def _contribute(integration: Integration, hook: str, *args: Any) -> Any:
    """Call one hook of an integration; a failing integration is logged and left out,
    never the reason the application or the other integrations fail."""
    try:
        return getattr(integration, hook)(*args)
    except Exception:
        logger.warning("tracekit: the %s integration failed in %s(); it is left out",
                       integration.identifier, hook, exc_info=True)
        return None


def setup_early(config: Config) -> None:
    """Set up the integrations that must act while modules are imported (auto-tracing),
    from ``AppConfig.__init__``: before the other apps import the project's modules."""
    if not config.enabled or config.errors:
        return
    for integration in integrations.enabled(config, phase="import"):
        _contribute(integration, "setup_once")


def _announce(config: Config, active: list[Integration], exporters: list[SpanProcessor],
              local_names: list[str], attach: bool) -> None:
    """One line (INFO, once per process: forks inherit the setup) saying where spans go."""
    local = f"spans stay local ({', '.join(local_names)})" if local_names else ""
    if exporters:
        where = "; ".join(filter(None, (_contribute(i, "describe") for i in active)))
        logger.info("tracekit: exporting to %s%s", where,
                    f"; {local.replace('stay', 'also stay')}" if local else "")
    elif attach:
        logger.info("tracekit: the application's TracerProvider exports%s",
                    f"; {local}" if local else "")
    elif config.exporters != ("none",):
        logger.info("tracekit: nothing is exported (the exporter was skipped, see above): %s",
                    local or "spans are not kept (STATS is off)")
    else:
        logger.info("tracekit: no exporter: %s; set TRACEKIT['OTLP_ENDPOINT'] (or "
                    "OTEL_EXPORTER_OTLP_ENDPOINT) to export",
                    local or "spans are not kept (STATS is off)")


def _flush_local(current: State) -> bool:
    ok = True
    for processor in current.local:
        try:
            ok = bool(processor.force_flush()) and ok
        except Exception:
            logger.warning("tracekit: flushing %s failed", type(processor).__name__,
                           exc_info=True)
            ok = False
    return ok


def flush(timeout_millis: int = 5_000) -> bool:
    """Write the local destinations (stats), then export what is buffered, waiting for the
    export at most ``timeout_millis``. ``False`` if anything did not make it. Never raises."""
    current = _state
    if current is None or current.provider is None:
        return True
    ok = _flush_local(current)
    deadline = time.monotonic() + timeout_millis / 1000
    for processor in current.exporters:
        remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
        try:
            ok = bool(processor.force_flush(remaining_ms)) and ok
        except Exception:
            logger.warning("tracekit: flush failed", exc_info=True)
            ok = False
    return ok


def shutdown(timeout_s: float = EXIT_TIMEOUT_S) -> None:
    """The process is exiting: every destination (the local writers on their flusher
    threads, every exporter on its runner, Sentry) starts at once and all are waited for
    until one shared deadline (:mod:`django_tracekit.core.exit`), ``timeout_s`` from now. Once
    per process; never raises, never waits longer. What is left is said in one line each."""
    current = _state
    if current is None or current.provider is None:
        return
    with _lock:
        if current.shut_down_pid == os.getpid():
            return
        current.shut_down_pid = os.getpid()
    try:
        deadline = exiting.begin(timeout_s)
        local = [(p, _exit_flush(p)) for p in current.local]
        exports = [(p, _begin_export_shutdown(p)) for p in current.exporters]
        exiting.run_participants(deadline)  # Sentry: flushed within what is left
        _report_local(local, deadline)
        _report_exports(exports, deadline, timeout_s)
        if current.owns_provider and current.provider is not None:
            # Processors the application added to our provider; ours return at once now.
            _exit_runner().run(current.provider.shutdown, deadline - time.monotonic())
    except Exception:
        logger.warning("tracekit: shutdown failed", exc_info=True)


def _exit_flush(processor: SpanProcessor) -> threading.Event | None:
    try:
        start = getattr(processor, "exit_flush", None)
        if start is not None:
            return start()  # type: ignore[no-any-return]
        done = threading.Event()  # a local processor of another kind: flushed here
        processor.force_flush()
        done.set()
        return done
    except Exception:
        logger.warning("tracekit: flushing %s failed", type(processor).__name__, exc_info=True)
        return None


def _begin_export_shutdown(processor: SpanProcessor) -> threading.Event | None:
    try:
        if isinstance(processor, BoundedExport):
            return processor.begin_shutdown()
        return _exit_runner().submit(processor.shutdown)  # a factory's own processor
    except Exception:
        logger.debug("tracekit: exporter shutdown failed", exc_info=True)
        return None


def _report_local(started: list[tuple[SpanProcessor, threading.Event | None]],
                  deadline: float) -> None:
    """Wait for the local writers; what they could not write is said in one line."""
    calls = features = traces = 0
    for processor, done in started:
        if done is not None:
            done.wait(max(0.0, deadline - time.monotonic()))
        if hasattr(processor, "unwritten_traces"):
            traces += processor.unwritten_traces()
        elif hasattr(processor, "unwritten"):
            more_calls, more_features = processor.unwritten()
            calls, features = calls + more_calls, features + more_features
    parts = [f"{calls} calls of {features} features"] if calls else []
    parts += [f"{traces} kept traces"] if traces else []
    if parts:
        # Not necessarily down: slow or locked is enough to miss the deadline.
        logger.warning("tracekit: %s not written at exit: the database did not answer "
                       "within the exit deadline (%.1f s)", " and ".join(parts),
                       exiting.EXIT_TIMEOUT_S)


def _report_exports(started: list[tuple[SpanProcessor, threading.Event | None]],
                    deadline: float, timeout_s: float) -> None:
    late: list[str] = []
    for processor, done in started:
        if done is not None and done.wait(max(0.0, deadline - time.monotonic())):
            continue
        if isinstance(processor, BoundedExport):
            late.append(f"{processor.label}: {processor.unsent()} span(s)")
        else:
            late.append(type(processor).__name__)
    if late:
        # Once a minute per process family, shared with the exporter's failure line: with
        # max_tasks_per_child=1 every task's child exits, and a collector that is down
        # would be one line per task.
        passed, held, _ = allow(EXPORT_FAILING, 60.0)
        if passed:
            logger.warning("tracekit: exit: export did not finish within %.1f s; dropped what "
                           "was not sent (%s)%s", timeout_s, ", ".join(late),
                           f"; {held} more export failures not logged" if held else "")


# Sources reach the pipeline through core.pipeline (a Celery pool child sets up, flushes and
# shuts down there), never by importing this module.
pipeline.provide(setup=lambda: setup(conf.get_config()),
                 flush=lambda timeout_millis: flush(timeout_millis=timeout_millis),
                 shutdown=shutdown)
