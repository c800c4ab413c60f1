"""What a web worker of the example project (default configuration: stats and trace store
on, no exporter, no Sentry) loads while it serves requests and flushes (issue 24, worker
memory): the flush path writes with the ORM only, and nothing a worker does not use is
loaded — the admin's pages, the exporters, the Sentry client."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import clean_env
from tests.support.scripts import ROOT

PROJECT = ROOT / "example_project"

pytestmark = pytest.mark.requires("celery")  # the example project's shop/celery.py

# Served as gunicorn serves it (the WSGI handler, no system checks), then every local
# destination flushed, as the flusher thread does every interval.
SCRIPT = """
import io, json, sys
from django.core.wsgi import get_wsgi_application
app = get_wsgi_application()
statuses = []
for i in range(40):
    path = ("/videos/", "/videos/1/", "/healthz", "/videos/999/")[i % 4]
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "",
               "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1",
               "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.input": io.BytesIO(),
               "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr}
    answer = []
    b"".join(app(environ, lambda status, headers, *_: answer.append(status)))
    statuses.append(answer[0].split()[0])
from django_tracekit.destinations.stats.processor import StatsProcessor
from django_tracekit.destinations.traces.processor import TraceStoreProcessor
flushed = [p.flush(final=True) for kind in (StatsProcessor, TraceStoreProcessor)
           for p in kind.processors()]
from django_tracekit.models import Feature, Trace
print(json.dumps({"statuses": sorted(set(statuses)), "flushed": flushed,
                  "features": Feature.objects.count(), "traces": Trace.objects.count(),
                  "modules": sorted(sys.modules)}))
"""

# Loaded only by what uses them: the admin's page code (its first request), the exporters
# and the SDK's export module (an exporter configured), the Sentry client (Sentry on), the
# outgoing calls' redaction hooks (an HTTP client library imported).
NOT_IN_A_WORKER = (
    "django_tracekit.pages.usage", "django_tracekit.pages.traces",
    "django_tracekit.pages.errors", "django_tracekit.pages.unused",
    "django_tracekit.pages.releases.releases_admin", "django_tracekit.pages.shared.charts",
    "django_tracekit.destinations.export.processors", "opentelemetry.sdk.trace.export",
    "django_tracekit.destinations.sentry.client", "django_tracekit.destinations.sentry.scrub",
    "django_tracekit.destinations.sentry.transport", "sentry_sdk",
    "django_tracekit.sources.httpclient.redaction",  # no HTTP client library imported
)


def test_serving_and_flushing_load_nothing_a_worker_does_not_use(tmp_path: Path) -> None:
    env = clean_env("shop.settings", pythonpath=(str(PROJECT),), SHOP_VAR_DIR=str(tmp_path))
    migrate = subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=PROJECT,
                             env=env, capture_output=True, text=True, timeout=180)
    assert migrate.returncode == 0, migrate.stderr
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["statuses"] == ["200", "404"]
    # The flush did write (so its path was taken): the features and the kept traces.
    assert seen["flushed"] == [True, True]  # final: every pending trace decided
    assert seen["features"] > 0 and seen["traces"] > 0
    assert [m for m in seen["modules"] if m.startswith(NOT_IN_A_WORKER)] == []
