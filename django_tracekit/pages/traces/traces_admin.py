"""The trace explorer: ``admin:tracekit_traces`` (list) and ``admin:tracekit_trace``
(one trace as a waterfall), for staff holding ``django_tracekit.view_trace``.

``Trace`` is registered with a read-only ModelAdmin, so the admin index lists
"Tracekit / Traces" for users holding the permission; the changelist URL *is* the list
page, and the admin's own change page of a trace redirects to its waterfall. Staff without
the permission get 403; anonymous users the admin login.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse

from django_tracekit.pages.shared.readonly import ReadOnlyAdmin
from django_tracekit.pages.traces import views
from django_tracekit.storage.trace_models import Trace


class TraceAdmin(ReadOnlyAdmin):
    """Read-only: traces are written by the trace store, never edited by hand."""

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        urls: list[Any] = [
            # Same path as the changelist, listed first: the index link opens the page.
            path("", wrap(self.list_view), name="tracekit_traces"),
            # Any segment: a malformed id gets the explained 404, not the admin's redirect.
            path("<str:trace_id>/", wrap(self.trace_view), name="tracekit_trace"),
        ]
        return urls + super().get_urls()

    def _check(self, request: HttpRequest) -> None:
        if not self.has_view_permission(request):
            raise PermissionDenied

    def list_view(self, request: HttpRequest) -> HttpResponse:
        self._check(request)
        return views.trace_list(self, request)

    def trace_view(self, request: HttpRequest, trace_id: str) -> HttpResponse:
        self._check(request)
        return views.trace_detail(self, request, trace_id)

    def changelist_view(self, request: HttpRequest,
                        extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return self.list_view(request)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """The admin's own object URLs (``<pk>/change/``) lead to the waterfall."""
        self._check(request)
        trace = Trace.objects.filter(pk=object_id).first() if object_id.isdigit() and len(
            object_id) < 19 else None
        if trace is None:
            return views.not_found(self, request, object_id[:64], malformed=True)
        return HttpResponseRedirect(reverse("admin:tracekit_trace", args=[trace.trace_id],
                                            current_app=self.admin_site.name))
