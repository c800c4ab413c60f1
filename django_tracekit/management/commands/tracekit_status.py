"""``manage.py tracekit_status``: what tracekit does in this process, and why.

Prints the resolved names (project, service), where spans go, the sample rate, and every
source and destination of the registry with "on" or the reason it is off: the first thing
to run when a span or a count is not where it was expected. Reads settings only; it opens
no database connection and sends nothing (``--store`` counts the trace store's rows).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from django_tracekit import bootstrap
from django_tracekit.conf import get_config
from django_tracekit.core.versions import describe as describe_version
from django_tracekit.integrations import decide


class Command(BaseCommand):
    help = "Show what tracekit traces in this project, where spans go, and why anything is off."
    # No system checks first: a broken setting must still be explained, not refused.
    requires_system_checks: list[str] = []  # noqa: RUF012 (Django's API)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--store", action="store_true",
                            help="Also count the traces in the trace store (opens a "
                                 "database connection).")

    def handle(self, *args: Any, **options: Any) -> None:
        config = get_config()
        state = bootstrap.state()
        out = self.stdout
        out.write(f"project name:  {config.project_name or '(none)'}")
        out.write(f"service name:  {config.service_name}")
        out.write(f"version:       {describe_version(config.service_version, config.project_name)}")
        out.write(f"sample rate:   {config.sample_rate:g}")
        if state is not None and state.disabled_reason:
            out.write(self.style.WARNING(f"tracing:       off: {state.disabled_reason}"))
        elif state is not None and not state.owns_provider and state.active:
            out.write("tracing:       on (attached to the application's TracerProvider)")
        else:
            out.write("tracing:       on")
        out.write(f"exporter:      {', '.join(config.exporters)}"
                  + (f" -> {config.otlp_endpoint} ({config.otlp_protocol})"
                     if "otlp" in config.exporters else ""))
        self._database(config.stats.database)
        for problem in config.problems:
            out.write(self.style.WARNING(
                f"setting:       django_tracekit.{problem.id} {problem.key} {problem.message}"))
        out.write("")
        for decision in decide(config):
            integration = decision.integration
            label = f"{integration.role:<12} {integration.identifier:<12}"
            if decision.on:
                out.write(f"{label} {self.style.SUCCESS('on')}")
            else:
                out.write(f"{label} off: {decision.refusal}")
        if config.traces.enabled:
            from django_tracekit.destinations.traces.status import describe

            out.write("")
            for line in describe(config.traces, count=options.get("store", False)):
                out.write(line)

    def _database(self, alias: str) -> None:
        """Where tracekit's tables are (STATS['DATABASE']) and whether the routers agree."""
        from django.db import router

        from django_tracekit.storage.usage_models import Feature

        routed = router.db_for_write(Feature)
        if routed == alias:
            self.stdout.write(f"database:      {alias}")
        else:
            self.stdout.write(self.style.WARNING(
                f"database:      {routed} (STATS['DATABASE'] is {alias!r}, but the routers "
                "send tracekit's tables to " f"{routed!r}: see manage.py check)"))
