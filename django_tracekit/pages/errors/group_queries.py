"""The error-group pages' aggregates: counts per group (and per entry point) over a window.

Groups are counted per hour and day (``ErrorGroupBucket``): a window is widened to whole
hours (a "last hour" range covers the current and the previous hour), and read from the
coarsest buckets that add up to it (day rows over 30 days, not 720 hour rows).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, Sum

from django_tracekit.pages.shared.window import Window, cover
from django_tracekit.storage.usage_models import (
    DAY,
    GROUP_RESOLUTIONS,
    HOUR,
    ErrorGroup,
    ErrorGroupBucket,
    ErrorGroupExample,
    Feature,
)

SORTS = ("count", "type", "location", "first_seen", "last_seen", "entry_points")
DEFAULT_SORT = "-count"


@dataclass
class GroupRow:
    group: ErrorGroup
    count: int = 0
    # {feature id: count} of the entry points (or local roots) it was raised under
    features: dict[int, int] = field(default_factory=dict)
    series: list[int] = field(default_factory=list)
    examples: list[ErrorGroupExample] = field(default_factory=list)
    view: dict[str, Any] = field(default_factory=dict)  # what the templates show

    @property
    def entry_points(self) -> int:
        return len(self.features)


def hours_of(window: Window) -> tuple[int, int, int]:
    """The window widened to the buckets groups are kept in: ``(start, end, trend
    resolution)`` (hours up to 8 days, days beyond)."""
    resolution = DAY if window.resolution >= DAY else HOUR
    start = window.start - window.start % resolution
    end = -(-window.end // resolution) * resolution
    return start, end, resolution


def group_rows(window: Window, q: str = "", service: str = "",
               feature_ids: Iterable[int] | None = None, location: str = "",
               sort: str = DEFAULT_SORT) -> list[GroupRow]:
    """One row per group with occurrences in the window (of ``feature_ids``' entry points,
    or raised in the function ``location``), sorted."""
    start, end, resolution = hours_of(window)
    spans = cover(start, end, resolution, window.open_end, GROUP_RESOLUTIONS)
    rows: dict[int, GroupRow] = {}
    ids = None if feature_ids is None else list(feature_ids)
    groups = ErrorGroup.objects.all()
    if q:
        groups = groups.filter(Q(type__icontains=q) | Q(location__icontains=q))
    if location:
        groups = groups.filter(location=location)
    features = Feature.objects.filter(service=service) if service else None
    by_id = {g.pk: g for g in groups}
    for span_resolution, first, last in spans:
        buckets = ErrorGroupBucket.objects.filter(resolution=span_resolution,
                                                  bucket_start__gte=first,
                                                  bucket_start__lt=last)
        if q or location:
            buckets = buckets.filter(group_id__in=list(by_id))
        if ids is not None:
            buckets = buckets.filter(feature_id__in=ids)
        if features is not None:
            buckets = buckets.filter(feature__in=features)
        for group_id, feature_id, n in (buckets.values("group_id", "feature_id")
                                        .annotate(n=Sum("count"))
                                        .values_list("group_id", "feature_id", "n")):
            group = by_id.get(group_id)
            if group is None:
                continue
            row = rows.get(group_id)
            if row is None:
                row = rows[group_id] = GroupRow(group)
            row.count += int(n)
            row.features[feature_id] = row.features.get(feature_id, 0) + int(n)
    return sort_rows(list(rows.values()), sort)


def sort_rows(rows: list[GroupRow], sort: str) -> list[GroupRow]:
    key = sort.lstrip("-")
    if key not in SORTS:
        sort, key = DEFAULT_SORT, DEFAULT_SORT.lstrip("-")
    descending = sort.startswith("-")

    def value(row: GroupRow) -> Any:
        if key in ("count", "entry_points"):
            return getattr(row, key)
        if key in ("type", "location"):
            return str(getattr(row.group, key)).casefold()
        return getattr(row.group, key)

    rows.sort(key=lambda r: r.group.fingerprint)
    rows.sort(key=value, reverse=descending)
    return rows


def fill_series(window: Window, rows: list[GroupRow],
                feature_ids: Iterable[int] | None = None) -> list[int]:
    """Occurrences per hour (or day) of each row's group; returns the bucket starts."""
    start, end, resolution = hours_of(window)
    points = list(range(start, end, resolution))
    positions = {t: i for i, t in enumerate(points)}
    by_group = {row.group.pk: row for row in rows}
    for row in rows:
        row.series = [0] * len(points)
    buckets = ErrorGroupBucket.objects.filter(
        resolution=resolution, bucket_start__gte=start, bucket_start__lt=end,
        group_id__in=list(by_group))
    if feature_ids is not None:
        buckets = buckets.filter(feature_id__in=list(feature_ids))
    for group_id, bucket, n in buckets.values("group_id", "bucket_start").annotate(
            n=Sum("count")).values_list("group_id", "bucket_start", "n"):
        position = positions.get(bucket)
        if position is not None:
            by_group[group_id].series[position] += int(n)
    return points


def fill_examples(rows: list[GroupRow], per_group: int = 5,
                  feature_ids: Iterable[int] | None = None) -> None:
    """The newest examples of each row's group (messages, stacks, trace ids)."""
    by_group: dict[int, list[ErrorGroupExample]] = defaultdict(list)
    examples = ErrorGroupExample.objects.filter(group_id__in=[r.group.pk for r in rows])
    if feature_ids is not None:
        examples = examples.filter(feature_id__in=list(feature_ids))
    for example in examples.order_by("-time", "-id"):
        found = by_group[example.group_id]
        if len(found) < per_group:
            found.append(example)
    for row in rows:
        row.examples = by_group.get(row.group.pk, [])
