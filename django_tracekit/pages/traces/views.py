"""The trace explorer's pages (wired into the admin by ``traces/admin.py``): the list of kept
traces with its filters, and one trace as a waterfall.

Everything is rendered on the server (the page works without JavaScript; ``trace.js`` adds
collapse and search). Every value reaches the page escaped: through the templates'
autoescaping, and for the waterfall's rows through ``render.py``.

The list's pager counts the matching rows: the store holds at most ``MAX_TRACES`` (20,000 by
default), and a COUNT over 20,000 rows takes 0.1 ms on SQLite (1 ms with a duration or
service filter, which scan them), so no estimate is needed.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

from django_tracekit.conf import get_config
from django_tracekit.core.links import external_url
from django_tracekit.pages.shared.feature_filter import services as feature_services
from django_tracekit.pages.shared.window import RANGES, window_from
from django_tracekit.pages.traces import filters, outcome, render, summary, users, waterfall
from django_tracekit.pages.traces.reasons import kept_reasons
from django_tracekit.storage.trace_models import Trace, TraceSpan
from django_tracekit.storage.usage_models import Feature

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

PER_PAGE = 50
#: The ``slow`` rule's window (destinations/traces/keep.py ``WINDOW_NS``; a test checks they
#: agree): windows start at multiples of it since the epoch, so the current one's end is
#: known here without asking the store.
SLOW_WINDOW_S = 600
_NAME_BATCH = 500  # names per IN (...) of the feature lookup (SQLite's variable limit)


def local_time(us: int) -> dt.datetime:
    return timezone.localtime(dt.datetime.fromtimestamp(us / 1e6, tz=dt.timezone.utc))


def slow_window_end(now_s: float | None = None) -> dt.datetime:
    """When the current 10-minute window of the ``slow`` rule ends (local time): its
    slowest traces are chosen then, at each process's next write."""
    now = time.time() if now_s is None else now_s
    end = (int(now) // SLOW_WINDOW_S + 1) * SLOW_WINDOW_S
    return timezone.localtime(dt.datetime.fromtimestamp(end, tz=dt.timezone.utc))


def _query_string(values: dict[str, str], **changes: str | None) -> str:
    merged = {**values, **changes}
    return "?" + urlencode({k: v for k, v in merged.items() if v})


def _base_context(model_admin: ModelAdmin[Trace], request: HttpRequest,
                  title: str) -> dict[str, Any]:
    return {**model_admin.admin_site.each_context(request), "title": title,
            "opts": model_admin.model._meta}


def trace_list(model_admin: ModelAdmin[Trace], request: HttpRequest) -> HttpResponse:
    query = filters.parse(request.GET)
    problems = list(query.errors)
    found = filters.traces(query)
    if query.trace_id:
        if found.exists():
            return HttpResponseRedirect(reverse("admin:tracekit_trace", args=[query.trace_id],
                                                current_app=model_admin.admin_site.name))
        problems.append(_("No kept trace has the id %(id)s: only traces with an error, the "
                          "slowest of each feature and a sample are kept, for a limited "
                          "time.") % {"id": query.trace_id})
    paginator = Paginator(found, PER_PAGE)
    page = paginator.get_page(query.page)
    traces = list(page.object_list)
    summaries = summary.of_traces([t.pk for t in traces])
    names = users.usernames(request, (t.user_id for t in traces))
    rows = []
    for trace in traces:
        services = [s for s in trace.services.split(",") if s]
        classes = waterfall.service_classes(services)
        rows.append({
            "trace": trace, "time": local_time(trace.start_us),
            "duration": waterfall.format_us(trace.duration_us),
            "services": [(s, classes[s]) for s in services],
            "reasons": kept_reasons(trace.reasons),
            "user_name": names.get(trace.user_id, ""),
            "spans": number_format(trace.span_count, force_grouping=True),
            "error": summaries[trace.pk].message if trace.pk in summaries else "",
            "outcome": summaries[trace.pk].outcome if trace.pk in summaries
            else outcome.Outcome(),
        })
    values = query.values
    window = query.window or window_from({})
    range_links = [{"key": filters.ALL, "label": _("All kept"), "active": query.window is None,
                    "url": _query_string(values, range=None, page=None,
                                         **{"from": None, "to": None})}]
    range_links += [{"key": key, "label": label, "active": window.key == key and
                     query.window is not None,
                     "url": _query_string(values, range=key, page=None,
                                          **{"from": None, "to": None})}
                    for key, (_seconds, label) in RANGES.items()]
    context = _base_context(model_admin, request, _("Traces"))
    context.update({
        "rows": rows, "page": page, "paginator": paginator,
        "total": number_format(paginator.count, force_grouping=True),
        "filters": query, "params": values, "problems": problems,
        "range_links": range_links,
        "window_from": date_format(timezone.localtime(
            dt.datetime.fromtimestamp(window.start, tz=dt.timezone.utc)), "Y-m-d\\TH:i"),
        "window_to": date_format(timezone.localtime(
            dt.datetime.fromtimestamp(window.end, tz=dt.timezone.utc)), "Y-m-d\\TH:i"),
        "statuses": [("error", _("Failed (the entry point)")),
                     ("handled", _("Handled error only")), ("ok", _("OK"))],
        "store_empty": not rows and not Trace.objects.exists(),
        "reasons": [("error", _("error")), ("slow", _("slow")), ("n_plus_one", _("N+1")),
                    ("sample", _("sample"))],
        "services": feature_services(),
        "min_ms": values.get("min_ms", ""),
        "store_enabled": get_config().traces.enabled,
        "slow_window_end": slow_window_end(),
        "flush_interval_s": get_config().stats.flush_interval_s,
        "slow_wanted": query.reason == "slow" or query.sort == "-duration",
        "page_query": _query_string(values, page=None),
        "filtered": any(k in values for k in ("status", "feature", "min_ms", "service",
                                              "user", "reason", "range")),
    })
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/django_tracekit/trace_list.html", context)


def _feature_urls(request: HttpRequest, keys: set[tuple[str, str]],
                  current_app: str) -> dict[tuple[str, str], str]:
    """Usage-page links of the spans that are features (for users who may open them)."""
    if not request.user.has_perm("django_tracekit.view_feature"):
        return {}
    names = sorted({name for name, _service in keys})
    urls: dict[tuple[str, str], str] = {}
    for i in range(0, len(names), _NAME_BATCH):
        for pk, name, service in Feature.objects.filter(
                name__in=names[i:i + _NAME_BATCH]).values_list("pk", "name", "service"):
            if (name, service) in keys:
                urls[(name, service)] = reverse("admin:tracekit_usage_feature", args=[pk],
                                                current_app=current_app)
    return urls


def not_found(model_admin: ModelAdmin[Trace], request: HttpRequest,
              trace_id: str, malformed: bool) -> HttpResponse:
    """A 404 that says why: not a trace id, or a trace the store did not keep."""
    context = _base_context(model_admin, request, _("Trace not found"))
    config = get_config()
    context.update({"trace_id": trace_id, "malformed": malformed,
                    "external_url": "" if malformed else external_url(trace_id, config.trace_url),
                    "retention_hours": config.traces.retention_hours})
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/django_tracekit/trace_not_found.html", context,
                            status=404)


def trace_detail(model_admin: ModelAdmin[Trace], request: HttpRequest,
                 trace_id: str) -> HttpResponse:
    normalized = filters.normalize_trace_id(trace_id)
    if normalized is None or normalized != trace_id:
        if normalized is not None:  # another spelling of a valid id: the canonical URL
            return HttpResponseRedirect(reverse("admin:tracekit_trace", args=[normalized],
                                                current_app=model_admin.admin_site.name))
        return not_found(model_admin, request, trace_id[:64], malformed=True)
    trace = Trace.objects.filter(trace_id=trace_id).first()
    if trace is None:
        return not_found(model_admin, request, trace_id, malformed=False)
    spans = list(TraceSpan.objects.filter(trace_id=trace.pk).values_list(*waterfall.FIELDS,
                                                                         named=True))
    name = model_admin.admin_site.name
    built = waterfall.build(spans, trace.start_us, trace.end_us,
                            _feature_urls(request, waterfall.feature_keys(spans), name))
    list_url = reverse("admin:tracekit_traces", current_app=name)
    context = _base_context(model_admin, request, trace.root_name or trace.trace_id)
    context.update({
        "trace": trace, "waterfall": built, "rows_html": render.rows_html(built.rows, list_url),
        "time": local_time(trace.start_us),
        "duration": waterfall.format_us(built.duration_us),
        "reasons": kept_reasons(trace.reasons),
        "user_name": users.usernames(request, [trace.user_id]).get(trace.user_id, ""),
        "external_url": external_url(trace.trace_id, get_config().trace_url),
        "span_count": number_format(len(spans), force_grouping=True),
        "sql_count": number_format(built.sql_count, force_grouping=True),
        "dropped": number_format(trace.dropped_spans, force_grouping=True)
        if trace.dropped_spans > 0 else "",
    })
    request.current_app = name
    return TemplateResponse(request, "admin/django_tracekit/trace_detail.html", context)


def kept_trace_urls(request: HttpRequest, trace_ids: list[str],
                    current_app: str) -> dict[str, str]:
    """``{trace id: its page}`` for the ids the store holds, when the user may open them
    (other pages link a trace id here: a feature's recent errors)."""
    wanted = [t for t in dict.fromkeys(trace_ids) if t]
    if not wanted or not request.user.has_perm("django_tracekit.view_trace"):
        return {}
    return {t: reverse("admin:tracekit_trace", args=[t], current_app=current_app)
            for t in Trace.objects.filter(trace_id__in=wanted).values_list("trace_id",
                                                                           flat=True)}
