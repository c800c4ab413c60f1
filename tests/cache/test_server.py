"""Cache calls in a real request: gunicorn serving a tracekit project whose cache is a real
Redis; the spans arrive over the real OTLP exporter, under the request's view span."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from tests.httpclient.conftest import KIND_CLIENT, Service
from tests.support.otlp_receiver import OtlpHttpReceiver, ReceivedSpan
from tests.support.processes import READY_TIMEOUT_S

pytestmark = [pytest.mark.requires("opentelemetry.exporter.otlp"), pytest.mark.service("redis")]


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpHttpReceiver]:
    with OtlpHttpReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def web(receiver: OtlpHttpReceiver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service = Service("cache-web", receiver, tmp_path_factory.mktemp("cache-web"),
                      TK_REDIS_URL="redis://127.0.0.1:6379/12",
                      TK_CACHE_PREFIX=f"tk-{uuid.uuid4().hex}")
    try:
        service.wait_http(service.url("/healthz"), READY_TIMEOUT_S)
        yield service
    finally:
        service.stop()


def get(service: Service, path: str) -> dict[str, str]:
    with urllib.request.urlopen(service.url(path), timeout=30) as reply:
        return dict(json.loads(reply.read()))


def cache_spans_under(receiver: OtlpHttpReceiver, view_span_id: str,
                      count: int) -> list[ReceivedSpan]:
    def mine(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
        return [s for s in spans if s.parent_span_id == view_span_id
                and s.name.startswith("cache.")]

    receiver.wait_for(lambda spans: len(mine(spans)) >= count)
    return sorted(mine(receiver.spans), key=lambda s: s.start_ns)


def test_a_requests_cache_calls_are_spans_of_its_trace(web: Service,
                                                       receiver: OtlpHttpReceiver) -> None:
    first = get(web, "/cached/price-42/")
    second = get(web, "/cached/price-42/")
    assert first["value"] == second["value"] == "computed-price-42"
    miss = cache_spans_under(receiver, first["span_id"], 2)
    hit = cache_spans_under(receiver, second["span_id"], 2)
    assert [s.name for s in miss] == [s.name for s in hit] == [
        "cache.get_or_set", "cache.has_key"]
    for span in (*miss, *hit):
        assert span.kind == KIND_CLIENT
        assert span.attributes["db.system.name"] == "redis"
        assert span.attributes["server.address"] == "127.0.0.1"
        assert span.attributes["cache.key"] == "price-42"
        assert span.resource["service.name"] == "cache-web"
    assert miss[0].trace_id == first["trace_id"] and hit[0].trace_id == second["trace_id"]
    assert (miss[0].attributes["cache.hit"], hit[0].attributes["cache.hit"]) == (False, True)
    assert miss[1].attributes["cache.hit"] is hit[1].attributes["cache.hit"] is True
