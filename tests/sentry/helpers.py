"""Real processes for the Sentry tests: gunicorn serving tests/sentry/project, a Celery
worker; both export spans to the OTLP receiver and send events to a SentryReceiver."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SETTINGS = "tests.sentry.project.settings"
KIND_SERVER = 2  # OTLP proto SpanKind.SERVER
READY_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dead_dsn() -> str:
    """A DSN whose port nothing listens on (connection refused)."""
    return f"http://public@127.0.0.1:{free_port()}/1"


def process_env(otlp_endpoint: str, **extra: str) -> dict[str, str]:
    # A SENTRY_*/OTEL_* variable of the developer's shell must not change the run.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "SENTRY_")) and k != "DJANGO_SETTINGS_MODULE"}
    env.update({
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        "TRACEKIT_TEST_OTLP_ENDPOINT": otlp_endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "50",  # spans reach the receiver in ~50 ms
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


@dataclass
class Reply:
    status: int
    body: bytes
    marker: str
    elapsed_s: float


class Process:
    """A subprocess in its own process group; ``stop()`` ends the whole group."""

    def __init__(self, cmd: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        try:
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=10)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
        finally:
            self._log.close()


class Server(Process):
    """gunicorn (sync worker) serving tests/sentry/project."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "gunicorn", "tests.sentry.project.wsgi:application",
               "--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--worker-class", "sync",
               "--log-level", "warning", "--graceful-timeout", "5"]
        super().__init__(cmd, env, log_dir / f"{name}.log")
        self.name = name

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited {self.proc.returncode}:\n{self.log()}")
            with contextlib.suppress(OSError), urllib.request.urlopen(
                    self.base_url + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} not ready:\n{self.log()}")
            time.sleep(0.05)

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


class Worker(Process):
    """A real ``celery worker`` (prefork, one child) on the filesystem:// broker."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        cmd = [sys.executable, "-m", "celery", "-A", "tests.sentry.project.celery_app", "worker",
               "--pool", "prefork", "--concurrency", "1", "--loglevel", "INFO",
               "--without-heartbeat", "--without-mingle", "--without-gossip"]
        super().__init__(cmd, env, log_dir / "celery-worker.log")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while "ready." not in self.log():
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"worker not ready:\n{self.log()}")
            time.sleep(0.1)


def event_for(marker: str):  # type: ignore[no-untyped-def]
    """Matcher: the event of the request whose query carried ``marker``."""
    def match(event: dict) -> bool:  # type: ignore[type-arg]
        return marker in str((event.get("request") or {}).get("query_string", ""))
    return match
