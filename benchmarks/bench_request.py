"""Per-request overhead over bare Django: tracekit vs opentelemetry-instrumentation-django,
Sentry and ddtrace.

A hello-world view behind ``django.core.handlers.wsgi.WSGIHandler``, called in-process with
a minimal WSGI environ (no sockets, no server: what is left is Django + the tracer). Every
contender is set up in its OWN subprocess, since a global TracerProvider, Sentry's or
ddtrace's patches cannot be undone: this script re-invokes itself with ``--contender NAME``,
the child prints one JSON line, the parent collects them. The children run in alternating
rounds (bare, tracekit, ..., bare, tracekit, ...) so machine noise hits all alike; the
median per contender is reported.

Spans are created and processed for real but not exported: each tracer gets a processor
or filter that drops finished spans, so the export (network) cost is out of the picture.

    .venv/bin/python benchmarks/bench_request.py [--rounds 3] [--number 2000]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(REPO), str(HERE)]

from _summary import record  # noqa: E402
from _timing import per_call_seconds, print_table  # noqa: E402

# "tracekit" is the default configuration (stats on); "-stats-off" the tuned one.
CONTENDERS = ("bare", "tracekit", "tracekit-stats-off", "tracekit-sampled-out", "otel-contrib",
              "sentry", "ddtrace")
BASE_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
PATH = "/orders/42/"


# -- the Django app every contender serves ------------------------------------------------
def hello(request: Any, pk: int) -> Any:
    from django.http import HttpResponse

    return HttpResponse("Hello, world")


def urlpatterns() -> list[Any]:
    from django.urls import path

    return [path("orders/<int:pk>/", hello)]


class _UrlConf:
    """ROOT_URLCONF may be a module object; this one has just the hello route."""

    def __init__(self) -> None:
        self.urlpatterns = urlpatterns()


# Finished spans/transactions/traces that reached each tracer's drop point: proof that the
# contender really traced (or, sampled out, did not) while it was timed.
SEEN = [0]
FLUSH: list[Callable[[], object]] = []


def dropping_exporter() -> Any:
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class DropExporter(SpanExporter):
        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            SEEN[0] += len(spans)
            return SpanExportResult.SUCCESS

    return DropExporter()


def dropping_processor() -> Any:
    """TRACEKIT['EXPORTER'] factory: the batch processor users get, minus the network."""
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    return BatchSpanProcessor(dropping_exporter())


def configure(installed_apps: list[str], middleware: list[str], **extra: Any) -> None:
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only",
        ALLOWED_HOSTS=["127.0.0.1"],
        ROOT_URLCONF=__name__ + ".ROOT",  # placeholder, replaced below
        INSTALLED_APPS=installed_apps,
        MIDDLEWARE=middleware,
        # Unmigrated: tracekit's stats count in memory and wait quietly for their tables.
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        USE_TZ=True,
        LOGGING_CONFIG=None,
        **extra,
    )
    settings.ROOT_URLCONF = _UrlConf()


def setup_bare() -> None:
    configure([], list(BASE_MIDDLEWARE))


def setup_tracekit(sample_rate: float, stats: bool = True) -> None:
    """The configuration a user gets (stats on, tracekit's own provider), exporting to the
    same dropping processor as the other contenders; ``stats=False`` is the tuned one."""
    from django_tracekit import bootstrap

    FLUSH.append(bootstrap.flush)
    configure(["django_tracekit"],
              ["django_tracekit.middleware.TracekitMiddleware", *BASE_MIDDLEWARE],
              TRACEKIT={"PROJECT_NAME": "bench", "EXPORTER": "__main__.dropping_processor",
                        "SAMPLE_RATE": sample_rate, "STATS": {"ENABLED": stats}})


def setup_otel_contrib() -> None:
    from opentelemetry import trace
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.sdk.trace import TracerProvider

    configure([], list(BASE_MIDDLEWARE))
    provider = TracerProvider()
    provider.add_span_processor(dropping_processor())
    trace.set_tracer_provider(provider)
    FLUSH.append(provider.force_flush)
    DjangoInstrumentor().instrument(tracer_provider=provider)


def setup_sentry() -> None:
    import sentry_sdk
    from sentry_sdk.transport import Transport

    class DropTransport(Transport):
        def capture_envelope(self, envelope: Any) -> None:
            SEEN[0] += sum(1 for item in envelope.items if item.type == "transaction")

    configure([], list(BASE_MIDDLEWARE))
    sentry_sdk.init(dsn="https://public@sentry.invalid/1", traces_sample_rate=1.0,
                    transport=DropTransport)
    FLUSH.append(sentry_sdk.flush)


def setup_ddtrace() -> None:
    from ddtrace import patch
    from ddtrace.trace import TraceFilter, tracer

    class DropAll(TraceFilter):
        def process_trace(self, trace: list[Any]) -> list[Any] | None:
            SEEN[0] += len(trace)
            return None  # finished trace dropped before the writer

    configure([], list(BASE_MIDDLEWARE))
    tracer.configure(trace_processors=[DropAll()])
    patch(django=True)


SETUPS: dict[str, Callable[[], None]] = {
    "bare": setup_bare,
    "tracekit": lambda: setup_tracekit(1.0),
    "tracekit-stats-off": lambda: setup_tracekit(1.0, stats=False),
    "tracekit-sampled-out": lambda: setup_tracekit(0.0),
    "otel-contrib": setup_otel_contrib,
    "sentry": setup_sentry,
    "ddtrace": setup_ddtrace,
}

ENVIRON = {
    "REQUEST_METHOD": "GET",
    "PATH_INFO": PATH,
    "QUERY_STRING": "",
    "SERVER_NAME": "127.0.0.1",
    "SERVER_PORT": "8000",
    "HTTP_HOST": "127.0.0.1:8000",
    "REMOTE_ADDR": "127.0.0.1",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "wsgi.url_scheme": "http",
    "wsgi.errors": sys.stderr,
    "wsgi.version": (1, 0),
    "wsgi.multithread": False,
    "wsgi.multiprocess": False,
    "wsgi.run_once": False,
}


def run_child(name: str, number: int) -> dict[str, Any]:
    SETUPS[name]()
    import django
    from django.core.handlers.wsgi import WSGIHandler

    django.setup()
    handler = WSGIHandler()
    statuses: list[str] = []

    def start_response(status: str, headers: list[Any], exc_info: Any = None) -> None:
        statuses.append(status)

    def one_request() -> None:
        environ = dict(ENVIRON)
        environ["wsgi.input"] = io.BytesIO(b"")
        body = handler(environ, start_response)
        for _ in body:  # sent to the client, as a server would
            pass
        body.close()

    one_request()
    if statuses[-1] != "200 OK":
        raise RuntimeError(f"{name}: the hello view answered {statuses[-1]}")
    seconds = per_call_seconds(one_request, number)
    for flush in FLUSH:
        flush()
    return {"name": name, "seconds": seconds, "seen": SEEN[0], "requests": 7 * number + 2}


# -- parent ---------------------------------------------------------------------------------
def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "SENTRY_", "DD_", "DJANGO_SETTINGS_MODULE"))}
    env.update({
        # ddtrace: no agent, no telemetry or remote-config threads competing for the CPU.
        "DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
        "DD_REMOTE_CONFIGURATION_ENABLED": "false",
        "DD_TRACE_STARTUP_LOGS": "false",
        "DD_TRACE_STATS_COMPUTATION_ENABLED": "false",
    })
    return env


def installed(name: str) -> str | None:
    """None if the contender's package imports, else the reason it does not."""
    module = {"otel-contrib": "opentelemetry.instrumentation.django", "sentry": "sentry_sdk",
              "ddtrace": "ddtrace"}.get(name)
    if module is None:
        return None
    import importlib.util

    try:
        found = importlib.util.find_spec(module)
    except ModuleNotFoundError as exc:
        return str(exc)
    return None if found is not None else f"no module named {module!r}"


def run_parent(rounds: int, number: int) -> int:
    samples: dict[str, list[float]] = {}
    per_request: dict[str, float] = {}
    failures: dict[str, str] = {}
    for name in CONTENDERS:
        reason = installed(name)
        if reason is not None:
            failures[name] = f"not installed: {reason} (pip install it to compare)"
    for _ in range(rounds):
        for name in CONTENDERS:
            if name in failures:
                continue
            done = subprocess.run(
                [sys.executable, __file__, "--contender", name, "--number", str(number)],
                cwd=REPO, env=child_env(), capture_output=True, text=True, timeout=600)
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            if done.returncode != 0 or not lines:
                failures[name] = f"failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}"
                continue
            result = json.loads(lines[-1])
            samples.setdefault(name, []).append(result["seconds"])
            per_request[name] = result["seen"] / result["requests"]
    results = {name: statistics.median(values) for name, values in samples.items()}
    if "bare" not in results:
        print(f"bare Django failed: {failures.get('bare')}")
        return 1
    print_table("Per request through WSGIHandler (hello-world view, spans dropped at export)",
                results, "bare",
                note=f"median of {rounds} rounds x 7 repeats x {number} requests, "
                     "one subprocess per contender and round")
    bare = results["bare"]
    overhead = {name: seconds - bare for name, seconds in results.items() if name != "bare"}
    print("\n## Overhead per request over bare Django")
    print("(spans/request: finished spans, transactions or traces that reached the drop "
          "point, i.e. what the contender really recorded while timed)")
    print("| contender | µs/request added | spans/request |")
    print("|---|---:|---:|")
    for name in CONTENDERS:
        if name == "bare":
            continue
        if name in overhead:
            print(f"| {name} | {overhead[name] * 1e6:8.2f} | {per_request[name]:.2f} |")
        else:
            print(f"| {name} | {failures.get(name, 'not run')} | |")
    record(**{f"request.{name}": seconds for name, seconds in overhead.items()})
    print("\n## Ratios (goals in brackets)")
    tk = overhead.get("tracekit")

    def ratio(label: str, other: str, goal: str) -> None:
        if tk is None or other not in overhead or overhead[other] <= 0:
            print(f"- {label}: n/a ({failures.get(other, 'no positive overhead to compare')})")
            return
        print(f"- {label}: {tk / overhead[other]:.2f} [{goal}]")

    ratio("tracekit overhead / opentelemetry-instrumentation-django overhead", "otel-contrib",
          "<= 1.0")
    ratio("tracekit overhead / Sentry overhead", "sentry", "<= 0.2")
    ratio("tracekit overhead / ddtrace overhead", "ddtrace", "for information")
    if tk is not None and "tracekit-sampled-out" in overhead:
        out = overhead["tracekit-sampled-out"]
        print(f"- tracekit sampled out: {out * 1e6:.2f} µs/request "
              f"({out / tk:.2f} of the sampled cost)" if tk > 0 else "")
    for name, reason in failures.items():
        if name not in results:
            print(f"- {name}: {reason}")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contender", choices=CONTENDERS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args(argv)
    if args.contender:
        print(json.dumps(run_child(args.contender, args.number)), flush=True)
        return 0
    return run_parent(args.rounds, args.number)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
