"""tests/celery's project on the black-holed PostgreSQL (tests/faults/exit_pg_settings.py)."""

from tests.celery.project.settings import *  # noqa: F403
from tests.faults import exit_pg_settings

DATABASES = exit_pg_settings.DATABASES
LOGGING = exit_pg_settings.LOGGING
TRACEKIT = exit_pg_settings.TRACEKIT
