"""The trace explorer: ``admin:tracekit_traces`` (list) and ``admin:tracekit_trace``
(one trace as a waterfall), for staff holding ``django_tracekit.view_trace``."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from django_tracekit.traces.models import Trace


@admin.register(Trace)
class TraceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: traces are written by the trace store, never edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
