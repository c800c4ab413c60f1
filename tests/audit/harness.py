"""The audit's real stack: a fresh PostgreSQL database, gunicorn (3 workers) and a Celery
prefork worker on Redis, one generation per release (``SERVICE_VERSION``), traffic whose
truth the harness records (server time, trace id, process of every request), and an HTTP
reader of the admin logged in as a staff user."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.processes import READY_TIMEOUT_S, GroupProcess, clean_env, free_port

SETTINGS = "tests.audit.project.settings"
WAIT_S = 180.0  # deadline of a condition polled until it holds (a passing run never waits it)
SEED = """
import json
from django.contrib.auth.models import Permission, User
from django.contrib.sessions.backends.db import SessionStore
from django.urls import reverse

def session(user):
    store = SessionStore()
    store["_auth_user_id"] = str(user.pk)
    store["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    store["_auth_user_hash"] = user.get_session_auth_hash()
    store.create()
    return store.session_key

staff = User.objects.create_user("auditor", password="x", is_staff=True)
staff.user_permissions.add(*Permission.objects.filter(
    content_type__app_label="django_tracekit", codename__in=["view_feature", "view_trace"]))
users = [User.objects.create_user(f"user{i}") for i in range(%(users)d)]
print(json.dumps({"staff": session(staff), "users": [session(u) for u in users],
                  "urls": {n: reverse("admin:" + n) for n in
                           ("tracekit_usage", "tracekit_traces", "tracekit_errors",
                            "tracekit_changes")}}))
"""


@dataclass(frozen=True)
class Hit:
    """One request as the server measured it (the truth)."""

    route: str  # the feature name, e.g. "GET /const/"
    version: str
    status: int
    server_us: int  # the request span's duration, as it ended in the server
    clock_us: int  # span start -> response, measured inside the span (a lower bound)
    wsgi_us: int  # the whole WSGI call (an upper bound)
    start_us: int
    trace_id: str
    pid: str
    user: int | None = None
    body: str = ""
    path: str = ""


@dataclass
class Stack:
    database: str
    tmp: Path
    users: int
    queue: str = field(default_factory=lambda: f"audit-{uuid.uuid4().hex[:12]}")
    sessions: list[str] = field(default_factory=list)
    staff: str = ""
    urls: dict[str, str] = field(default_factory=dict)
    port: int = 0
    generation: int = 0
    processes: list[GroupProcess] = field(default_factory=list)

    def env(self, version: str, service: str) -> dict[str, str]:
        return clean_env(SETTINGS, TK_AUDIT_DB=self.database, TK_AUDIT_QUEUE=self.queue,
                         TK_AUDIT_VERSION=version, TK_SERVICE_NAME=service)

    def manage(self, *args: str, version: str = "1.0") -> str:
        done = subprocess.run([sys.executable, "-m", "django", *args],
                              env=self.env(version, "audit-web"), capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-4000:]
        return done.stdout

    def prepare(self) -> None:
        self.manage("migrate", "-v", "0")
        seeded = json.loads(self.manage("shell", "-c", SEED % {"users": self.users})
                            .strip().splitlines()[-1])
        self.staff, self.sessions, self.urls = seeded["staff"], seeded["users"], seeded["urls"]

    def start(self, version: str, workers: int = 3) -> None:
        """One release: gunicorn and a prefork worker reporting ``version``."""
        self.port = free_port()
        self.generation += 1
        log = self.tmp / f"{self.generation}-{version}"
        worker = GroupProcess(f"worker {version}", [
            sys.executable, "-m", "celery", "-A", "tests.audit.project", "worker",
            "-P", "prefork", "-c", "2", "--loglevel=INFO", "-n", f"{self.queue}-{version}@%h",
            "-Q", self.queue, "--without-gossip", "--without-mingle", "--without-heartbeat"],
            self.env(version, "audit-worker"), Path(f"{log}-worker.log"))
        self.processes.append(worker)
        server = GroupProcess(f"gunicorn {version}", [
            sys.executable, "-m", "gunicorn", "-w", str(workers), "-b",
            f"127.0.0.1:{self.port}", "--graceful-timeout", "30",
            "tests.audit.project.wsgi:application"],
            self.env(version, "audit-web"), Path(f"{log}-gunicorn.log"))
        self.processes.append(server)
        worker.wait_for_log(" ready.", READY_TIMEOUT_S)
        server.wait_http(f"http://127.0.0.1:{self.port}/healthz/", READY_TIMEOUT_S)

    def stop_generation(self) -> None:
        """SIGTERM to gunicorn's master and Celery's main process: their graceful exit
        flushes the stats and decides the trace store's open slow windows (documented);
        the harness waits for the exit, a condition, never a fixed time."""
        for process in reversed(self.processes):
            if process.proc.poll() is None:
                os.kill(process.proc.pid, signal.SIGTERM)
        for process in reversed(self.processes):
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.proc.wait(timeout=WAIT_S)
            process.stop(grace=5)
        self.processes.clear()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.log()[-3000:]}" for p in self.processes)

    # --- traffic ---------------------------------------------------------------------------

    def hit(self, path: str, route: str, version: str, user: int | None = None) -> Hit:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}")
        if user is not None:
            request.add_header("Cookie", f"sessionid={self.sessions[user]}")
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                status, headers, body = reply.status, reply.headers, reply.read()
        except urllib.error.HTTPError as failed:
            status, headers, body = failed.code, failed.headers, failed.read()
        return Hit(route, version, status, int(headers["X-Audit-Span-Us"]),
                   int(headers["X-Audit-Us"]), int(headers["X-Audit-Wsgi-Us"]),
                   int(headers["X-Audit-Start"]), headers["X-Audit-Trace"],
                   headers["X-Audit-Pid"], user, body.decode(errors="replace")[:200], path)

    def drive(self, plan: Iterable[tuple[str, str, int | None]], version: str,
              threads: int = 3) -> list[Hit]:
        """The plan's requests (path, route, user), ``threads`` at a time."""
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(lambda step: self.hit(step[0], step[1], version, step[2]),
                                 plan))

    def wait_tasks(self, ids: list[str]) -> None:
        """Until every task reached a final state (Celery's result backend)."""
        deadline = time.monotonic() + WAIT_S
        query = ",".join(ids)
        while True:
            with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/done/?ids={query}", timeout=60) as reply:
                if json.loads(reply.read())["done"] == len(ids):
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"tasks not finished:\n{self.logs()}")
            time.sleep(0.2)

    # --- the admin, as the staff user sees it ----------------------------------------------

    def admin(self, path: str) -> str:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}",
                                         headers={"Cookie": f"sessionid={self.staff}"})
        with urllib.request.urlopen(request, timeout=120) as reply:
            assert reply.status == 200, path
            assert "/login/" not in reply.url, f"not logged in: {reply.url}"
            return str(reply.read().decode())
