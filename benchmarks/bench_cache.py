"""Added cost of a traced cache call: a local-memory ``get`` (a hit).

    python benchmarks/bench_cache.py        (from the repository root)

Contenders, one process, interleaved rounds:

- ``no tracing``: the backend's own ``get``;
- ``tracekit (default)``: the default configuration a user gets (stats on, the trace store
  on, no exporter), the backend traced by tracekit's cache integration;
- ``tracekit, outside any trace``: the same traced backend called with no span around
  (a thread or command outside any trace): no span is made;
- ``sentry-sdk cache_spans``: sentry-sdk's ``DjangoIntegration(cache_spans=True)`` (the peer;
  its transport drops envelopes: sending is off the request path).

Each traced contender runs what a request does: its parent span (a tracekit span / a Sentry
transaction) around ``CALLS`` gets. The parent alone is timed too and subtracted, so the
figure is what one cache call adds; span recorders' caps (Sentry 1,000 spans per
transaction, tracekit's trace store 10,000 per trace) are never reached.
"""

from __future__ import annotations

import statistics
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import django  # noqa: E402
from _summary import record  # noqa: E402
from _timing import interleaved_samples  # noqa: E402
from django.conf import settings  # noqa: E402

CALLS = 50
ROUNDS = 15

settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django_tracekit"],
    # Unmigrated: the stats and the trace store keep what they record in memory.
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    TRACEKIT={"PROJECT_NAME": "bench"},  # every other key at its default
)
django.setup()

import sentry_sdk  # noqa: E402
from django.core.cache.backends.locmem import LocMemCache  # noqa: E402
from sentry_sdk.integrations.django import DjangoIntegration  # noqa: E402
from sentry_sdk.integrations.django.caching import _patch_cache  # noqa: E402
from sentry_sdk.transport import Transport  # noqa: E402

import django_tracekit as tracekit  # noqa: E402
from django_tracekit import bootstrap  # noqa: E402
from django_tracekit.sources.cache import calls  # noqa: E402


class DroppingTransport(Transport):
    def capture_envelope(self, envelope: Any) -> None:
        pass


def backend(traced_by: str) -> LocMemCache:
    """A local-memory backend of its own, traced by one contender only."""
    cache = LocMemCache(uuid.uuid4().hex, {})
    cache.set("key", "value")
    if traced_by == "tracekit":
        cache._sentry_patched = True  # type: ignore[attr-defined]
        calls.instrument(cache, "default")
    elif traced_by == "sentry":
        setattr(cache, calls.MARKER, True)
        _patch_cache(cache)  # what sentry's create_connection hook does to each backend
    return cache


def main() -> None:
    state = bootstrap.state()
    assert state is not None and state.active, state
    sentry_sdk.init(dsn="http://public@127.0.0.1:9/1", transport=DroppingTransport,
                    traces_sample_rate=1.0, integrations=[DjangoIntegration(cache_spans=True)],
                    default_integrations=False)
    plain, ours, theirs = backend("none"), backend("tracekit"), backend("sentry")

    def gets(cache: LocMemCache) -> None:
        for _ in range(CALLS):
            cache.get("key")

    def tracekit_request(cache: LocMemCache | None) -> Callable[[], None]:
        def run() -> None:
            with tracekit.span("request"):
                if cache is not None:
                    gets(cache)
        return run

    def sentry_request(cache: LocMemCache | None) -> Callable[[], None]:
        def run() -> None:
            with sentry_sdk.start_transaction(name="request"):
                if cache is not None:
                    gets(cache)
        return run

    # Each contender traces what it should (and only that).
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

    ended: list[str] = []

    class Count(SpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            ended.append(span.name)

    assert state.provider is not None
    state.provider.add_span_processor(Count())
    tracekit_request(ours)()
    tracekit_request(theirs)()
    assert ended.count("cache.get") == CALLS, ended[:5]

    samples = interleaved_samples({
        "no tracing": lambda: gets(plain),
        "tracekit, outside any trace": lambda: gets(ours),
        "tracekit request": tracekit_request(ours),
        "tracekit request, no calls": tracekit_request(None),
        "sentry request": sentry_request(theirs),
        "sentry request, no calls": sentry_request(None),
    }, seconds_per_round=0.05, rounds=ROUNDS)

    def per_call(name: str, parent: str | None) -> list[float]:
        if parent is None:
            return [t / CALLS for t in samples[name]]
        return [(t - p) / CALLS for t, p in zip(samples[name], samples[parent], strict=True)]

    none = per_call("no tracing", None)
    ours_added = [t - n for t, n in zip(per_call("tracekit request", "tracekit request, no calls"),
                                        none, strict=True)]
    theirs_added = [t - n for t, n in zip(per_call("sentry request", "sentry request, no calls"),
                                          none, strict=True)]
    med = statistics.median
    print("\n## One local-memory cache.get (a hit), inside a request")
    print("| contender | µs per call | added µs | added vs sentry | total vs no tracing |")
    print("|---|---:|---:|---:|---:|")
    base = med(none)
    outside = [t - n for t, n in zip(per_call("tracekit, outside any trace", None), none,
                                     strict=True)]
    record(**{"cache.tracekit": med(ours_added), "cache.sentry": med(theirs_added),
              "cache.ratio": med([a / s for a, s in zip(ours_added, theirs_added,
                                                        strict=True)])})
    for name, added in (("no tracing", [0.0]), ("tracekit (default)", ours_added),
                        ("sentry-sdk cache_spans", theirs_added),
                        ("tracekit, outside any trace (no span)", outside)):
        total = base + med(added)
        versus = (f"{med([a / s for a, s in zip(added, theirs_added, strict=True)]):.2f}x"
                  if len(added) > 1 else "-")
        print(f"| {name} | {total * 1e6:.2f} | {med(added) * 1e6:.2f} | {versus} | "
              f"{total / base:.1f}x |")


if __name__ == "__main__":
    main()
