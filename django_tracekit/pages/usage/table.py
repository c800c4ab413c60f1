"""The usage table: one row per feature with its counts over a window, in SQL.

90 days x 1,000 features is a few counter rows per feature summed by the database, and
latency histograms (and users sketches, :mod:`.users`) only for the features shown on the
current page (all matching features only when sorting by a percentile or by users). Which
features are listed is :mod:`django_tracekit.pages.shared.feature_filter`'s. Headline
numbers count incidents: a failing request whose exception passed through four auto-traced
functions is one error there (the request's), not five; functions keep their own counts on
their rows and tab.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import QuerySet

from django_tracekit.pages.shared.feature_filter import (
    ALL,
    DEFAULT_SORT,
    SORTS,
    filtered_features,
    kinds_of,
)
from django_tracekit.pages.shared.usage_rows import (
    merged,
    per_point,
    point_sums,
    raw_rows,
    totals_and_latency,
    window_totals,
)
from django_tracekit.pages.shared.window import Window
from django_tracekit.pages.usage.users import fill_users
from django_tracekit.storage.usage_models import Feature

PERCENTILES = (0.5, 0.95, 0.99)


def percentiles_by_feature(window: Window, feature_ids: Iterable[int] | None,
                           maxes: Mapping[int, int]) -> dict[int, list[float | None]]:
    ids = None if feature_ids is None else list(feature_ids)
    hists = merged((fid, data) for fid, calls, data in raw_rows(window, ("calls", "latency"), ids)
                   if calls)
    return {fid: h.quantiles(PERCENTILES, maxes.get(fid)) for fid, h in hists.items()}


def feature_table(window: Window, q: str = "", kind: str = "", service: str = "",
                  sort: str = DEFAULT_SORT, feature_id: int | None = None,
                  kind_totals: dict[str, list[int]] | None = None, scope: str = "",
                  percentiles: bool = False) -> list[dict[str, Any]]:
    """One row per matching feature (zero-call features included): counts in the window.

    ``kind_totals`` (if given) receives ``{kind: [calls, errors, features]}`` of the
    features matching ``q`` and ``service`` whatever their kind (the kind tabs).
    ``percentiles``: fill every row's (the CSV); a percentile sort fills them too."""
    narrow = feature_id is not None or (bool(q or service) and kind_totals is None)
    listed = filtered_features(q, kind, service, feature_id, scope)
    candidates = listed if kind_totals is None else filtered_features(q, ALL, service,
                                                                      scope=scope)
    field_name = sort.lstrip("-")
    if field_name not in SORTS:
        sort, field_name = DEFAULT_SORT, DEFAULT_SORT.lstrip("-")
    hists = None
    if (percentiles or field_name in ("p50", "p95", "p99")) and not narrow:
        # Every feature's percentiles: counters and histograms in one read of the rows.
        totals, hists = totals_and_latency(window, set(listed.values_list("id", flat=True)))
    else:
        totals = window_totals(window, candidates if narrow else None)
    kinds = kinds_of(kind) if feature_id is None else None
    rows: list[dict[str, Any]] = []
    for pk, name, kind_, service_ in candidates.values_list("id", "name", "kind", "service"):
        calls, errors, dsum, dmax, n_plus_one, retries, failed, retried = totals.get(
            pk, (0, 0, 0, 0, 0, 0, 0, 0))
        if kind_totals is not None:
            counts = kind_totals.setdefault(kind_, [0, 0, 0])
            counts[0] += int(calls)
            counts[1] += int(errors)
            counts[2] += 1
            if kinds is not None and kind_ not in kinds:
                continue
        rows.append({
            "id": pk, "name": name, "kind": kind_, "service": service_, "calls": int(calls),
            "errors": int(errors), "error_rate": (errors / calls) if calls else 0.0,
            "avg_us": (dsum / calls) if calls else None, "max_us": int(dmax or 0),
            "n_plus_one": int(n_plus_one or 0),
            "retries": int(retries or 0), "failed_attempts": int(failed or 0),
            "retried_tasks": int(retried or 0),
            "p50": None, "p95": None, "p99": None, "users": None,
        })
    if hists is not None:
        for row in rows:
            hist = hists.get(row["id"])
            if hist is not None:
                row["p50"], row["p95"], row["p99"] = hist.quantiles(PERCENTILES, row["max_us"])
    elif percentiles or field_name in ("p50", "p95", "p99"):
        fill_percentiles(window, rows)
    if field_name == "users":
        fill_users(window, rows)
    descending = sort.startswith("-")
    if field_name in ("feature", "kind", "service"):
        attr = "name" if field_name == "feature" else field_name
        rows.sort(key=lambda r: (str(r[attr]).casefold(), r["name"]), reverse=descending)
    else:
        # Missing values (no calls) sort last either way; ties by name.
        present = [r for r in rows if r[field_name] is not None]
        missing = [r for r in rows if r[field_name] is None]
        present.sort(key=lambda r: r["name"])
        present.sort(key=lambda r: r[field_name], reverse=descending)
        rows = present + sorted(missing, key=lambda r: r["name"])
    return rows


def fill_percentiles(window: Window, rows: list[dict[str, Any]]) -> None:
    todo = [r for r in rows if r["calls"] and r["p50"] is None]
    if not todo:
        return
    ids = None if len(todo) > 500 else [r["id"] for r in todo]
    found = percentiles_by_feature(window, ids, {r["id"]: r["max_us"] for r in todo})
    for row in todo:
        row["p50"], row["p95"], row["p99"] = found.get(row["id"], (None, None, None))


def series_by_feature(window: Window, feature_ids: list[int]) -> dict[int, list[int]]:
    """Calls per bucket for each feature (sparklines), zeros filled."""
    positions = {t: i for i, t in enumerate(window.points)}
    result = {fid: [0] * len(positions) for fid in feature_ids}
    for rows in per_point(window):
        for fid, start, calls in rows.filter(feature_id__in=feature_ids).values_list(
                "feature_id", "bucket_start", "calls"):
            position = positions.get(start - start % window.resolution)
            if position is not None:
                result[fid][position] += calls
    return result


def totals_over_time(window: Window, features: QuerySet[Feature] | None = None,
                     ) -> list[tuple[int, int, int]]:
    """(bucket start, calls, errors) for every bucket of the window (of ``features``: the
    page passes entry points unless one kind is chosen, so an incident counts once)."""
    found: dict[int, tuple[int, int]] = {}
    for start, c, e in point_sums(window, features):
        point = start - start % window.resolution
        before = found.get(point, (0, 0))
        found[point] = (before[0] + int(c), before[1] + int(e))
    return [(t, *found.get(t, (0, 0))) for t in window.points]


def latency_over_time(window: Window, feature_id: int,
                      ) -> list[tuple[int, list[float | None]]]:
    """(bucket start, [p50, p95, p99]) for every bucket of the window (None: no calls)."""
    rows: list[tuple[int, Any]] = []
    maxes: dict[int, int] = {}
    for stats in per_point(window):
        for start, data, high in stats.filter(feature_id=feature_id).values_list(
                "bucket_start", "latency", "duration_max_us"):
            point = start - start % window.resolution
            rows.append((point, data))
            maxes[point] = max(maxes.get(point, 0), high)
    hists = merged(rows)
    return [(t, hists[t].quantiles(PERCENTILES, maxes.get(t)) if t in hists
             else [None, None, None]) for t in window.points]

