"""Cache calls as CLIENT spans, on local memory and a real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import BaseCache, caches
from django.test import override_settings
from opentelemetry.trace import SpanKind, StatusCode

import django_tracekit as tracekit
from django_tracekit.core import cache_keys as keys
from django_tracekit.sources.cache import calls
from tests.cache.conftest import REDIS, attrs, cache_spans, only
from tests.conftest import Spans
from tests.support.processes import free_port


def run_every_method(cache: BaseCache) -> None:
    cache.set("n", 1)
    cache.get("n")
    cache.get_many(["n", "m"])
    cache.set_many({"a": 1, "b": 2})
    cache.add("c", 3)
    cache.delete("c")
    cache.delete_many(["a", "b"])
    cache.incr("n")
    cache.decr("n")
    cache.touch("n")
    cache.has_key("n")
    cache.get_or_set("d", 4)
    cache.clear()


async def run_every_async_method(cache: BaseCache) -> None:
    await cache.aset("n", 1)
    await cache.aget("n")
    await cache.aget_many(["n", "m"])
    await cache.aset_many({"a": 1, "b": 2})
    await cache.aadd("c", 3)
    await cache.adelete("c")
    await cache.adelete_many(["a", "b"])
    await cache.aincr("n")
    await cache.adecr("n")
    await cache.atouch("n")
    await cache.ahas_key("n")
    await cache.aget_or_set("d", 4)
    await cache.aclear()


def test_every_call_is_one_client_span_under_the_current_span(locmem: BaseCache,
                                                               spans: Spans) -> None:
    with tracekit.span("root"):
        run_every_method(locmem)
    root = spans.named("root")
    found = cache_spans(spans)
    # One span per call the application made: the calls a backend makes to itself
    # (get_or_set -> get/add/get, decr -> incr, get_many -> get) are folded in.
    assert [s.name for s in found] == [
        "cache.set", "cache.get", "cache.get_many", "cache.set_many", "cache.add",
        "cache.delete", "cache.delete_many", "cache.incr", "cache.decr", "cache.touch",
        "cache.has_key", "cache.get_or_set", "cache.clear"]
    for span in found:
        assert span.kind is SpanKind.CLIENT
        assert span.parent is not None and root.context is not None
        assert span.parent.span_id == root.context.span_id
        assert attrs(span)["cache.alias"] == "default"
        assert attrs(span)["cache.backend"] == "django.core.cache.backends.locmem.LocMemCache"
        assert "db.system.name" not in attrs(span)  # local memory is no database system


def test_async_calls_are_spans_of_the_same_operation(locmem: BaseCache, spans: Spans) -> None:
    async def main() -> None:
        with tracekit.span("root"):
            await run_every_async_method(locmem)

    asyncio.run(main())
    # aget runs get in a thread (sync_to_async): one span, not two.
    assert [s.name for s in cache_spans(spans)] == [
        "cache.set", "cache.get", "cache.get_many", "cache.set_many", "cache.add",
        "cache.delete", "cache.delete_many", "cache.incr", "cache.decr", "cache.touch",
        "cache.has_key", "cache.get_or_set", "cache.clear"]
    assert attrs(only(spans, "cache.get"))["cache.hit"] is True


def test_hits_and_misses(locmem: BaseCache, spans: Spans) -> None:
    locmem.set("here", "value")
    locmem.set("none", None)
    with tracekit.span("root"):
        assert locmem.get("here") == "value"
        assert locmem.get("absent") is None
        assert locmem.get("absent", "fallback") == "fallback"
        assert locmem.has_key("here")
        assert not locmem.has_key("absent")
    gets = [attrs(s) for s in cache_spans(spans) if s.name == "cache.get"]
    assert [(a["cache.key"], a["cache.hit"]) for a in gets] == [
        ("here", True), ("absent", False), ("absent", False)]
    assert [attrs(s)["cache.hit"] for s in cache_spans(spans) if s.name == "cache.has_key"] == [
        True, False]


def test_get_many_counts_its_hits(locmem: BaseCache, spans: Spans) -> None:
    locmem.set_many({"a": 1, "b": 2})
    with tracekit.span("root"):
        assert locmem.get_many(["a", "b", "c"]) == {"a": 1, "b": 2}
        assert locmem.get_many(["x", "y"]) == {}
    first, second = (attrs(s) for s in cache_spans(spans))
    assert first["cache.keys"] == ("a", "b", "c")
    assert (first["cache.key.count"], first["cache.hit.count"], first["cache.hit"]) == (3, 2, True)
    assert (second["cache.hit.count"], second["cache.hit"]) == (0, False)


def test_get_or_set_tells_hit_and_its_default_is_traced_as_application_code(
        locmem: BaseCache, spans: Spans) -> None:
    def compute() -> int:
        locmem.get("ingredient")  # the application's own call: a span of its own
        return 7

    with tracekit.span("root"):
        assert locmem.get_or_set("dish", compute) == 7
        assert locmem.get_or_set("dish", compute) == 7
    miss, hit = (s for s in cache_spans(spans) if s.name == "cache.get_or_set")
    assert attrs(miss)["cache.hit"] is False
    assert attrs(hit)["cache.hit"] is True
    inner = only(spans, "cache.get")
    assert attrs(inner)["cache.key"] == "ingredient"
    assert inner.parent is not None and miss.context is not None
    assert inner.parent.span_id == miss.context.span_id


def test_secret_keys_are_redacted(locmem: BaseCache, spans: Spans) -> None:
    with tracekit.span("root"):
        locmem.set("reset_token:Zx81Qa", 1)
        locmem.get("user:5:password:hunter2")
        locmem.get_many(["ok", "api_key=k-991"])
    shown = [attrs(s).get("cache.key") or attrs(s)["cache.keys"] for s in cache_spans(spans)]
    assert shown == ["reset_token:[redacted]", "user:5:password:[redacted]",
                     ("ok", "api_key=[redacted]")]
    for span in cache_spans(spans):
        text = repr(attrs(span))
        assert "Zx81Qa" not in text and "hunter2" not in text and "k-991" not in text


@pytest.mark.django_db
def test_cached_sessions_never_show_the_session_key(spans: Spans,
                                                    caches_config: dict[str, Any]) -> None:
    from django.contrib.sessions.backends.cache import SessionStore

    with tracekit.span("root"):
        session = SessionStore()
        session["cart"] = [1, 2]
        session.save()
        SessionStore(session.session_key).load()
    assert session.session_key
    found = cache_spans(spans)
    assert found, spans.names()
    for span in found:
        assert session.session_key not in repr(attrs(span)), attrs(span)
    assert any(attrs(s).get("cache.key") == "django.contrib.sessions.[redacted]"
               for s in found)


def test_non_string_keys(locmem: BaseCache, spans: Spans) -> None:
    with tracekit.span("root"), pytest.warns(Warning):  # Django's CacheKeyWarning
        locmem.set(("user", 1), "a")
        assert locmem.get(("user", 1)) == "a"
    locmem.set(42, "b")
    with tracekit.span("root2"):
        assert locmem.get(42) == "b"
    assert [attrs(s)["cache.key"] for s in cache_spans(spans)] == [
        "('user', 1)", "('user', 1)", "42"]


def test_long_and_many_keys_are_capped(locmem: BaseCache, spans: Spans) -> None:
    with tracekit.span("root"), pytest.warns(Warning):  # too long for memcached
        locmem.get_many([f"key-{i}" for i in range(500)])
        locmem.get("k" * 200 + "x" * 5000)
    many, long = (attrs(s) for s in cache_spans(spans))
    assert len(many["cache.keys"]) == keys.MAX_KEYS
    assert many["cache.key.count"] == 500
    assert len(long["cache.key"]) == keys.MAX_KEY_LENGTH


def test_no_span_without_a_recording_span(locmem: BaseCache, spans: Spans) -> None:
    locmem.set("a", 1)
    assert locmem.get("a") == 1
    assert cache_spans(spans) == []


def test_no_span_while_instrumentation_is_suppressed(locmem: BaseCache, spans: Spans) -> None:
    from opentelemetry import context

    from django_tracekit.core.vocabulary import SUPPRESS_KEY as SUPPRESS_INSTRUMENTATION_KEY

    with tracekit.span("root"):
        token = context.attach(context.set_value(SUPPRESS_INSTRUMENTATION_KEY, True))
        try:
            locmem.get("a")
        finally:
            context.detach(token)
    assert cache_spans(spans) == []


def test_incr_of_a_missing_key_is_a_miss_not_an_error(locmem: BaseCache, spans: Spans) -> None:
    with tracekit.span("root"), pytest.raises(ValueError):
        locmem.incr("absent")
    span = only(spans, "cache.incr")
    assert attrs(span)["cache.hit"] is False
    assert span.status.status_code is StatusCode.UNSET


def test_a_failure_of_tracing_leaves_the_call_alone(locmem: BaseCache, spans: Spans,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(key: Any) -> str:
        raise RuntimeError("a bug in tracekit")

    monkeypatch.setattr(keys, "render", broken)
    locmem.set("a", 1)
    with tracekit.span("root"):
        assert locmem.get("a") == 1
    assert cache_spans(spans) == []
    assert spans.names() == ["root"]


def test_instrumenting_twice_changes_nothing(locmem: BaseCache, spans: Spans) -> None:
    assert calls.instrument(locmem, "default") is False
    with tracekit.span("root"):
        locmem.get("a")
    assert len(cache_spans(spans)) == 1


# --- a real Redis ------------------------------------------------------------------------


@pytest.fixture
def redis_cache() -> Iterator[BaseCache]:
    config = {"default": {"BACKEND": REDIS, "LOCATION": "redis://127.0.0.1:6379/12",
                          "KEY_PREFIX": f"tk-{uuid.uuid4().hex}"}}
    with override_settings(CACHES=config):
        cache = caches["default"]
        yield cache
        cache.delete_many(["a", "b", "c", "n", "reset_token:abc"])


@pytest.mark.service("redis")
def test_redis_calls_are_spans_with_the_system_and_server(redis_cache: BaseCache,
                                                          spans: Spans) -> None:
    with tracekit.span("root"):
        redis_cache.set("a", 1)
        assert redis_cache.get("a") == 1
        assert redis_cache.get("b") is None
        assert redis_cache.get_many(["a", "b", "c"]) == {"a": 1}
        redis_cache.set("n", 1)
        assert redis_cache.incr("n", 5) == 6
        redis_cache.set("reset_token:abc", "s3cret")
    found = cache_spans(spans)
    assert [s.name for s in found] == ["cache.set", "cache.get", "cache.get", "cache.get_many",
                                      "cache.set", "cache.incr", "cache.set"]
    for span in found:
        assert attrs(span)["db.system.name"] == "redis"
        assert attrs(span)["server.address"] == "127.0.0.1"
        assert attrs(span)["server.port"] == 6379
        assert attrs(span)["cache.backend"] == "django.core.cache.backends.redis.RedisCache"
    hit, miss = found[1], found[2]
    assert (attrs(hit)["cache.hit"], attrs(miss)["cache.hit"]) == (True, False)
    assert attrs(found[3])["cache.hit.count"] == 1
    assert attrs(found[-1])["cache.key"] == "reset_token:[redacted]"


@pytest.mark.service("redis")
def test_redis_async_calls(redis_cache: BaseCache, spans: Spans) -> None:
    async def main() -> Any:
        with tracekit.span("root"):
            await redis_cache.aset("a", 2)
            return await redis_cache.aget("a")

    assert asyncio.run(main()) == 2
    assert [s.name for s in cache_spans(spans)] == ["cache.set", "cache.get"]


def test_a_backend_error_propagates_unchanged_and_is_recorded(spans: Spans) -> None:
    # A Redis nobody listens on: the backend's own ConnectionError, as without tracing.
    config = {"default": {"BACKEND": REDIS, "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}}
    with override_settings(CACHES=config):
        cache = caches["default"]
        import redis

        with tracekit.span("root"), pytest.raises(redis.exceptions.ConnectionError) as raised:
            cache.get("a")
    span = only(spans, "cache.get")
    assert span.status.status_code is StatusCode.ERROR
    event = next(e for e in span.events if e.name == "exception")
    assert event.attributes is not None
    assert event.attributes["exception.type"] == "redis.exceptions.ConnectionError"
    assert str(raised.value) in str(event.attributes["exception.message"])
    assert "test_a_backend_error_propagates" in str(event.attributes["exception.stacktrace"])


def test_backend_attributes_name_the_system_and_server_never_a_password() -> None:
    def backend_of(module: str) -> object:
        return type("Backend", (), {"__module__": module})()

    redis = calls.backend_attributes(backend_of("django_redis.cache"), "sessions",
                                     ["redis://:s3cret@cache-1.internal:6380/2", "redis://x"])
    assert redis == {"cache.alias": "sessions", "cache.backend": "django_redis.cache.Backend",
                     "db.system.name": "redis", "server.address": "cache-1.internal",
                     "server.port": 6380}
    memcached = calls.backend_attributes(
        backend_of("django.core.cache.backends.memcached"), "default", "10.0.0.5:11211")
    assert (memcached["db.system.name"], memcached["server.address"],
            memcached["server.port"]) == ("memcached", "10.0.0.5", 11211)
    socket = calls.backend_attributes(
        backend_of("django.core.cache.backends.memcached"), "default", "unix:/tmp/mc.sock")
    assert "server.address" not in socket
    files = calls.backend_attributes(
        backend_of("django.core.cache.backends.filebased"), "files", "/var/tmp/cache")
    assert files == {"cache.alias": "files",
                     "cache.backend": "django.core.cache.backends.filebased.Backend"}


def test_traced_methods_look_bound_as_django_expects(locmem: BaseCache) -> None:
    # Django 6.1's aget_many reads self.get_many.__func__ to choose its path: a traced
    # backend must answer as the untraced one does.
    assert getattr(locmem.get_many, "__wrapped__", None) is not None  # it is traced
    assert locmem.get_many.__func__ is BaseCache.get_many  # type: ignore[attr-defined]
    assert locmem.get.__func__ is type(locmem).get  # type: ignore[attr-defined]
    assert locmem.aget_many.__self__ is locmem  # type: ignore[attr-defined]
