"""What a process imports at start-up (issue 24, memory and start-up): only what the
configuration asks for. A fresh process with the test settings (admin, stats, trace store,
auto-tracing on; no Sentry, no metrics) loads its URLconf and runs every system check, as
``manage.py check`` does, and a request is served."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support.scripts import ROOT

SCRIPT = """
import django, json, sys
django.setup()
from django.core import checks
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
ids = [m.id for m in checks.run_checks(include_deployment_checks=False)]
status = Client().get("/admin/login/").status_code
print(json.dumps({"ids": ids, "status": status, "modules": sorted(sys.modules)}))
"""

# Loaded only when configured or used: Sentry (its version is read only when Sentry is asked
# for), the metrics SDK (METRICS on), billiard's pool (a worker losing a child).
NOT_AT_START_UP = ("sentry_sdk", "opentelemetry.sdk.metrics", "billiard.pool")


def test_start_up_imports_only_what_is_configured() -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "DJANGO_", "SENTRY_"))}
    env.update(DJANGO_SETTINGS_MODULE="tests.settings", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["status"] == 200
    assert not [i for i in seen["ids"] if ".E" in i]
    assert "django_tracekit.bootstrap" in seen["modules"]  # tracekit did start
    assert [m for m in seen["modules"] if m.startswith(NOT_AT_START_UP)] == []
