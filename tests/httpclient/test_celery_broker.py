"""The Celery broker's own traffic (Redis here: kombu over redis-py, not HTTP) never becomes
spans, with the HTTP-client and cache integrations on in the worker and the web process."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from django_tracekit.conf import resolve
from django_tracekit.sources.httpclient import instrumentors
from django_tracekit.sources.httpclient.integration import HttpClientIntegration
from tests.celery.helpers import Stack, task_span_name
from tests.support.otlp_receiver import OtlpHttpReceiver

pytestmark = [pytest.mark.requires("celery", "opentelemetry.exporter.otlp",
                                   *instrumentors.MODULES),
              pytest.mark.service("redis")]

TRACE = {"GET /enqueue/": 1, task_span_name("process_video"): 1, task_span_name("encode"): 1}


def test_the_brokers_own_traffic_makes_no_spans(tmp_path: Path) -> None:
    settings = importlib.import_module("tests.celery.project.settings")
    assert HttpClientIntegration(resolve(settings.TRACEKIT, {})).refusal() is None
    with OtlpHttpReceiver() as receiver:
        stack = Stack("redis", receiver, tmp_path)
        try:
            # Two traces, the second sent after the first arrived: the worker polled Redis
            # (BRPOP) and published results all along.
            for _ in range(2):
                stack.wait_trace(stack.get("/enqueue/")["trace_id"], TRACE)
        finally:
            stack.stop()
        spans = list(receiver.spans)
    # Every span is tracekit's (requests, tasks, publishes); no HTTP client, cache or Redis
    # command span from the broker's traffic.
    assert {s.scope for s in spans} == {"django_tracekit"}, sorted({s.scope for s in spans})
    assert not [s for s in spans if s.name.startswith("cache.") or s.kind == 3]
