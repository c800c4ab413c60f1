"""tests/traces/project's settings (web and worker share one database) with the stats on,
flushing every 0.3 s: the producer -> task edges end to end."""

from typing import Any

from tests.traces.project.settings import *  # noqa: F403
from tests.traces.project.settings import _TRACEKIT

ROOT_URLCONF = "tests.stats.edges_project.urls"
TRACEKIT: dict[str, Any] = {**_TRACEKIT, "STATS": {"ENABLED": True, "FLUSH_INTERVAL_S": 0.3},
                            "TRACES": {"ENABLED": False}}
