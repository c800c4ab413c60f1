"""Auto-tracing as an integration: the team's own functions, by exclusion (a source)."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.checks import CheckMessage

from django_tracekit.integrations.base import Integration
from django_tracekit.sources.autotrace.checks import (
    NOTHING_INCLUDED,
    check_autotrace,
    nothing_included,
)


class AutotraceIntegration(Integration):
    identifier = "autotrace"
    role = "source"
    # The import hook must be in place before the other apps import the project's modules.
    phase = "import"

    def refusal(self) -> str | None:
        include = self.config.autotrace.include
        if include is not None and not include:
            return "TRACEKIT['AUTOTRACE']['INCLUDE'] is []"
        if include is None and self._no_project_folder():
            return NOTHING_INCLUDED
        return super().refusal()

    def _no_project_folder(self) -> bool:
        from django_tracekit.core.project import project_root

        return project_root() is None

    def checks(self) -> Sequence[CheckMessage]:
        config = self.config
        if (config.enabled and not config.errors and config.autotrace.include is None
                and self._no_project_folder()):
            return [nothing_included()]
        return check_autotrace()  # W030/W031: what was not instrumented, and why

    def setup_once(self) -> None:
        from django_tracekit.sources import autotrace

        autotrace.install(self.config)
