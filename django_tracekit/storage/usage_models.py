"""Feature-usage storage: features, counters per time bucket, latency histograms, errors.

Every counter row is written only by adding increments (see ``stats/store.py``), at four
resolutions at once (minute, hour, day, week: the rollup happens at write time, so long
ranges read a few rows per feature and no rollup job can fall behind). Times are epoch seconds
(integers: portable, no timezone conversion in raw SQL). ``tracekit_prune`` applies the
retention.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

MINUTE, HOUR, DAY = 60, 3600, 86400
#: Week buckets (epoch weeks: they start on Thursdays, UTC) are never shown as such; long
#: ranges read them so that 90 days are ~20 rows per feature, not 90.
WEEK = 7 * DAY
RESOLUTIONS = (MINUTE, HOUR, DAY, WEEK)
#: ``FeatureStats.resolution`` of a version's life row (``bucket_start`` 0): the counters and
#: latency of every built day row of that version merged, so the releases page reads one
#: row per feature and version, not one per day.
LIFE = 0


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


class UsageBucket(models.Model):
    """Calls, errors and durations of one feature in one minute/hour/day."""

    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="+")
    resolution = models.PositiveIntegerField()  # seconds: 60, 3600, 86400 or 604800
    bucket_start = models.BigIntegerField()  # epoch seconds, a multiple of resolution
    calls = models.BigIntegerField(default=0)
    errors = models.BigIntegerField(default=0)
    duration_sum_us = models.BigIntegerField(default=0)
    duration_max_us = models.BigIntegerField(default=0)
    # Spans of this feature that ran one statement N_PLUS_ONE times or more.
    n_plus_one = models.BigIntegerField(default=0)
    # Tasks: ``calls``/``errors`` count tasks (their final attempt); attempts that Celery
    # retried are ``retries``; ``failed_attempts`` are attempts that raised (retried or final);
    # ``retried_tasks`` are tasks that passed only after a retry (flaky); a task that failed
    # in the end is in ``errors``, whether it was retried or not.
    retries = models.BigIntegerField(default=0)
    failed_attempts = models.BigIntegerField(default=0)
    retried_tasks = models.BigIntegerField(default=0)

    class Meta:
        db_table = "tracekit_usage"
        constraints = (
            models.UniqueConstraint(fields=["feature", "resolution", "bucket_start"],
                                    name="tracekit_usage_unique"),)
        # Covering: range reads never touch the table (page time on 1,000 features x 90 d).
        indexes = (models.Index(fields=["resolution", "bucket_start", "feature", "calls",
                                        "errors", "duration_sum_us", "duration_max_us",
                                        "n_plus_one", "retries", "failed_attempts",
                                        "retried_tasks"],
                                name="tracekit_usage_cover"),)
        default_permissions = ()


class LatencyBucket(models.Model):
    """One histogram bucket (``core/histogram.py``) of one feature in one time bucket."""

    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="+")
    resolution = models.PositiveIntegerField()
    bucket_start = models.BigIntegerField()
    bin = models.SmallIntegerField()  # histogram bucket index
    n = models.BigIntegerField(default=0)

    class Meta:
        db_table = "tracekit_latency"
        constraints = (
            models.UniqueConstraint(fields=["feature", "resolution", "bucket_start", "bin"],
                                    name="tracekit_latency_unique"),)
        indexes = (models.Index(fields=["resolution", "bucket_start", "feature", "bin", "n"],
                                name="tracekit_latency_time"),)
        default_permissions = ()


class ErrorSample(models.Model):
    """One of the most recent errors of a feature (a bounded number per feature)."""

    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="+")
    time = models.BigIntegerField()  # epoch microseconds
    type = models.CharField(max_length=255)
    message = models.TextField(blank=True)
    stacktrace = models.TextField(blank=True)
    trace_id = models.CharField(max_length=32, blank=True)
    span_id = models.CharField(max_length=16, blank=True)
    stack_span_id = models.CharField(max_length=16, blank=True)

    class Meta:
        db_table = "tracekit_error"
        indexes = (models.Index(fields=["feature", "time"], name="tracekit_error_recent"),)
        default_permissions = ()


#: Users sketches are kept at every resolution: a 90-day total merges ~20 per feature.
SKETCH_RESOLUTIONS = RESOLUTIONS


class UserSketch(models.Model):
    """Distinct users (``enduser.id``) of one feature in one minute/hour/day/week: a
    mergeable sketch (``core/sketch.py``), merged into on every write."""

    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="+")
    resolution = models.PositiveIntegerField()
    bucket_start = models.BigIntegerField()
    # service.version of the processes that saw these users ("": none set); a bucket's
    # users are the union of its versions' sketches.
    version = models.CharField(max_length=64, default="", blank=True)
    sketch = models.BinaryField(default=b"")

    class Meta:
        db_table = "tracekit_users"
        constraints = (
            models.UniqueConstraint(fields=["feature", "resolution", "bucket_start", "version"],
                                    name="tracekit_users_unique"),)
        indexes = (models.Index(fields=["resolution", "bucket_start", "feature"],
                                name="tracekit_users_time"),)
        default_permissions = ()


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


class VersionUsage(models.Model):
    """Calls, errors and durations of one feature under one ``service.version`` in one
    hour/day: the feature page's version comparison (minute buckets are not kept per
    version)."""

    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="+")
    version = models.CharField(max_length=64)
    resolution = models.PositiveIntegerField()
    bucket_start = models.BigIntegerField()
    calls = models.BigIntegerField(default=0)
    errors = models.BigIntegerField(default=0)
    duration_sum_us = models.BigIntegerField(default=0)
    duration_max_us = models.BigIntegerField(default=0)

    class Meta:
        db_table = "tracekit_version_usage"
        constraints = (
            models.UniqueConstraint(fields=["feature", "version", "resolution", "bucket_start"],
                                    name="tracekit_version_usage_unique"),)
        # The releases page reads two versions across all features.
        indexes = (models.Index(fields=["resolution", "version", "bucket_start"],
                                name="tracekit_version_usage_ver"),)
        default_permissions = ()


class VersionLatency(models.Model):
    """One histogram bucket of one feature under one version in one hour/day."""

    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="+")
    version = models.CharField(max_length=64)
    resolution = models.PositiveIntegerField()
    bucket_start = models.BigIntegerField()
    bin = models.SmallIntegerField()
    n = models.BigIntegerField(default=0)

    class Meta:
        db_table = "tracekit_version_latency"
        constraints = (
            models.UniqueConstraint(
                fields=["feature", "version", "resolution", "bucket_start", "bin"],
                name="tracekit_version_latency_unique"),)
        indexes = (models.Index(fields=["resolution", "version", "feature", "bin", "n"],
                                name="tracekit_version_latency_ver"),)
        default_permissions = ()


#: Presets whose users a daily job pre-merges (``tracekit_prune``): 30 and 90 days.
RANGE_DAYS = (30, 90)


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

    producer = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="+")
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

    group = models.ForeignKey(ErrorGroup, on_delete=models.CASCADE, related_name="+")
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

    group = models.ForeignKey(ErrorGroup, on_delete=models.CASCADE, related_name="+")
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

    A flush writes two rows per feature (its minute and its hour); day and week rows are
    built from closed hours and days (:mod:`django_tracekit.destinations.stats.compaction`,
    run by the flusher and ``tracekit_prune``), so long ranges still read a few rows per
    feature. ``latency`` is the duration histogram (``stats/histogram.py``, ≤ 2 % relative
    error) packed in bytes; ``users`` the users sketch (``stats/sketch.py``; empty: none).

    ``writer``: 0 for a merged row; else the process that owns the row (a random id per
    process): a process writes its minute and hour rows alone, so flushes never wait on
    each other's row locks, and a closed minute's or hour's rows are merged into one row
    with ``writer`` 0 (:mod:`django_tracekit.destinations.stats.merging`). A key can have
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
    merged (a write to them adds to the merged row)."""

    resolution = models.PositiveIntegerField(unique=True)
    through = models.BigIntegerField(default=0)  # epoch seconds

    class Meta:
        db_table = "tracekit_stats_compacted"
        default_permissions = ()
