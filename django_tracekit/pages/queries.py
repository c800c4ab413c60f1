"""The usage pages' aggregates, computed in SQL over the rows of a :class:`Window`.

90 days x 1,000 features is 90,000 counter rows summed by the database, and histogram rows
(and users sketches) only for the features shown on the current page (all matching
features only when sorting by a percentile or by users).

Kinds: the page lists *entry points* (requests, tasks, commands) unless a kind is chosen
(``kind=function``, ``kind=all``). Scope: only the team's features unless ``scope=all``:
code outside the project (Django's admin views, a library's tasks) is left out
(:func:`django_tracekit.core.features.outside_project`). Headline numbers count incidents: a
failing request whose exception passed through four auto-traced functions is one error
there (the request's), not five; functions keep their own counts on their rows and tab.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar, cast

from django.db import connections, router, transaction
from django.db.models import Max, Min, Model, Q, QuerySet, Sum

from django_tracekit.conf import get_config
from django_tracekit.core import sketch
from django_tracekit.core.features import COMMAND, FUNCTION, REQUEST, TASK, outside_project
from django_tracekit.core.histogram import quantiles
from django_tracekit.pages.window import Window, cover, window_from
from django_tracekit.storage.usage_models import (
    DAY,
    HOUR,
    RANGE_DAYS,
    SKETCH_RESOLUTIONS,
    VERSION_RESOLUTIONS,
    ErrorSample,
    Feature,
    InstrumentedFunction,
    LatencyBucket,
    RangeUsers,
    UsageBucket,
    UserSketch,
    VersionLatency,
    VersionUsage,
)

SORTS = ("feature", "kind", "service", "calls", "errors", "error_rate", "users", "n_plus_one",
         "retries", "p50", "p95", "p99")
DEFAULT_SORT = "-calls"
ENTRY_KINDS = (REQUEST, TASK, COMMAND)
#: ``kind`` values of the page: "" (entry points, the default), a kind, or "all".
ALL = "all"
KIND_CHOICES = ("", REQUEST, TASK, COMMAND, FUNCTION, ALL)
#: ``scope`` values: "" (the team's features, the default) or "all" (code outside too).
SCOPE_CHOICES = ("", ALL)
PERCENTILES = (0.5, 0.95, 0.99)
M = TypeVar("M", bound=Model)


def _usage(window: Window) -> QuerySet[UsageBucket]:
    """Counter rows of the window's buckets (per bucket: charts)."""
    return cast("QuerySet[UsageBucket]", UsageBucket.objects.filter(
        resolution=window.resolution, bucket_start__gte=window.start,
        bucket_start__lt=window.end))


def _latency(window: Window) -> QuerySet[LatencyBucket]:
    return cast("QuerySet[LatencyBucket]", LatencyBucket.objects.filter(
        resolution=window.resolution, bucket_start__gte=window.start,
        bucket_start__lt=window.end))


def _spans(model: type[M], window: Window) -> Iterator[QuerySet[M]]:
    """Rows that add up to the whole window, the coarsest there are (totals, percentiles):
    one query per span, each one index range (an OR of ranges makes PostgreSQL scan the
    whole table)."""
    for resolution, start, end in window.cover():
        yield cast("QuerySet[M]", model._default_manager.filter(
            resolution=resolution, bucket_start__gte=start, bucket_start__lt=end))


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


def percentiles_by_feature(window: Window, feature_ids: Iterable[int] | None,
                           maxes: Mapping[int, int]) -> dict[int, list[float | None]]:
    ids = None if feature_ids is None else list(feature_ids)
    hists: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for buckets in _spans(LatencyBucket, window):
        if ids is not None:
            buckets = buckets.filter(feature_id__in=ids)
        for feature_id, index, n in (buckets.values("feature_id", "bin")
                                     .annotate(total=Sum("n"))
                                     .values_list("feature_id", "bin", "total")):
            hists[feature_id].append((index, n))  # quantiles() adds up repeated bins
    return {fid: quantiles(h, PERCENTILES, maxes.get(fid)) for fid, h in hists.items()}


def _window_totals(window: Window, features: QuerySet[Feature] | None,
                   ) -> dict[int, tuple[int, ...]]:
    """{feature id: (calls, errors, duration sum, max, N+1, retries, failed attempts, retried
    tasks)} over the window."""
    totals: dict[int, tuple[int, ...]] = {}
    for usage in _spans(UsageBucket, window):
        if features is not None:
            usage = usage.filter(feature__in=features)
        for fid, c, e, s, m, n, r, f, t in usage.values("feature_id").annotate(
                c=Sum("calls"), e=Sum("errors"), s=Sum("duration_sum_us"),
                m=Max("duration_max_us"), n=Sum("n_plus_one"), r=Sum("retries"),
                f=Sum("failed_attempts"), t=Sum("retried_tasks")).values_list(
                "feature_id", "c", "e", "s", "m", "n", "r", "f", "t"):
            before = totals.get(fid)
            totals[fid] = (c, e, s, m, n, r, f, t) if before is None else (
                before[0] + c, before[1] + e, before[2] + s, max(before[3], m), before[4] + n,
                before[5] + r, before[6] + f, before[7] + t)
    return totals


def feature_table(window: Window, q: str = "", kind: str = "", service: str = "",
                  sort: str = DEFAULT_SORT, feature_id: int | None = None,
                  kind_totals: dict[str, list[int]] | None = None, scope: str = "",
                  ) -> list[dict[str, Any]]:
    """One row per matching feature (zero-call features included): counts in the window.

    ``kind_totals`` (if given) receives ``{kind: [calls, errors, features]}`` of the
    features matching ``q`` and ``service`` whatever their kind (the kind tabs)."""
    narrow = feature_id is not None or (bool(q or service) and kind_totals is None)
    listed = filtered_features(q, kind, service, feature_id, scope)
    candidates = listed if kind_totals is None else filtered_features(q, ALL, service,
                                                                      scope=scope)
    totals = _window_totals(window, candidates if narrow else None)
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
    field_name = sort.lstrip("-")
    if field_name not in SORTS:
        sort, field_name = DEFAULT_SORT, DEFAULT_SORT.lstrip("-")
    if field_name in ("p50", "p95", "p99"):
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


def users_by_feature(window: Window, feature_ids: Iterable[int] | None,
                     version: str | None = None) -> dict[int, int]:
    """Distinct users per feature over the whole window (its sketches merged: the coarsest
    buckets that add up to it, weeks included; for the 30/90-day presets the union of the
    whole days before today, when ``tracekit_prune`` built it today, and today's row)."""
    ids = None if feature_ids is None else list(feature_ids)
    unions = _user_unions(window, ids, version)
    return {fid: union.estimate() for fid, union in unions.items()}


def _user_unions(window: Window, ids: list[int] | None, version: str | None = None,
                 prebuilt: bool = True) -> dict[int, sketch.Union]:
    merged: dict[int, sketch.Union] = {}
    # A plain cursor: tens of thousands of small rows; the ORM's per-row work would double
    # the page time (the query is the one the ORM would build, see the index it uses).
    connection = connections[router.db_for_read(UserSketch)]
    qn = connection.ops.quote_name
    chunks: list[list[int] | None] = [None] if ids is None else [
        ids[i:i + 500] for i in range(0, len(ids), 500)]

    def read(sql: str, params: list[Any]) -> None:
        for chunk in chunks:
            query, values = sql, list(params)
            if chunk is not None:
                if not chunk:
                    continue
                query += f" AND {qn('feature_id')} IN ({', '.join(['%s'] * len(chunk))})"
                values.extend(chunk)
            with connection.cursor() as cursor:
                cursor.execute(query, values)
                for fid, data in cursor.fetchall():
                    union = merged.get(fid)
                    if union is None:
                        union = merged[fid] = sketch.Union()
                    union.add(data if isinstance(data, bytes) else bytes(data))

    spans = window.cover(SKETCH_RESOLUTIONS)
    days = _preset_days(window)
    if prebuilt and version is None and days is not None:
        today = window.end - DAY
        ranges = RangeUsers.objects.filter(days=days, day_start=today)
        if ranges.exists():
            read(f"SELECT {qn('feature_id')}, {qn('sketch')} FROM "
                 f"{qn(RangeUsers._meta.db_table)} WHERE {qn('days')} = %s AND "
                 f"{qn('day_start')} = %s", [days, today])
            spans = [(DAY, today, window.end)]
    sql = (f"SELECT {qn('feature_id')}, {qn('sketch')} FROM "
           f"{qn(UserSketch._meta.db_table)} WHERE {qn('resolution')} = %s AND "
           f"{qn('bucket_start')} >= %s AND {qn('bucket_start')} < %s")
    extra: list[Any] = []
    if version is not None:
        sql += f" AND {qn('version')} = %s"
        extra.append(version)
    for resolution, start, end in spans:
        read(sql, [resolution, start, end, *extra])
    return merged


def _preset_days(window: Window) -> int | None:
    """30 or 90 for those presets (day buckets, reaching today), else None."""
    days = (window.end - window.start) // DAY
    if window.resolution == DAY and window.open_end and days in RANGE_DAYS \
            and window.key == f"{days}d":
        return days
    return None


def build_range_users(now: float | None = None) -> int:
    """Pre-merge, per feature, the users of the whole days the 30/90-day presets cover
    before today (run daily by ``tracekit_prune``); older builds are deleted."""
    written = 0
    for days in RANGE_DAYS:
        window = window_from({"range": f"{days}d"}, now=now)
        today = window.end - DAY
        closed = Window("custom", window.start, today, DAY, "")
        unions = _user_unions(closed, None, prebuilt=False)
        rows = [RangeUsers(feature_id=fid, days=days, day_start=today, sketch=union.dumps())
                for fid, union in sorted(unions.items())]
        with transaction.atomic(using=router.db_for_write(RangeUsers)):
            RangeUsers.objects.filter(days=days).delete()
            RangeUsers.objects.bulk_create(rows, batch_size=500)
        written += len(rows)
    return written


def fill_users(window: Window, rows: list[dict[str, Any]]) -> None:
    todo = [r for r in rows if r["users"] is None]
    if not todo:
        return
    ids = None if len(todo) > 500 else [r["id"] for r in todo if r["calls"]]
    found = users_by_feature(window, ids) if ids is None or ids else {}
    for row in todo:
        row["users"] = found.get(row["id"], 0)


def users_over_time(window: Window, feature_id: int) -> list[tuple[int, int]]:
    """(bucket start, distinct users) for every bucket of the window."""
    merged: dict[int, sketch.Union] = defaultdict(sketch.Union)
    for start, data in UserSketch.objects.filter(
            feature_id=feature_id, resolution=window.resolution,
            bucket_start__gte=window.start, bucket_start__lt=window.end).values_list(
            "bucket_start", "sketch"):
        merged[start].add(bytes(data))
    return [(t, merged[t].estimate() if t in merged else 0) for t in window.points]


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
    for fid, start, calls in _usage(window).filter(feature_id__in=feature_ids).values_list(
            "feature_id", "bucket_start", "calls"):
        position = positions.get(start)
        if position is not None:
            result[fid][position] += calls
    return result


def totals_over_time(window: Window, features: QuerySet[Feature] | None = None,
                     ) -> list[tuple[int, int, int]]:
    """(bucket start, calls, errors) for every bucket of the window (of ``features``: the
    page passes entry points unless one kind is chosen, so an incident counts once)."""
    usage = _usage(window)
    if features is not None:
        usage = usage.filter(feature__in=features)
    found = {start: (int(c), int(e)) for start, c, e in usage.values("bucket_start").annotate(
        c=Sum("calls"), e=Sum("errors")).values_list("bucket_start", "c", "e")}
    return [(t, *found.get(t, (0, 0))) for t in window.points]


def latency_over_time(window: Window, feature_id: int,
                      ) -> list[tuple[int, list[float | None]]]:
    """(bucket start, [p50, p95, p99]) for every bucket of the window (None: no calls)."""
    hists: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for start, index, n in _latency(window).filter(feature_id=feature_id).values_list(
            "bucket_start", "bin", "n"):
        hists[start].append((index, n))
    maxes = dict(_usage(window).filter(feature_id=feature_id).values_list(
        "bucket_start", "duration_max_us"))
    return [(t, quantiles(hists[t], PERCENTILES, maxes.get(t)) if t in hists
             else [None, None, None]) for t in window.points]


def recent_errors(feature_id: int, limit: int = 20) -> QuerySet[ErrorSample]:
    return cast("QuerySet[ErrorSample]",
                ErrorSample.objects.filter(feature_id=feature_id).order_by("-time", "-id")[:limit])


def versions_table(window: Window, feature_id: int) -> list[dict[str, Any]]:
    """One row per ``service.version`` the feature ran under in the window, the latest
    (last seen, then first seen) first: calls, errors, error rate, users, p50/p95.

    Versions are kept per hour and day: a window is widened to whole hours."""
    start = window.start - window.start % HOUR
    end = -(-window.end // HOUR) * HOUR
    spans = cover(start, end, HOUR, window.open_end, VERSION_RESOLUTIONS)
    rows: dict[str, dict[str, Any]] = {}
    hists: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for resolution, first, last in spans:
        for version, c, e, s, m, lo, hi in VersionUsage.objects.filter(
                feature_id=feature_id, resolution=resolution, bucket_start__gte=first,
                bucket_start__lt=last).values("version").annotate(
                c=Sum("calls"), e=Sum("errors"), s=Sum("duration_sum_us"),
                m=Max("duration_max_us"), lo=Min("bucket_start"),
                hi=Max("bucket_start")).values_list("version", "c", "e", "s", "m", "lo", "hi"):
            row = rows.setdefault(version, {"version": version, "calls": 0, "errors": 0,
                                            "sum_us": 0, "max_us": 0, "first": lo,
                                            "last": hi + resolution})
            row["calls"] += c
            row["errors"] += e
            row["sum_us"] += s
            row["max_us"] = max(row["max_us"], m)
            row["first"] = min(row["first"], lo)
            row["last"] = max(row["last"], hi + resolution)
        for version, index, n in VersionLatency.objects.filter(
                feature_id=feature_id, resolution=resolution, bucket_start__gte=first,
                bucket_start__lt=last).values("version", "bin").annotate(
                total=Sum("n")).values_list("version", "bin", "total"):
            hists[version].append((index, n))
    # When each version was seen, to the hour where hour rows are kept (35 days).
    for version, lo, hi in VersionUsage.objects.filter(
            feature_id=feature_id, resolution=HOUR, bucket_start__gte=start,
            bucket_start__lt=end, version__in=list(rows)).values("version").annotate(
            lo=Min("bucket_start"), hi=Max("bucket_start")).values_list("version", "lo", "hi"):
        row = rows[version]
        if lo < row["first"] + DAY:
            row["first"] = max(row["first"], lo)
        row["last"] = min(row["last"], hi + HOUR)
    result = sorted(rows.values(), key=lambda r: (r["last"], r["first"], r["version"]),
                    reverse=True)
    for row in result:
        calls = row["calls"]
        row["error_rate"] = row["errors"] / calls if calls else 0.0
        row["p50"], row["p95"] = quantiles(hists.get(row["version"], []), (0.5, 0.95),
                                           row["max_us"])
        row["users"] = users_by_feature(window, [feature_id], row["version"]).get(
            feature_id, 0)
    return result


def used_names(window: Window) -> set[str]:
    """Names of the features that ran in the window, whatever their kind and service: a
    function runs as a view's span (``function``), a task, a command, a ``django.tasks``
    task or a plain function; each is named by the same code location. A task that only
    retried in the window ran too."""
    ran = {fid for fid, totals in _window_totals(window, None).items()
           if totals[0] or totals[5]}
    if not ran:
        return set()
    names: set[str] = set()
    ids = sorted(ran)
    for start in range(0, len(ids), 500):
        names.update(Feature.objects.filter(pk__in=ids[start:start + 500]).values_list(
            "name", flat=True))
    return names


def unused_functions(window: Window, q: str = "", service: str = "",
                     ) -> list[dict[str, Any]]:
    """Auto-traced functions instrumented in the window (or since) that no service called
    in it, by module then name: ``{name, module, services, first_seen, last_seen}``.

    A function counts as used when any service called it: a worker imports the views too,
    they are not dead code because the worker never runs them."""
    functions = InstrumentedFunction.objects.filter(last_seen__gte=window.start)
    if q:
        functions = functions.filter(Q(name__icontains=q) | Q(module__icontains=q))
    if service:
        functions = functions.filter(service=service)
    used = used_names(window)
    unused: dict[str, dict[str, Any]] = {}
    for name, module, service_, first, last in functions.order_by(
            "module", "name", "service").values_list("name", "module", "service",
                                                     "first_seen", "last_seen"):
        if name in used:
            continue
        row = unused.get(name)
        if row is None:
            unused[name] = {"name": name, "module": module, "services": [service_],
                            "first_seen": first, "last_seen": last}
        else:
            row["services"].append(service_)
            row["first_seen"] = min(row["first_seen"], first)
            row["last_seen"] = max(row["last_seen"], last)
    return list(unused.values())
