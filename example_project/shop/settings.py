"""Example project settings: embedded defaults (SQLite), tracekit configured below."""

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SHOP_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(exist_ok=True)

SECRET_KEY = os.environ.get("SHOP_SECRET_KEY", "demo-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django_tracekit",  # first: auto-tracing must see the apps' modules being imported
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "shop.videos",
]
MIDDLEWARE = [
    "django_tracekit.middleware.TracekitMiddleware",  # first: it times everything below
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's CSS/JS) served by the app itself, as in production.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "shop.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
WSGI_APPLICATION = "shop.wsgi.application"

def _database(url: str | None) -> dict[str, object]:
    """DATABASE_URL-style: postgres://user:pass@host:port/name, mysql://…; default SQLite."""
    if not url:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "db.sqlite3",
                "OPTIONS": {"timeout": 20}}
    parts = urlsplit(url)
    engines = {"postgres": "postgresql", "postgresql": "postgresql", "mysql": "mysql",
               "mariadb": "mysql"}
    return {"ENGINE": f"django.db.backends.{engines[parts.scheme]}",
            "NAME": parts.path.lstrip("/"), "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""), "HOST": parts.hostname or "",
            "PORT": str(parts.port or "")}


DATABASES = {"default": _database(os.environ.get("DATABASE_URL"))}

# Celery: the embedded default is the filesystem:// broker (no server needed); set
# CELERY_BROKER_URL=redis://127.0.0.1:6379/0 (or amqp://…) to use a real one.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's own filesystem transport can hand a busy worker a half-written message.
    CELERY_BROKER_TRANSPORT = "filesystem_broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "broker"),
        "data_folder_out": str(VAR_DIR / "broker"),
        "control_folder": str(VAR_DIR / "broker-control"),
        "polling_interval": 0.1,
    }
    for folder in ("broker", "broker-control"):
        (VAR_DIR / folder).mkdir(exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# `manage.py collectstatic` (demo.py runs it) gathers them into STATIC_ROOT under hashed,
# compressed names that browsers may cache forever; WhiteNoise serves them with DEBUG off.
# The shop's INFO lines are written (and so become events of the span they happen in).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"shop": {"handlers": ["console"], "level": "INFO"}},
}
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

TRACEKIT = {
    "PROJECT_NAME": "shop",  # span and feature names start with shop/...
    # The worker runs with SHOP_SERVICE_NAME=shop-worker: a trace's web and worker parts are
    # told apart in the trace explorer.
    "SERVICE_NAME": os.environ.get("SHOP_SERVICE_NAME", "shop-web"),
    # service.version: the demo rolls out 1.4.0, then 1.5.0 (the admin compares releases).
    "SERVICE_VERSION": os.environ.get("SHOP_VERSION", "1.5.0"),
    # The demo exports nowhere: the admin's feature-usage pages still work (they are built
    # from the spans in-process). One-line switches: SHOP_TRACE_EXPORTER=console prints spans;
    # SHOP_TRACE_EXPORTER=otlp sends them to OTEL_EXPORTER_OTLP_ENDPOINT (a Collector, Jaeger:
    # http://127.0.0.1:4318).
    "EXPORTER": os.environ.get("SHOP_TRACE_EXPORTER", "none"),
    "SAMPLE_RATE": 1.0,  # counts in the admin are exact at any rate
    "EXCLUDED_URLS": [r"^/healthz$"],  # health checks are not traced
    # Every function of the videos app is traced, no decorators needed: calls under 1 ms are
    # only counted, slower ones (and failing ones) become spans. @no_autotrace pulls one back.
    "AUTOTRACE": {"INCLUDE": ["shop.videos"], "EXCLUDE": ["shop.videos.migrations"],
                  "MIN_DURATION_MS": 1.0},
    "STATS": {"FLUSH_INTERVAL_S": float(os.environ.get("SHOP_STATS_FLUSH_S", "10"))},
}
