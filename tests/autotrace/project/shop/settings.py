"""Settings of the auto-tracing test project, served by a real gunicorn subprocess.

BASE_DIR is tests/autotrace/project, which the server has on sys.path: the project's
modules are the top-level package ``shop`` and INCLUDE defaults to "modules under BASE_DIR".
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
SECRET_KEY = "tests-autotrace-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
# django_tracekit first: auto-tracing is installed before the other apps import their code.
INSTALLED_APPS = ["django_tracekit", "django.contrib.contenttypes", "django.contrib.auth", "shop"]
MIDDLEWARE = ["django_tracekit.middleware.TracekitMiddleware"]
ROOT_URLCONF = "shop.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
TRACEKIT = {
    "PROJECT_NAME": "shop",
    "EXPORTER": "otlp",
    "OTLP_ENDPOINT": os.environ.get("TRACEKIT_TEST_OTLP_ENDPOINT", "http://127.0.0.1:9"),
    "STATS": {"ENABLED": False},
    "AUTOTRACE": {
        "INCLUDE": None,  # default: modules under BASE_DIR
        "EXCLUDE": ["shop.fastpath", "shop.services.fast_*"],
        "MIN_DURATION_MS": 20.0,
    },
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django_tracekit": {"handlers": ["stderr"], "level": "WARNING"}},
}

_data = os.environ.get("TK_AUTOTRACE_DATA", "/tmp/tracekit-autotrace")
CELERY_BROKER_URL = "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "data_folder_in": f"{_data}/broker",
    "data_folder_out": f"{_data}/broker",
    "control_folder": f"{_data}/control",
    "polling_interval": 0.05,
}
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
