"""The integration: refused with a clear reason without the ``http`` extra, off with its
switch, and then nothing is instrumented."""

from __future__ import annotations

import json
import sys

import pytest

from django_tracekit.conf import resolve
from django_tracekit.integrations.base import importable
from django_tracekit.sources.httpclient.integration import HttpClientIntegration
from tests.support.scripts import check, run_django


def test_refused_with_the_extra_to_install_when_an_instrumentor_is_missing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    missing = [m for m in HttpClientIntegration.requires if not importable(m)]
    if not missing:  # full profile: make one instrumentor unimportable, as in core
        monkeypatch.setitem(sys.modules, "opentelemetry.instrumentation.httpx", None)
        missing = ["opentelemetry.instrumentation.httpx"]
    refusal = HttpClientIntegration(resolve({}, {})).refusal()
    assert refusal == f"{', '.join(missing)} not installed (pip install 'django-tracekit[http]')"


@pytest.mark.requires(*HttpClientIntegration.requires)
def test_on_by_default_and_off_with_its_switch() -> None:
    assert HttpClientIntegration(resolve({}, {})).refusal() is None
    off = resolve({"HTTP_CLIENT": {"ENABLED": False}}, {})
    assert HttpClientIntegration(off).refusal() == "TRACEKIT['HTTP_CLIENT']['ENABLED'] is False"


SWITCH = """
import requests
import django_tracekit as tracekit
from django_tracekit.sources.httpclient import instrumentors
before = dict(instrumentors.status)
loaded = "opentelemetry.instrumentation.requests" in sys.modules
try:
    requests.get("http://127.0.0.1:9/", timeout=5)  # the first call (refused: no matter)
except requests.RequestException:
    pass
from opentelemetry.instrumentation.requests import RequestsInstrumentor
print(json.dumps({"instrumented": RequestsInstrumentor().is_instrumented_by_opentelemetry,
                  "before": before, "loaded_before": loaded,
                  "status": instrumentors.status, "modules": sorted(sys.modules)}))
"""


@pytest.mark.requires(*HttpClientIntegration.requires)
@pytest.mark.parametrize("enabled", [True, False])
def test_the_switch_decides_whether_anything_is_instrumented(enabled: bool) -> None:
    result = check(run_django(SWITCH, {"TRACEKIT": {
        "AUTOTRACE": {"INCLUDE": []}, "HTTP_CLIENT": {"ENABLED": enabled}}}))
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["instrumented"] is enabled
    # requests and urllib3 (imported by Django REST framework, often never called) are
    # instrumented at their first call, their instrumentor (wrapt, packaging) loaded then;
    # httpx, never imported here, is left alone until it is; urllib.request until its
    # first open.
    assert out["before"] == ({"requests": "on first use", "httpx": "on first import",
                              "urllib3": "on first use", "urllib.request": "on first use"}
                             if enabled else {})
    assert out["loaded_before"] is False
    assert out["status"] == ({"requests": "tracekit", "httpx": "on first import",
                              "urllib3": "tracekit", "urllib.request": "on first use"}
                             if enabled else {})
    assert ("httpx" in out["modules"]) is False


APPLICATION_FIRST = """
from opentelemetry.instrumentation.requests import RequestsInstrumentor
RequestsInstrumentor().instrument()  # as opentelemetry-instrument would, before Django
django.setup()
from django_tracekit.sources.httpclient import instrumentors
print(json.dumps(instrumentors.status))
"""


@pytest.mark.requires(*HttpClientIntegration.requires)
def test_an_instrumentation_the_application_did_stays_in_charge() -> None:
    result = check(run_django(APPLICATION_FIRST, {"TRACEKIT": {"AUTOTRACE": {"INCLUDE": []}}},
                              setup=False))
    status = json.loads(result.stdout.strip().splitlines()[-1])
    assert status["requests"] == "application"
    assert status["urllib3"] == "on first use"  # tracekit's, at its first call
    assert "Attempting to instrument while already instrumented" not in result.stderr


APPLICATION_LATER = """
import requests
from opentelemetry.instrumentation.requests import RequestsInstrumentor
RequestsInstrumentor().instrument()  # the application's own, after tracekit's set-up
from django_tracekit.sources.httpclient import instrumentors
try:
    requests.get("http://127.0.0.1:9/", timeout=5)
except requests.RequestException:
    pass
print(json.dumps(instrumentors.status))
"""


@pytest.mark.requires(*HttpClientIntegration.requires)
def test_an_instrumentation_the_application_does_before_the_first_call_stays_in_charge() -> None:
    result = check(run_django(APPLICATION_LATER, {"TRACEKIT": {"AUTOTRACE": {"INCLUDE": []}}}))
    status = json.loads(result.stdout.strip().splitlines()[-1])
    assert status["requests"] == "application"  # the call went through theirs, once
    assert status["urllib3"] == "tracekit"
