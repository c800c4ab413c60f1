"""The app's models, one module per pipeline that writes them (Django finds them here):
feature usage (``storage/usage_models.py``) and the trace store
(``storage/trace_models.py``); the releases entry of the admin's index is a proxy
(``pages/releases/navigation.py``)."""

from django_tracekit.pages.releases.navigation import Release
from django_tracekit.storage.trace_models import Trace, TraceSpan
from django_tracekit.storage.usage_models import (
    DAY,
    HOUR,
    MINUTE,
    RESOLUTIONS,
    Feature,
    FeatureStats,
)

__all__ = ["DAY", "HOUR", "MINUTE", "RESOLUTIONS", "Feature", "FeatureStats", "Release", "Trace",
           "TraceSpan"]


# tracekit's own data code: its queries never become spans (core.vocabulary.OWN_DATA_MARKER).
__tracekit_own_data__ = True
