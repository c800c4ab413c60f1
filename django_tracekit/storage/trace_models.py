"""The trace store's tables: one row per kept trace (a summary the list page filters on)
and one row per span (the waterfall). Parts of one trace written by several processes
(web and worker) land in the same ``Trace`` row; spans are unique per trace. Times are
epoch microseconds (integers: portable, no timezone conversion in raw SQL)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Trace(models.Model):
    """One kept trace, possibly made of parts from several processes and services."""

    trace_id = models.CharField(_("trace id"), max_length=32, unique=True)  # 32 lowercase hex
    start_us = models.BigIntegerField()  # earliest span start of any part
    end_us = models.BigIntegerField()  # latest span end of any part
    root_name = models.CharField(_("root"), max_length=255)  # the root span's name
    services = models.CharField(_("services"), max_length=255)  # sorted, comma-separated
    span_count = models.IntegerField(default=0)
    error_count = models.IntegerField(default=0)  # spans with ERROR status
    dropped_spans = models.IntegerField(default=0)  # beyond MAX_SPANS_PER_TRACE
    # Why it was kept, comma-separated: "error", "slow", "n_plus_one", "sample" (28 chars).
    reasons = models.CharField(max_length=32)
    user_id = models.CharField(_("user id"), max_length=255, blank=True)  # enduser.id

    class Meta:
        db_table = "tracekit_trace"
        verbose_name = _("trace")
        verbose_name_plural = _("traces")
        default_permissions = ("view",)
        indexes = (
            models.Index(fields=["start_us"], name="tracekit_trace_time"),
            models.Index(fields=["error_count", "start_us"], name="tracekit_trace_errors"),
            models.Index(fields=["user_id", "start_us"], name="tracekit_trace_user"),
        )

    def __str__(self) -> str:
        return self.trace_id

    @property
    def duration_us(self) -> int:
        return self.end_us - self.start_us


class TraceSpan(models.Model):
    """One span of a kept trace. Attributes and events are JSON text, already redacted and
    capped when written."""

    # No index of its own: the unique constraint starts with it (migration 0011).
    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="spans",
                              db_index=False)
    span_id = models.CharField(max_length=16)  # 16 lowercase hex
    parent_span_id = models.CharField(max_length=16, blank=True)
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=8)  # server, client, internal, producer, consumer
    service = models.CharField(max_length=128)
    start_us = models.BigIntegerField()
    duration_us = models.BigIntegerField()
    is_error = models.BooleanField(default=False)
    status_message = models.TextField(blank=True)
    attributes = models.TextField(blank=True)  # JSON object
    events = models.TextField(blank=True)  # JSON list of {name, time_us, attributes}

    class Meta:
        db_table = "tracekit_trace_span"
        default_permissions = ()
        constraints = (
            models.UniqueConstraint(fields=["trace", "span_id"], name="tracekit_span_unique"),)
        # ?feature=: the traces in which a feature's span ran.
        indexes = (models.Index(fields=["name", "trace"], name="tracekit_span_feature"),)

    def __str__(self) -> str:
        return self.name
