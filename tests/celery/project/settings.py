"""Settings of the Celery test project, used by the worker and server subprocesses.

Broker, result backend, queue and OTLP endpoint come from env vars set per test stack.
The task tests.celery.project.tasks.process_video is named
"tests/celery/project/tasks/process_video" (BASE_DIR tests/: PROJECT_NAME "tests").
"""

import os
from pathlib import Path

from tests.support.project_settings import *  # noqa: F403
from tests.support.project_settings import (
    INSTALLED_APPS,
    LOG_TRACEKIT_WARNINGS,
    filesystem_broker,
    otlp_export,
)

INSTALLED_APPS = [*INSTALLED_APPS, "tests.celery.project.apps.ProjectConfig"]
ROOT_URLCONF = "tests.celery.project.urls"

_data = Path(os.environ.get("TK_CELERY_DATA", "/tmp/tracekit-celery"))
CELERY_BROKER_URL = os.environ.get("TK_CELERY_BROKER", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The embedded default. Written atomically: kombu's own transport lets a busy worker
    # read a half-written message.
    CELERY_BROKER_TRANSPORT = "example_project.filesystem_broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker(_data)
# file:// works across processes for every broker and supports chords (chord_unlock);
# written atomically (Celery's own lets a child read a state another child is rewriting).
CELERY_RESULT_BACKEND = os.environ.get(
    "TK_CELERY_BACKEND",
    f"example_project.filesystem_broker:AtomicFilesystemBackend+file://{_data / 'results'}")
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("TK_CELERY_QUEUE", "celery")
CELERY_TASK_TRACK_STARTED = True  # the revoke test waits for STARTED
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_LOST_WAIT = 1.0  # report a killed child's task after 1 s, not 10 s
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if os.environ.get("TK_CELERY_BEAT"):
    # For the worker's embedded beat (-B): a task published by the scheduler every second.
    CELERY_BEAT_SCHEDULE = {
        "tick": {"task": "tests.celery.project.tasks.encode", "schedule": 1.0, "args": (99,)},
    }

LOGGING = LOG_TRACEKIT_WARNINGS
TRACEKIT = otlp_export(os.environ.get("TK_SERVICE_NAME", "tracekit-celery-tests"),
                       CELERY={"ARGS_SUMMARY": True})
