"""``manage.py tracekit_prune``: apply the feature-usage retention (run it daily, e.g. cron).

Counters are rolled up into hour and day buckets when they are written, so pruning only
deletes: minute buckets after ``--minute-hours`` (48 h: the pages read minute buckets for
ranges up to 6 hours), hour buckets after ``--hour-days`` (35 days, ranges up to 8 days and
custom ranges), day buckets and errors after ``STATS['RETENTION_DAYS']`` (``--days``), errors
beyond the newest 20 per feature, and features left with no data at all.

The trace store: traces that ended more than ``TRACES['RETENTION_HOURS']`` ago
(``--trace-hours``) and the oldest beyond ``TRACES['MAX_TRACES']``, in batches.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import router
from django.db.models import Exists, OuterRef

from django_tracekit.conf import get_config
from django_tracekit.models import (
    DAY,
    HOUR,
    MINUTE,
    ErrorSample,
    Feature,
    LatencyBucket,
    UsageBucket,
)
from django_tracekit.stats.store import ERRORS_KEPT
from django_tracekit.traces.store import prune as prune_traces


class Command(BaseCommand):
    help = "Delete feature-usage data older than TRACEKIT['STATS']['RETENTION_DAYS']."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=float, default=None,
                            help="Keep day buckets and errors this many days (default: "
                                 "STATS['RETENTION_DAYS']).")
        parser.add_argument("--minute-hours", type=float, default=48.0,
                            help="Keep minute buckets this many hours (default 48).")
        parser.add_argument("--hour-days", type=float, default=35.0,
                            help="Keep hour buckets this many days (default 35, at most --days).")
        parser.add_argument("--trace-hours", type=float, default=None,
                            help="Keep stored traces this many hours (default: "
                                 "TRACES['RETENTION_HOURS']).")
        parser.add_argument("--dry-run", action="store_true",
                            help="Count what would be deleted; delete nothing.")
        parser.add_argument("--database", default=None,
                            help="Database alias (default: the router's choice for writes).")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days is None:
            days = get_config().stats.retention_days
        for name in ("days", "minute_hours", "hour_days"):
            value = days if name == "days" else options[name]
            if value <= 0:
                raise CommandError(f"--{name.replace('_', '-')} must be > 0, got {value}.")
        traces = get_config().traces
        trace_hours = options["trace_hours"]
        if trace_hours is None:
            trace_hours = traces.retention_hours
        if trace_hours <= 0:
            raise CommandError(f"--trace-hours must be > 0, got {trace_hours}.")
        alias = options["database"] or router.db_for_write(UsageBucket)
        now = int(time.time())
        cutoffs = {
            MINUTE: now - int(options["minute_hours"] * 3600),
            HOUR: now - int(min(options["hour_days"], days) * 86400),
            DAY: now - int(days * 86400),
        }
        dry = options["dry_run"]
        counts: dict[str, int] = {}
        for model in (UsageBucket, LatencyBucket):
            for resolution, cutoff in cutoffs.items():
                # Buckets that *end* before the cutoff: nothing of them is in retention.
                rows = model.objects.using(alias).filter(
                    resolution=resolution, bucket_start__lt=cutoff - resolution)
                label = f"{model._meta.db_table} ({resolution}s buckets)"
                counts[label] = rows.count() if dry else rows.delete()[0]
        errors = ErrorSample.objects.using(alias)
        old = errors.filter(time__lt=cutoffs[DAY] * 1_000_000)
        counts["tracekit_error (old)"] = old.count() if dry else old.delete()[0]
        excess = 0
        for feature_id in errors.values_list("feature_id", flat=True).distinct():
            stale = list(errors.filter(feature_id=feature_id).order_by("-time", "-id")
                         .values_list("id", flat=True)[ERRORS_KEPT:])
            excess += len(stale)
            if stale and not dry:
                errors.filter(id__in=stale).delete()
        counts["tracekit_error (beyond the newest per feature)"] = excess
        unused = Feature.objects.using(alias).filter(
            ~Exists(UsageBucket.objects.using(alias).filter(feature=OuterRef("pk"))),
            ~Exists(ErrorSample.objects.using(alias).filter(feature=OuterRef("pk"))))
        counts["tracekit_feature (no data left)"] = unused.count() if dry else unused.delete()[0]
        aged, capped = prune_traces(trace_hours, traces.max_traces, using=alias, dry_run=dry)
        counts["tracekit_trace (older than the retention)"] = aged
        counts["tracekit_trace (beyond MAX_TRACES)"] = capped
        verb = "would delete" if dry else "deleted"
        for label, count in counts.items():
            self.stdout.write(f"{label}: {verb} {count}")
