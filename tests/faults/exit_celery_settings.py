"""tests/celery's project, set up for the exit faults (tests/faults/exit_settings.py)."""

import os

from tests.celery.project.settings import *  # noqa: F403
from tests.faults import exit_settings

DATABASES = exit_settings.DATABASES
TRACEKIT = exit_settings.tracekit(os.environ["TK_OTLP_ENDPOINT"])
# INFO: the startup line and the stats' own notes are in the worker log of a failing test.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django_tracekit": {"handlers": ["stderr"], "level": "INFO"}},
}
