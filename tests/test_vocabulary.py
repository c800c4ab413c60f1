"""The span vocabulary's private seam: OpenTelemetry's suppress-instrumentation key."""

from __future__ import annotations

import pytest
from opentelemetry import context as otel_context

from django_tracekit.core import vocabulary


def test_the_suppress_key_is_opentelemetrys_own() -> None:
    # The SDK's exporters set this key; tracekit's sources must honour the same one.
    assert vocabulary.SUPPRESS_KEY == otel_context._SUPPRESS_INSTRUMENTATION_KEY


def test_without_the_private_key_a_key_of_its_own_and_one_warning(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delattr(otel_context, "_SUPPRESS_INSTRUMENTATION_KEY")
    key = vocabulary._suppress_key()
    assert key == "tracekit_suppress_instrumentation"
    warnings = [r for r in caplog.records if "_SUPPRESS_INSTRUMENTATION_KEY" in r.getMessage()]
    assert len(warnings) == 1
