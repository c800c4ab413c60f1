"""The admin wiring: the ModelAdmin of each model tracekit shows, on Django's default site.

One place lists them all (``django_tracekit/admin.py`` imports it, where Django's admin
autodiscovery looks); each page family keeps its admin class and URLs in its own folder.
Another ``AdminSite`` registers the same classes to have the pages there too.
"""

from __future__ import annotations

from django.contrib import admin

from django_tracekit.pages.errors.errors_admin import ErrorGroupAdmin
from django_tracekit.pages.releases.navigation import Release
from django_tracekit.pages.releases.releases_admin import ReleaseAdmin
from django_tracekit.pages.traces.traces_admin import TraceAdmin
from django_tracekit.pages.usage.usage_admin import FeatureUsageAdmin
from django_tracekit.storage.trace_models import Trace
from django_tracekit.storage.usage_models import ErrorGroup, Feature

#: (model, its ModelAdmin): usage (and unused code, errors, releases routed from it),
#: the releases and error-groups index entries, the trace explorer.
ADMINS: tuple[tuple[type, type[admin.ModelAdmin]], ...] = (  # type: ignore[type-arg]
    (Feature, FeatureUsageAdmin),
    (Release, ReleaseAdmin),
    (ErrorGroup, ErrorGroupAdmin),
    (Trace, TraceAdmin),
)

for model, model_admin in ADMINS:
    admin.site.register(model, model_admin)
