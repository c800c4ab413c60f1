"""``TRACEKIT['METRICS']``: per-feature metrics counted before sampling (docs/metrics.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, cast
from urllib.parse import urlsplit

from django_tracekit.conf.base import Reader, valid_url
from django_tracekit.core.features import KINDS

EXPORTERS = ("otlp", "prometheus_remote_write")
CHECK_IDS = {"ENABLED": "E027", "EXPORT_INTERVAL_S": "E048", "KINDS": "E049",
             "EXPORTER": "E050", "REMOTE_WRITE_URL": "E051"}


@dataclass(frozen=True)
class MetricsSettings:
    enabled: bool = False
    export_interval_s: float = 60.0
    kinds: tuple[str, ...] = ("request", "task", "command")
    exporter: Literal["otlp", "prometheus_remote_write"] = "otlp"
    remote_write_url: str | None = None


def read(r: Reader) -> MetricsSettings:
    values = r.section("METRICS")
    enabled = r.flag(values, "ENABLED", CHECK_IDS["ENABLED"])
    kinds = r.names(values, "KINDS", CHECK_IDS["KINDS"],
                    "Use e.g. ['request', 'task', 'command'] ('function' adds a series set "
                    "per traced function).", valid=KINDS.__contains__, non_empty=True,
                    wanted=f"a non-empty list of {', '.join(KINDS)}")
    exporter = r.text(values, "EXPORTER", CHECK_IDS["EXPORTER"],
                      "Use 'otlp' (a Collector) or 'prometheus_remote_write' (with "
                      "REMOTE_WRITE_URL).", valid=EXPORTERS.__contains__,
                      wanted=f"one of {', '.join(map(repr, EXPORTERS))}")
    url = r.text(values, "REMOTE_WRITE_URL", CHECK_IDS["REMOTE_WRITE_URL"],
                 "Use e.g. 'http://prometheus:9090/api/v1/write'.", valid=valid_url,
                 wanted="a valid http(s) URL")
    if enabled and exporter == "prometheus_remote_write" and url is None:
        r.report(CHECK_IDS["REMOTE_WRITE_URL"], values.where("REMOTE_WRITE_URL"),
                 "is required when EXPORTER is 'prometheus_remote_write'.",
                 "Set it to the remote-write endpoint, e.g. 'http://prometheus:9090/api/v1/write'.")
    return MetricsSettings(
        enabled=enabled,
        export_interval_s=r.number(values, "EXPORT_INTERVAL_S", CHECK_IDS["EXPORT_INTERVAL_S"]),
        kinds=kinds or ("request", "task", "command"),
        exporter=cast(Literal["otlp", "prometheus_remote_write"], exporter or "otlp"),
        remote_write_url=url)


def metrics_endpoint(base: str, protocol: str) -> str:
    """The traces endpoint's base + ``/v1/metrics`` (OTLP/HTTP); gRPC takes the base."""
    if protocol != "http/protobuf":
        return base
    path = urlsplit(base).path
    if path.endswith("/v1/traces"):
        return base[: -len("/v1/traces")] + "/v1/metrics"
    return base.rstrip("/") + "/v1/metrics"


def destination(settings: MetricsSettings, otlp_endpoint: str, otlp_protocol: str,
                env: Mapping[str, str]) -> str:
    """Where the metrics go, as an operator reads it (the admin says it when STATS is off)."""
    if settings.exporter == "prometheus_remote_write":
        return f"Prometheus remote-write {settings.remote_write_url}"
    protocol = env.get("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL") or otlp_protocol
    endpoint = env.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") or metrics_endpoint(
        otlp_endpoint, protocol)
    return f"OTLP {endpoint}"
