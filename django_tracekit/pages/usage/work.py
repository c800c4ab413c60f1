"""The feature page's way to the work (``_work.html``): its slowest and failing traces in
the explorer, the tasks an entry point enqueued (and who enqueues a task), with their
outcome counted exactly (``TaskEdge``, :mod:`django_tracekit.destinations.stats.edges`), and the
link to
the release comparison of its two latest versions."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.db.models import Sum
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.formats import number_format

from django_tracekit.core.features import FUNCTION, TASK
from django_tracekit.pages.shared.window import Window, cover
from django_tracekit.storage.usage_models import EDGE_RESOLUTIONS, HOUR, Feature, TaskEdge

MAX_EDGES = 50


def _rate(errors: int, calls: int) -> str:
    return f"{errors / calls * 100:.1f} %" if calls and errors else "0 %"


def edges(window: Window, feature_id: int, side: str) -> list[dict[str, Any]]:
    """Per other end of the edge (``side``: "producer" lists the tasks a feature
    enqueued, "task" who enqueued it): calls, errors, retries in the window (widened to
    whole hours: edges are kept per hour and day)."""
    start = window.start - window.start % HOUR
    end = -(-window.end // HOUR) * HOUR
    other = "task" if side == "producer" else "producer"
    totals: dict[int, list[int]] = {}
    for resolution, first, last in cover(start, end, HOUR, window.open_end, EDGE_RESOLUTIONS):
        for fid, c, e, r in TaskEdge.objects.filter(
                **{f"{side}_id": feature_id}, resolution=resolution,
                bucket_start__gte=first, bucket_start__lt=last).values(
                f"{other}_id").annotate(c=Sum("calls"), e=Sum("errors"),
                                        r=Sum("retries")).values_list(
                f"{other}_id", "c", "e", "r"):
            row = totals.setdefault(fid, [0, 0, 0])
            row[0] += int(c)
            row[1] += int(e)
            row[2] += int(r)
    names = dict((pk, (name, kind, service)) for pk, name, kind, service in
                 Feature.objects.filter(pk__in=totals).values_list("id", "name", "kind",
                                                                   "service"))
    rows = []
    for fid, (calls, errors, retries) in totals.items():
        if fid not in names:
            continue
        name, kind, service = names[fid]
        rows.append({"id": fid, "name": name, "kind": kind, "service": service,
                     "calls": calls, "errors": errors, "retries": retries,
                     "calls_text": number_format(calls, force_grouping=True),
                     "errors_text": number_format(errors, force_grouping=True),
                     "retries_text": number_format(retries, force_grouping=True),
                     "error_rate_text": _rate(errors, calls), "bad": errors > 0})
    rows.sort(key=lambda r: (-r["calls"], r["name"]))
    return rows[:MAX_EDGES]


def context(request: HttpRequest, feature: Feature, window: Window,
            versions: list[dict[str, Any]], site_name: str) -> dict[str, Any]:
    """What ``_work.html`` shows."""
    links: dict[str, str] = {}
    if request.user.has_perm("django_tracekit.view_trace"):
        try:
            base = reverse("admin:tracekit_traces", current_app=site_name)
        except NoReverseMatch:  # the trace explorer is not registered on this site
            base = ""
        if base:
            links["slowest"] = base + "?" + urlencode({"feature": feature.name,
                                                       "sort": "-duration"})
            links["errors"] = base + "?" + urlencode({"feature": feature.name,
                                                      "status": "error"})
    changes = ""
    if len(versions) > 1:
        changes = reverse("admin:tracekit_changes", current_app=site_name) + "?" + urlencode(
            {"before": versions[1]["version"], "after": versions[0]["version"]})
    is_task = feature.kind == TASK
    return {
        "work_links": links,
        "work_changes_url": changes,
        "work_enqueued": edges(window, feature.pk, "producer"),
        "work_enqueued_by": edges(window, feature.pk, "task") if is_task else [],
        "work_is_task": is_task,
        "work_is_entry": feature.kind != FUNCTION,
    }
