"""Real servers for tests/http: start gunicorn/uvicorn on the test project, talk HTTP to them,
find the spans each request produced in the OTLP receiver."""

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

from tests.support.otlp_receiver import OtlpHttpReceiver, ReceivedSpan

REPO = Path(__file__).resolve().parents[2]
PROJECT_DIR = Path(__file__).resolve().parent / "project"
SETTINGS = "tests.http.project.settings"
# OTLP proto enum values (opentelemetry.proto.trace.v1.Span.SpanKind / Status.StatusCode).
KIND_INTERNAL, KIND_SERVER = 1, 2
STATUS_UNSET, STATUS_ERROR = 0, 2

WSGI_KINDS = ("sync", "gthread", "preload")
ASGI_KINDS = ("uvicorn",)
READY_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(receiver: OtlpHttpReceiver, db_path: Path) -> dict[str, str]:
    # Start from a clean slate: an OTEL_*/SENTRY_* variable of the developer's shell must
    # not change what the servers export.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "SENTRY_")) and k != "DJANGO_SETTINGS_MODULE"}
    env.update({
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        "TRACEKIT_TEST_OTLP_ENDPOINT": receiver.endpoint,
        "TRACEKIT_TEST_DB": str(db_path),
        # Export quickly so each test waits ~50 ms for its spans, not the 5 s default.
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST": ".*",
        "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_RESPONSE": ".*",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def setup_database(db_path: Path) -> int:
    """``migrate`` a fresh SQLite file and create the login user; returns the user's pk."""
    script = (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "call_command('migrate', verbosity=0, interactive=False)\n"
        "from django.contrib.auth.models import User\n"
        "print(User.objects.create_user('alice', password='wonderland').pk)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRY_"))}
    env.update({"DJANGO_SETTINGS_MODULE": SETTINGS, "TRACEKIT_TEST_DB": str(db_path),
                "OTEL_SDK_DISABLED": "true",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))})
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"migrate failed:\n{done.stdout}\n{done.stderr}"
    return int(done.stdout.strip().splitlines()[-1])


def command(kind: str, port: int) -> list[str]:
    if kind in ASGI_KINDS:
        return [sys.executable, "-m", "uvicorn", "tests.http.project.asgi:application",
                "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off",
                "--log-level", "warning", "--no-access-log"]
    cmd = [sys.executable, "-m", "gunicorn", "tests.http.project.wsgi:application",
           "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--graceful-timeout", "5"]
    if kind == "sync":
        return [*cmd, "--worker-class", "sync", "--workers", "1"]
    if kind == "gthread":
        return [*cmd, "--worker-class", "gthread", "--workers", "1", "--threads", "4"]
    if kind == "preload":
        # The app (Django setup, tracekit bootstrap, batch processor thread, exporter) is
        # built in the master, then forked into two workers: they must still export.
        return [*cmd, "--worker-class", "sync", "--workers", "2", "--preload"]
    raise ValueError(kind)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    header_list: list[tuple[str, str]]
    body: bytes
    marker: str
    elapsed_s: float


class Server:
    """One server subprocess; ``stop()`` always kills its whole process group."""

    def __init__(self, kind: str, receiver: OtlpHttpReceiver, db_path: Path, log_dir: Path,
                 user_pk: int) -> None:
        self.kind = kind
        self.receiver = receiver
        self.user_pk = user_pk
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{kind}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            command(kind, self.port), cwd=REPO, env=server_env(receiver, db_path),
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def is_asgi(self) -> bool:
        return self.kind in ASGI_KINDS

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> None:
        # /healthz is an excluded URL: polling it leaves no spans behind.
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.kind} exited with {self.proc.returncode}:\n"
                                     f"{self.log()}")
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.kind} not ready after {READY_TIMEOUT_S}s:\n"
                                     f"{self.log()}")
            time.sleep(0.05)

    def stop(self) -> None:
        try:
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=10)
            else:
                # The master is gone; make sure no orphaned worker of its group survives.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
        finally:
            self._log.close()

    # -- HTTP ------------------------------------------------------------------------------
    def request(self, path: str, *, method: str = "GET", headers: dict[str, str] | None = None,
                data: bytes | None = None, mark: bool = True) -> Reply:
        """Send a real request; ``path`` gets a unique ``req=`` query marker to find its span."""
        marker = uuid.uuid4().hex
        url = self.base_url + path
        if mark:
            url += ("&" if "?" in path else "?") + f"req={marker}"
        req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        started = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                status, header_list, body = resp.status, resp.getheaders(), resp.read()
        except urllib.error.HTTPError as err:  # 4xx/5xx are answers here, not failures
            status, header_list, body = err.code, err.headers.items(), err.read()
        return Reply(status, {k.lower(): v for k, v in header_list},
                     [(k.lower(), v) for k, v in header_list], body, marker,
                     time.monotonic() - started)

    # -- spans -----------------------------------------------------------------------------
    def server_span(self, reply: Reply, timeout: float = 15.0) -> ReceivedSpan:
        """The one SERVER span of the request that carried ``reply.marker``."""
        def mine(span: ReceivedSpan) -> bool:
            return span.kind == KIND_SERVER and reply.marker in span.attributes.get(
                "url.query", "")
        try:
            spans = self.receiver.wait_for(lambda all_: any(mine(s) for s in all_), timeout)
        except AssertionError:
            raise AssertionError(f"no server span for {reply.marker}; server log:\n"
                                 f"{self.log()}") from None
        found = [s for s in spans if mine(s)]
        assert len(found) == 1, f"{len(found)} server spans for one request: {found}"
        return found[0]

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        """All spans of a trace received so far (children end, so export, before the root)."""
        return [s for s in self.receiver.wait_for(lambda _: True, 1) if s.trace_id == trace_id]

    def spans_with_marker(self, marker: str) -> list[ReceivedSpan]:
        return [s for s in self.receiver.wait_for(lambda _: True, 1)
                if marker in str(s.attributes.get("url.query", ""))]

    def request_and_trace(self, path: str, **kwargs: object) -> tuple[
            Reply, ReceivedSpan, list[ReceivedSpan]]:
        """Request, then (reply, server span, the other spans of its trace)."""
        reply = self.request(path, **kwargs)  # type: ignore[arg-type]
        root = self.server_span(reply)
        others = [s for s in self.trace(root.trace_id) if s.span_id != root.span_id]
        return reply, root, others


def view_name(name: str) -> str:
    """Convention name of a view in tests/http/project/views.py (PROJECT_NAME is 'tests')."""
    return f"tests/http/project/views/{name}"


def raise_line(path: Path, needle: str) -> int:
    """Line number of the first line containing ``needle`` (where a test view raises)."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")
