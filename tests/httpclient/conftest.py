"""Real services for the outgoing-HTTP tests: gunicorn serving tests/httpclient/project
(the callee, and a relay that calls it), exporting to one OTLP receiver."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.otlp_receiver import OtlpHttpReceiver, ReceivedSpan
from tests.support.processes import (
    READY_TIMEOUT_S,
    GroupProcess,
    clean_env,
    free_port,
    stopped_on_failure,
)

SETTINGS = "tests.httpclient.project.settings"
KIND_SERVER, KIND_CLIENT = 2, 3  # OTLP proto SpanKind


class Service(GroupProcess):
    """gunicorn (one sync worker) serving the test project as ``service_name``."""

    def __init__(self, service_name: str, receiver: OtlpHttpReceiver, log_dir: Path,
                 **env_extra: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = clean_env(SETTINGS, TK_OTLP_ENDPOINT=receiver.endpoint,
                        TK_SERVICE_NAME=service_name, **env_extra)
        cmd = [sys.executable, "-m", "gunicorn", "tests.httpclient.project.wsgi:application",
               "--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--worker-class", "sync",
               "--log-level", "warning", "--graceful-timeout", "5"]
        super().__init__(service_name, cmd, env, log_dir / f"{service_name}.log")

    def url(self, path: str) -> str:
        return self.base_url + path


def server_span(receiver: OtlpHttpReceiver, trace_id: str, service: str) -> ReceivedSpan:
    """The SERVER span ``service`` made in trace ``trace_id`` (waited for)."""
    def match(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
        return [s for s in spans if s.trace_id == trace_id and s.kind == KIND_SERVER
                and s.resource.get("service.name") == service]

    receiver.wait_for(lambda spans: bool(match(spans)))
    [span] = match(receiver.spans)
    return span


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpHttpReceiver]:
    with OtlpHttpReceiver() as running:
        yield running


def _start(name: str, receiver: OtlpHttpReceiver,
           tmp_path_factory: pytest.TempPathFactory) -> Service:
    service = Service(name, receiver, tmp_path_factory.mktemp(name))
    with stopped_on_failure(service.stop):
        service.wait_http(service.url("/healthz"), READY_TIMEOUT_S)
    return service


@pytest.fixture(scope="module")
def callee(receiver: OtlpHttpReceiver,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service = _start("callee", receiver, tmp_path_factory)
    yield service
    service.stop()


@pytest.fixture(scope="module")
def relay(receiver: OtlpHttpReceiver,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service = _start("relay", receiver, tmp_path_factory)
    yield service
    service.stop()
