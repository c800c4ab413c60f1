"""The admin's "Tracekit" section: feature usage (``admin:tracekit_usage``) and its detail page.

``Feature`` is registered with a read-only ModelAdmin, so the admin index lists
"Tracekit / Feature usage" for users holding ``django_tracekit.view_feature``, on any
AdminSite that registers it. The changelist URL *is* the usage page; the detail page is
``admin:tracekit_usage_feature`` (``<feature id>/usage/``). Staff without the view
permission get 403; anonymous users the admin login.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from django_tracekit.conf import get_config
from django_tracekit.core.features import KINDS
from django_tracekit.pages.errors.errors_admin import errors_view, feature_groups
from django_tracekit.pages.releases import releases_admin
from django_tracekit.pages.shared import charts, feature_filter, params
from django_tracekit.pages.shared.formats import (
    format_duration,
    format_rate,
    local_time,
    query_string,
    word_parts,
)
from django_tracekit.pages.shared.readonly import ReadOnlyAdmin
from django_tracekit.pages.shared.stats_notice import stats_notice
from django_tracekit.pages.shared.window import RANGES, Window, window_from
from django_tracekit.pages.unused import unused_page
from django_tracekit.pages.usage import statements, table, work
from django_tracekit.pages.usage.csv_export import csv_response
from django_tracekit.pages.usage.task_outcomes import task_outcomes
from django_tracekit.pages.usage.users import fill_users, users_over_time
from django_tracekit.pages.usage.versions import version_deltas, versions_table
from django_tracekit.storage.usage_models import DAY, HOUR, MINUTE, Feature

PER_PAGE = 50

_MAX_PK = 2**63 - 1  # BigAutoField


def _time_label(ts: int, resolution: int) -> str:
    moment = local_time(ts)
    if resolution == MINUTE:
        return date_format(moment, "H:i")
    if resolution == HOUR:
        return date_format(moment, "M j, H:i")
    assert resolution == DAY
    return date_format(moment, "M j")


class FeatureUsageAdmin(ReadOnlyAdmin):
    """Read-only: the data is written by the stats pipeline, never edited by hand."""

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        urls: list[Any] = [
            # Same path as the changelist, listed first: the index link opens the page.
            path("", wrap(self.usage_view), name="tracekit_usage"),
            path("<int:feature_id>/usage/", wrap(self.feature_view),
                 name="tracekit_usage_feature"),
            path("unused/", wrap(self.unused_view), name="tracekit_unused"),
            path("changes/", wrap(self.changes_view), name="tracekit_changes"),
            path("errors/", wrap(self.errors_view), name="tracekit_errors"),
        ]
        return urls + super().get_urls()

    def changelist_view(self, request: HttpRequest,
                        extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return self.usage_view(request)

    # -- pages ---------------------------------------------------------------------------
    def _check(self, request: HttpRequest) -> None:
        if not self.has_view_permission(request):
            raise PermissionDenied

    def _params(self, request: HttpRequest) -> params.UsageParams | HttpResponseBadRequest:
        try:
            return params.parse(request.GET)
        except params.UnknownFormat as exc:
            return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")

    def _context(self, request: HttpRequest, window: Window, query: params.UsageParams,
                 title: str, kinds: tuple[str, ...] = KINDS) -> dict[str, Any]:
        """The usage pages' common context; ``kinds``: the feature kinds the page shows (the
        notice says which of them are not counted in this database)."""
        values = query.values
        range_links = [
            {"key": key, "label": label, "url": query_string(values, range=key, page=None,
                                                              **{"from": None, "to": None}),
             "active": window.key == key}
            for key, (_seconds, label) in RANGES.items()
        ]
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "window": window,
            "window_from": date_format(local_time(window.start), "Y-m-d\\TH:i"),
            "window_to": date_format(local_time(window.end), "Y-m-d\\TH:i"),
            "range_links": range_links,
            "params": values,
            "problems": [*query.errors, *window.errors],
            "kinds": Feature.Kind.choices,
            "stats_notice": stats_notice(get_config(), kinds),
        }

    def _kind_tabs(self, query: params.UsageParams, kind_totals: dict[str, list[int]],
                   ) -> list[dict[str, Any]]:
        """Entry points (the default), each kind, all: with their calls and errors."""
        labels = {"request": _("Requests"), "task": _("Tasks"), "command": _("Commands"),
                  "function": _("Functions")}
        tabs = []
        for value in feature_filter.KIND_CHOICES:
            kinds = feature_filter.kinds_of(value) or tuple(Feature.Kind.values)
            calls = sum(kind_totals.get(k, (0, 0, 0))[0] for k in kinds)
            errors = sum(kind_totals.get(k, (0, 0, 0))[1] for k in kinds)
            features = sum(kind_totals.get(k, (0, 0, 0))[2] for k in kinds)
            label = (_("All") if value == feature_filter.ALL else labels[value] if value
                     else _("Entry points"))
            tabs.append({"value": value, "label": label, "active": query.kind == value,
                         "calls": number_format(calls, force_grouping=True),
                         # "All" adds functions' errors to their callers': no total there.
                         "errors": None if value == feature_filter.ALL else number_format(
                             errors, force_grouping=True),
                         "features": features,
                         "url": query_string(query.values, kind=value or None, page=None)})
        return tabs

    def usage_view(self, request: HttpRequest) -> HttpResponse:
        self._check(request)
        query = self._params(request)
        if isinstance(query, HttpResponse):
            return query
        window = window_from(query.values)
        q, kind, service, sort = query.q, query.kind, query.service, query.sort
        kind_totals: dict[str, list[int]] = {}
        rows = table.feature_table(window, q, kind, service, sort, kind_totals=kind_totals,
                                     scope=query.scope, percentiles=query.format == "csv")
        if query.format == "csv":
            return csv_response(window, rows)
        paginator = Paginator(rows, PER_PAGE)
        page = paginator.get_page(query.page)
        page_rows: list[dict[str, Any]] = list(page.object_list)
        table.fill_percentiles(window, page_rows)
        fill_users(window, page_rows)
        labels = [_time_label(t, window.resolution) for t in window.points]
        series = table.series_by_feature(window, [r["id"] for r in page_rows])
        for row in page_rows:
            row["p50_text"], row["p95_text"], row["p99_text"] = (
                format_duration(row[p]) for p in ("p50", "p95", "p99"))
            row["error_rate_text"] = format_rate(row["error_rate"])
            # Break opportunities after each "/", ".", "_" and "-": a long route, code path
            # or service wraps between its words, not in the middle of one (and the table
            # fits beside the admin's sidebar: a long last segment no longer sets its width).
            row["name_parts"] = word_parts(row["name"])
            row["service_parts"] = word_parts(row["service"])
            for key in ("calls", "errors", "users", "n_plus_one", "retries"):
                row[f"{key}_text"] = number_format(row[key] or 0, force_grouping=True)
            trend_title = _("Calls over time: %(feature)s") % {"feature": row["name"]}
            row["trend"] = charts.sparkline(series.get(row["id"], []), trend_title)
        # Headline: incidents. Entry points unless one kind is chosen (feature_filter).
        headline_kind = kind if kind in Feature.Kind.values else ""
        totals = table.totals_over_time(
            window, feature_filter.filtered_features(q, headline_kind, service, scope=query.scope))
        total_calls = sum(c for _, c, _ in totals)
        total_errors = sum(e for _, _, e in totals)
        columns = [("feature", _("Feature")), ("kind", _("Kind")), ("service", _("Service")),
                   ("calls", _("Calls")), ("users", _("Users")),
                   ("errors", _("Raised") if kind == "function" else _("Errors")),
                   ("error_rate", _("Error rate")), ("p50", _("p50")), ("p95", _("p95")),
                   ("p99", _("p99")), ("n_plus_one", _("N+1"))]
        show_retries = kind == "task"  # the task tab: retried attempts beside the tasks
        if show_retries:
            columns.append(("retries", _("Retries")))
        headers = []
        for key, label in columns:
            active = sort.lstrip("-") == key
            descending = sort.startswith("-")
            # Numbers sort biggest first on the first click, text A→Z.
            first = key if key in ("feature", "kind", "service") else f"-{key}"
            target = (key if descending else f"-{key}") if active else first
            headers.append({"key": key, "label": label, "active": active,
                            "descending": descending,
                            "url": query_string(query.values, sort=target, page=None),
                            "numeric": key not in ("feature", "kind", "service")})
        context = self._context(request, window, query, _("Feature usage"))
        context.update({
            "outside_notice": _outside_notice(q, service, query.scope),
            "rows": page_rows, "page": page, "paginator": paginator, "headers": headers,
            "show_retries": show_retries,
            "total_features": number_format(len(rows), force_grouping=True),
            "total_calls": number_format(total_calls, force_grouping=True),
            "total_errors": number_format(total_errors, force_grouping=True),
            "total_error_rate": format_rate(total_errors / total_calls if total_calls else 0),
            "headline_label": (dict(Feature.Kind.choices)[headline_kind] if headline_kind
                               else _("entry points")),
            # A function's errors escaped it, handled or not (its column says "Raised").
            "errors_heading": _("Raised") if headline_kind == "function" else _("Errors"),
            "kind_tabs": self._kind_tabs(query, kind_totals),
            "services": feature_filter.services(), "q": q, "kind": kind, "service": service,
            "chart": charts.bar_chart(labels, [c for _, c, _ in totals], [e for _, _, e in totals],
                                   _("Calls and errors over time"), _("calls"), _("errors")),
            "page_query": query_string(query.values, page=None),
            "unused_query": query_string({k: v for k, v in query.values.items()
                                           if k in ("range", "from", "to", "service")}),
            "scope": query.scope,
            "scope_url": query_string(query.values, page=None,
                                       scope=None if query.scope else feature_filter.ALL),
        })
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/django_tracekit/usage.html", context)

    def errors_view(self, request: HttpRequest) -> HttpResponse:
        return errors_view(self, request)

    def unused_view(self, request: HttpRequest) -> HttpResponse:
        """Auto-traced functions with no call in the range (``pages/unused/``)."""
        self._check(request)
        return unused_page.unused_view(self, request, self._context)

    def changes_view(self, request: HttpRequest) -> HttpResponse:
        return releases_admin.changes_view(self, request)

    def _versions(self, window: Window, feature_id: int) -> list[dict[str, Any]]:
        """The versions table, latest first, with the latest's change against the previous."""
        versions = versions_table(window, feature_id)
        for n, v in enumerate(versions):
            v["calls_text"] = number_format(v["calls"], force_grouping=True)
            v["users_text"] = number_format(v["users"], force_grouping=True)
            v["error_rate_text"] = format_rate(v["error_rate"])
            v["p50_text"], v["p95_text"] = format_duration(v["p50"]), format_duration(v["p95"])
            v["first_text"] = date_format(local_time(v["first"]), "M j, H:i")
            v["last_text"] = date_format(local_time(min(v["last"], window.end)), "M j, H:i")
            v["latest"] = n == 0
        if len(versions) > 1:
            versions[0]["deltas"] = version_deltas(versions[0], versions[1])
        return versions

    def feature_view(self, request: HttpRequest, feature_id: int) -> HttpResponse:
        self._check(request)
        if feature_id > _MAX_PK:  # Django 4.2 passes it to the database, which overflows
            raise Http404("No such feature.")
        feature = get_object_or_404(Feature, pk=feature_id)
        query = self._params(request)
        if isinstance(query, HttpResponse):
            return query
        window = window_from(query.values)
        labels = [_time_label(t, window.resolution) for t in window.points]
        totals = table.totals_over_time(window, Feature.objects.filter(pk=feature.pk))
        latency = table.latency_over_time(window, feature.pk)
        (row,) = table.feature_table(window, feature_id=feature.pk)
        table.fill_percentiles(window, [row])
        fill_users(window, [row])
        users = users_over_time(window, feature.pk)
        versions = self._versions(window, feature.pk)
        calls = [c for _, c, _ in totals]
        # A function's "errors" are the exceptions that escaped it, handled by its caller or
        # not (an incident is counted by its entry point and its error group): "raised".
        raised = feature.kind == "function"
        context = self._context(request, window, query, feature.name, (feature.kind,))
        context.update({
            "feature": feature,
            "row": row,
            "calls_text": number_format(row["calls"], force_grouping=True),
            "errors_text": number_format(row["errors"], force_grouping=True),
            "errors_label": _("Raised") if raised else _("Errors"),
            "error_rate_text": format_rate(row["error_rate"]),
            "p50_text": format_duration(row["p50"]), "p95_text": format_duration(row["p95"]),
            "p99_text": format_duration(row["p99"]),
            "avg_text": format_duration(row["avg_us"]), "max_text": format_duration(
                row["max_us"] if row["calls"] else None),
            "users_text": number_format(row["users"] or 0, force_grouping=True),
            "n_plus_one_text": number_format(row["n_plus_one"], force_grouping=True),
            **task_outcomes(row), "statements": statements.section(request, feature),
            "users_chart": charts.line_chart(
                labels, [(_("users"), "tk-users", [float(n) for _, n in users])],
                _("Distinct users over time"), charts.fmt_count),
            "versions": versions,
            "usage_chart": charts.bar_chart(labels, calls, [e for _, _, e in totals],
                                         _("Calls and errors over time"), _("calls"),
                                         _("raised") if raised else _("errors")),
            "latency_chart": charts.line_chart(labels, [
                ("p50", "tk-p50", [v[0] for _, v in latency]),
                ("p95", "tk-p95", [v[1] for _, v in latency]),
                ("p99", "tk-p99", [v[2] for _, v in latency]),
            ], _("Latency percentiles over time"), format_duration),
            **work.context(request, feature, window, versions, self.admin_site.name),
            **(groups := feature_groups(request, window, feature, self.admin_site.name)),
            "recorded_in_ok_calls": _recorded_in_ok_calls(feature, row, groups),
            # Messages and stacks (captured locals, SQL) are trace data: view_trace only.
            "can_view_traces": request.user.has_perm("django_tracekit.view_trace"),
            "usage_url_query": query_string({k: v for k, v in query.values.items()
                                              if k in ("range", "from", "to")}),
        })
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/django_tracekit/usage_feature.html", context)


def _outside_notice(q: str, service: str, scope: str) -> dict[str, Any] | None:
    """When the default view hides all or most features (of every kind) as outside code
    (PROJECT_NAME names the settings package, not the team's: W041), say how many."""
    if scope == feature_filter.ALL:
        return None
    every = feature_filter.ALL
    total = feature_filter.filtered_features(q, every, service, scope=every).count()
    shown = feature_filter.filtered_features(q, every, service).count() if total else 0
    hidden = total - shown
    if not hidden or hidden < shown:
        return None
    return {"hidden": hidden, "count": number_format(hidden, force_grouping=True),
            "project": get_config().project_name}


def _recorded_in_ok_calls(feature: Feature, row: dict[str, Any],
                          groups: dict[str, Any]) -> str:
    """An entry point's errors count failed calls; its error groups count incidents, also
    those recorded in calls that did not fail (``logger.exception`` in a task that then
    returned): say how many, so the two numbers do not look contradictory."""
    if feature.kind == "function":
        return ""
    extra = sum(g.count for g in groups.get("error_groups") or ()) - int(row["errors"] or 0)
    if extra <= 0:
        return ""
    return ngettext(
        "%(n)s error was recorded (logger.exception, record_error) in calls that did not "
        "fail: counted in its group, not as a failed call.",
        "%(n)s errors were recorded (logger.exception, record_error) in calls that did not "
        "fail: counted in their groups, not as failed calls.", extra) % {
        "n": number_format(extra, force_grouping=True)}

