"""Settings of the Celery test project, used by the worker and server subprocesses.

Broker, result backend, queue and OTLP endpoint come from env vars set per test stack.
"""

import os
from pathlib import Path

# BASE_DIR is the repository's tests/ folder: PROJECT_NAME "tests", so the task
# tests.celery.project.tasks.process_video is named "tests/celery/project/tasks/process_video".
BASE_DIR = Path(__file__).resolve().parents[2]
SECRET_KEY = "tests-celery-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django_tracekit",
    "tests.celery.project.apps.ProjectConfig",
]
MIDDLEWARE = [
    "django_tracekit.middleware.TracekitMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "tests.celery.project.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

_data = Path(os.environ.get("TK_CELERY_DATA", "/tmp/tracekit-celery"))
CELERY_BROKER_URL = os.environ.get("TK_CELERY_BROKER", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The embedded default: messages are files; in == out, so producer and worker share them.
    # Written atomically: kombu's own transport lets a busy worker read a half-written one.
    CELERY_BROKER_TRANSPORT = "example_project.filesystem_broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_data / "broker"),
        "data_folder_out": str(_data / "broker"),
        "control_folder": str(_data / "control"),  # fanout: revoke reaches the worker
        "polling_interval": 0.05,
    }
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django_tracekit": {"handlers": ["stderr"], "level": "WARNING"}},
}
TRACEKIT = {
    "EXPORTER": "otlp",
    "OTLP_ENDPOINT": os.environ.get("TK_OTLP_ENDPOINT", "http://127.0.0.1:9"),
    "SERVICE_NAME": os.environ.get("TK_SERVICE_NAME", "tracekit-celery-tests"),
    "STATS": {"ENABLED": False},
    "CELERY": {"ARGS_SUMMARY": True},
}
