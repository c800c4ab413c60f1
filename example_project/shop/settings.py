"""Example project settings: embedded defaults (SQLite), tracekit configured below."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SHOP_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(exist_ok=True)

SECRET_KEY = os.environ.get("SHOP_SECRET_KEY", "demo-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tracekit",
    "shop.videos",
]
MIDDLEWARE = [
    "django_tracekit.middleware.TracekitMiddleware",  # first: it times everything below
    "django.middleware.security.SecurityMiddleware",
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
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "db.sqlite3"}}
STATIC_URL = "static/"

TRACEKIT = {
    "PROJECT_NAME": "shop",  # span names start with shop/...
    "SERVICE_NAME": "shop-web",
    # The demo writes spans as JSON lines to var/spans.jsonl (a dotted-path factory).
    # One-line switches: "otlp" (+ OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT) to send to
    # a collector or Jaeger, "console" to print them.
    "EXPORTER": os.environ.get("SHOP_TRACE_EXPORTER", "shop.tracing.jsonl_exporter"),
    "SAMPLE_RATE": 1.0,
    "EXCLUDED_URLS": [r"^/healthz$"],  # health checks are not traced
}
