"""The admin wiring: the ModelAdmin of each model tracekit shows, on Django's default site.

One place lists them all (``django_tracekit/admin.py`` imports it, where Django's admin
autodiscovery looks); each page family keeps its admin class and URLs in its own folder.
What is registered is a stand-in (:mod:`django_tracekit.pages.deferred`) naming that class
and its URLs: the family's code is imported when the admin first needs it, not at start-up.
Another ``AdminSite`` registers the same classes to have the pages there too.
"""

from __future__ import annotations

from django.contrib import admin

from django_tracekit.pages.deferred import DeferredAdmin, Route
from django_tracekit.pages.releases.navigation import Release
from django_tracekit.storage.trace_models import Trace
from django_tracekit.storage.usage_models import ErrorGroup, Feature


class FeatureUsagePages(DeferredAdmin):
    real_admin = "django_tracekit.pages.usage.usage_admin.FeatureUsageAdmin"
    routes = (
        Route("", "usage_view", "tracekit_usage"),
        Route("<int:feature_id>/usage/", "feature_view", "tracekit_usage_feature"),
        Route("unused/", "unused_view", "tracekit_unused"),
        Route("changes/", "changes_view", "tracekit_changes"),
        Route("errors/", "errors_view", "tracekit_errors"),
    )


class ReleasePages(DeferredAdmin):
    real_admin = "django_tracekit.pages.releases.releases_admin.ReleaseAdmin"
    # Only the changelist: a release is not an object with pages of its own.
    routes = (Route("", "changelist_view", "django_tracekit_release_changelist"),)
    admin_urls = False


class ErrorGroupPages(DeferredAdmin):
    real_admin = "django_tracekit.pages.errors.errors_admin.ErrorGroupAdmin"


class TracePages(DeferredAdmin):
    real_admin = "django_tracekit.pages.traces.traces_admin.TraceAdmin"
    routes = (
        Route("", "list_view", "tracekit_traces"),
        Route("<str:trace_id>/", "trace_view", "tracekit_trace"),
    )


#: (model, its ModelAdmin): usage (and unused code, errors, releases routed from it),
#: the releases and error-groups index entries, the trace explorer.
ADMINS: tuple[tuple[type, type[admin.ModelAdmin]], ...] = (  # type: ignore[type-arg]
    (Feature, FeatureUsagePages),
    (Release, ReleasePages),
    (ErrorGroup, ErrorGroupPages),
    (Trace, TracePages),
)

for model, model_admin in ADMINS:
    admin.site.register(model, model_admin)
