"""A gunicorn server (2 workers) and a prefork Celery worker (2 children) on Redis, with
per-feature metrics on and SAMPLE_RATE 0; known traffic and its exact expected counts."""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from tests.support.processes import READY_TIMEOUT_S, GroupProcess, clean_env, free_port

SETTINGS = "tests.metrics.project.settings"
ENCODE = "tests/celery/project/tasks/encode"
CHARGE = "tests/celery/project/tasks/charge"
ORDER = "GET /order/"
UNMATCHED = "GET (unmatched)"
OK, ERROR, UNSET = "STATUS_CODE_OK", "STATUS_CODE_ERROR", "STATUS_CODE_UNSET"
# (feature, status.code) -> calls that traffic() makes.
EXPECTED = {(ORDER, UNSET): 8, (UNMATCHED, UNSET): 3, (ENCODE, UNSET): 6, (CHARGE, ERROR): 2}


class Stack:
    def __init__(self, tmp: Path, **env: str) -> None:
        data = tmp / "celery"
        (data / "results").mkdir(parents=True)
        queue = f"tracekit-metrics-{uuid.uuid4().hex[:12]}"
        base = clean_env(SETTINGS, TK_CELERY_DATA=str(data), TK_CELERY_QUEUE=queue,
                         TK_CELERY_BROKER="redis://127.0.0.1:6379/12", **env)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.processes: list[GroupProcess] = []
        try:
            worker = self._start("worker", [
                sys.executable, "-m", "celery", "-A", "tests.celery.project", "worker",
                "-P", "prefork", "-c", "2", "--loglevel=INFO", "-n", f"{queue}@%h",
                "--without-gossip", "--without-mingle", "--without-heartbeat"],
                {**base, "TK_SERVICE_NAME": "shop-worker"}, tmp)
            server = self._start("gunicorn", [
                sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{self.port}",
                "tests.metrics.project.wsgi:application"], base, tmp)
            worker.wait_for_log(" ready.", READY_TIMEOUT_S)
            server.wait_http(self.base_url + "/healthz/", READY_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise

    def _start(self, name: str, cmd: list[str], env: dict[str, str],
               tmp: Path) -> GroupProcess:
        process = GroupProcess(name, cmd, env, tmp / f"{name}.log")
        self.processes.append(process)
        return process

    def get(self, path: str) -> dict[str, Any]:
        with urllib.request.urlopen(self.base_url + path, timeout=30) as reply:
            return dict(json.loads(reply.read()))

    def traffic(self) -> None:
        """The calls of :data:`EXPECTED`; returns when every task has finished."""
        ids = [self.get("/order/")["task_id"] for _ in range(6)]
        ids += [self.get("/order/?task=charge")["task_id"] for _ in range(2)]
        for n in range(3):
            try:
                urllib.request.urlopen(f"{self.base_url}/no-such-page-{n}/", timeout=30)
                raise AssertionError("expected a 404")
            except urllib.error.HTTPError as exc:
                assert exc.code == 404
        deadline = time.monotonic() + READY_TIMEOUT_S
        for task_id in ids:
            while self.get(f"/state/{task_id}/")["state"] not in ("SUCCESS", "FAILURE"):
                assert time.monotonic() < deadline, f"task {task_id} never finished\n{self.logs()}"
                time.sleep(0.1)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.log()[-4000:]}" for p in self.processes)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop(grace=10)
