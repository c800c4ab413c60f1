"""tests/http's project on the black-holed PostgreSQL (tests/faults/exit_pg_settings.py)."""

from tests.faults import exit_pg_settings
from tests.http.project.settings import *  # noqa: F403

DATABASES = exit_pg_settings.DATABASES
LOGGING = exit_pg_settings.LOGGING
TRACEKIT = {**exit_pg_settings.TRACEKIT, "EXCLUDED_URLS": [r"^/healthz"]}
