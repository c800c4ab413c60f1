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
from opentelemetry.instrumentation.requests import RequestsInstrumentor
import django_tracekit as tracekit
from django_tracekit.sources.httpclient import instrumentors
print(json.dumps({"instrumented": RequestsInstrumentor().is_instrumented_by_opentelemetry,
                  "status": instrumentors.status, "modules": sorted(sys.modules)}))
"""


@pytest.mark.requires(*HttpClientIntegration.requires)
@pytest.mark.parametrize("enabled", [True, False])
def test_the_switch_decides_whether_anything_is_instrumented(enabled: bool) -> None:
    result = check(run_django(SWITCH, {"TRACEKIT": {
        "AUTOTRACE": {"INCLUDE": []}, "HTTP_CLIENT": {"ENABLED": enabled}}}))
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["instrumented"] is enabled
    # requests (and urllib3 under it) instrumented when the script imported it; httpx, never
    # imported here, is left alone until it is; urllib.request until its first open.
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
    assert status["urllib3"] == "tracekit"
    assert "Attempting to instrument while already instrumented" not in result.stderr
