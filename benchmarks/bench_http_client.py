"""Cost of tracing one outgoing ``requests.get`` to a local server.

    python benchmarks/bench_http_client.py        (from the repository root)

Contenders, one process, interleaved rounds (the requests instrumentor is switched between
them each round: it patches ``Session.send`` process-wide):

- ``no tracing``: requests uninstrumented;
- ``tracekit (default)``: the default configuration a user gets (stats and the trace store
  on, no exporter); the contrib instrumentor as tracekit turns it on (its provider, its
  in-trace rule and redaction hooks), inside a tracekit span;
- ``contrib by hand``: ``RequestsInstrumentor().instrument(tracer_provider=...)`` on a plain
  SDK TracerProvider with a batch processor over an exporter that drops spans, inside a span
  of that provider (the peer: what a team wires up without tracekit).

The server is a stdlib HTTP server in its own process on 127.0.0.1 (its work does not
share this process's GIL). Each call opens a connection, as ``requests.get`` does. What is
measured is the calling thread's CPU time per call (``time.thread_time``): what the call
costs the request that makes it, without the loopback round trip's latency, which on a
shared machine varies more than the tracing costs. A batch processor's export thread (the
peer's) is not on the request path and not counted.
"""

from __future__ import annotations

import gc
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import django  # noqa: E402
from django.conf import settings  # noqa: E402

ROUNDS = 15
CALLS = 150

SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""

settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django_tracekit"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    TRACEKIT={"PROJECT_NAME": "bench"},  # every other key at its default
)
django.setup()

import requests  # noqa: E402
from opentelemetry import trace  # noqa: E402
from opentelemetry.instrumentation.requests import RequestsInstrumentor  # noqa: E402
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import (  # noqa: E402
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

import django_tracekit as tracekit  # noqa: E402
from django_tracekit import bootstrap  # noqa: E402
from django_tracekit.sources.httpclient import instrumentors  # noqa: E402


def cpu_seconds_per_call(work: Callable[[], None], number: int, repeat: int = 3) -> float:
    """Median over ``repeat`` of this thread's CPU time per call of ``work`` (GC off): the
    cost on the calling thread, without the server's latency or the machine's other load
    (on a shared machine a loopback round trip's wall time varies more than tracing costs)."""
    work()
    rounds = []
    for _ in range(repeat):
        gc.disable()
        try:
            start = time.thread_time()
            for _ in range(number):
                work()
            rounds.append((time.thread_time() - start) / number)
        finally:
            gc.enable()
    return statistics.median(rounds)


class DroppingExporter(SpanExporter):
    exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        DroppingExporter.exported += len(spans)
        return SpanExportResult.SUCCESS


def main() -> None:
    state = bootstrap.state()
    assert state is not None and state.active, state
    assert instrumentors.status.get("requests") == "tracekit", instrumentors.status
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{server.stdout.readline().strip()}/"
        run(url)
    finally:
        server.terminate()
        server.wait(10)


def run(url: str) -> None:
    instrumentor = RequestsInstrumentor()
    tracekit_client = instrumentors.CLIENTS[0]
    assert tracekit_client.library == "requests"
    plain = TracerProvider()
    plain.add_span_processor(BatchSpanProcessor(DroppingExporter()))
    plain_tracer = plain.get_tracer("bench")

    def use_tracekit() -> None:
        instrumentors._instrument(tracekit_client, instrumentors.InTraceProvider(
            trace.get_tracer_provider()))

    def use_contrib() -> None:
        instrumentor.instrument(tracer_provider=plain)

    def use_none() -> None:
        pass

    def call() -> None:
        requests.get(url, timeout=10).close()

    def in_tracekit_span() -> None:
        with tracekit.span("request"):
            for _ in range(10):
                call()

    def in_plain_span() -> None:
        with plain_tracer.start_as_current_span("request"):
            for _ in range(10):
                call()

    def untraced() -> None:
        for _ in range(10):
            call()

    def tracekit_parent() -> None:
        with tracekit.span("request"):
            pass

    def plain_parent() -> None:
        with plain_tracer.start_as_current_span("request"):
            pass

    contenders: dict[str, tuple[Callable[[], None], Callable[[], None]]] = {
        "no tracing": (use_none, untraced),
        "tracekit (default)": (use_tracekit, in_tracekit_span),
        "contrib by hand (plain SDK provider)": (use_contrib, in_plain_span),
    }
    instrumentor.uninstrument()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(ROUNDS):
        for name, (setup, work) in contenders.items():
            setup()
            try:
                samples[name].append(cpu_seconds_per_call(work, CALLS // 10) / 10)
            finally:
                if instrumentor.is_instrumented_by_opentelemetry:
                    instrumentor.uninstrument()
    plain.force_flush()
    assert DroppingExporter.exported > 0  # the peer did trace its calls
    # The request's own span is not the outgoing call's cost: timed alone, then taken off.
    parents = {"tracekit (default)": tracekit_parent,
               "contrib by hand (plain SDK provider)": plain_parent}
    parent_cost = {name: cpu_seconds_per_call(work, 2_000, repeat=5) / 10
                   for name, work in parents.items()}
    parent_cost["no tracing"] = 0.0
    for name in samples:
        samples[name] = [v - parent_cost[name] for v in samples[name]]

    # Paired per round (contenders timed back to back share the machine's load): medians of
    # each round's difference to "no tracing".
    med = {name: statistics.median(values) for name, values in samples.items()}
    added = {name: statistics.median([v - n for v, n in zip(values, samples["no tracing"],
                                                             strict=True)])
             for name, values in samples.items()}
    base = med["no tracing"]
    peer = added["contrib by hand (plain SDK provider)"]
    print("\n## One requests.get to a local server (new connection each call)")
    print("| contender | CPU µs per call | added µs (paired) | vs no tracing | "
          "added vs contrib by hand |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds in med.items():
        versus = f"{added[name] / peer:.2f}x" if name != "no tracing" and peer > 0 else "-"
        print(f"| {name} | {seconds * 1e6:.1f} | {added[name] * 1e6:.1f} | "
              f"{(base + added[name]) / base:.3f}x | {versus} |")

if __name__ == "__main__":
    main()
