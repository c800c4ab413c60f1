"""A small tracekit service served by gunicorn in tests/httpclient and tests/cache: the
other end of outgoing calls (``/hello/``), a relay that calls another service
(``/relay/?to=``) and a view using the cache (``/cached/``, Redis when TK_REDIS_URL is set)."""

import os

from tests.support.project_settings import *  # noqa: F403
from tests.support.project_settings import TRACEKIT_MIDDLEWARE, otlp_export

MIDDLEWARE = [TRACEKIT_MIDDLEWARE]
ROOT_URLCONF = "tests.httpclient.project.urls"
if os.environ.get("TK_REDIS_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": os.environ["TK_REDIS_URL"],
                          "KEY_PREFIX": os.environ.get("TK_CACHE_PREFIX", "")}}
TRACEKIT = otlp_export(os.environ.get("TK_SERVICE_NAME", "callee"), EXCLUDED_URLS=[r"^/healthz"],
                       TRACES={"ENABLED": False}, AUTOTRACE={"INCLUDE": []})
