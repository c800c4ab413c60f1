"""A Prometheus remote-write (1.0) exporter for the metrics SDK: cumulative samples, named
as the Collector's ``prometheusremotewrite`` exporter names them.

- a monotonic sum ``traces.span.metrics.calls`` -> ``traces_span_metrics_calls_total``;
- a histogram ``traces.span.metrics.duration`` (unit ``ms``) ->
  ``traces_span_metrics_duration_milliseconds_bucket{le=...}``, ``..._sum``, ``..._count``;
- attribute keys sanitized (``span.name`` -> ``span_name``); the resource gives ``job``
  (``service.namespace/service.name``) and ``instance`` (``service.instance.id``);
- the resource's other attributes (``service.version``, ``deployment.environment`` ...) go
  on one ``target_info`` series per process (value 1), as the Collector's exporter and
  Prometheus's own OTLP receiver put them: dashboards join it ``on (job, instance)`` (the
  release comparison by ``service_version`` does) instead of every series carrying them.

The WriteRequest protobuf is small (labels, samples) and encoded here by hand; snappy
comes from ``cramjam`` (the ``prometheus`` extra), imported only when this exporter is
chosen. The Collector's own translator does not fit: the contrib package
``opentelemetry-exporter-prometheus-remote-write`` names ``..._duration_ms_bucket`` and
adds no ``_total``, which breaks spanmetrics dashboards.
"""

from __future__ import annotations

import logging
import re
import struct
import urllib.request
from collections.abc import Iterator
from typing import Any

from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    HistogramDataPoint,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    NumberDataPoint,
    Sum,
)
from opentelemetry.sdk.metrics.export import Histogram as HistogramData

logger = logging.getLogger("django_tracekit")

_INVALID_NAME = re.compile(r"[^a-zA-Z0-9_:]")
_INVALID_LABEL = re.compile(r"[^a-zA-Z0-9_]")
# The units the Collector's translator spells out (prometheus translator unitMap).
_UNITS = {"ms": "milliseconds", "s": "seconds", "us": "microseconds", "ns": "nanoseconds",
          "By": "bytes", "1": ""}
Labels = list[tuple[str, str]]


def metric_name(name: str, unit: str, monotonic_sum: bool) -> str:
    """``traces.span.metrics.calls`` -> ``traces_span_metrics_calls_total``."""
    base = _INVALID_NAME.sub("_", name)
    suffix = _UNITS.get(unit, "" if unit.startswith("{") else _INVALID_NAME.sub("_", unit))
    if suffix and not base.endswith("_" + suffix):
        base += "_" + suffix
    if monotonic_sum and not base.endswith("_total"):
        base += "_total"
    return base


def label_name(key: str) -> str:
    name = _INVALID_LABEL.sub("_", key)
    return "key" + name if name[:1].isdigit() else name


def _bound(value: float) -> str:
    text = f"{value:f}".rstrip("0").rstrip(".")
    return text or "0"


# -- protobuf (prometheus/prompb/remote.proto, types.proto), hand-encoded -----------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _len_field(number: int, data: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def encode_series(labels: Labels, value: float, timestamp_ms: int) -> bytes:
    """One ``TimeSeries``: labels sorted by name (Prometheus requires it), one sample."""
    out = b"".join(_len_field(1, _len_field(1, k.encode()) + _len_field(2, v.encode()))
                   for k, v in sorted(labels))
    sample = b"\x09" + struct.pack("<d", value) + b"\x10" + _varint(timestamp_ms)
    return out + _len_field(2, sample)


def encode_write_request(series: list[bytes]) -> bytes:
    return b"".join(_len_field(1, s) for s in series)


def translate(data: MetricsData) -> Iterator[tuple[Labels, float, int]]:
    """(labels, value, timestamp ms) of every sample in ``data``."""
    for resource_metrics in data.resource_metrics:
        attributes = resource_metrics.resource.attributes
        service = str(attributes.get("service.name", "unknown_service"))
        namespace = attributes.get("service.namespace")
        base: Labels = [("job", f"{namespace}/{service}" if namespace else service)]
        if attributes.get("service.instance.id"):
            base.append(("instance", str(attributes["service.instance.id"])))
        latest = 0
        for labels, value, ts in _resource_samples(resource_metrics.scope_metrics, base):
            latest = max(latest, ts)
            yield labels, value, ts
        info = [*base, *((label_name(str(k)), str(v)) for k, v in attributes.items()
                         if k not in _IDENTITY)]
        if latest and len(info) > len(base):
            yield [*info, ("__name__", "target_info")], 1.0, latest


_IDENTITY = ("service.name", "service.namespace", "service.instance.id")  # job, instance


def _resource_samples(scopes: Any, base: Labels) -> Iterator[tuple[Labels, float, int]]:
    """The samples of one resource's metrics."""
    for scope_metrics in scopes:
        for metric in scope_metrics.metrics:
            point_data = metric.data
            if isinstance(point_data, HistogramData):
                name = metric_name(metric.name, metric.unit or "", False)
                for point in point_data.data_points:
                    yield from _histogram(name, base, point)
            elif isinstance(point_data, Sum):
                name = metric_name(metric.name, metric.unit or "", point_data.is_monotonic)
                for number in point_data.data_points:
                    yield _number(name, base, number)
            else:  # gauges (exponential histograms are not made here)
                name = metric_name(metric.name, metric.unit or "", False)
                for gauge_point in point_data.data_points:
                    if isinstance(gauge_point, NumberDataPoint):
                        yield _number(name, base, gauge_point)


def _point_labels(base: Labels, attributes: Any) -> Labels:
    labels = list(base)
    labels.extend((label_name(str(k)), str(v)) for k, v in (attributes or {}).items())
    return labels


def _number(name: str, base: Labels, point: NumberDataPoint) -> tuple[Labels, float, int]:
    labels = [*_point_labels(base, point.attributes), ("__name__", name)]
    return labels, float(point.value), point.time_unix_nano // 1_000_000


def _histogram(name: str, base: Labels,
               point: HistogramDataPoint) -> Iterator[tuple[Labels, float, int]]:
    labels = _point_labels(base, point.attributes)
    ts = point.time_unix_nano // 1_000_000
    cumulative = 0
    for bound, count in zip(point.explicit_bounds, point.bucket_counts, strict=False):
        cumulative += count
        yield [*labels, ("__name__", name + "_bucket"), ("le", _bound(bound))], cumulative, ts
    yield [*labels, ("__name__", name + "_bucket"), ("le", "+Inf")], float(point.count), ts
    yield [*labels, ("__name__", name + "_sum")], float(point.sum), ts
    yield [*labels, ("__name__", name + "_count")], float(point.count), ts


class RemoteWriteExporter(MetricExporter):
    """POSTs every export to ``url`` as one snappy-compressed WriteRequest."""

    def __init__(self, url: str, timeout_s: float = 10.0,
                 headers: dict[str, str] | None = None) -> None:
        import cramjam  # the `prometheus` extra; checked by the integration's refusal

        self._snappy = cramjam.snappy
        cumulative = AggregationTemporality.CUMULATIVE
        super().__init__(preferred_temporality={
            Counter: cumulative, UpDownCounter: cumulative, Histogram: cumulative,
            ObservableCounter: cumulative, ObservableUpDownCounter: cumulative,
            ObservableGauge: cumulative})
        self.url = url
        self.timeout_s = timeout_s
        self.headers = dict(headers or {})

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000,
               **kwargs: Any) -> MetricExportResult:
        series = [encode_series(labels, value, ts)
                  for labels, value, ts in translate(metrics_data)]
        if not series:
            return MetricExportResult.SUCCESS
        body = bytes(self._snappy.compress_raw(encode_write_request(series)))
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            **self.headers, "Content-Encoding": "snappy",
            "Content-Type": "application/x-protobuf",
            "X-Prometheus-Remote-Write-Version": "0.1.0",
            "User-Agent": "django-tracekit"})
        timeout = min(self.timeout_s, max(0.1, timeout_millis / 1000))
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
        except Exception as exc:
            logger.warning("tracekit: metrics remote-write to %s failed: %s", self.url, exc)
            return MetricExportResult.FAILURE
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        return None
