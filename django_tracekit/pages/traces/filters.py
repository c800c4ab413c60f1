"""The trace list's query parameters, validated, and the queryset they select.

Same rules as the usage pages (``reports/params.py``): a value with control characters is
ignored and named on the page, an odd value (a duration that is not a number, a status
that does not exist, a malformed trace id) is dropped with a message, never a 500. The time
range is the usage pages' (``range``/``from``/``to``, ``reports/window.py``), plus ``all``
(the default: everything the store keeps).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from django_tracekit.core.features import span_name
from django_tracekit.core.fingerprint import GROUP_ATTRIBUTE
from django_tracekit.pages.shared.params import clean, clean_values
from django_tracekit.pages.shared.window import Window, window_from
from django_tracekit.storage.trace_models import Trace, TraceSpan
from django_tracekit.storage.trace_queries import entry_failed

TRACE_ID = re.compile(r"[0-9a-f]{32}")
GROUP_ID = re.compile(r"[0-9a-f]{16}")
STATUSES = ("error", "handled", "ok")  # error: an entry point failed (traces/outcome.py)
REASONS = ("error", "slow", "n_plus_one", "sample")
SORTS = ("-duration",)  # the feature page's "slowest traces"
ALL = "all"
MAX_MS = 10.0**12  # ~31 years: beyond it a duration filter means nothing
NAMES = {
    "status": gettext_lazy("status"), "feature": gettext_lazy("feature"),
    "min_ms": gettext_lazy("minimum duration"), "service": gettext_lazy("service"),
    "user": gettext_lazy("user id"), "trace_id": gettext_lazy("trace id"),
    "reason": gettext_lazy("reason"), "sort": gettext_lazy("sort order"),
    "group": gettext_lazy("error group"),
    "range": gettext_lazy("range"), "from": gettext_lazy("start"), "to": gettext_lazy("end"),
}


@dataclass
class TraceFilters:
    values: dict[str, str]  # the accepted raw values (links and forms keep them)
    status: str = ""
    feature: str = ""
    min_us: int | None = None
    service: str = ""
    user: str = ""
    trace_id: str = ""
    reason: str = ""
    sort: str = ""  # "" (newest first) or "-duration" (slowest first)
    group: str = ""  # an error group's fingerprint (16 hex)
    window: Window | None = None  # None: every kept trace
    page: str = ""
    errors: list[str] = field(default_factory=list)


def normalize_trace_id(value: str) -> str | None:
    """A trace id as stored (32 lowercase hex), accepting the usual spellings (upper case,
    UUID dashes, a ``0x`` prefix), or ``None``."""
    value = value.strip().lower().replace("-", "").removeprefix("0x")
    return value if TRACE_ID.fullmatch(value) else None


def parse(query: Mapping[str, str]) -> TraceFilters:
    """The filters of a ``request.GET`` (the last value of a repeated one wins)."""
    values, errors = clean_values(query, NAMES)
    result = TraceFilters(values=values, feature=values.get("feature", ""),
                          service=values.get("service", ""), user=values.get("user", ""),
                          page=clean(query.get("page") or "") or "", errors=errors)

    def drop(key: str, message: str) -> None:
        del values[key]
        errors.append(message)

    status = values.get("status", "").lower()
    if status in STATUSES:
        result.status = values["status"] = status
    elif status:
        drop("status", _("Unknown status; choose one of: %(choices)s.")
             % {"choices": ", ".join(STATUSES)})
    reason = values.get("reason", "").lower()
    if reason in REASONS:
        result.reason = values["reason"] = reason
    elif reason:
        drop("reason", _("Unknown reason; choose one of: %(choices)s.")
             % {"choices": ", ".join(REASONS)})
    sort = values.get("sort", "")
    if sort in SORTS:
        result.sort = sort
    elif sort:
        drop("sort", _("Unknown sort order; choose one of: %(choices)s.")
             % {"choices": ", ".join(SORTS)})
    if "min_ms" in values:
        try:
            ms = float(values["min_ms"].replace(",", "."))
        except ValueError:
            ms = math.nan
        if math.isfinite(ms) and 0 <= ms <= MAX_MS:
            result.min_us = round(ms * 1000)
        else:
            drop("min_ms", _("Enter the minimum duration as a number of milliseconds."))
    if "trace_id" in values:
        normalized = normalize_trace_id(values["trace_id"])
        if normalized is None:
            drop("trace_id", _("A trace id is 32 hexadecimal digits."))
        else:
            result.trace_id = values["trace_id"] = normalized
    if "group" in values:
        group = values["group"].strip().lower()
        if GROUP_ID.fullmatch(group):
            result.group = values["group"] = group
        else:
            drop("group", _("An error group is 16 hexadecimal digits."))
    if values.get("range", ALL) != ALL:
        result.window = window_from(values)
        errors.extend(result.window.errors)
        if result.window.key != values["range"]:  # fell back: an unknown or invalid range
            values["range"] = result.window.key
    else:
        values.pop("range", None)
    return result


def service_q(service: str) -> Q:
    """``Trace.services`` (sorted, comma-separated) holds ``service`` as one whole item."""
    return (Q(services=service) | Q(services__startswith=f"{service},")
            | Q(services__endswith=f",{service}") | Q(services__contains=f",{service},"))


def traces(filters: TraceFilters) -> QuerySet[Trace]:
    """The matching traces, newest first."""
    found = Trace.objects.all()
    if filters.trace_id:
        found = found.filter(trace_id=filters.trace_id)
    if filters.status in ("error", "handled"):
        failed = entry_failed()
        found = found.filter(failed if filters.status == "error" else ~failed,
                             error_count__gt=0)
    elif filters.status == "ok":
        found = found.filter(error_count=0)
    if filters.reason:
        found = found.filter(Q(reasons=filters.reason)
                             | Q(reasons__startswith=f"{filters.reason},")
                             | Q(reasons__endswith=f",{filters.reason}")
                             | Q(reasons__contains=f",{filters.reason},"))
    if filters.feature:
        # The (name, trace) index: the traces in which a span of that name ran.
        found = found.filter(pk__in=TraceSpan.objects.filter(
            name=span_name(filters.feature)).values("trace_id"))
    if filters.group:
        # The error spans whose exception event names the group (rows.py's compact JSON).
        marker = f'"{GROUP_ATTRIBUTE}":"{filters.group}"'
        found = found.filter(error_count__gt=0, pk__in=TraceSpan.objects.filter(
            is_error=True, events__contains=marker).values("trace_id"))
    if filters.min_us is not None:
        found = found.alias(duration=F("end_us") - F("start_us")).filter(
            duration__gte=filters.min_us)
    if filters.service:
        found = found.filter(service_q(filters.service))
    if filters.user:
        found = found.filter(user_id=filters.user)
    if filters.window is not None:
        found = found.filter(start_us__gte=filters.window.start * 1_000_000,
                             start_us__lt=filters.window.end * 1_000_000)
    if filters.sort == "-duration":
        return cast("QuerySet[Trace]", found.alias(
            length=F("end_us") - F("start_us")).order_by("-length", "-start_us", "-id"))
    return cast("QuerySet[Trace]", found.order_by("-start_us", "-id"))
