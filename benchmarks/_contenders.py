"""What the per-request benchmarks (bench_request, bench_drf) share: the peers' set-ups with
their drop points, one in-process WSGI request, and the parent that runs each contender in
its own subprocess, rounds alternating (a global TracerProvider, Sentry's or ddtrace's
patches cannot be undone; machine noise then hits all contenders alike)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def setup_otel_contrib(configure: Callable[[], None]) -> None:
    from opentelemetry import trace
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.sdk.trace import TracerProvider

    configure()
    provider = TracerProvider()
    provider.add_span_processor(dropping_processor())
    trace.set_tracer_provider(provider)
    FLUSH.append(provider.force_flush)
    DjangoInstrumentor().instrument(tracer_provider=provider)


def setup_sentry(configure: Callable[[], None]) -> None:
    import sentry_sdk
    from sentry_sdk.transport import Transport

    class DropTransport(Transport):
        def capture_envelope(self, envelope: Any) -> None:
            SEEN[0] += sum(1 for item in envelope.items if item.type == "transaction")

    configure()
    sentry_sdk.init(dsn="https://public@sentry.invalid/1", traces_sample_rate=1.0,
                    transport=DropTransport)
    FLUSH.append(sentry_sdk.flush)


def setup_ddtrace(configure: Callable[[], None]) -> None:
    from ddtrace import patch
    from ddtrace.trace import TraceFilter, tracer

    class DropAll(TraceFilter):
        def process_trace(self, trace: list[Any]) -> list[Any] | None:
            SEEN[0] += len(trace)
            return None  # finished trace dropped before the writer

    configure()
    tracer.configure(trace_processors=[DropAll()])
    patch(django=True)


ENVIRON = {
    "REQUEST_METHOD": "GET",
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


def wsgi_request(path: str) -> tuple[Callable[[], None], list[str]]:
    """One GET ``path`` through a new WSGIHandler (Django set up), in process: the call, and
    the statuses it answered."""
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()
    statuses: list[str] = []

    def start_response(status: str, headers: list[Any], exc_info: Any = None) -> None:
        statuses.append(status)

    def one_request() -> None:
        environ = dict(ENVIRON, PATH_INFO=path)
        environ["wsgi.input"] = io.BytesIO(b"")
        body = handler(environ, start_response)
        for _ in body:  # sent to the client, as a server would
            pass
        body.close()

    return one_request, statuses


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


@dataclass
class Rounds:
    """Per contender: its timings (one per round), its last child's result, or why not."""

    samples: dict[str, list[float]] = field(default_factory=dict)
    last: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


def run_rounds(script: str, contenders: Sequence[str], rounds: int, number: int, *,
               cwd: Path, timeout: float) -> Rounds:
    """``script --contender NAME --number N`` once per contender and round; each child prints
    one JSON line with its ``seconds``."""
    done = Rounds()
    for name in contenders:
        reason = installed(name)
        if reason is not None:
            done.failures[name] = f"not installed: {reason} (pip install it to compare)"
    for _ in range(rounds):
        for name in contenders:
            if name in done.failures:
                continue
            child = subprocess.run(
                [sys.executable, script, "--contender", name, "--number", str(number)],
                cwd=cwd, env=child_env(), capture_output=True, text=True, timeout=timeout)
            lines = [line for line in child.stdout.splitlines() if line.startswith("{")]
            if child.returncode != 0 or not lines:
                done.failures[name] = f"failed: {(child.stderr.strip().splitlines() or ['?'])[-1]}"
                continue
            result = json.loads(lines[-1])
            done.samples.setdefault(name, []).append(result["seconds"])
            done.last[name] = result
    return done
