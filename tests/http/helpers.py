"""Real servers for tests/http: start gunicorn/uvicorn on the test project, talk HTTP to them,
find the spans each request produced in the OTLP receiver."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.support.otlp_receiver import OtlpHttpReceiver, ReceivedSpan
from tests.support.processes import REPO, GroupProcess, clean_env, free_port

PROJECT_DIR = Path(__file__).resolve().parent / "project"
SETTINGS = "tests.http.project.settings"
# OTLP proto enum values (opentelemetry.proto.trace.v1.Span.SpanKind / Status.StatusCode).
KIND_INTERNAL, KIND_SERVER = 1, 2
STATUS_UNSET, STATUS_ERROR = 0, 2

WSGI_KINDS = ("sync", "gthread", "preload")
ASGI_KINDS = ("uvicorn",)
READY_TIMEOUT_S = 30.0


def server_env(receiver: OtlpHttpReceiver, db_path: Path) -> dict[str, str]:
    return clean_env(SETTINGS, TRACEKIT_TEST_OTLP_ENDPOINT=receiver.endpoint,
                     TRACEKIT_TEST_DB=str(db_path),
                     OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST=".*",
                     OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_RESPONSE=".*")


def setup_database(db_path: Path) -> int:
    """``migrate`` a fresh SQLite file and create the login user; returns the user's pk."""
    script = (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "call_command('migrate', verbosity=0, interactive=False)\n"
        "from django.contrib.auth.models import User\n"
        "print(User.objects.create_user('alice', password='wonderland').pk)\n"
    )
    env = clean_env(SETTINGS, TRACEKIT_TEST_DB=str(db_path), OTEL_SDK_DISABLED="true")
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


class Server(GroupProcess):
    """One server subprocess; ``stop()`` always kills its whole process group."""

    def __init__(self, kind: str, receiver: OtlpHttpReceiver, db_path: Path, log_dir: Path,
                 user_pk: int) -> None:
        self.kind = kind
        self.receiver = receiver
        self.user_pk = user_pk
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        super().__init__(kind, command(kind, self.port), server_env(receiver, db_path),
                         log_dir / f"{kind}.log")

    @property
    def is_asgi(self) -> bool:
        return self.kind in ASGI_KINDS

    def wait_ready(self) -> None:
        # /healthz is an excluded URL: polling it leaves no spans behind.
        self.wait_http(self.base_url + "/healthz", READY_TIMEOUT_S)

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
