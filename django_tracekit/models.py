"""The app's models, one module per pipeline that writes them (Django finds them here):
feature usage (``stats/models.py``) and the trace store (``traces/models.py``)."""

from django_tracekit.reports.navigation import Release
from django_tracekit.stats.models import (
    DAY,
    HOUR,
    MINUTE,
    RESOLUTIONS,
    ErrorSample,
    Feature,
    LatencyBucket,
    UsageBucket,
)
from django_tracekit.traces.models import Trace, TraceSpan

__all__ = ["DAY", "HOUR", "MINUTE", "RESOLUTIONS", "ErrorSample", "Feature", "LatencyBucket",
           "Release", "Trace", "TraceSpan", "UsageBucket"]
