"""A gunicorn server (2 workers) and a prefork Celery worker (2 children) on Redis, with
per-feature metrics on and SAMPLE_RATE 0; known traffic and its exact expected counts."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.support.processes import READY_TIMEOUT_S
from tests.support.web_and_worker import WebAndWorker

SETTINGS = "tests.metrics.project.settings"
ENCODE = "tests/celery/project/tasks/encode"
CHARGE = "tests/celery/project/tasks/charge"
ORDER = "GET /order/"
UNMATCHED = "GET (unmatched)"
OK, ERROR, UNSET = "STATUS_CODE_OK", "STATUS_CODE_ERROR", "STATUS_CODE_UNSET"
# (feature, status.code) -> calls that traffic() makes.
EXPECTED = {(ORDER, UNSET): 8, (UNMATCHED, UNSET): 3, (ENCODE, UNSET): 6, (CHARGE, ERROR): 2}


class Stack(WebAndWorker):
    def __init__(self, tmp: Path, **env: str) -> None:
        super().__init__(SETTINGS, tmp, broker="redis://127.0.0.1:6379/12",
                         queue_prefix="tracekit-metrics", server_workers=2,
                         wsgi="tests.metrics.project.wsgi:application", migrate=False,
                         stop_grace=10.0, **env)

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
