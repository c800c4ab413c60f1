"""A page family registered in the admin without importing it (issue 24: worker memory and
start-up).

A worker that never serves the admin (most web workers, every Celery worker) and
``manage.py check`` never import the pages' code (views, queries, charts, the trace
waterfall) nor what it imports. The stand-in registered on the admin site knows its
family's URLs (:class:`Route`: route, the real ModelAdmin's method, URL name), so building
the URLconf, reversing an admin URL (tracekit's own-page prefixes, check W023) and Django's
URL checks load nothing. The real ModelAdmin, for the same model and site, is made on first
use: a request to one of the family's pages, or the admin asking for its permissions (the
index, the sidebar). Every view and permission is the real one's.

``tests/reports/test_deferred.py`` holds each stand-in's URLs to its real class's
``get_urls()``: a route added there and not here fails it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

from django.contrib import admin
from django.contrib.admin.sites import AdminSite
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils.module_loading import import_string

from django_tracekit.pages.shared.readonly import ReadOnlyAdmin

_lock = threading.Lock()


class Route(NamedTuple):
    route: str
    view: str  # the name of the real ModelAdmin's method
    name: str


class DeferredAdmin(ReadOnlyAdmin):
    #: Dotted path of the real ModelAdmin.
    real_admin: ClassVar[str]
    #: The family's own URLs, before the ModelAdmin's (same order as the real get_urls()).
    routes: ClassVar[tuple[Route, ...]] = ()
    #: Whether the ModelAdmin's own URLs (changelist, add, change, ...) follow ``routes``.
    admin_urls: ClassVar[bool] = True

    def __init__(self, model: type[Model], admin_site: AdminSite) -> None:
        super().__init__(model, admin_site)
        self._real: admin.ModelAdmin | None = None  # type: ignore[type-arg]

    def real(self) -> admin.ModelAdmin:  # type: ignore[type-arg]
        """The family's ModelAdmin for this model and site (imported on the first call)."""
        real = self._real
        if real is None:
            with _lock:
                if self._real is None:
                    self._real = import_string(self.real_admin)(self.model, self.admin_site)
                real = self._real
        return real

    def _deferred_view(self, method: str) -> Callable[..., HttpResponse]:
        def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response: HttpResponse = getattr(self.real(), method)(request, *args, **kwargs)
            return response

        module, _, cls = self.real_admin.rpartition(".")
        view.__name__, view.__qualname__, view.__module__ = method, f"{cls}.{method}", module
        return view

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        urls: list[Any] = [path(route.route, wrap(self._deferred_view(route.view)),
                                name=route.name) for route in self.routes]
        return urls + (super().get_urls() if self.admin_urls else [])

    # The ModelAdmin's own views (what its get_urls() wraps) and every permission: the
    # real admin's.
    def changelist_view(self, request: HttpRequest,
                        extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return self.real().changelist_view(request, extra_context)

    def add_view(self, request: HttpRequest, form_url: str = "",
                 extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return self.real().add_view(request, form_url, extra_context)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return self.real().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request: HttpRequest, object_id: str,
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return self.real().delete_view(request, object_id, extra_context)

    def history_view(self, request: HttpRequest, object_id: str,
                     extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return self.real().history_view(request, object_id, extra_context)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(self.real().has_module_permission(request))

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return bool(self.real().has_view_permission(request, obj))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(self.real().has_add_permission(request))

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return bool(self.real().has_change_permission(request, obj))

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return bool(self.real().has_delete_permission(request, obj))
