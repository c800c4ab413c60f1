"""Feature-usage storage: features, counters per time bucket, latency histograms, errors.

Every counter row is written only by adding increments (see ``stats/store.py``), at three
resolutions at once (minute, hour, day: the rollup happens at write time, so long ranges
read a few rows per feature and no rollup job can fall behind). Times are epoch seconds
(integers: portable, no timezone conversion in raw SQL). ``tracekit_prune`` applies the
retention.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

MINUTE, HOUR, DAY = 60, 3600, 86400
RESOLUTIONS = (MINUTE, HOUR, DAY)


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
    resolution = models.PositiveIntegerField()  # seconds: 60, 3600 or 86400
    bucket_start = models.BigIntegerField()  # epoch seconds, a multiple of resolution
    calls = models.BigIntegerField(default=0)
    errors = models.BigIntegerField(default=0)
    duration_sum_us = models.BigIntegerField(default=0)
    duration_max_us = models.BigIntegerField(default=0)
    # Spans of this feature that ran one statement N_PLUS_ONE times or more.
    n_plus_one = models.BigIntegerField(default=0)

    class Meta:
        db_table = "tracekit_usage"
        constraints = (
            models.UniqueConstraint(fields=["feature", "resolution", "bucket_start"],
                                    name="tracekit_usage_unique"),)
        # Covering: range reads never touch the table (page time on 1,000 features x 90 d).
        indexes = (models.Index(fields=["resolution", "bucket_start", "feature", "calls",
                                        "errors", "duration_sum_us", "duration_max_us"],
                                name="tracekit_usage_time"),)
        default_permissions = ()


class LatencyBucket(models.Model):
    """One histogram bucket (``stats/histogram.py``) of one feature in one time bucket."""

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
