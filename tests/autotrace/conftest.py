"""The auto-tracing test project under a real gunicorn, exporting to a local OTLP receiver."""

from __future__ import annotations

import json
import shutil
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import GroupProcess, clean_env, free_port

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


class ShopServer(GroupProcess):
    """gunicorn serving the copied project (its BASE_DIR: everything in it auto-traced)."""

    def __init__(self, receiver: Any, log_path: Path, project: Path) -> None:
        self.receiver = receiver
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = clean_env("shop.settings", pythonpath=(str(project),),
                             TRACEKIT_TEST_OTLP_ENDPOINT=receiver.endpoint,
                             TK_AUTOTRACE_DATA=str(log_path.parent / "celery"))
        self.project = project
        super().__init__("gunicorn", [
            sys.executable, "-m", "gunicorn", "shop.wsgi:application", "--bind",
            f"127.0.0.1:{self.port}", "--workers", "1", "--log-level", "warning"],
            self.env, log_path, cwd=project)

    def wait_ready(self, timeout: float = 30.0) -> None:
        self.wait_http(self.base_url + "/healthz", timeout)

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.base_url + path, timeout=30) as resp:
            return json.loads(resp.read())

    def get_status(self, path: str) -> int:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=30) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as err:
            return int(err.code)


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


class Worker(GroupProcess):
    """A real Celery worker (prefork, one child) on the served project's filesystem broker."""

    def __init__(self, shop: ShopServer, log_path: Path) -> None:
        for folder in ("broker", "control"):
            (log_path.parent / "celery" / folder).mkdir(parents=True, exist_ok=True)
        super().__init__("celery worker", [
            sys.executable, "-m", "celery", "-A", "shop.celery", "worker", "-P", "prefork",
            "-c", "1", "--loglevel=INFO", "--without-gossip", "--without-mingle",
            "--without-heartbeat"], shop.env, log_path, cwd=shop.project)

    def wait_ready(self, timeout: float = 45.0) -> None:
        self.wait_for_log(" ready.", timeout)

    def stop(self, grace: float = 15.0) -> None:
        super().stop(grace)


@pytest.fixture(scope="module")
def worker(shop: ShopServer) -> Iterator[Worker]:
    running = Worker(shop, shop.log_path.parent / "worker.log")
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()
