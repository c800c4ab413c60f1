"""The registry: every source and destination of spans, in the order of the data flow.

    settings -> conf -> bootstrap -> SOURCES make spans -> DESTINATIONS receive them

Reading :data:`REGISTRY` is reading the data flow of DESIGN.md. Each entry is the dotted
path of an :class:`~django_tracekit.integrations.base.Integration`; the module it names is
light (it imports its library only in ``setup_once``), so a Celery- or Sentry-less project
never imports Celery or Sentry code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.module_loading import import_string

from django_tracekit.conf import Config
from django_tracekit.integrations.base import Integration, Phase

REGISTRY: tuple[str, ...] = (
    # --- Sources: where spans come from --------------------------------------------------
    # the team's own functions
    "django_tracekit.sources.autotrace.integration.AutotraceIntegration",
    # requests (middleware, views)
    "django_tracekit.sources.http.integration.HttpServerIntegration",
    # task publish and execution
    "django_tracekit.sources.celery.integration.CeleryIntegration",
    # manage.py commands
    "django_tracekit.sources.commands.integration.CommandsIntegration",
    # django.tasks (6.0+)
    "django_tracekit.sources.django_tasks.integration.DjangoTasksIntegration",
    # SQL queries, N+1
    "django_tracekit.sources.db.integration.DbIntegration",
    # template renders
    "django_tracekit.sources.templating.integration.TemplatesIntegration",
    # Django cache calls
    "django_tracekit.sources.cache.integration.CacheIntegration",
    # outgoing HTTP calls
    "django_tracekit.sources.httpclient.integration.HttpClientIntegration",
    # log records as span events
    "django_tracekit.sources.logs.integration.LogsIntegration",
    # --- Destinations: where finished spans and errors go ---------------------------------
    # Local ones first: at exit they are flushed before any exporter, so a collector that
    # is down never costs a count.
    # feature usage in the admin
    "django_tracekit.destinations.stats.integration.StatsIntegration",
    # the admin's trace store
    "django_tracekit.destinations.traces.integration.TracesIntegration",
    # OTLP / console / a factory
    "django_tracekit.destinations.export.integration.ExportIntegration",
    # per-feature metrics (METRICS)
    "django_tracekit.destinations.metrics.integration.MetricsIntegration",
    # errors, linked to their trace
    "django_tracekit.destinations.sentry.integration.SentryIntegration",
)


@dataclass(frozen=True)
class Decision:
    """One integration and whether it is on (``refusal`` is ``None``) for this config."""

    integration: Integration
    refusal: str | None

    @property
    def on(self) -> bool:
        return self.refusal is None


def decide(config: Config, paths: Sequence[str] | None = None,
           phase: Phase | None = None) -> list[Decision]:
    """Every registered integration (of ``phase``, if given) with its on/off decision."""
    decisions = []
    for path in REGISTRY if paths is None else paths:
        cls: type[Integration] = import_string(path)
        if phase is not None and cls.phase != phase:
            continue
        integration = cls(config)
        decisions.append(Decision(integration, integration.refusal()))
    return decisions


def enabled(config: Config, phase: Phase | None = None) -> list[Integration]:
    """The integrations that are on for ``config``, in registry order."""
    return [d.integration for d in decide(config, phase=phase) if d.on]


__all__ = ["REGISTRY", "Decision", "Integration", "decide", "enabled"]
