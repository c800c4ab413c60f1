"""Per-feature metrics for an existing engine (Prometheus, Mimir, Thanos, a Collector).

Every feature's calls and durations, counted **before sampling** (exact at any
``SAMPLE_RATE``), named as the Collector's spanmetrics connector names them, exported by
the OpenTelemetry metrics SDK over OTLP or Prometheus remote-write. Off by default:
``TRACEKIT["METRICS"]["ENABLED"]``. See docs/metrics.md.

This package is light: the metrics SDK and the exporters are imported only when the
integration is on (:mod:`django_tracekit.destinations.metrics.processor`).
"""

from __future__ import annotations

CALLS = "traces.span.metrics.calls"
DURATION = "traces.span.metrics.duration"
#: The spanmetrics connector's default histogram bounds, in ms.
DURATION_BOUNDS_MS = (2.0, 4.0, 6.0, 8.0, 10.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1_000.0,
                      1_400.0, 2_000.0, 5_000.0, 10_000.0, 15_000.0)
