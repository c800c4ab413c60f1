"""Fixtures: one OTLP receiver per session; per configuration a Sentry endpoint and a
gunicorn server of tests/sentry/project, started on first use and stopped at the end."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.sentry.envelopes import SentryReceiver
from tests.sentry.helpers import Server, dead_dsn, process_env
from tests.support.otlp_receiver import OtlpHttpReceiver
from tests.support.processes import stopped_on_failure


@dataclass
class Deployment:
    server: Server
    sentry: SentryReceiver | None


@pytest.fixture(scope="session")
def otlp() -> Iterator[OtlpHttpReceiver]:
    with OtlpHttpReceiver() as running:
        yield running


@pytest.fixture(scope="session")
def deploy(otlp: OtlpHttpReceiver,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Deployment]]:
    """``deploy(name)``: the running server of one configuration (see CONFIGS)."""
    log_dir = tmp_path_factory.mktemp("sentry-logs")
    running: dict[str, Deployment] = {}
    receivers: list[SentryReceiver] = []

    def get(name: str) -> Deployment:
        if name in running:
            return running[name]
        sentry: SentryReceiver | None = None
        extra: dict[str, str] = {}
        if name in ("tracekit", "sampled_out", "app_client"):
            sentry = SentryReceiver().__enter__()
            receivers.append(sentry)
            key = "TK_SENTRY_APP_DSN" if name == "app_client" else "TK_SENTRY_DSN"
            extra[key] = sentry.dsn
        elif name == "slow":
            sentry = SentryReceiver(delay_s=5.0).__enter__()
            receivers.append(sentry)
            extra["TK_SENTRY_DSN"] = sentry.dsn
        elif name == "dead":
            extra["TK_SENTRY_DSN"] = dead_dsn()
        elif name != "no_sentry":
            raise ValueError(name)
        if name == "sampled_out":
            extra["TK_SAMPLE_RATE"] = "0.0"
        server = Server(name, process_env(otlp.endpoint, **extra), log_dir)
        with stopped_on_failure(server.stop):
            server.wait_ready()
        running[name] = Deployment(server, sentry)
        return running[name]

    try:
        yield get
    finally:
        for deployment in running.values():
            deployment.server.stop()
        for receiver in receivers:
            receiver.__exit__(None, None, None)


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sentry-worker-logs")
