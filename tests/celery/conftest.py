"""Fixtures: one OTLP receiver per module; one worker + server stack per broker and module,
always stopped (process groups killed) in the finalizer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.celery.helpers import Stack
from tests.support.otlp_receiver import OtlpHttpReceiver

# Every broker the integration is tested against. filesystem:// needs no server (the
# embedded default); Redis and RabbitMQ fail in CI if unreachable (conftest's service marker).
BROKER_PARAMS = [
    pytest.param("filesystem", id="filesystem"),
    pytest.param("redis", id="redis", marks=pytest.mark.service("redis")),
    pytest.param("rabbitmq", id="rabbitmq", marks=pytest.mark.service("rabbitmq")),
]


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpHttpReceiver]:
    with OtlpHttpReceiver() as running:
        yield running


@pytest.fixture(scope="module", params=BROKER_PARAMS)
def stack(request: pytest.FixtureRequest, receiver: OtlpHttpReceiver,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # The service marker on the param is checked per test (setup) before this runs; check
    # here too so an unreachable broker fails/skips instead of timing out the worker start.
    from tests.conftest import _require_service

    if request.param != "filesystem":
        _require_service(request.param)
    running = Stack(request.param, receiver, tmp_path_factory.mktemp(f"celery-{request.param}"))
    try:
        yield running
    finally:
        running.stop()
