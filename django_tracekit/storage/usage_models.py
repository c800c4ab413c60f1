"""Feature-usage storage: features, their counters, latency histogram and users per time
bucket and version (:class:`FeatureStats`, one row holding all three), task edges, error
groups, the instrumented functions.

Flushes write minute rows (each process its own until merged:
``destinations/stats/own_rows.py``); the merge adds closed minutes to their hour rows
(:func:`split_hours`); day and week rows are built from them by compaction
(``destinations/stats/compaction.py``). Times are epoch seconds (integers: portable, no
timezone conversion in raw SQL). ``tracekit_prune`` applies the retention. The tables of
the write path before ``tracekit_stats`` (usage, latency, users, version usage and latency,
error samples) are dropped by migration 0010 once 0008 has carried their rows over.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

MINUTE, HOUR, DAY = 60, 3600, 86400
#: Week buckets (epoch weeks: they start on Thursdays, UTC) are never shown as such; long
#: ranges read them so that 90 days are ~20 rows per feature, not 90.
WEEK = 7 * DAY
RESOLUTIONS = (MINUTE, HOUR, DAY, WEEK)
#: ``StatsCompacted.resolution`` of the open day's mark (no bucket is a second long): the
#: day row of the day ``through`` falls in holds that day's hours before ``through``
#: (compaction adds each closed, merged hour), so a range reaching now reads one row for
#: today's closed hours, not one per hour. Ignored once that day is built whole (the day
#: watermark passed it). Life rows take a day when it is built whole, as before.
OPEN_DAY = 1
#: ``FeatureStats.resolution`` of a version's life row (``bucket_start`` 0): the counters and
#: latency of every built day row of that version merged, so the releases page reads one
#: row per feature and version, not one per day.
LIFE = 0


def split_hours(spans: list[tuple[int, int, int]], minute_mark: int,
                ) -> list[tuple[int, int, int]]:
    """``(resolution, first bucket, end)`` spans with every hour span read as its hour rows
    and the minutes not in them: a flush writes minute rows only, and the merge adds each
    minute to its hour's row as it moves the minute watermark (``minute_mark``) past it
    (``destinations/stats/merging.py``). So an hour row holds its minutes before the
    mark; the minutes from the mark on are read as minute rows."""
    edge = minute_mark - minute_mark % HOUR + HOUR  # no hour row holds anything from here
    out: list[tuple[int, int, int]] = []
    for span in spans:
        resolution, first, last = span
        if resolution != HOUR or last <= minute_mark:
            out.append(span)
            continue
        if first < min(last, edge):
            out.append((HOUR, first, min(last, edge)))
        if max(first, minute_mark) < last:
            out.append((MINUTE, max(first, minute_mark), last))
    return out


class Feature(models.Model):
    """One feature: a route, a task, a management command or a function, by name, per
    service."""

    class Kind(models.TextChoices):
        REQUEST = "request", _("request")
        TASK = "task", _("task")
        COMMAND = "command", _("command")
        FUNCTION = "function", _("function")

    name = models.CharField(_("feature"), max_length=255)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    service = models.CharField(_("service"), max_length=128)

    class Meta:
        db_table = "tracekit_feature"
        verbose_name = _("feature usage")
        verbose_name_plural = _("feature usage")
        constraints = (
            models.UniqueConstraint(fields=["name", "kind", "service"],
                                    name="tracekit_feature_unique"),)
        default_permissions = ("view",)

    def __str__(self) -> str:
        return self.name


#: Users sketches are kept at every resolution: a 90-day total merges ~20 per feature.
SKETCH_RESOLUTIONS = RESOLUTIONS


class InstrumentedFunction(models.Model):
    """A function the auto-trace import hook instrumented in some process of ``service``
    (written by the stats flusher when the set grows, and again daily): what the "unused
    code" page compares with the usage counters."""

    name = models.CharField(max_length=255)  # the feature name (code location)
    module = models.CharField(max_length=255)
    service = models.CharField(max_length=128)
    first_seen = models.BigIntegerField()  # epoch seconds
    last_seen = models.BigIntegerField()

    class Meta:
        db_table = "tracekit_instrumented"
        constraints = (
            models.UniqueConstraint(fields=["name", "service"],
                                    name="tracekit_instrumented_unique"),)
        indexes = (models.Index(fields=["service", "module"], name="tracekit_instr_module"),)
        default_permissions = ()


VERSION_RESOLUTIONS = (HOUR, DAY)


#: Presets whose users a daily job pre-merges (``tracekit_prune``): 7, 30 and 90 days.
RANGE_DAYS = (7, 30, 90)


class RangeUsers(models.Model):
    """The users of one feature over the whole days before ``day_start`` that a
    ``days``-day preset covers (the union of their sketches, built by ``tracekit_prune``):
    such a page then merges two sketches per feature (this and the current day), not ~14."""

    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="+")
    days = models.PositiveSmallIntegerField()
    day_start = models.BigIntegerField()  # epoch seconds of the day the preset ends in
    sketch = models.BinaryField(default=b"")

    class Meta:
        db_table = "tracekit_range_users"
        constraints = (
            models.UniqueConstraint(fields=["days", "day_start", "feature"],
                                    name="tracekit_range_users_unique"),)
        default_permissions = ()


EDGE_RESOLUTIONS = (HOUR, DAY)


class TaskEdge(models.Model):
    """Tasks one entry point enqueued in one hour/day, with their outcome
    (``stats/edges.py``): calls (final outcomes), errors (finally failed), retries."""

    # No index of their own: the unique constraint starts with ``producer``, the index below
    # with ``task`` (migration 0011; fewer schema entries for SQLite to parse per connection).
    producer = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="+",
                                 db_index=False)
    task = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="+",
                             db_index=False)
    resolution = models.PositiveIntegerField()
    bucket_start = models.BigIntegerField()
    calls = models.BigIntegerField(default=0)
    errors = models.BigIntegerField(default=0)
    retries = models.BigIntegerField(default=0)

    class Meta:
        db_table = "tracekit_task_edge"
        constraints = (
            models.UniqueConstraint(fields=["producer", "task", "resolution", "bucket_start"],
                                    name="tracekit_task_edge_unique"),)
        indexes = (models.Index(fields=["task", "resolution", "bucket_start"],
                                name="tracekit_task_edge_task"),)
        default_permissions = ()


#: Error groups are counted per hour and day (the errors page widens shorter ranges to hours).
GROUP_RESOLUTIONS = (HOUR, DAY)


class ErrorGroup(models.Model):
    """One error group: an exception type raised at one in-app location (``fingerprint.py``),
    whatever its messages. Counted in :class:`ErrorGroupBucket`."""

    fingerprint = models.CharField(max_length=16, unique=True)  # 16 lowercase hex
    type = models.CharField(max_length=255)
    location = models.CharField(max_length=255)  # convention name of the raising function
    file_path = models.CharField(max_length=500, blank=True)  # of the latest write
    line = models.IntegerField(default=0)
    first_seen = models.BigIntegerField()  # epoch seconds
    last_seen = models.BigIntegerField()
    count = models.BigIntegerField(default=0)  # since first seen (retention aside)

    class Meta:
        db_table = "tracekit_error_group"
        verbose_name = _("error group")
        verbose_name_plural = _("error groups")
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.type} at {self.location}"


class ErrorGroupBucket(models.Model):
    """Occurrences of one group under one entry point (the request, task or command it was
    raised in) in one hour/day: exact, every error counted once, where it was raised."""

    # No index of its own: the unique constraint starts with it (migration 0011).
    group = models.ForeignKey(ErrorGroup, on_delete=models.CASCADE, related_name="+",
                              db_index=False)
    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="+")
    resolution = models.PositiveIntegerField()
    bucket_start = models.BigIntegerField()
    count = models.BigIntegerField(default=0)

    class Meta:
        db_table = "tracekit_error_group_bucket"
        constraints = (
            models.UniqueConstraint(fields=["group", "feature", "resolution", "bucket_start"],
                                    name="tracekit_error_group_bucket_unique"),)
        indexes = (models.Index(fields=["resolution", "bucket_start", "group", "feature",
                                        "count"], name="tracekit_error_group_time"),)
        default_permissions = ()


class ErrorGroupExample(models.Model):
    """One of the newest errors of a group (a few per group): message, stack, trace."""

    # No index of its own: ``tracekit_error_group_recent`` starts with it (migration 0011).
    group = models.ForeignKey(ErrorGroup, on_delete=models.CASCADE, related_name="+",
                              db_index=False)
    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="+")
    time = models.BigIntegerField()  # epoch microseconds
    message = models.TextField(blank=True)
    stacktrace = models.TextField(blank=True)
    trace_id = models.CharField(max_length=32, blank=True)
    span_id = models.CharField(max_length=16, blank=True)

    class Meta:
        db_table = "tracekit_error_group_example"
        indexes = (models.Index(fields=["group", "time"], name="tracekit_error_group_recent"),)
        default_permissions = ()


class FeatureStats(models.Model):
    """Everything one feature did under one ``service.version`` in one minute/hour/day/week:
    the counters, the latency sketch and the users sketch in one row (``stats/store.py``).

    A flush writes one row per feature (its minute); the merge of closed minutes adds them
    to their hour rows (an hour row holds its minutes before the minute watermark:
    :func:`split_hours`); day and week rows are built from closed hours and days
    (:mod:`django_tracekit.destinations.stats.compaction`, run by the flusher and
    ``tracekit_prune``), so long ranges still read a few rows per feature. ``latency`` is
    the duration histogram (``stats/histogram.py``, ≤ 2 % relative error) packed in bytes;
    ``users`` the users sketch (``stats/sketch.py``; empty: none).

    ``writer``: 0 for a merged row; else the process that owns the row (a random id per
    process): a process writes its minute rows alone, so flushes never wait on each
    other's row locks, and a closed minute's rows are merged into one row with ``writer``
    0 (:mod:`django_tracekit.destinations.stats.merging`). A key can have
    several rows meanwhile: every read sums (merges) the rows of a key."""

    # No index of its own: the unique constraint starts with it (one index less to write
    # per row a flush sets).
    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="+",
                                db_index=False)
    resolution = models.PositiveIntegerField()  # seconds: 60, 3600, 86400 or 604800
    bucket_start = models.BigIntegerField()  # epoch seconds, a multiple of resolution
    version = models.CharField(max_length=64, default="", blank=True)
    calls = models.BigIntegerField(default=0)
    errors = models.BigIntegerField(default=0)
    duration_sum_us = models.BigIntegerField(default=0)
    duration_max_us = models.BigIntegerField(default=0)
    n_plus_one = models.BigIntegerField(default=0)
    retries = models.BigIntegerField(default=0)
    failed_attempts = models.BigIntegerField(default=0)
    retried_tasks = models.BigIntegerField(default=0)
    latency = models.BinaryField(default=b"")
    users = models.BinaryField(default=b"")
    writer = models.BigIntegerField(default=0)

    class Meta:
        db_table = "tracekit_stats"
        constraints = (
            models.UniqueConstraint(fields=["feature", "resolution", "bucket_start", "version",
                                            "writer"],
                                    name="tracekit_stats_writer_unique"),)
        # Range reads of the counters never touch the table (page time at 90 days).
        indexes = (models.Index(fields=["resolution", "bucket_start", "feature", "calls",
                                        "errors", "duration_sum_us", "duration_max_us",
                                        "n_plus_one", "retries", "failed_attempts",
                                        "retried_tasks"],
                                name="tracekit_stats_cover"),
                   models.Index(fields=["resolution", "version", "bucket_start"],
                                name="tracekit_stats_version"))
        default_permissions = ()


class StatsCompacted(models.Model):
    """How far day (and week) rows of :class:`FeatureStats` are built: every bucket that
    starts before ``through`` has its row; later ones are read from the finer rows. For
    ``resolution`` minute and hour: the buckets before ``through`` have their process rows
    merged (a write to them adds to the merged row). For :data:`OPEN_DAY`: how far the
    open day's row holds its hours."""

    resolution = models.PositiveIntegerField(unique=True)
    through = models.BigIntegerField(default=0)  # epoch seconds

    class Meta:
        db_table = "tracekit_stats_compacted"
        default_permissions = ()
