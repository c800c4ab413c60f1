"""tests/celery/project's settings with the stats on (flushed every 0.3 s) in a database the
worker, the sender and a command share (``TK_TRACES_DB``): what the task-count and unused-code
tests read back. The trace store is off (not under test here)."""

from tests.traces.project.settings import *  # noqa: F403
from tests.traces.project.settings import _TRACEKIT

TRACEKIT = {**_TRACEKIT,
            "STATS": {"ENABLED": True, "FLUSH_INTERVAL_S": 0.3},
            "TRACES": {"ENABLED": False}}
