"""``manage.py tracekit_prune``: apply the feature-usage retention (run it daily, e.g. cron).

Counters are rolled up into hour and day buckets when they are written, so pruning only
deletes: minute buckets after ``--minute-hours`` (48 h: the pages read minute buckets for
ranges up to 6 hours), hour buckets after ``--hour-days`` (35 days, ranges up to 8 days and
custom ranges), day buckets and errors after ``STATS['RETENTION_DAYS']`` (``--days``), errors
beyond the newest 20 per feature, and features left with no data at all. Week buckets
follow the day cutoff, users sketches the same cutoffs as the counters, per-version
counters and error-group counts the hour and day ones (error-group examples the day one,
groups left with no count are deleted); instrumented functions not seen for ``--days`` are
forgotten. The users of the 7-, 30- and 90-day presets' whole past days are pre-merged
per feature (``tracekit_range_users``: those pages read one sketch per feature for those
days, not one per day).
Then the statistics of the stats tables are refreshed (``ANALYZE``: SQLite
keeps none unless asked, and the usage pages' plans depend on them).

The trace store: traces that ended more than ``TRACES['RETENTION_HOURS']`` ago
(``--trace-hours``) and the oldest beyond ``TRACES['MAX_TRACES']``, in batches.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections, router
from django.db.models import Exists, OuterRef

from django_tracekit.conf import get_config
from django_tracekit.destinations.stats.compaction import compact, rebuild_life, watermarks
from django_tracekit.destinations.stats.groups_store import prune as prune_groups
from django_tracekit.destinations.stats.merging import merge
from django_tracekit.destinations.traces.store import prune as prune_traces
from django_tracekit.models import DAY, HOUR, MINUTE, Feature
from django_tracekit.pages.usage.users import build_range_users
from django_tracekit.storage.usage_models import (
    WEEK,
    ErrorGroupBucket,
    FeatureStats,
    InstrumentedFunction,
    RangeUsers,
    TaskEdge,
)


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
        parser.add_argument("--no-analyze", action="store_true",
                            help="Do not refresh the stats tables' planner statistics.")
        parser.add_argument("--dry-run", action="store_true",
                            help="Count what would be deleted; delete nothing.")
        parser.add_argument("--database", default=None,
                            help="Database alias (default: STATS['DATABASE'], as the routers send "
                                 "tracekit's tables).")

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
        alias = options["database"] or router.db_for_write(FeatureStats)
        now = int(time.time())
        cutoffs = {
            MINUTE: now - int(options["minute_hours"] * 3600),
            HOUR: now - int(min(options["hour_days"], days) * 86400),
            DAY: now - int(days * 86400),
        }
        dry = options["dry_run"]
        counts: dict[str, int] = {}
        week_cutoffs = {**cutoffs, WEEK: cutoffs[DAY]}
        hour_day_cutoffs = {HOUR: cutoffs[HOUR], DAY: cutoffs[DAY]}
        if not dry:
            # Closed minutes and hours: one row per key, not one per process.
            counts["tracekit_stats (process rows merged)"] = merge(alias)
            # Day and week rows of the closed days first: their hours may go next.
            counts["tracekit_stats (day and week rows built)"] = compact(alias)
        # A minute not merged yet is in no hour row: it stays, whatever --minute-hours says.
        merged_through = watermarks(alias, share_lock=False)[MINUTE]
        cutoffs[MINUTE] = min(cutoffs[MINUTE], merged_through)
        week_cutoffs[MINUTE] = cutoffs[MINUTE]
        # Versions losing day rows: their life rows are built again from the days left.
        losing = set(FeatureStats.objects.using(alias).filter(
            resolution=DAY, bucket_start__lt=cutoffs[DAY] - DAY).exclude(
            version="").values_list("feature_id", "version").distinct())
        for model, model_cutoffs in ((FeatureStats, week_cutoffs),
                                     (TaskEdge, hour_day_cutoffs),
                                     (ErrorGroupBucket, hour_day_cutoffs)):
            for resolution, cutoff in model_cutoffs.items():
                # Buckets that *end* before the cutoff: nothing of them is in retention.
                rows = model.objects.using(alias).filter(
                    resolution=resolution, bucket_start__lt=cutoff - resolution)
                label = f"{model._meta.db_table} ({resolution}s buckets)"
                counts[label] = rows.count() if dry else rows.delete()[0]
        if not dry:
            counts["tracekit_stats (version life rows rebuilt)"] = rebuild_life(alias, losing)
        gone = InstrumentedFunction.objects.using(alias).filter(last_seen__lt=cutoffs[DAY])
        counts["tracekit_instrumented (not seen)"] = gone.count() if dry else gone.delete()[0]
        counts.update(prune_groups(alias, cutoffs[DAY], dry))
        unused = Feature.objects.using(alias).filter(
            ~Exists(ErrorGroupBucket.objects.using(alias).filter(feature=OuterRef("pk"))),
            ~Exists(FeatureStats.objects.using(alias).filter(feature=OuterRef("pk"))))
        counts["tracekit_feature (no data left)"] = unused.count() if dry else unused.delete()[0]
        aged, capped = prune_traces(trace_hours, traces.max_traces, using=alias, dry_run=dry)
        counts["tracekit_trace (older than the retention)"] = aged
        counts["tracekit_trace (beyond MAX_TRACES)"] = capped
        verb = "would delete" if dry else "deleted"
        for label, count in counts.items():
            self.stdout.write(f"{label}: {verb} {count}")
        if not dry:
            # The 7/30/90-day pages then merge one prebuilt users sketch per feature plus the
            # hours around it, not one per day.
            built = build_range_users()
            self.stdout.write(f"tracekit_range_users: built {built}")
        if not dry and not options["no_analyze"]:
            _analyze(alias)
            self.stdout.write("statistics refreshed (ANALYZE)")


def _analyze(alias: str) -> None:
    """Refresh the planner statistics of the stats tables (cheap: sampled)."""
    connection = connections[alias]
    tables = [m._meta.db_table for m in (Feature, FeatureStats, InstrumentedFunction,
                                         RangeUsers)]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in tables:
            if connection.vendor == "mysql":
                cursor.execute(f"ANALYZE TABLE {quote(table)}")
                cursor.fetchall()
            elif connection.vendor in ("sqlite", "postgresql"):
                cursor.execute(f"ANALYZE {quote(table)}")
