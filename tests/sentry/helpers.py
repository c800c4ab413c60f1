"""Real processes for the Sentry tests: gunicorn serving tests/sentry/project, a Celery
worker; both export spans to the OTLP receiver and send events to a SentryReceiver."""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import GroupProcess, clean_env, free_port

SETTINGS = "tests.sentry.project.settings"
KIND_SERVER = 2  # OTLP proto SpanKind.SERVER
READY_TIMEOUT_S = 30.0


def dead_dsn() -> str:
    """A DSN whose port nothing listens on (connection refused)."""
    return f"http://public@127.0.0.1:{free_port()}/1"


def process_env(otlp_endpoint: str, **extra: str) -> dict[str, str]:
    return clean_env(SETTINGS, TRACEKIT_TEST_OTLP_ENDPOINT=otlp_endpoint, **extra)


@dataclass
class Reply:
    status: int
    body: bytes
    marker: str
    elapsed_s: float


class Server(GroupProcess):
    """gunicorn (sync worker) serving tests/sentry/project."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "gunicorn", "tests.sentry.project.wsgi:application",
               "--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--worker-class", "sync",
               "--log-level", "warning", "--graceful-timeout", "5"]
        super().__init__(name, cmd, env, log_dir / f"{name}.log")

    def wait_ready(self) -> None:
        self.wait_http(self.base_url + "/healthz", READY_TIMEOUT_S)

    def request(self, path: str, *, method: str = "GET", headers: dict[str, str] | None = None,
                data: bytes | None = None) -> Reply:
        """A real request; its URL carries a unique ``req=`` marker to find its span/event."""
        marker = uuid.uuid4().hex
        url = f"{self.base_url}{path}{'&' if '?' in path else '?'}req={marker}"
        req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        started = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, body = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, body = err.code, err.read()
        return Reply(status, body, marker, time.monotonic() - started)


class Worker(GroupProcess):
    """A real ``celery worker`` (prefork, one child) on the filesystem:// broker."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        cmd = [sys.executable, "-m", "celery", "-A", "tests.sentry.project.celery_app", "worker",
               "--pool", "prefork", "--concurrency", "1", "--loglevel", "INFO",
               "--without-heartbeat", "--without-mingle", "--without-gossip"]
        super().__init__("celery-worker", cmd, env, log_dir / "celery-worker.log")

    def wait_ready(self) -> None:
        self.wait_for_log("ready.", READY_TIMEOUT_S)


def event_for(marker: str):  # type: ignore[no-untyped-def]
    """Matcher: the event of the request whose query carried ``marker``."""
    def match(event: dict) -> bool:  # type: ignore[type-arg]
        return marker in str((event.get("request") or {}).get("query_string", ""))
    return match
