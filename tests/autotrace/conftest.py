"""The auto-tracing test project under a real gunicorn, exporting to a local OTLP receiver."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
PROJECT = Path(__file__).resolve().parent / "project"

# Python 3.12 type-parameter syntax. Written into the served copy of the project on 3.12+
# only: as a file in the repository it would not even parse for the 3.10 tooling.
PY312_SOURCE = '''"""Python 3.12 type-parameter syntax (imported only on 3.12+)."""

import time


def first[T](items: list[T]) -> T:
    time.sleep(0.03)
    return items[0]


class Box[T]:
    def __init__(self, item: T) -> None:
        self.item = item

    def get(self) -> T:
        time.sleep(0.03)
        return self.item
'''


def served_project(tmp: Path) -> Path:
    """A copy of the project (BASE_DIR) with the version-specific modules added."""
    target = tmp / "project"
    shutil.copytree(PROJECT, target, ignore=shutil.ignore_patterns("__pycache__"))
    if sys.version_info >= (3, 12):
        (target / "shop" / "py312.py").write_text(PY312_SOURCE)
    return target


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ShopServer:
    def __init__(self, receiver: Any, log_path: Path, project: Path) -> None:
        self.receiver = receiver
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("OTEL_", "SENTRY_")) and k != "DJANGO_SETTINGS_MODULE"}
        env.update({
            "DJANGO_SETTINGS_MODULE": "shop.settings",
            "PYTHONPATH": os.pathsep.join([str(project), str(REPO)]),
            "TRACEKIT_TEST_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "50",
            "PYTHONUNBUFFERED": "1",
            "TK_AUTOTRACE_DATA": str(log_path.parent / "celery"),
        })
        self.env, self.project = env, project
        self._log = open(log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "shop.wsgi:application", "--bind",
             f"127.0.0.1:{self.port}", "--workers", "1", "--log-level", "warning"],
            cwd=project, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited {self.proc.returncode}:\n{self.log()}")
            with contextlib.suppress(OSError), urllib.request.urlopen(
                    self.base_url + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"gunicorn not ready:\n{self.log()}")
            time.sleep(0.05)

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.base_url + path, timeout=30) as resp:
            return json.loads(resp.read())

    def get_status(self, path: str) -> int:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=30) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as err:
            return int(err.code)

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopServer]:
    from tests.support.otlp_receiver import OtlpHttpReceiver

    with OtlpHttpReceiver() as receiver:
        tmp = tmp_path_factory.mktemp("autotrace")
        server = ShopServer(receiver, tmp / "gunicorn.log", served_project(tmp))
        try:
            server.wait_ready()
            yield server
        finally:
            server.stop()


class Worker:
    """A real Celery worker (prefork, one child) on the served project's filesystem broker."""

    def __init__(self, shop: ShopServer, log_path: Path) -> None:
        for folder in ("broker", "control"):
            (log_path.parent / "celery" / folder).mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "shop.celery", "worker", "-P", "prefork",
             "-c", "1", "--loglevel=INFO", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=shop.project, env=shop.env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 45.0) -> None:
        deadline = time.monotonic() + timeout
        while " ready." not in self.log():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"celery worker not ready:\n{self.log()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()


@pytest.fixture(scope="module")
def worker(shop: ShopServer) -> Iterator[Worker]:
    running = Worker(shop, shop.log_path.parent / "worker.log")
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()
