"""TRACEKIT['METRICS']: validated with namespaced check ids; the integration refuses with a
clear reason; the OTLP endpoint is the traces endpoint's base."""

from __future__ import annotations

from typing import Any

import pytest

from django_tracekit.conf import resolve
from django_tracekit.conf.metrics import CHECK_IDS, metrics_endpoint
from django_tracekit.destinations.metrics.integration import MetricsIntegration


def problems(metrics: Any) -> list[str]:
    config = resolve({"PROJECT_NAME": "shop", "METRICS": metrics}, {})
    return [f"{p.id} {p.key}" for p in config.problems]


def test_defaults_are_off_and_valid() -> None:
    config = resolve({"PROJECT_NAME": "shop"}, {})
    assert not config.metrics.enabled
    assert config.metrics.kinds == ("request", "task", "command")
    assert config.metrics.export_interval_s == 60
    assert config.metrics.exporter == "otlp"
    assert MetricsIntegration(config).refusal() == "TRACEKIT['METRICS']['ENABLED'] is False"


@pytest.mark.parametrize(("metrics", "key"), [
    ({"ENABLED": "yes"}, "ENABLED"),
    ({"EXPORT_INTERVAL_S": 0}, "EXPORT_INTERVAL_S"),
    ({"KINDS": ["request", "view"]}, "KINDS"),
    ({"KINDS": []}, "KINDS"),
    ({"EXPORTER": "statsd"}, "EXPORTER"),
    ({"REMOTE_WRITE_URL": "prometheus:9090"}, "REMOTE_WRITE_URL"),
    ({"ENABLED": True, "EXPORTER": "prometheus_remote_write"}, "REMOTE_WRITE_URL"),
])
def test_invalid_values_are_check_errors(metrics: dict[str, Any], key: str) -> None:
    assert f"{CHECK_IDS[key]} TRACEKIT['METRICS'][{key!r}]" in problems(metrics)


def test_an_unknown_key_is_a_warning() -> None:
    assert "W001 TRACEKIT['METRICS']['INTERVAL']" in problems({"INTERVAL": 5})


def test_the_check_message_is_namespaced() -> None:
    config = resolve({"PROJECT_NAME": "shop", "METRICS": {"KINDS": "request"}}, {})
    (message,) = [p.check_message() for p in config.problems if p.id == CHECK_IDS["KINDS"]]
    assert message.id == "django_tracekit.E049"


@pytest.mark.requires("opentelemetry.exporter.otlp.proto.http")
def test_on_with_its_dependencies() -> None:
    config = resolve({"PROJECT_NAME": "shop", "METRICS": {"ENABLED": True}}, {})
    assert MetricsIntegration(config).refusal() is None


@pytest.mark.parametrize(("base", "protocol", "expected"), [
    ("http://collector:4318", "http/protobuf", "http://collector:4318/v1/metrics"),
    ("http://collector:4318/", "http/protobuf", "http://collector:4318/v1/metrics"),
    ("http://collector:4318/v1/traces", "http/protobuf", "http://collector:4318/v1/metrics"),
    ("https://otlp.example.com/otlp", "http/protobuf", "https://otlp.example.com/otlp/v1/metrics"),
    ("http://collector:4317", "grpc", "http://collector:4317"),
])
def test_metrics_endpoint_is_the_traces_endpoints_base(base: str, protocol: str,
                                                       expected: str) -> None:
    assert metrics_endpoint(base, protocol) == expected


@pytest.mark.requires("opentelemetry.exporter.otlp.proto.http")
def test_otlp_exporter_honours_the_metrics_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry.sdk.metrics import Counter
    from opentelemetry.sdk.metrics.export import AggregationTemporality

    config = resolve({"PROJECT_NAME": "shop", "OTLP_ENDPOINT": "http://collector:4318",
                      "METRICS": {"ENABLED": True}}, {})
    exporter: Any = MetricsIntegration(config).exporter()
    assert exporter._endpoint == "http://collector:4318/v1/metrics"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://metrics:4318/v1/metrics")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta")
    exporter = MetricsIntegration(config).exporter()
    assert exporter._endpoint == "http://metrics:4318/v1/metrics"
    assert exporter._preferred_temporality[Counter] is AggregationTemporality.DELTA


def test_tracekit_status_shows_why_it_is_off(capsys: pytest.CaptureFixture[str]) -> None:
    from django.core.management import call_command

    call_command("tracekit_status")
    line = next(x for x in capsys.readouterr().out.splitlines() if " metrics " in x)
    assert "off: TRACEKIT['METRICS']['ENABLED'] is False" in line


def test_remote_write_without_a_url_refuses_clearly() -> None:
    config = resolve({"PROJECT_NAME": "shop", "METRICS": {
        "ENABLED": True, "EXPORTER": "prometheus_remote_write"}}, {})
    refusal = MetricsIntegration(config).refusal()
    assert refusal is not None
    assert "REMOTE_WRITE_URL" in refusal or "cramjam" in refusal
