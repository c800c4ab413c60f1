"""The bootstrap, each case in its own process, exporting with the real OTLP exporters to a
local receiver."""

from __future__ import annotations

import pytest

from tests.support.otlp_receiver import OtlpGrpcReceiver, OtlpHttpReceiver
from tests.support.scripts import check, run_django

WORKLOAD = """
import django_tracekit as tracekit
from django_tracekit import bootstrap

class Checkout:
    def run(self):
        with tracekit.span():
            self.charge()

    def charge(self):
        with tracekit.span():
            try:
                raise ConnectionError("card service down")
            except ConnectionError as exc:
                tracekit.record_error(exc)

def handle_request():
    with tracekit.span("GET /checkout"):
        Checkout().run()

handle_request()
assert bootstrap.flush()
"""


def _assert_workload(spans: list, service: str) -> None:
    by_name = {s.name: s for s in spans}
    assert set(by_name) == {"GET /checkout", "shop/__main__/Checkout/run",
                            "shop/__main__/Checkout/charge"}
    root, run, charge = (by_name[n] for n in ("GET /checkout", "shop/__main__/Checkout/run",
                                              "shop/__main__/Checkout/charge"))
    assert root.parent_span_id == ""
    assert run.parent_span_id == root.span_id and charge.parent_span_id == run.span_id
    assert {s.trace_id for s in spans} == {root.trace_id}
    assert charge.attributes["code.function.name"] == "__main__.Checkout.charge"
    assert charge.attributes["code.file.path"] == "<string>"
    assert isinstance(charge.attributes["code.line.number"], int)
    assert root.resource["service.name"] == service
    assert root.resource["telemetry.sdk.name"] == "opentelemetry"
    assert root.scope == "django_tracekit"
    (event,) = charge.exceptions
    assert event["exception.type"] == "ConnectionError"
    stack = event["exception.stacktrace"]
    # caller frames (handle_request, run) and the raise frame (charge)
    assert "in handle_request" in stack and "in Checkout.run" in stack
    assert "in Checkout.charge" in stack
    assert stack.endswith("ConnectionError: card service down")
    assert charge.status_code == 2 and charge.status_message.startswith("ConnectionError")


@pytest.mark.requires("opentelemetry.exporter.otlp.proto.http")
def test_otlp_http_export_end_to_end() -> None:
    with OtlpHttpReceiver() as receiver:
        check(run_django(WORKLOAD, {"TRACEKIT": {
            "EXPORTER": "otlp", "OTLP_ENDPOINT": receiver.endpoint,
            "OTLP_HEADERS": {"authorization": "Bearer t0ken"},
            "SERVICE_VERSION": "1.2.3", "ENVIRONMENT": "staging"}}))
        spans = receiver.wait_for_spans(3)
    _assert_workload(spans, service="shop")
    assert spans[0].resource["service.version"] == "1.2.3"
    assert spans[0].resource["deployment.environment.name"] == "staging"
    assert receiver.headers[0]["authorization"] == "Bearer t0ken"


@pytest.mark.requires("opentelemetry.exporter.otlp.proto.grpc", "grpc")
def test_otlp_grpc_export_configured_by_env_only() -> None:
    with OtlpGrpcReceiver() as receiver:
        check(run_django(WORKLOAD, {}, env={
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_SERVICE_NAME": "shop-worker",
            "OTEL_EXPORTER_OTLP_HEADERS": "x-team=core"}))
        spans = receiver.wait_for_spans(3)
    _assert_workload(spans, service="shop-worker")
    assert receiver.headers[0]["x-team"] == "core"


@pytest.mark.requires("opentelemetry.exporter.otlp.proto.http")
def test_sampling_ratio_zero_exports_nothing_but_runs() -> None:
    with OtlpHttpReceiver() as receiver:
        check(run_django(WORKLOAD, {"TRACEKIT": {"OTLP_ENDPOINT": receiver.endpoint,
                                                 "SAMPLE_RATE": 0.0}}))
        check(run_django(WORKLOAD, {"TRACEKIT": {"OTLP_ENDPOINT": receiver.endpoint,
                                                 "SAMPLE_RATE": 1.0}}))
        spans = receiver.wait_for_spans(3)
    assert len(spans) == 3  # only the second process's spans


@pytest.mark.requires("opentelemetry.exporter.otlp.proto.http")
def test_forked_child_exports_through_its_own_exporter() -> None:
    code = """
import os
import django_tracekit as tracekit
from django_tracekit import bootstrap
with tracekit.span("parent-before-fork"):
    pass
bootstrap.flush()
pid = os.fork()
if pid == 0:
    with tracekit.span("in-child", attributes={"pid": os.getpid()}):
        pass
    ok = bootstrap.flush()
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
with tracekit.span("parent-after-fork"):
    pass
bootstrap.flush()
"""
    with OtlpHttpReceiver() as receiver:
        check(run_django(code, {"TRACEKIT": {"OTLP_ENDPOINT": receiver.endpoint}}))
        spans = receiver.wait_for_spans(3)
    assert sorted(s.name for s in spans) == ["in-child", "parent-after-fork",
                                             "parent-before-fork"]


def test_attaches_to_a_provider_the_application_already_set() -> None:
    code = """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.resources import Resource
theirs = InMemorySpanExporter()
provider = TracerProvider(resource=Resource.create({"service.name": "theirs"}))
provider.add_span_processor(SimpleSpanProcessor(theirs))
trace.set_tracer_provider(provider)
django.setup()
import django_tracekit as tracekit
from django_tracekit import bootstrap
assert trace.get_tracer_provider() is provider
state = bootstrap.state()
assert state.provider is provider and not state.owns_provider
assert state.processors == []  # EXPORTER not explicit: their exporters stay in charge
def work():
    with tracekit.span():
        pass
work()
(span,) = theirs.get_finished_spans()
assert span.name == "shop/__main__/work", span.name
assert span.resource.attributes["service.name"] == "theirs"
print("ATTACHED-OK")
"""
    result = check(run_django(code, {}, setup=False))
    assert "ATTACHED-OK" in result.stdout
    assert "using the TracerProvider the application already set" in result.stderr


def test_invalid_settings_leave_the_app_running_with_tracing_off() -> None:
    code = """
import django_tracekit as tracekit
from django_tracekit import bootstrap
from opentelemetry import trace
state = bootstrap.state()
assert not state.active and "E003" in state.disabled_reason
with tracekit.span() as s:
    assert not s.is_recording()
tracekit.record_error(ValueError("still fine"))
print("APP-OK")
"""
    result = check(run_django(code, {"TRACEKIT": {"SAMPLE_RATE": 7}}))
    assert "APP-OK" in result.stdout
    assert "tracing is off: invalid settings (django_tracekit.E003)" in result.stderr


@pytest.mark.requires("opentelemetry.exporter.otlp.proto.http")
def test_dead_collector_never_reaches_the_application() -> None:
    code = """
import socket, time
import django_tracekit as tracekit
from django_tracekit import bootstrap
for _ in range(50):
    with tracekit.span("work"):
        tracekit.record_error(RuntimeError("x"))
bootstrap.flush(timeout_millis=2000)
print("APP-OK")
"""
    sock = __import__("socket").socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    result = check(run_django(code, {"TRACEKIT": {"OTLP_ENDPOINT": f"http://127.0.0.1:{port}"}},
                              env={"OTEL_EXPORTER_OTLP_TIMEOUT": "1"}))
    assert "APP-OK" in result.stdout
    assert "Traceback" not in result.stdout


def test_factory_exporter_and_console() -> None:
    code = """
import django_tracekit as tracekit
from django_tracekit import bootstrap
with tracekit.span("to-console"):
    pass
bootstrap.flush()
"""
    result = check(run_django(code, {"TRACEKIT": {"EXPORTER": "console"}}))
    assert '"name": "to-console"' in result.stdout


FORKED_SETUP = """
import os
from django_tracekit import bootstrap
from django_tracekit.conf import get_config
pid = os.fork()
if pid == 0:  # a forked worker sets up again: the same state, no second line
    bootstrap.setup(get_config())
    os._exit(0)
os.waitpid(pid, 0)
"""


def _startup_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines()
            if line.startswith("INFO:django_tracekit:") and "export" in line]


def test_startup_line_without_an_endpoint_says_spans_stay_local_once_per_process() -> None:
    result = check(run_django(FORKED_SETUP, {"TRACEKIT": {"STATS": {"ENABLED": True}}}))
    assert _startup_lines(result.stderr) == [
        "INFO:django_tracekit:tracekit: no exporter: spans stay local (stats); set "
        "TRACEKIT['OTLP_ENDPOINT'] (or OTEL_EXPORTER_OTLP_ENDPOINT) to export"]


@pytest.mark.requires("opentelemetry.exporter.otlp.proto.http")
def test_startup_line_with_an_endpoint_says_where_spans_go_once_per_process() -> None:
    result = check(run_django(FORKED_SETUP, {}, env={
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}))
    assert _startup_lines(result.stderr) == [
        "INFO:django_tracekit:tracekit: exporting to http://127.0.0.1:9/v1/traces "
        "(otlp http/protobuf)"]


@pytest.mark.requires("opentelemetry.exporter.otlp.proto.http")
def test_exit_flushes_local_destinations_first_then_gives_export_one_deadline() -> None:
    """A black-holed collector: the local destination is written before export is tried,
    and the spans export could not send in time are dropped and counted in one line."""
    code = """
from opentelemetry.sdk.trace import SpanProcessor
from django_tracekit import integrations
from django_tracekit.integrations.base import Integration

class Probe(SpanProcessor):
    ended = 0
    def on_end(self, span):
        Probe.ended += 1
    def force_flush(self, timeout_millis=30000):
        print(f"LOCAL-FLUSHED {Probe.ended}", flush=True)
        return True

class ProbeIntegration(Integration):  # a local destination, as stats and the trace store
    identifier = "probe"
    role = "destination"
    local = True
    def processors(self, owns_provider):
        return [Probe()]

integrations.REGISTRY = (*integrations.REGISTRY, "__main__.ProbeIntegration")
django.setup()
import django_tracekit as tracekit
for _ in range(40):
    with tracekit.span("work"):
        pass
print("WORK-DONE", flush=True)
"""
    from tests.faults.exit_collectors import BlackHoledCollector

    with BlackHoledCollector() as hole:
        result = check(run_django(code, {"TRACEKIT": {"OTLP_ENDPOINT": hole.endpoint}},
                                  setup=False))
    assert result.stdout.splitlines()[-2:] == ["WORK-DONE", "LOCAL-FLUSHED 40"]
    assert "spans also stay local (probe)" in result.stderr
    dropped = [line for line in result.stderr.splitlines() if "tracekit: exit:" in line]
    assert dropped == ["WARNING:django_tracekit:tracekit: exit: export did not finish within "
                       "1.0 s; dropped what was not sent (OTLP http/protobuf: 40 span(s))"]


def test_exit_never_waits_on_an_export_that_hangs_whatever_the_python_version() -> None:
    """The exit path starts no thread (Python 3.12+ refuses to at exit) and leaves a hung
    export behind within its deadline, counting what it dropped; the core profile runs
    this on the oldest and newest supported Python (.ci/matrix)."""
    code = """
import time
import django_tracekit as tracekit
from tests.support.exporters import EXPORT_STARTED
for _ in range(25):
    with tracekit.span("work"):
        pass
assert EXPORT_STARTED.wait(30)  # the batch processor picked the spans up: its export hangs
print("EXITING", time.monotonic(), flush=True)
"""
    import time

    result = check(run_django(code, {"TRACEKIT": {
        "EXPORTER": "tests.support.exporters.hanging", "STATS": {"ENABLED": False}}},
        env={"OTEL_BSP_SCHEDULE_DELAY": "10"}))
    exited = time.monotonic()
    started_exit = float(result.stdout.split("EXITING", 1)[1].split()[0])
    assert "Traceback" not in result.stderr and "shutdown failed" not in result.stderr
    assert "tracekit: exit: export did not finish within 1.0 s" in result.stderr
    assert "tests.support.exporters.hanging: 25 span(s)" in result.stderr
    # Generous: the bound is ~1 s of waiting; interpreter teardown and a loaded machine add.
    assert exited - started_exit < 10
