"""``TRACEKIT['METRICS']``, validated (called from :func:`django_tracekit.conf.resolve`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from django_tracekit.core.features import KINDS

if TYPE_CHECKING:
    from django_tracekit.conf import _Resolver

EXPORTERS = ("otlp", "prometheus_remote_write")
CHECK_ID = "E027"


@dataclass(frozen=True)
class MetricsSettings:
    enabled: bool = False
    export_interval_s: float = 60.0
    kinds: tuple[str, ...] = ("request", "task", "command")
    exporter: Literal["otlp", "prometheus_remote_write"] = "otlp"
    remote_write_url: str | None = None


def resolve_metrics(r: _Resolver) -> MetricsSettings:
    from django_tracekit.conf import _enabled, _number, _valid_url

    section = r.section("METRICS")
    enabled = _enabled(r, section, "METRICS", CHECK_ID)
    interval = float(_number(r, section, "METRICS", "EXPORT_INTERVAL_S", CHECK_ID))
    kinds = section["KINDS"]
    if (not isinstance(kinds, (list, tuple)) or not kinds
            or not all(isinstance(k, str) and k in KINDS for k in kinds)):
        r.report(CHECK_ID, "TRACEKIT['METRICS']['KINDS']",
                 f"must be a non-empty list of {', '.join(KINDS)}, got {kinds!r}.",
                 "Use e.g. ['request', 'task', 'command'] ('function' adds a series set "
                 "per traced function).")
        kinds = ("request", "task", "command")
    exporter = section["EXPORTER"]
    if exporter not in EXPORTERS:
        r.report(CHECK_ID, "TRACEKIT['METRICS']['EXPORTER']",
                 f"must be one of {', '.join(map(repr, EXPORTERS))}, got {exporter!r}.",
                 "Use 'otlp' (a Collector) or 'prometheus_remote_write' (with REMOTE_WRITE_URL).")
        exporter = "otlp"
    url = section["REMOTE_WRITE_URL"]
    if url is not None and (not isinstance(url, str) or not _valid_url(url)):
        r.report(CHECK_ID, "TRACEKIT['METRICS']['REMOTE_WRITE_URL']",
                 f"{url!r} is not a valid http(s) URL.",
                 "Use e.g. 'http://prometheus:9090/api/v1/write'.")
        url = None
    if enabled and exporter == "prometheus_remote_write" and url is None:
        r.report(CHECK_ID, "TRACEKIT['METRICS']['REMOTE_WRITE_URL']",
                 "is required when EXPORTER is 'prometheus_remote_write'.",
                 "Set it to the remote-write endpoint, e.g. 'http://prometheus:9090/api/v1/write'.")
    return MetricsSettings(enabled=enabled, export_interval_s=interval, kinds=tuple(kinds),
                           exporter=exporter, remote_write_url=url)
