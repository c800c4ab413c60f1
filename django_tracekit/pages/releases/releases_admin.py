"""``admin:tracekit_changes``: two ``service.version``\\ s compared across all features.

``?before=&after=`` choose the versions (default: the newest by first seen, and the one
before it); ``?service=`` and ``?kind=`` narrow the features. Needs
``django_tracekit.view_feature`` (counts only: no messages, no SQL). The numbers and the
regression score are :mod:`django_tracekit.pages.releases.compare`'.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from django_tracekit.pages.releases import compare
from django_tracekit.pages.shared import feature_filter, params, significance
from django_tracekit.pages.shared.formats import (
    format_duration,
    format_rate,
    local_time,
    name_parts,
)
from django_tracekit.pages.shared.readonly import ReadOnlyAdmin
from django_tracekit.storage.usage_models import Feature

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

MAX_ROWS = 200  # per table: the worst first
NAMES = {"before": gettext_lazy("earlier version"), "after": gettext_lazy("later version"),
         "service": gettext_lazy("service"), "kind": gettext_lazy("kind")}


def _side_text(side: dict[str, Any] | None) -> dict[str, str] | None:
    if side is None:
        return None
    return {"calls": number_format(side["calls"], force_grouping=True),
            "error_rate": format_rate(side["error_rate"]), "p95": format_duration(side["p95"])}


def choose(values: dict[str, str], known: list[dict[str, Any]],
           problems: list[str]) -> tuple[str, str]:
    """The (before, after) pair: the parameters when they name known versions, else the
    default (the newest, and the one before it)."""
    names = [v["version"] for v in known]
    after = values.get("after", "")
    if after and after not in names:
        problems.append(_("No version %(version)s was recorded; showing the newest.")
                        % {"version": after})
        after = ""
    after = after or (names[0] if names else "")
    before = values.get("before", "")
    if before and before not in names:
        problems.append(_("No version %(version)s was recorded; showing the one before.")
                        % {"version": before})
        before = ""
    if not before:
        later = names.index(after) + 1 if after in names else len(names)
        before = names[later] if later < len(names) else ""
    return before, after


def changes_view(model_admin: ModelAdmin[Feature], request: HttpRequest) -> HttpResponse:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    values, problems = params.clean_values(request.GET, NAMES)
    known = compare.versions()
    before, after = choose(values, known, problems)
    # Like the usage page: entry points unless a kind (or "all") is chosen.
    kind = values.get("kind", "")
    if kind and kind != feature_filter.ALL and kind not in Feature.Kind.values:
        problems.append(_("Unknown kind; showing the entry points."))
        kind = ""
    service = values.get("service", "")
    result: dict[str, list[dict[str, Any]]] = {"changed": [], "new": [], "vanished": []}
    if before and after and before != after:
        result = compare.compare(before, after, service, feature_filter.kinds_of(kind))
    for rows in result.values():
        for row in rows[:MAX_ROWS]:  # texts only for the rows shown
            row["before_text"] = _side_text(row["before"])
            row["after_text"] = _side_text(row["after"])
            row["score_text"] = f"{row['score']:+.0f}" if row["score"] else "0"
            row["name_parts"] = name_parts(row["name"])
    changed = result["changed"]
    seen = {v["version"]: v for v in known}
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("What changed in a release"),
        "opts": model_admin.model._meta,
        "versions": [{**v, "first_text": date_format(local_time(v["first"]), "DATETIME_FORMAT"),
                      "last_text": date_format(local_time(v["last"]), "DATETIME_FORMAT")}
                     for v in known],
        "before": before, "after": after,
        "before_seen": seen.get(before), "after_seen": seen.get(after),
        "service": service, "services": feature_filter.services(), "kind": kind,
        "kinds": Feature.Kind.choices,
        "problems": problems,
        "changed": changed[:MAX_ROWS], "new": result["new"][:MAX_ROWS],
        "vanished": result["vanished"][:MAX_ROWS],
        "counts": {
            "regressed": sum(1 for r in changed if r["score"] > 0),
            "improved": sum(1 for r in changed if r["score"] < 0),
            "unchanged": sum(1 for r in changed if not r["score"]),
            "new": len(result["new"]), "vanished": len(result["vanished"]),
        },
        "truncated": {k: len(v) > MAX_ROWS for k, v in result.items()},
        "max_rows": MAX_ROWS,
        "relative_error": f"{significance.estimator_relative_error() * 100:.2f}",
        "latency_weight": f"{compare.LATENCY_WEIGHT:g}",
    }
    for version in (context["before_seen"], context["after_seen"]):
        if version is not None:
            version["first_text"] = date_format(local_time(version["first"]), "DATETIME_FORMAT")
            version["last_text"] = date_format(local_time(version["last"]), "DATETIME_FORMAT")
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/django_tracekit/changes.html", context)


class ReleaseAdmin(ReadOnlyAdmin):
    """The index and sidebar entry: its changelist is the releases page."""

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return bool(request.user.has_perm("django_tracekit.view_feature"))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def changelist_view(self, request: HttpRequest,
                        extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return changes_view(self, request)

    def get_urls(self) -> list[URLPattern]:
        # Only the changelist: a release is not an object with pages of its own.
        return [path("", self.admin_site.admin_view(self.changelist_view),
                     name="django_tracekit_release_changelist")]
