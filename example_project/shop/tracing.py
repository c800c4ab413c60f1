"""A span exporter for the demo: one JSON object per line in var/spans.jsonl."""

from __future__ import annotations

from django.conf import settings
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SpanExporter


def jsonl_exporter() -> SpanExporter:
    out = open(settings.VAR_DIR / "spans.jsonl", "a", buffering=1)  # noqa: SIM115 - lives with the exporter
    return ConsoleSpanExporter(out=out, formatter=lambda span: span.to_json(indent=None) + "\n")
