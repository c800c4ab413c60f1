"""What the usage pages say when the stats are off and metrics are on: that no usage is
recorded here, and where the per-feature numbers live instead (docs/metrics.md)."""

from __future__ import annotations

import os

from django.utils.translation import gettext as _

from django_tracekit.conf import Config
from django_tracekit.conf.metrics import destination


def stats_notice(config: Config) -> str | None:
    """One sentence for the top of the page when the stats are off and metrics are on;
    else ``None``."""
    if config.stats.enabled or not config.metrics.enabled:
        return None
    where = destination(config.metrics, config.otlp_endpoint, config.otlp_protocol, os.environ)
    return _("TRACEKIT['STATS'] is off: feature usage is not recorded in this database. "
             "Calls and durations per feature are exported as metrics "
             "(traces.span.metrics.calls, traces.span.metrics.duration) to %(where)s: "
             "read them there (docs/grafana/tracekit-dashboard.json). What is shown "
             "here is from before the stats were turned off.") % {"where": where}
