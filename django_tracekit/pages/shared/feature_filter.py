"""Which features a page lists: the kinds (entry points unless a kind is chosen), the scope
(the team's code unless ``scope=all``), a search, a service; and the usage table's sort keys.

Kinds: the pages list *entry points* (requests, tasks, commands) unless a kind is chosen
(``kind=function``, ``kind=all``). Scope: only the team's features unless ``scope=all``:
code outside the project (Django's admin views, a library's tasks) is left out
(:func:`django_tracekit.core.features.outside_project`).
"""

from __future__ import annotations

from typing import cast

from django.db.models import Q, QuerySet

from django_tracekit.conf import get_config
from django_tracekit.core.features import COMMAND, FUNCTION, REQUEST, TASK, outside_project
from django_tracekit.storage.usage_models import Feature

SORTS = ("feature", "kind", "service", "calls", "errors", "error_rate", "users", "n_plus_one",
         "retries", "p50", "p95", "p99")
DEFAULT_SORT = "-calls"
ENTRY_KINDS = (REQUEST, TASK, COMMAND)
#: ``kind`` values of the page: "" (entry points, the default), a kind, or "all".
ALL = "all"
KIND_CHOICES = ("", REQUEST, TASK, COMMAND, FUNCTION, ALL)
#: ``scope`` values: "" (the team's features, the default) or "all" (code outside too).
SCOPE_CHOICES = ("", ALL)


def kinds_of(kind: str) -> tuple[str, ...] | None:
    """The feature kinds a ``kind`` value lists (None: every kind)."""
    if kind == ALL:
        return None
    return (kind,) if kind else ENTRY_KINDS


def outside_prefixes() -> list[str]:
    """The name prefixes of the recorded features whose code is outside the project."""
    names = Feature.objects.exclude(kind=REQUEST).values_list("name", flat=True).distinct()
    return outside_project(names.iterator(), get_config().project_name)


def filtered_features(q: str = "", kind: str = "", service: str = "",
                      feature_id: int | None = None, scope: str = "") -> QuerySet[Feature]:
    features = Feature.objects.all()
    if feature_id is not None:
        features = features.filter(pk=feature_id)
    elif scope != ALL:
        prefixes = outside_prefixes()
        if prefixes:
            outside = Q()
            for prefix in prefixes:
                outside |= Q(name__startswith=prefix)
            features = features.exclude(outside)
    if q:
        features = features.filter(name__icontains=q)
    kinds = None if feature_id is not None else kinds_of(kind)
    if kinds is not None:
        features = features.filter(kind__in=kinds)
    if service:
        features = features.filter(service=service)
    return cast("QuerySet[Feature]", features)


def services() -> list[str]:
    return list(Feature.objects.order_by("service").values_list("service", flat=True).distinct())
