"""The error-groups page (``admin:tracekit_errors``) and the feature page's grouped errors.

One row per group (exception type + in-app raise location, ``fingerprint.py``): its count in
the chosen range, the entry points it was raised under (links to their feature pages),
first and last seen, a trend, and, for users who may read traces (``view_trace``), example
messages, the newest stack and links to the latest kept trace and to all its kept traces.
Counts need ``view_feature`` (checked by the usage admin that routes here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

from django_tracekit.conf import get_config
from django_tracekit.core.features import FUNCTION
from django_tracekit.pages.errors import group_queries as queries
from django_tracekit.pages.shared import charts
from django_tracekit.pages.shared.feature_filter import services
from django_tracekit.pages.shared.formats import local_time, query_string
from django_tracekit.pages.shared.params import clean
from django_tracekit.pages.shared.readonly import ReadOnlyAdmin
from django_tracekit.pages.shared.window import Window, window_from
from django_tracekit.pages.traces.views import kept_trace_urls
from django_tracekit.storage.usage_models import DAY, Feature

if TYPE_CHECKING:
    from django_tracekit.pages.usage.usage_admin import FeatureUsageAdmin

PER_PAGE = 50
TRACE_PERMISSION = "django_tracekit.view_trace"


def _seen(seconds: float) -> str:
    return date_format(local_time(seconds), "DATETIME_FORMAT")


def decorate(request: HttpRequest, window: Window, rows: list[queries.GroupRow],
             current_app: str, *, feature_ids: list[int] | None = None,
             range_query: str = "") -> bool:
    """Add what the templates show to ``rows`` (texts, links, trend, examples when the user
    may read traces); returns whether they may."""
    may_read = request.user.has_perm(TRACE_PERMISSION)
    points = queries.fill_series(window, rows, feature_ids)
    # Examples give the trace ids (links) to everyone; their messages and stacks are trace
    # content, put in the page only for users who may read traces.
    queries.fill_examples(rows, feature_ids=feature_ids)
    kept = kept_trace_urls(request, [e.trace_id for r in rows for e in r.examples],
                           current_app)
    names = dict(Feature.objects.filter(
        pk__in={f for r in rows for f in r.features}).values_list("pk", "name")) \
        if rows else {}
    kinds = dict(Feature.objects.filter(pk__in=list(names)).values_list("pk", "kind")) \
        if names else {}
    daily = len(points) > 1 and points[1] - points[0] >= DAY
    step = "M j" if daily else "M j, H:i"
    traces_url = reverse("admin:tracekit_traces", current_app=current_app) if may_read else ""
    backend_url = get_config().trace_url  # TRACE_URL: the team's trace backend, if any
    for row in rows:
        group = row.group
        # Groups are counted per hour (or day): the title names the bucket, so two bars on
        # "Last hour" read as "this many in each of these hours", not as minutes.
        title = (_("Errors per day: %(type)s") if daily
                 else _("Errors per hour: %(type)s")) % {"type": group.type}
        if points:
            title += (f" ({date_format(local_time(points[0]), step)} – "  # noqa: RUF001
                      f"{date_format(local_time(points[-1]), step)})")
        row.view = {
            "count": number_format(row.count, force_grouping=True),
            "first_seen": _seen(group.first_seen), "last_seen": _seen(group.last_seen),
            "entry_points": [
                {"name": names.get(fid, "?"), "kind": kinds.get(fid, ""),
                 "count": number_format(n, force_grouping=True),
                 "url": reverse("admin:tracekit_usage_feature", args=[fid],
                                current_app=current_app) + range_query}
                for fid, n in sorted(row.features.items(), key=lambda item: -item[1])],
            "trend": charts.sparkline(row.series, title),
            "latest_trace": next(((e.trace_id, kept[e.trace_id]) for e in row.examples
                                  if e.trace_id in kept), None),
            # The newest example's trace in the backend (kept here or not).
            "trace_url": next((backend_url.replace("{trace_id}", e.trace_id)
                               for e in row.examples if e.trace_id), "") if backend_url else "",
            "traces_url": (f"{traces_url}?{urlencode({'group': group.fingerprint})}"
                           if traces_url else ""),
            # Distinct messages (the newest of each): five copies of one message say less.
            "examples": [{"message": e.message, "time": _seen(e.time // 1_000_000)}
                         for e in _distinct_messages(row.examples)] if may_read else [],
            "stack": next((e.stacktrace for e in row.examples if e.stacktrace), "")
            if may_read else "",
        }
    return may_read


def errors_view(admin: FeatureUsageAdmin, request: HttpRequest) -> HttpResponse:
    """``admin:tracekit_errors``: every error group with occurrences in the range."""
    admin._check(request)
    query = admin._params(request)
    if isinstance(query, HttpResponse):
        return query
    window = window_from(query.values)
    sort = clean(request.GET.get("sort") or "") or queries.DEFAULT_SORT
    if sort.lstrip("-") not in queries.SORTS:
        sort = queries.DEFAULT_SORT
    rows = queries.group_rows(window, query.q, query.service, sort=sort)
    paginator = Paginator(rows, PER_PAGE)
    page = paginator.get_page(query.page)
    page_rows: list[queries.GroupRow] = list(page.object_list)
    values = {**query.values, "sort": sort if sort != queries.DEFAULT_SORT else ""}
    range_query = query_string({k: v for k, v in query.values.items()
                                if k in ("range", "from", "to")})
    may_read = decorate(request, window, page_rows, admin.admin_site.name,
                        range_query=range_query)
    headers = []
    for key, label in (("type", _("Error")), ("count", _("Count")),
                       ("entry_points", _("Entry points")), ("first_seen", _("First seen")),
                       ("last_seen", _("Last seen"))):
        active = sort.lstrip("-") == key
        descending = sort.startswith("-")
        first = key if key == "type" else f"-{key}"
        target = (key if descending else f"-{key}") if active else first
        headers.append({"key": key, "label": label, "active": active,
                        "descending": descending, "numeric": key == "count",
                        "url": query_string(values, sort=target, page=None)})
    start, end, _resolution = queries.hours_of(window)
    # Error groups are counted whatever STATS['KINDS']: no kind is missing here.
    context = admin._context(request, window, query, _("Error groups"), ())
    context.update({
        "rows": page_rows, "page": page, "paginator": paginator, "headers": headers,
        "may_read": may_read, "q": query.q, "service": query.service,
        "services": services(),
        "total_groups": number_format(len(rows), force_grouping=True),
        "total_errors": number_format(sum(r.count for r in rows), force_grouping=True),
        "widened": start != window.start or end != window.end,
        "page_query": query_string(values, page=None),
        "range_query": range_query,
    })
    request.current_app = admin.admin_site.name
    return TemplateResponse(request, "admin/django_tracekit/errors.html", context)


def feature_groups(request: HttpRequest, window: Window, feature: Feature,
                   current_app: str) -> dict[str, Any]:
    """The feature page's errors, grouped: for an entry point, the groups raised under it;
    for a function, the groups raised in it."""
    if feature.kind == FUNCTION:
        rows = queries.group_rows(window, location=feature.name)
        ids = None
    else:
        ids = [feature.pk]
        rows = queries.group_rows(window, feature_ids=ids)
    rows = rows[:20]
    may_read = decorate(request, window, rows, current_app, feature_ids=ids)
    errors_url = reverse("admin:tracekit_errors", current_app=current_app)
    return {"error_groups": rows, "error_groups_may_read": may_read,
            "error_groups_url": errors_url}


class ErrorGroupAdmin(ReadOnlyAdmin):
    """Lists "Error groups" in the admin's Tracekit section (for ``view_feature``); its
    changelist is the errors page."""

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return bool(request.user.has_perm("django_tracekit.view_feature"))

    def changelist_view(self, request: HttpRequest,
                        extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:tracekit_errors",
                                            current_app=self.admin_site.name))


def _distinct_messages(examples: list[Any]) -> list[Any]:
    seen: set[str] = set()
    distinct = []
    for example in examples:
        if example.message not in seen:
            seen.add(example.message)
            distinct.append(example)
    return distinct
