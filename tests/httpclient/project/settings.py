"""A small tracekit service served by gunicorn in tests/httpclient and tests/cache: the
other end of outgoing calls (``/hello/``), a relay that calls another service
(``/relay/?to=``) and a view using the cache (``/cached/``, Redis when TK_REDIS_URL is set)."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]  # tests/ -> PROJECT_NAME "tests"
SECRET_KEY = "tests-httpclient-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django_tracekit"]
MIDDLEWARE = ["django_tracekit.middleware.TracekitMiddleware"]
ROOT_URLCONF = "tests.httpclient.project.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
if os.environ.get("TK_REDIS_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": os.environ["TK_REDIS_URL"],
                          "KEY_PREFIX": os.environ.get("TK_CACHE_PREFIX", "")}}
TRACEKIT = {
    "EXPORTER": "otlp",
    "OTLP_ENDPOINT": os.environ.get("TK_OTLP_ENDPOINT", "http://127.0.0.1:9"),
    "SERVICE_NAME": os.environ.get("TK_SERVICE_NAME", "callee"),
    "EXCLUDED_URLS": [r"^/healthz"],
    "STATS": {"ENABLED": False},
    "TRACES": {"ENABLED": False},
    "AUTOTRACE": {"INCLUDE": []},
}
