"""tests/http's project, set up for the exit faults (tests/faults/exit_settings.py)."""

import os

from tests.faults import exit_settings
from tests.http.project.settings import *  # noqa: F403

DATABASES = exit_settings.DATABASES
TRACEKIT = exit_settings.tracekit(os.environ["TRACEKIT_TEST_OTLP_ENDPOINT"],
                                  EXCLUDED_URLS=[r"^/healthz"])
