"""A gunicorn server and a prefork Celery worker (2 children) of one test project, on a Redis
queue of their own: the stack of the tests that follow a request into its tasks across
processes (stats edges, the trace store, error groups, metrics)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from tests.support.processes import (
    READY_TIMEOUT_S,
    GroupProcess,
    clean_env,
    free_port,
    stopped_on_failure,
)


class WebAndWorker:
    """Started (the database migrated first when ``migrate``) and ready, or stopped: the
    worker runs ``tests.celery.project``'s tasks as service "shop-worker", gunicorn serves
    ``wsgi`` as "shop-web" with ``server_workers`` sync workers (one: warm-ups and the
    request under test meet in the same process)."""

    def __init__(self, settings: str, tmp: Path, *, broker: str, queue_prefix: str,
                 wsgi: str = "tests.traces.project.wsgi:application", server_workers: int = 1,
                 migrate: bool = True, stop_grace: float = 5.0, **env: str) -> None:
        data = tmp / "celery"
        (data / "results").mkdir(parents=True)
        queue = f"{queue_prefix}-{uuid.uuid4().hex[:12]}"
        self.env = clean_env(settings, TK_CELERY_DATA=str(data), TK_CELERY_BROKER=broker,
                             TK_CELERY_QUEUE=queue, **env)
        if migrate:
            migrated = subprocess.run([sys.executable, "-m", "django", "migrate", "-v", "0"],
                                      env=self.env, capture_output=True, text=True, timeout=180)
            assert migrated.returncode == 0, migrated.stderr
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.stop_grace = stop_grace
        self.processes: list[GroupProcess] = []
        with stopped_on_failure(self.stop):
            worker = self._start("worker", [
                sys.executable, "-m", "celery", "-A", "tests.celery.project", "worker",
                "-P", "prefork", "-c", "2", "--loglevel=INFO", "-n", f"{queue}@%h",
                "--without-gossip", "--without-mingle", "--without-heartbeat"],
                {"TK_SERVICE_NAME": "shop-worker"}, tmp)
            server = self._start("gunicorn", [
                sys.executable, "-m", "gunicorn", "-w", str(server_workers),
                "-b", f"127.0.0.1:{self.port}", wsgi], {"TK_SERVICE_NAME": "shop-web"}, tmp)
            worker.wait_for_log(" ready.", READY_TIMEOUT_S)
            server.wait_http(f"{self.base_url}/healthz/", READY_TIMEOUT_S)

    def _start(self, name: str, cmd: list[str], env: dict[str, str], tmp: Path) -> GroupProcess:
        process = GroupProcess(name, cmd, {**self.env, **env}, tmp / f"{name}.log")
        self.processes.append(process)
        return process

    def get(self, path: str) -> dict[str, Any]:
        with urllib.request.urlopen(self.base_url + path, timeout=30) as reply:
            return dict(json.loads(reply.read()))

    def logs(self, tail: int = 5000) -> str:
        return "\n".join(f"--- {p.name}\n{p.log()[-tail:]}" for p in self.processes)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop(grace=self.stop_grace)
