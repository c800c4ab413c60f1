"""A real gunicorn process exporting over OTLP: log records of a request are events of its
spans, the process's own log lines (Django's LOGGING, a non-propagating logger) carry the
exported trace and span ids, and an error logged then raised is recorded once."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.otlp_receiver import OtlpHttpReceiver, ReceivedSpan
from tests.support.processes import GroupProcess, clean_env, free_port

pytestmark = pytest.mark.requires("opentelemetry.exporter.otlp.proto.http")

KIND_SERVER = 2


class Gunicorn(GroupProcess):
    def __init__(self, receiver: OtlpHttpReceiver, log_path: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = clean_env("tests.logs.project.settings",
                        TRACEKIT_TEST_OTLP_ENDPOINT=receiver.endpoint)
        super().__init__("gunicorn", [
            sys.executable, "-m", "gunicorn", "tests.logs.project.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--log-level", "warning"],
            env, log_path)

    def get(self, path: str) -> tuple[int, str]:
        marker = uuid.uuid4().hex
        try:
            with urllib.request.urlopen(f"{self.base_url}{path}?req={marker}",
                                        timeout=30) as reply:
                return int(reply.status), marker
        except urllib.error.HTTPError as err:
            return int(err.code), marker


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpHttpReceiver]:
    with OtlpHttpReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def server(receiver: OtlpHttpReceiver,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    process = Gunicorn(receiver, tmp_path_factory.mktemp("logs-server") / "gunicorn.log")
    try:
        process.wait_http(process.base_url + "/healthz")
        yield process
    finally:
        process.stop()


def request_trace(server: Gunicorn, receiver: OtlpHttpReceiver,
                  path: str) -> tuple[int, ReceivedSpan, list[ReceivedSpan]]:
    status, marker = server.get(path)

    def root_of(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
        return [s for s in spans if s.kind == KIND_SERVER
                and marker in str(s.attributes.get("url.query", ""))]

    root = root_of(receiver.wait_for(lambda spans: bool(root_of(spans))))[0]
    # Children end (and are exported) before the server span.
    spans = [s for s in receiver.wait_for(lambda _: True, 1) if s.trace_id == root.trace_id]
    return status, root, [s for s in spans if s.span_id != root.span_id]


def log_messages(span: ReceivedSpan) -> list[str]:
    return [str(attrs["log.message"]) for name, attrs in span.events if name == "log"]


def test_records_are_events_and_log_lines_carry_the_exported_ids(
        server: Gunicorn, receiver: OtlpHttpReceiver) -> None:
    status, root, children = request_trace(server, receiver, "/logged/")
    assert status == 200
    (view,) = children
    assert view.name == "tests/logs/urls/logged"
    assert log_messages(view) == ["placing order 7"]
    (attrs,) = [a for n, a in view.events if n == "log"]
    assert attrs["log.logger"] == "tests.logs.views"
    assert attrs["code.file.path"].endswith("tests/logs/urls.py")
    # The process's own log line, through Django's LOGGING (dictConfig) and a logger that
    # does not propagate, names the exported trace and span.
    server.wait_for_log(f"LOG {root.trace_id} {view.span_id} INFO placing order 7")


def test_an_error_logged_and_raised_is_recorded_once(
        server: Gunicorn, receiver: OtlpHttpReceiver) -> None:
    status, root, children = request_trace(server, receiver, "/reraised/")
    assert status == 500
    (view,) = children
    assert log_messages(view) == ["giving up"]
    assert log_messages(root) == ["Internal Server Error: /reraised/"]
    exceptions = [e for s in [root, view] for e in s.exceptions]
    assert len(exceptions) == 1 and view.exceptions == exceptions
    assert "in reraised" in exceptions[0]["exception.stacktrace"]
    server.wait_for_log(f"LOG {root.trace_id} {root.span_id} ERROR Internal Server Error")
